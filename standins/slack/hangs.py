"""Injected hangs: a Web API call that gets no answer within the client's timeout.

`POST /_test/faults {"method": "chat.postMessage", "hang": "before" | "after", "count": 1,
"seconds": 30, "text": "…"}`, next to the 429/500 faults:

- `before`: the call is held without being carried out, then answered with an error nobody
  reads (the client gave up): nothing is recorded.
- `after`: the call is carried out (the message is posted, the event sent), then held without
  an answer: the client cannot tell it worked — the case where a blind retry duplicates.

`text` (optional) limits the hang to calls whose `text` contains it, so a test can aim at one
message. A hang lasts `seconds` or until the stand-in shuts down, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

WHEN = ("before", "after")


@dataclass
class Hang:
    when: str
    remaining: int
    seconds: float
    text: str = ""


class Hangs:
    def __init__(self) -> None:
        self._by_method: dict[str, Hang] = {}
        self._released = asyncio.Event()

    def add(self, method: str, when: str, count: int, seconds: float, text: str = "") -> None:
        if when not in WHEN:
            raise ValueError(f"hang must be one of {WHEN}")
        self._by_method[method.lower()] = Hang(when, count, seconds, text)

    def take(self, method: str, params: dict[str, Any]) -> Hang | None:
        hang = self._by_method.get(method.lower())
        if hang is None or hang.remaining <= 0:
            return None
        if hang.text and hang.text not in str(params.get("text") or ""):
            return None
        hang.remaining -= 1
        return hang

    async def hold(self, hang: Hang) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), hang.seconds)

    def release_all(self) -> None:
        """On shutdown: answer every held call now, so stopping is not delayed."""
        self._released.set()


def parse_hang(body: dict[str, Any], hangs: Hangs) -> web.Response:
    try:
        hangs.add(
            str(body["method"]),
            str(body["hang"]),
            int(body.get("count", 1)),
            float(body.get("seconds", 30)),
            str(body.get("text") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return web.json_response(
            {
                "error": 'expected {"method": str, "hang": "before"|"after", "count": int, '
                '"seconds": number, "text": str}'
            },
            status=400,
        )
    return web.json_response({"ok": True})
