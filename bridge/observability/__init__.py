"""What operators see: Prometheus metrics, structured logs, conversation timings."""
