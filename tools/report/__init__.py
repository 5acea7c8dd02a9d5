"""`make report`: how support is going, from what Redis holds (docs/report.md)."""
