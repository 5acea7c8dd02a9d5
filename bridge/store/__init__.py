"""What the bridge keeps in Redis, by what it is: conversations and their modes,
transcripts, Slack threads, files and de-duplication markers (keys in bridge/keys.py)."""
