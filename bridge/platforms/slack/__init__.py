"""The staff desk in Slack: events, buttons and marks in (inbound.py), the card, mrkdwn and the
sender with its idempotent read-back out (sender.py)."""
