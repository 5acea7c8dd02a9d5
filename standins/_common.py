"""Pieces both stand-ins share: request parameters, injected faults, rate limits, serving."""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JSON = dict[str, Any]


async def read_params(request: web.Request) -> tuple[JSON, dict[str, web.FileField]]:
    """Query string plus body, whichever encoding the client chose (JSON, form or multipart).

    The real clients mix them: slack_sdk sends some methods as JSON and others as query/form,
    python-telegram-bot sends form fields (JSON-encoded values) or multipart when uploading.
    """
    params: JSON = dict(request.query)
    files: dict[str, web.FileField] = {}
    if request.content_type == "application/json":
        raw = await request.read()
        if raw.strip():
            body = json.loads(raw)
            if isinstance(body, dict):
                params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value
            else:
                params[key] = value
    return params, files


def json_field(value: Any) -> Any:
    """A structured parameter that form encodings carry as a JSON string."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: int = 1


class Faults:
    """Failures injected by tests through `POST /_test/faults`, consumed one call at a time."""

    def __init__(self) -> None:
        self._by_method: dict[str, Fault] = {}

    def add(self, method: str, status: int, count: int, retry_after: int = 1) -> None:
        self._by_method[method.lower()] = Fault(status, count, retry_after)

    def take(self, method: str) -> Fault | None:
        fault = self._by_method.get(method.lower())
        if fault is None or fault.remaining <= 0:
            return None
        fault.remaining -= 1
        return fault


async def parse_fault(request: web.Request, faults: Faults) -> web.Response:
    body = await request.json()
    try:
        faults.add(
            str(body["method"]),
            int(body["status"]),
            int(body.get("count", 1)),
            int(body.get("retry_after", 1)),
        )
    except (KeyError, TypeError, ValueError):
        return web.json_response(
            {"error": 'expected {"method": str, "status": int, "count": int}'}, status=400
        )
    return web.json_response({"ok": True})


class Interval:
    """At most one call per `seconds` per key; answers how long the caller must wait."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._last: dict[str, float] = {}

    def wait_for(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        last = self._last.get(key)
        if last is not None and now - last < self._seconds:
            return max(1, math.ceil(self._seconds - (now - last)))
        self._last[key] = now
        return 0


class Window:
    """At most `limit` calls in any `seconds`-long window (a global budget)."""

    def __init__(self, limit: int, seconds: float = 1.0) -> None:
        self._limit = limit
        self._seconds = seconds
        self._calls: deque[float] = deque()

    def wait_for(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        while self._calls and now - self._calls[0] >= self._seconds:
            self._calls.popleft()
        if len(self._calls) >= self._limit:
            return max(1, math.ceil(self._seconds - (now - self._calls[0])))
        self._calls.append(now)
        return 0

    def forget_last(self) -> None:
        """Undo the last admission (when a later check refuses the same call)."""
        if self._calls:
            self._calls.pop()
