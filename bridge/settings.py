"""The bridge's configuration: one typed object, built once from the environment at start.

Every field carries its environment variable, a description and an example in its metadata;
`python -m bridge.config_docs` turns them into docs/configuration.md, so the reference cannot
drift from the code.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from bridge.dotenv import read_env_file
from bridge.office_hours import OfficeHours
from bridge.rasa_servers import parse_urls

DOCS = "docs/deployment.md"
LOG_LEVELS = ("debug", "info", "warning", "error")
# Telegram accepts 1-256 of these characters as a webhook secret token.
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# How Telegram's updates reach the bridge (TELEGRAM_UPDATES).
TELEGRAM_WEBHOOK, TELEGRAM_POLLING = "webhook", "polling"


class SettingsError(ValueError):
    """The environment does not describe a runnable bridge; the message says how to fix it."""


def setting(
    default: Any,
    env: str,
    help: str,
    example: str = "",
    group: str = "Bridge",
    secret: bool = False,
    required: bool = False,
    default_doc: str = "",
) -> Any:
    """A settings field with the metadata the validator and the generated docs read."""
    meta = {
        "env": env,
        "help": help,
        "example": example,
        "group": group,
        "secret": secret,
        "required": required,
        "default_doc": default_doc,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    redis_url: str = setting(
        "redis://127.0.0.1:6379/0",
        "REDIS_URL",
        "Redis holding conversations, transcripts and the delivery queues. All replicas share it. "
        "A Redis Cluster: redis+cluster://host:port[,host:port...] (rediss+cluster:// for TLS), "
        "any of its nodes as seeds (docs/scaling.md).",
        "redis://redis.internal:6379/0",
        group="Backing services",
    )
    rasa_url: str = setting(
        "http://127.0.0.1:5005",
        "RASA_URL",
        "Rasa server (REST channel), or several, comma-separated: turns are spread over the "
        "healthy ones and fail over between them; they must share the tracker and lock store "
        "(docs/scaling.md). Keep them on loopback or a private network: Rasa's REST channel "
        "has no authentication.",
        "http://rasa-0.internal:5005,http://rasa-1.internal:5005",
        group="Backing services",
    )
    rasa_timeout_s: float = setting(
        20.0,
        "RASA_TIMEOUT_S",
        "Seconds to wait for the assistant's answer before handing the customer to a person.",
        "10",
        group="Backing services",
    )
    host: str = setting("127.0.0.1", "BRIDGE_HOST", "Address the bridge listens on.", "0.0.0.0")
    port: int = setting(8080, "BRIDGE_PORT", "Port the bridge listens on.", "8080")
    public_url: str = setting(
        "http://127.0.0.1:8080",
        "BRIDGE_PUBLIC_URL",
        "The address customers and Telegram reach the bridge at (used to register the Telegram "
        "webhook). Must be https for real Telegram.",
        "https://support.example.com",
        default_doc="http://127.0.0.1:<BRIDGE_PORT>",
    )
    instance: str = setting(
        "bridge-1",
        "BRIDGE_INSTANCE",
        "Names this process in the Redis consumer groups. Keep it stable across restarts (e.g. "
        "the StatefulSet pod name) so a restarted process resumes the deliveries it had in "
        "flight.",
        "bridge-0",
        default_doc="<hostname>-bridge",
    )
    log_level: str = setting(
        "info",
        "LOG_LEVEL",
        "One of debug, info, warning, error. Message bodies appear in the logs only at debug.",
        "info",
    )
    shutdown_grace_s: float = setting(
        25.0,
        "BRIDGE_SHUTDOWN_GRACE_S",
        "On SIGTERM, how long to wait for deliveries already handed to Slack or Telegram to "
        "finish. Keep it below your orchestrator's kill timeout (Kubernetes: 30 s).",
        "25",
    )
    idle_after_s: int = setting(
        1800,
        "BRIDGE_IDLE_AFTER_S",
        "A conversation with no message for this long counts as ended in the metrics (see "
        "docs/operations.md).",
        "1800",
    )
    gc_full_interval_s: float = setting(
        60.0,
        "BRIDGE_GC_FULL_INTERVAL_S",
        "At most one full garbage collection per this many seconds (each pauses the bridge for "
        "0.2-0.5 s with 5,000 widgets open); between them, surviving objects are frozen so "
        "collections stay short. A full one runs only once the heap grew by a quarter, or "
        "hourly. Longer means fewer pauses but more memory held by closed sockets; 0 leaves "
        "Python's collector as it is. See bridge/gc_tuning.py.",
        "60",
    )
    max_send_attempts: int = setting(
        8,
        "BRIDGE_MAX_SEND_ATTEMPTS",
        "Delivery attempts per outbound message before it goes to the dead-letter stream.",
        "8",
    )
    slack_post_interval_s: float = setting(
        1.05,
        "SLACK_POST_INTERVAL_S",
        "Seconds between two posts into the staff channel, across all replicas (Slack allows "
        "about one per second per channel). Customer lines queued meanwhile go out as one post.",
        "1.05",
        group="Limits",
    )
    telegram_chat_interval_s: float = setting(
        1.1,
        "TELEGRAM_CHAT_INTERVAL_S",
        "Seconds between two messages to one Telegram chat, across all replicas (Telegram "
        "allows about one per second).",
        "1.1",
        group="Limits",
    )
    telegram_per_s: float = setting(
        28.0,
        "TELEGRAM_PER_S",
        "Messages per second to Telegram from the whole bot, across all replicas (Telegram "
        "allows about 30).",
        "28",
        group="Limits",
    )
    widget_per_minute: int = setting(
        30,
        "WIDGET_MESSAGES_PER_MINUTE",
        "Messages one web-chat conversation may send per minute; more get a `rate_limited` "
        "error frame. 0 turns the limit off.",
        "30",
        group="Limits",
    )
    telegram_customer_per_minute: int = setting(
        30,
        "TELEGRAM_MESSAGES_PER_MINUTE",
        "Messages one Telegram chat may send per minute; more get a polite reply and are not "
        "passed on. 0 turns the limit off.",
        "30",
        group="Limits",
    )
    # Abuse limits (docs/abuse.md). A source is the client's address (see
    # BRIDGE_CLIENT_ADDRESS_HEADER) or a Telegram chat; 0 turns a limit off.
    client_address_header: str = setting(
        "",
        "BRIDGE_CLIENT_ADDRESS_HEADER",
        "Header your reverse proxy puts the client's address in (its last entry is used: the "
        "one your proxy added). Empty: the address of the TCP peer. Set it only behind a proxy "
        "that always sets it, or any client can choose its own address.",
        "X-Forwarded-For",
        group="Abuse limits",
    )
    source_connections_per_minute: int = setting(
        120,
        "LIMIT_SOURCE_CONNECTIONS_PER_MINUTE",
        "Widget connections (page loads, reconnects) one client address may open per minute, "
        "60 of them at once; more are refused with HTTP 429 before the WebSocket handshake.",
        "120",
        group="Abuse limits",
    )
    source_conversations_per_hour: int = setting(
        60,
        "LIMIT_SOURCE_CONVERSATIONS_PER_HOUR",
        "New web conversations one client address may start per hour (all at once, then "
        "evenly). Generous, because a shop's customers may share one office or mobile address.",
        "60",
        group="Abuse limits",
    )
    source_messages_per_minute: int = setting(
        120,
        "LIMIT_SOURCE_MESSAGES_PER_MINUTE",
        "Web messages one client address may send per minute, across all its conversations.",
        "120",
        group="Abuse limits",
    )
    source_conversations_burst: int = setting(
        10,
        "LIMIT_SOURCE_CONVERSATIONS_BURST",
        "How many of those one address may start at once (0: all of them); the rest come "
        "evenly over the hour. Keeps one address from queueing dozens of assistant turns at once.",
        "10",
        group="Abuse limits",
    )
    origin_conversations_per_minute: int = setting(
        600,
        "LIMIT_ORIGIN_CONVERSATIONS_PER_MINUTE",
        "New web conversations per minute from pages of one origin (the browser's Origin "
        "header; sockets without one count as one origin).",
        "600",
        group="Abuse limits",
    )
    source_messages_burst: int = setting(
        30,
        "LIMIT_SOURCE_MESSAGES_BURST",
        "How many of those one address may send at once (0: all of them).",
        "30",
        group="Abuse limits",
    )
    source_uploads_per_hour: int = setting(
        30,
        "LIMIT_SOURCE_UPLOADS_PER_HOUR",
        "Files one client address may upload per hour.",
        "30",
        group="Abuse limits",
    )
    source_upload_mb_per_hour: int = setting(
        100,
        "LIMIT_SOURCE_UPLOAD_MB_PER_HOUR",
        "Megabytes one client address may upload per hour.",
        "100",
        group="Abuse limits",
    )
    session_uploads_per_hour: int = setting(
        10,
        "LIMIT_SESSION_UPLOADS_PER_HOUR",
        "Files one web conversation may upload per hour.",
        "10",
        group="Abuse limits",
    )
    session_upload_mb_per_hour: int = setting(
        30,
        "LIMIT_SESSION_UPLOAD_MB_PER_HOUR",
        "Megabytes one web conversation may upload per hour.",
        "30",
        group="Abuse limits",
    )
    source_guest_handoffs_per_hour: int = setting(
        10,
        "LIMIT_SOURCE_GUEST_HANDOFFS_PER_HOUR",
        "Handoffs to a person one client address or Telegram chat may start per hour while "
        "not signed in. Signed-in customers are never limited.",
        "10",
        group="Abuse limits",
    )
    guest_handoffs_per_minute: int = setting(
        10,
        "LIMIT_GUEST_HANDOFFS_PER_MINUTE",
        "Handoffs of customers who are not signed in, per minute, across the whole bridge; "
        "more are told to try again shortly. Keeps the staff channel (one post per second) "
        "free for signed-in customers and open threads during a flood.",
        "10",
        group="Abuse limits",
    )
    guest_handoffs_burst: int = setting(
        5,
        "LIMIT_GUEST_HANDOFFS_BURST",
        "How many of those may come at once, above the steady rate.",
        "5",
        group="Abuse limits",
    )
    files_max_mb: int = setting(
        512,
        "FILES_MAX_MB",
        "Total size of the customers' and staff's files the bridge keeps; uploads beyond it are "
        "refused (HTTP 507) until old files expire. An alert fires at 80 % "
        "(deploy/prometheus-rules.yml).",
        "512",
        group="Abuse limits",
    )
    files_unattached_ttl_s: int = setting(
        600,
        "FILES_UNATTACHED_TTL_S",
        "An uploaded file that no message names within this many seconds is deleted.",
        "600",
        group="Abuse limits",
    )
    files_directory: str = setting(
        "",
        "FILES_DIRECTORY",
        "Keep file contents in this directory instead of Redis (Redis keeps only their "
        "index). Every replica must see the same directory.",
        "/var/lib/support-bridge/files",
        group="Abuse limits",
    )
    ops_token: str = setting(
        "",
        "BRIDGE_OPS_TOKEN",
        "Bearer token for /metrics and /readyz from other hosts. Empty: those answer "
        "only requests from loopback that came through no proxy.",
        "a long random string",
        group="Operations",
        secret=True,
    )
    slack_staff_usergroup: str = setting(
        "",
        "SLACK_STAFF_USERGROUP",
        "ID of a Slack user group (like S0123456789); when set, only its members reach "
        "customers. Members of other workspaces and guests never do.",
        "S0123456789",
        group="Slack",
    )
    slack_bot_token: str = setting(
        "",
        "SLACK_BOT_TOKEN",
        "Bot User OAuth Token of the Slack app (OAuth & Permissions page).",
        "xoxb-…",
        group="Slack",
        secret=True,
        required=True,
    )
    slack_signing_secret: str = setting(
        "",
        "SLACK_SIGNING_SECRET",
        "Signing Secret of the Slack app (Basic Information page); verifies Slack's requests "
        "to /slack/events and /slack/interactivity. Required unless SLACK_APP_TOKEN is set "
        "(Socket Mode: Slack sends nothing to the bridge, so without it those URLs refuse "
        "every request).",
        "8f14e45fceea167a5a36dedd4bea2543",
        group="Slack",
        secret=True,
    )
    slack_app_token: str = setting(
        "",
        "SLACK_APP_TOKEN",
        "App-level token of the Slack app (starts with xapp-, scope connections:write; Basic "
        "Information page, App-Level Tokens). When set, the bridge opens a WebSocket to Slack "
        "(Socket Mode) and gets events and button clicks over it, so Slack needs no public "
        "address of the bridge; turn Socket Mode on in the app (docs/deployment.md). Empty: "
        "Slack calls the request URLs (Events API).",
        "xapp-1-…",
        group="Slack",
        secret=True,
    )
    slack_channel_id: str = setting(
        "",
        "SLACK_CHANNEL_ID",
        "ID (not name) of the staff channel where handoff threads open; invite the app to it.",
        "C0123456789",
        group="Slack",
        required=True,
    )
    slack_api_url: str = setting(
        "https://slack.com/api/",
        "SLACK_API_URL",
        "Slack Web API base URL. Change it only to point at the local stand-in.",
        "http://127.0.0.1:8091/api/",
        group="Slack",
    )
    slack_api_timeout_s: float = setting(
        10.0,
        "SLACK_API_TIMEOUT_S",
        "Seconds to wait for Slack to answer one Web API call. No answer in time is retried; "
        "a post whose answer never came is looked up in Slack before it is sent again.",
        "10",
        group="Slack",
    )
    telegram_bot_token: str = setting(
        "",
        "TELEGRAM_BOT_TOKEN",
        "Token from @BotFather. Empty: the Telegram channel is off.",
        "123456789:AA…",
        group="Telegram",
        secret=True,
    )
    telegram_webhook_secret: str = setting(
        "",
        "TELEGRAM_WEBHOOK_SECRET",
        "Random string Telegram sends with every webhook call (1-256 of A-Z a-z 0-9 _ -). "
        "Required when the bridge gets Telegram's updates by webhook (TELEGRAM_UPDATES).",
        "k3J9_x-…",
        group="Telegram",
        secret=True,
    )
    telegram_api_url: str = setting(
        "https://api.telegram.org/bot",
        "TELEGRAM_API_URL",
        "Bot API base URL. Change it only to point at the local stand-in.",
        "http://127.0.0.1:8092/bot",
        group="Telegram",
    )
    telegram_file_url: str = setting(
        "https://api.telegram.org/file/bot",
        "TELEGRAM_FILE_URL",
        "Bot API file download base URL.",
        "http://127.0.0.1:8092/file/bot",
        group="Telegram",
    )
    telegram_set_webhook: bool = setting(
        True,
        "TELEGRAM_SET_WEBHOOK",
        "Register <BRIDGE_PUBLIC_URL>/telegram/webhook with Telegram at start (when "
        "TELEGRAM_UPDATES is webhook). Turn off when the webhook is managed elsewhere.",
        "true",
        group="Telegram",
    )
    telegram_updates: str = setting(
        "",
        "TELEGRAM_UPDATES",
        "How Telegram's updates reach the bridge: `webhook` (Telegram calls "
        "<BRIDGE_PUBLIC_URL>/telegram/webhook; needs a public https address and "
        "TELEGRAM_WEBHOOK_SECRET) or `polling` (the bridge asks Telegram with getUpdates, so "
        "it needs no public address: for a laptop, or a bridge behind a firewall; it deletes "
        "the bot's webhook at start, and of several replicas one polls at a time). Empty: "
        "`webhook` when BRIDGE_PUBLIC_URL is set, `polling` otherwise.",
        "polling",
        group="Telegram",
        default_doc="webhook if BRIDGE_PUBLIC_URL is set, else polling",
    )
    widget_secret: str = setting(
        "",
        "WIDGET_SECRET",
        "Signs widget session tokens. Empty: one is generated and kept in Redis, shared by "
        "replicas.",
        "a long random string",
        group="Web widget",
        secret=True,
    )
    session_ttl_s: int = setting(
        7 * 24 * 3600,
        "WIDGET_SESSION_TTL_S",
        "How long a widget session token is valid; each reconnect renews it. `make forget` "
        "revokes a customer's tokens at once.",
        "604800",
        group="Web widget",
    )

    # Who the customer is (docs/identity.md).
    shop_identity_secret: str = setting(
        "",
        "SHOP_IDENTITY_SECRET",
        "Shared by the shop and the bridge: the shop signs its signed-in customers' identities "
        "with it (JWT, HS256), for the widget and for Telegram links. Empty: every customer is a "
        "guest, who proves an order by its email or postcode.",
        "a long random string (32+ characters)",
        group="Identity",
        secret=True,
    )
    identity_clock_skew_s: int = setting(
        60,
        "IDENTITY_CLOCK_SKEW_S",
        "How far the shop's clock may be from the bridge's when it dates an identity, seconds.",
        "60",
        group="Identity",
    )
    identity_max_lifetime_s: int = setting(
        3600,
        "IDENTITY_MAX_LIFETIME_S",
        "The longest a signed identity may be valid (exp - iat), seconds; longer ones are "
        "refused, so a leaked one does not work for long.",
        "3600",
        group="Identity",
    )
    telegram_link_ttl_s: int = setting(
        900,
        "TELEGRAM_LINK_TTL_S",
        "How long a Telegram account-link code stays usable, seconds (it works once).",
        "900",
        group="Identity",
    )

    office_timezone: str = setting(
        "UTC",
        "OFFICE_TIMEZONE",
        "Time zone of the office hours (IANA name).",
        "Europe/Berlin",
        group="Staff desk",
    )
    office_days: str = setting(
        "",
        "OFFICE_DAYS",
        "Days the team answers, e.g. mon-fri or mon,wed,sat. Empty: always available.",
        "mon-fri",
        group="Staff desk",
    )
    office_hours: str = setting(
        "09:00-17:00",
        "OFFICE_HOURS",
        "Hours the team answers on those days (24-hour clock, local to OFFICE_TIMEZONE).",
        "08:30-18:00",
        group="Staff desk",
    )
    claim_timeout_s: int = setting(
        600,
        "DESK_CLAIM_TIMEOUT_S",
        "If nobody claims a handoff within this many seconds (during office hours), the "
        "customer is told that the team is busy and the answer will still reach them. 0: never.",
        "600",
        group="Staff desk",
    )

    # Learning from conversations (docs/learning.md).
    retention_s: int = setting(
        30 * 24 * 3600,
        "CONVERSATION_RETENTION_S",
        "How long a conversation's data (record, transcript, the assistant's decisions, staff "
        "marks) is kept after its last message, in seconds. 0: keep until `make forget`. Set "
        "Rasa's tracker `record_exp` in deploy/endpoints.yml to the same value.",
        "2592000",
        group="Learning",
    )
    spike_alert_channel: str = setting(
        "",
        "SPIKE_ALERT_CHANNEL",
        "Slack channel ID for topic-spike alerts (handoffs and abstentions about one topic "
        "well above their usual rate; explicit requests for a person are not a topic). Empty: "
        "no alerts. Invite the app to it. `make run` creates a local one.",
        "C0ALERTS01",
        group="Learning",
    )
    spike_multiple: float = setting(
        3.0,
        "SPIKE_MULTIPLE",
        "Alert when a topic's count in the last hour is at least this multiple of its hourly "
        "rate over the day before.",
        "3",
        group="Learning",
    )
    spike_min_count: int = setting(
        5,
        "SPIKE_MIN_COUNT",
        "...and at least this many in the last hour.",
        "5",
        group="Learning",
    )
    spike_min_share: float = setting(
        0.1,
        "SPIKE_MIN_SHARE",
        "...and at least this share (0-1) of all the handoffs and abstentions of the last "
        "hour, so the bar rises with the shop's volume.",
        "0.1",
        group="Learning",
    )
    digest_channel: str = setting(
        "",
        "DIGEST_CHANNEL",
        "Slack channel ID for the weekly support digest (`make digest`: headline figures and a "
        "chart, docs/report.md). Empty: `make digest` posts nothing. Invite the app to it.",
        "C0DIGEST01",
        group="Learning",
    )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def telegram_polling(self) -> bool:
        """Telegram's updates are fetched with getUpdates, not received by webhook."""
        return self.telegram_enabled and self.telegram_updates == TELEGRAM_POLLING

    def secrets(self) -> list[str]:
        """The configured values that must never appear in a log line."""
        return [str(getattr(self, f.name)) for f in fields(self) if f.metadata["secret"]]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build and validate; every problem found is reported at once, with its fix."""
        env = os.environ if env is None else env
        problems: list[str] = []
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(spec.metadata["env"], "")
            if raw == "":
                continue
            try:
                values[spec.name] = _convert(spec, raw)
            except ValueError as exc:
                problems.append(f"{spec.metadata['env']}: {exc}")
        # Whether a public address was given, not its default, decides how Telegram is reached.
        updates = str(values.get("telegram_updates", "")).lower()
        if not updates:
            updates = TELEGRAM_WEBHOOK if "public_url" in values else TELEGRAM_POLLING
        values["telegram_updates"] = updates
        values.setdefault("public_url", f"http://127.0.0.1:{values.get('port', cls.port)}")
        values.setdefault("instance", socket.gethostname() + "-bridge")
        for name in ("rasa_url", "public_url"):
            if name in values:
                values[name] = values[name].rstrip("/")
        if "rasa_url" in values:  # one address or several: each without its trailing slash
            values["rasa_url"] = ",".join(parse_urls(values["rasa_url"]))
        if "slack_api_url" in values:
            values["slack_api_url"] = _with_slash(values["slack_api_url"])
        settings = cls(**values)
        problems += _validate(settings)
        if problems:
            raise SettingsError("\n  - ".join(["the configuration is not usable:", *problems]))
        return settings


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The factory `python -m bridge` uses: the environment over an optional .env file.

    BRIDGE_ENV_FILE names the file (default `.env` in the working directory); a missing file
    is fine, so production can rely on the environment alone.
    """
    environ = os.environ if environ is None else environ
    path = Path(environ.get("BRIDGE_ENV_FILE") or ".env")
    try:
        from_file = read_env_file(path) if path.is_file() else {}
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return Settings.from_env({**from_file, **environ})


