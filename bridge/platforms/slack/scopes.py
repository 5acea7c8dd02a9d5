"""The bot scopes the bridge's Slack calls need: what both app manifests in deploy/ grant
(a test keeps them equal) and what `make check-deployment` asks the installed app for."""

from __future__ import annotations

BOT_SCOPES: dict[str, str] = {
    "chat:write": "open handoff threads, relay the customer's messages",
    "channels:history": "read staff replies in threads of a public staff channel",
    "groups:history": "... and of a private one",
    "channels:read": "check the staff channel (conversations.info), public",
    "groups:read": "... or private",
    "users:read": "show the staff member's name to the customer",
    "usergroups:read": "with SLACK_STAFF_USERGROUP: who may reach customers",
    "reactions:write": "mark staff replies as delivered",
    "reactions:read": "staff marks for the review file",
    "files:read": "files staff attach in a thread",
    "files:write": "files customers send, posted into the thread",
}


def missing(granted: str) -> list[str]:
    """The needed scopes absent from Slack's `x-oauth-scopes` (comma-separated) list."""
    have = {scope.strip() for scope in granted.split(",")}
    return [scope for scope in BOT_SCOPES if scope not in have]
