"""Events API delivery: signed `event_callback` POSTs, in order per channel, retried like Slack.

The API call that caused an event answers first; a per-channel worker then delivers, so a slow
or failing receiver delays only that channel's later events, never the Web API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import aiohttp

from .state import APP_ID, BOT_USER_ID, TEAM_ID

JSON = dict[str, Any]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


@dataclass
class Delivery:
    event_id: str
    event_type: str
    channel: str
    ts: str | None
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_error: str | None = None


class Transport(Protocol):
    """Another way than the request URL to reach the app: Socket Mode (socket_mode.py)."""

    async def deliver_event(
        self, delivery: Delivery, payload: JSON, retry_delays: Sequence[float]
    ) -> None: ...

    async def send_once(self, kind: str, payload: JSON, within_s: float) -> JSON: ...


class EventDispatcher:
    def __init__(
        self,
        url: str | None,
        signing_secret: str,
        retry_delays: Sequence[float],
        timeout: float,
        verification_token: str = "local-verification-token",
        socket: Transport | None = None,
    ) -> None:
        self.url = url
        # When set (Socket Mode on), events go over the app's WebSocket and `url` is unused.
        self.socket = socket
        self._secret = signing_secret
        self._retry_delays = tuple(retry_delays)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token = verification_token
        # A per-process prefix keeps event ids unique across stand-in restarts, so a bridge
        # that remembers ids for de-duplication never drops a new event as a repeat.
        self._id_prefix = secrets.token_hex(3).upper()
        self._count = 0
        self.deliveries: dict[str, Delivery] = {}
        self._queues: dict[str, asyncio.Queue[tuple[Delivery, bytes]]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def emit(self, channel: str, event: JSON) -> str | None:
        """Queue `event` for delivery behind this channel's earlier events."""
        if self.url is None and self.socket is None:
            return None
        self._count += 1
        event_id = f"Ev{self._id_prefix}{self._count:06d}"
        envelope = {
            "token": self._token,
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-local-{event_id}",
        }
        delivery = Delivery(event_id, str(event.get("type")), channel, event.get("ts"))
        self.deliveries[event_id] = delivery
        # Serialise now: later edits to the stored message must not change a queued event.
        body = json.dumps(envelope).encode()
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._drain(queue)))
        queue.put_nowait((delivery, body))
        return event_id

    def records(self) -> list[JSON]:
        return [asdict(d) for d in self.deliveries.values()]

    async def _drain(self, queue: asyncio.Queue[tuple[Delivery, bytes]]) -> None:
        while True:
            delivery, body = await queue.get()
            await self._deliver(delivery, body)

    async def deliver_once(self, envelope: JSON) -> JSON:
        """`envelope` (an `event_callback`) delivered as it is, once, without retries: what
        the receiver answered, `{"status", "body"}` (a test's redelivery or crafted event)."""
        if self.socket is not None:
            return await self.socket.send_once("events_api", envelope, self._timeout.total or 3)
        assert self._session is not None and self.url is not None
        body = json.dumps(envelope).encode()
        headers = signed_headers(self._secret, body, "application/json")
        try:
            async with self._session.post(
                self.url, data=body, headers=headers, timeout=self._timeout
            ) as resp:
                return {"status": resp.status, "body": await resp.text()}
        except (TimeoutError, aiohttp.ClientError) as exc:
            return {"status": 504, "body": repr(exc)}

    async def _deliver(self, delivery: Delivery, body: bytes) -> None:
        if self.socket is not None:
            await self.socket.deliver_event(delivery, json.loads(body), self._retry_delays)
            return
        assert self._session is not None and self.url is not None
        reason = ""
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await asyncio.sleep(delay)  # Slack's back-off between retries
            headers = signed_headers(self._secret, body, "application/json")
            if attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
                headers["X-Slack-Retry-Reason"] = reason
            delivery.attempts += 1
            try:
                async with self._session.post(
                    self.url, data=body, headers=headers, timeout=self._timeout
                ) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        delivery.status = "delivered"
                        delivery.last_error = None
                        return
                    reason, delivery.last_error = "http_error", f"HTTP {resp.status}"
                    if resp.headers.get("X-Slack-No-Retry") == "1":
                        break
            except TimeoutError:
                reason, delivery.last_error = "http_timeout", "timeout"
            except aiohttp.ClientError as exc:
                reason, delivery.last_error = "connection_failed", repr(exc)
        delivery.status = "failed"
