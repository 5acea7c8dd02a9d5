"""Structured logs: one JSON object per line, tagged with the conversation, never a secret.

The conversation id comes from a context variable: the router binds it when it takes up a
conversation, the senders around each delivery. aiohttp runs every request in its own task, so
a binding never leaks into another request.

Message bodies go only into the `body` field of debug records (`log.debug(..., extra={"body":
text})`); the formatter drops the field unless LOG_LEVEL=debug, as a second guard.

URLs that are themselves a permission never reach a log line at any level: the id of a widget
file (`/widget/files/<id>/<name>`) is replaced in every field, and the access log keeps only
the names of a request's query parameters, not their values (a token may travel there).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CONVERSATION: ContextVar[str] = ContextVar("conversation_id", default="")
REDACTED = "[redacted]"
# Token shapes worth hiding even when they are not ours: Slack tokens, Telegram bot tokens.
_TOKEN_SHAPES = re.compile(r"xox[abposre]-[A-Za-z0-9-]{6,}|\d{5,}:[A-Za-z0-9_-]{20,}")
# Attributes every LogRecord has; anything else was passed with `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Libraries that log each HTTP request (with the bot token in the URL) at INFO.
_CHATTY = ("httpx", "httpcore", "telegram", "slack_bolt", "slack_sdk")
# Slack posts every staff reply (and reaction) here: a JSON access line each was a measurable
# share of the relay's CPU (docs/benchmarks.md) and tells nothing the metrics don't. Successful
# ones are logged at LOG_LEVEL=debug only; failures (4xx/5xx, e.g. a bad signature) still are.
_QUIET_WHEN_OK = ("POST /slack/events ",)
# A widget file's URL is its own permission (bridge/platforms/widget/http.py): whoever reads it
# may fetch the file. Its id and name are replaced wherever such a path appears.
_CAPABILITY_PREFIX = "/widget/files/"
_CAPABILITY_PATH = re.compile(re.escape(_CAPABILITY_PREFIX) + r"[^\s\"'?#\\]+")
_QUERY_VALUE = "<redacted>"


def bind_conversation(conversation_id: str) -> None:
    """Tag every later log line of the current task (request) with this conversation."""
    CONVERSATION.set(conversation_id)


@contextmanager
def conversation_context(conversation_id: str) -> Iterator[None]:
    """Tag the log lines inside the block; for long-lived tasks that serve many conversations."""
    token = CONVERSATION.set(conversation_id)
    try:
        yield
    finally:
        CONVERSATION.reset(token)


class Redactor:
    """Replaces configured secrets and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is hidden whole. Very short values
        # would blank out ordinary words; validation keeps real secrets long.
        literal = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        alternatives = [re.escape(s) for s in literal] + [_TOKEN_SHAPES.pattern]
        self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text)


def hide_capabilities(text: str) -> str:
    """Replaces the id and name of every widget file path in the text."""
    if _CAPABILITY_PREFIX not in text:
        return text
    return _CAPABILITY_PATH.sub(_CAPABILITY_PREFIX + _QUERY_VALUE, text)


def scrub_url(url: str) -> str:
    """A URL or request target fit for a log line: no file capability, no query values."""
    path, mark, query = url.partition("?")
    path = hide_capabilities(path)
    if not mark:
        return path
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + _QUERY_VALUE
    kept = [
        f"{name}={_QUERY_VALUE}" if sep else _QUERY_VALUE
        for name, sep, _ in (item.partition("=") for item in query.split("&"))
        if name or sep
    ]
    return f"{path}?{'&'.join(kept)}{fragment}"


def scrub_request_line(line: str) -> str:
    """`GET /widget/files/abc/x.png?token=t HTTP/1.1` becomes
    `GET /widget/files/<redacted>?token=<redacted> HTTP/1.1`."""
    parts = line.split(" ")
    if len(parts) == 3:
        parts[1] = scrub_url(parts[1])
        return " ".join(parts)
    return scrub_url(line)


class ScrubAccess(logging.Filter):
    """Rewrites aiohttp's access lines (message and fields) with scrubbed URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        line = getattr(record, "first_request_line", None)
        if isinstance(line, str):
            scrubbed = scrub_request_line(line)
            msg = msg.replace(line, scrubbed)
            setattr(record, "first_request_line", scrubbed)  # noqa: B010
        headers = getattr(record, "request_header", None)
        if isinstance(headers, dict):
            for name, value in list(headers.items()):
                if isinstance(value, str) and name.lower() == "referer":
                    headers[name] = scrub_url(value)
                    msg = msg.replace(value, headers[name])
        record.msg = msg
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor, with_bodies: bool) -> None:
        super().__init__()
        self._redact = redact
        self._with_bodies = with_bodies

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        conversation = getattr(record, "conversation_id", "") or CONVERSATION.get()
        if conversation:
            entry["conversation_id"] = conversation
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if not self._with_bodies:
            entry.pop("body", None)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = self._redact(json.dumps(_redact_values(entry, self._redact), default=str))
        return hide_capabilities(line)


def _redact_values(entry: dict[str, Any], redact: Redactor) -> dict[str, Any]:
    # Redact before JSON escaping, so a secret with a quote or backslash still matches.
    return {k: hide_capabilities(redact(v)) if isinstance(v, str) else v for k, v in entry.items()}


class QuietSuccess(logging.Filter):
    """Drops aiohttp's access lines for successful requests to the _QUIET_WHEN_OK routes."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = str(getattr(record, "first_request_line", ""))
        if not line.startswith(_QUIET_WHEN_OK):
            return True
        try:
            return int(getattr(record, "response_status", 500)) >= 400
        except (TypeError, ValueError):
            return True


def configure(level: str, secrets: Iterable[str]) -> None:
    """Route every logger (ours, aiohttp's, the platform clients') through the JSON formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor(secrets), with_bodies=level == "debug"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # library warnings become JSON lines too
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    access = logging.getLogger("aiohttp.access")
    access.filters[:] = [ScrubAccess()] + ([] if level == "debug" else [QuietSuccess()])
