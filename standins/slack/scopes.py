"""OAuth scopes: which each Web API method needs, and which each token has.

The bridge's bot token (`xoxb-local-bot`, devstack's LOCAL_SLACK) has exactly the bot scopes of
deploy/slack-app-manifest.yml (or `--scopes`), so a call the installed app could not make is
refused here too, as Slack refuses it (HTTP 200):

    {"ok": false, "error": "missing_scope", "needed": "channels:manage",
     "provided": "chat:write,channels:history,..."}

Staff tokens (`xoxp-<user>`, the simulated people of the staff page and the tests) and the
tests' other tokens (`xoxb-local`, `xoxb-other-…`) have every scope: they stand for people and
apps whose installation is not under test. The scopes each method needs are those Slack's
method reference lists for a bot token (docs.slack.dev/reference/methods/<method>).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .calls import Call
from .state import SlackError

# The bridge's bot token in the dev stack (devstack/stack.py LOCAL_SLACK["SLACK_BOT_TOKEN"]).
BOT_TOKEN = "xoxb-local-bot"
# Socket Mode's app-level tokens carry connections:write and nothing else.
APP_TOKEN_PREFIX = "xapp-"
APP_TOKEN_SCOPES = ("connections:write",)
MANIFEST_NAME = Path("deploy") / "slack-app-manifest.yml"

Need = Callable[[Call], tuple[str, ...]]


def default_manifest() -> Path:
    """The repository's manifest: next to this package's checkout, else under the current
    directory (devstack runs the stand-in from the repository root)."""
    beside = Path(__file__).resolve().parents[2] / MANIFEST_NAME
    return beside if beside.is_file() else Path.cwd() / MANIFEST_NAME


def manifest_scopes(path: Path) -> tuple[str, ...]:
    """oauth_config.scopes.bot of a Slack app manifest, in its order."""
    manifest = yaml.safe_load(path.read_text("utf-8"))
    try:
        scopes = manifest["oauth_config"]["scopes"]["bot"]
    except (KeyError, TypeError):
        raise ValueError(f"{path}: no oauth_config.scopes.bot list") from None
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"{path}: oauth_config.scopes.bot is not a list of scopes")
    return tuple(scopes)


def parse_scopes(text: str) -> tuple[str, ...]:
    """`--scopes a,b,c` (empty: no scope at all)."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


@dataclass(frozen=True)
class TokenScopes:
    bot: tuple[str, ...]  # the bridge's bot token's
    source: str = ""  # where they came from (the manifest's path, or "--scopes")

    def of(self, token: str) -> tuple[str, ...] | None:
        """The token's scopes; None: every scope (a person's or another test token)."""
        if token == BOT_TOKEN:
            return self.bot
        if token.startswith(APP_TOKEN_PREFIX):
            return APP_TOKEN_SCOPES
        return None

    def check(self, token: str, method: str, call: Call) -> None:
        """Raises Slack's missing_scope when the token lacks a scope the call needs."""
        granted = self.of(token)
        need = NEEDS.get(method)
        if granted is None or need is None:
            return
        missing = [scope for scope in need(call) if scope not in granted]
        if missing:
            raise SlackError(
                "missing_scope", {"needed": ",".join(missing), "provided": ",".join(granted)}
            )

    def allows(self, token: str, scope: str) -> bool:
        granted = self.of(token)
        return granted is None or scope in granted


def _always(*scopes: str) -> Need:
    return lambda _call: scopes


def _by_channel(public: str, private: str, channel_param: str = "channel") -> Need:
    """A scope for public channels and another for private ones (an unknown channel needs
    neither: the method answers channel_not_found)."""

    def need(call: Call) -> tuple[str, ...]:
        try:
            channel = call.ws.channel(call.params.get(channel_param))
        except SlackError:
            return ()
        return (private if channel.is_private else public,)

    return need


def _list_types(call: Call) -> tuple[str, ...]:
    """conversations.list needs the read scope of every type asked for (default public)."""
    asked = str(call.params.get("types") or "public_channel").split(",")
    scopes = {
        "public_channel": "channels:read",
        "private_channel": "groups:read",
        "mpim": "mpim:read",
        "im": "im:read",
    }
    return tuple(scopes[t.strip()] for t in asked if t.strip() in scopes)


def _create(call: Call) -> tuple[str, ...]:
    return ("groups:write",) if call.flag("is_private") else ("channels:manage",)


# Every Web API method the stand-in serves (api.METHODS), and apps.connections.open for Socket
# Mode; a test checks none is left out.
NEEDS: dict[str, Need] = {
    "auth.test": _always(),
    "apps.connections.open": _always("connections:write"),
    "chat.postMessage": _always("chat:write"),
    "chat.postEphemeral": _always("chat:write"),
    "chat.update": _always("chat:write"),
    "chat.delete": _always("chat:write"),
    "chat.getPermalink": _always(),
    "files.getUploadURLExternal": _always("files:write"),
    "files.completeUploadExternal": _always("files:write"),
    "conversations.history": _by_channel("channels:history", "groups:history"),
    "conversations.replies": _by_channel("channels:history", "groups:history"),
    "conversations.info": _by_channel("channels:read", "groups:read"),
    "conversations.list": _list_types,
    "conversations.create": _create,
    "users.info": _always("users:read"),
    "usergroups.users.list": _always("usergroups:read"),
    "reactions.add": _always("reactions:write"),
    "reactions.remove": _always("reactions:write"),
    "reactions.get": _always("reactions:read"),
}
# Downloading a file (url_private) needs files:read; without it Slack answers a sign-in page.
FILE_DOWNLOAD_SCOPE = "files:read"
