"""A local Slack: Web API + Events API subset, reached by the real slack_sdk / slack-bolt."""

from .app import EVENTS, FAULTS, WORKSPACE, SlackConfig, create_app
from .state import BOT_ID, BOT_USER_ID, STAFF_CHANNEL_ID, TEAM_ID

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "EVENTS",
    "FAULTS",
    "STAFF_CHANNEL_ID",
    "TEAM_ID",
    "WORKSPACE",
    "SlackConfig",
    "create_app",
]