def env_name(spec: Field[Any]) -> str:
    return str(spec.metadata["env"])


def default_text(spec: Field[Any]) -> str:
    if spec.metadata["default_doc"]:
        return str(spec.metadata["default_doc"])
    default = spec.default if spec.default is not MISSING else ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def _convert(spec: Field[Any], raw: str) -> Any:
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"must be true or false, got {raw!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw!r}") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"must be a number, got {raw!r}") from None
    return raw.strip()


def _validate(s: Settings) -> list[str]:
    problems = []
    missing = [env_name(f) for f in fields(s) if _required(s, f) and not getattr(s, f.name)]
    if missing:
        problems.append(
            "missing " + ", ".join(missing) + ": the bridge needs a Slack app to hand "
            f"conversations to staff. Create one from deploy/slack-app-manifest.yml ({DOCS}), "
            "or run `make run`, which starts a local Slack when none is configured."
            + (
                " With no public address for Slack to call, set SLACK_APP_TOKEN (Socket Mode) "
                "instead of SLACK_SIGNING_SECRET."
                if "SLACK_SIGNING_SECRET" in missing
                else ""
            )
        )
    if s.slack_bot_token and not s.slack_bot_token.startswith("xoxb-"):
        problems.append(
            "SLACK_BOT_TOKEN must be the Bot User OAuth Token (starts with xoxb-), from the "
            "app's OAuth & Permissions page."
        )
    if s.slack_app_token and not s.slack_app_token.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN must be an app-level token (starts with xapp-) with the "
            "connections:write scope, from the app's Basic Information page (App-Level Tokens)."
        )
    if s.slack_channel_id.startswith("#"):
        problems.append(
            "SLACK_CHANNEL_ID must be the channel's ID (like C0123456789), not its name: in "
            "Slack open the channel details; the ID is at the bottom."
        )
    if s.telegram_updates not in (TELEGRAM_WEBHOOK, TELEGRAM_POLLING, ""):
        problems.append(
            f"TELEGRAM_UPDATES must be {TELEGRAM_WEBHOOK} or {TELEGRAM_POLLING} (or empty: "
            f"{TELEGRAM_WEBHOOK} when BRIDGE_PUBLIC_URL is set), got {s.telegram_updates!r}"
        )
    # Polling needs no secret (nobody calls the bridge); one given anyway must still be valid.
    webhook = s.telegram_enabled and not s.telegram_polling
    secret = s.telegram_webhook_secret
    if s.telegram_enabled and (webhook or secret) and not _TELEGRAM_SECRET.fullmatch(secret):
        problems.append(
            "TELEGRAM_WEBHOOK_SECRET is missing or malformed: Telegram must sign webhook "
            "calls. Set it to 1-256 characters of A-Z a-z 0-9 _ -, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    if (
        webhook
        and s.telegram_set_webhook
        and s.telegram_api_url.startswith("https://api.telegram.org")
        and not s.public_url.startswith("https://")
    ):
        problems.append(
            f"BRIDGE_PUBLIC_URL is {s.public_url!r}: Telegram only calls https webhooks. Set "
            "it to the bridge's public https address, TELEGRAM_SET_WEBHOOK=false, or "
            "TELEGRAM_UPDATES=polling (no public address needed)."
        )
    if s.log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {s.log_level!r}")
    redis_schemes = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
    if not s.redis_url.startswith(redis_schemes):
        problems.append(
            f"REDIS_URL must start with redis://, rediss://, unix:// or redis+cluster://: "
            f"{s.redis_url}"
        )
    urls = [("RASA_URL", url) for url in parse_urls(s.rasa_url)] or [("RASA_URL", s.rasa_url)]
    for name, value in (*urls, ("BRIDGE_PUBLIC_URL", s.public_url)):
        if not value.startswith(("http://", "https://")):
            problems.append(f"{name} must be an http(s) URL, got {value!r}")
    for name, number in (
        ("BRIDGE_PORT", s.port),
        ("BRIDGE_MAX_SEND_ATTEMPTS", s.max_send_attempts),
        ("RASA_TIMEOUT_S", s.rasa_timeout_s),
        ("SLACK_API_TIMEOUT_S", s.slack_api_timeout_s),
        ("BRIDGE_IDLE_AFTER_S", s.idle_after_s),
        ("SLACK_POST_INTERVAL_S", s.slack_post_interval_s),
        ("TELEGRAM_CHAT_INTERVAL_S", s.telegram_chat_interval_s),
        ("TELEGRAM_PER_S", s.telegram_per_s),
        ("IDENTITY_MAX_LIFETIME_S", s.identity_max_lifetime_s),
        ("TELEGRAM_LINK_TTL_S", s.telegram_link_ttl_s),
        ("WIDGET_SESSION_TTL_S", s.session_ttl_s),
        ("FILES_MAX_MB", s.files_max_mb),
        ("FILES_UNATTACHED_TTL_S", s.files_unattached_ttl_s),
    ):
        if number <= 0:
            problems.append(f"{name} must be greater than 0, got {number}")
    if s.widget_per_minute < 0 or s.telegram_customer_per_minute < 0:
        problems.append("WIDGET/TELEGRAM_MESSAGES_PER_MINUTE must not be negative")
    if s.session_ttl_s > 30 * 24 * 3600:
        problems.append(
            f"WIDGET_SESSION_TTL_S must be at most 2592000 (30 days), got {s.session_ttl_s}"
        )
    for spec in fields(s):
        if spec.metadata["group"] == "Abuse limits" and isinstance(getattr(s, spec.name), int):
            if getattr(s, spec.name) < 0:
                problems.append(f"{env_name(spec)} must not be negative")
    if s.retention_s < 0:
        problems.append(f"CONVERSATION_RETENTION_S must not be negative, got {s.retention_s}")
    if s.spike_multiple <= 0 or s.spike_min_count <= 0:
        problems.append("SPIKE_MULTIPLE and SPIKE_MIN_COUNT must be greater than 0")
    if not 0 <= s.spike_min_share <= 1:
        problems.append(f"SPIKE_MIN_SHARE must be between 0 and 1, got {s.spike_min_share}")
    if s.gc_full_interval_s < 0:
        problems.append(f"BRIDGE_GC_FULL_INTERVAL_S must not be negative: {s.gc_full_interval_s}")
    if s.shutdown_grace_s < 0:
        problems.append(f"BRIDGE_SHUTDOWN_GRACE_S must not be negative, got {s.shutdown_grace_s}")
    if s.shop_identity_secret and len(s.shop_identity_secret) < 32:
        problems.append(
            "SHOP_IDENTITY_SECRET must be at least 32 characters (it signs who customers are): "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    if s.identity_clock_skew_s < 0:
        problems.append(f"IDENTITY_CLOCK_SKEW_S must not be negative: {s.identity_clock_skew_s}")
    problems += _office_hours_problems(s)
    return problems


def _required(s: Settings, spec: Field[Any]) -> bool:
    if spec.name == "slack_signing_secret":  # Socket Mode: Slack signs no request to us
        return not s.slack_app_token
    return bool(spec.metadata["required"])


def _with_slash(url: str) -> str:
    # slack_sdk joins base_url and the method name without adding a slash.
    return url if url.endswith("/") else url + "/"


def _office_hours_problems(s: Settings) -> list[str]:
    try:
        OfficeHours.parse(s.office_timezone, s.office_days, s.office_hours)
    except ValueError as exc:
        return [f"OFFICE_TIMEZONE/OFFICE_DAYS/OFFICE_HOURS: {exc}"]
    return [] if s.claim_timeout_s >= 0 else ["DESK_CLAIM_TIMEOUT_S must not be negative"]
