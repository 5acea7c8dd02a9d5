"""Everything that knows a platform, one package each: the staff desk in Slack, and the customer
channels Telegram and the web widget. Each holds its inbound adapter and its sender."""
