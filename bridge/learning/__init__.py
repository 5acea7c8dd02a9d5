"""Learning from real conversations (docs/learning.md): what the assistant decided per turn,
staff marks from Slack, topic-spike alerts, retention, and what `make review` / `make forget`
read and delete."""
