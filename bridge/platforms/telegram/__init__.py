"""Telegram as a customer channel: the webhook in (webhook.py), the sender out (sender.py)."""
