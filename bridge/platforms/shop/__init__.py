"""The shop's own server as a caller of the bridge: signed requests to link a Telegram chat to
one of its customers, or to sign a customer out everywhere (docs/identity.md)."""
