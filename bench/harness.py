"""The stack under test and the load client's building blocks (loopback only).

- `BenchStack`: devstack's `Stack` (Redis, actions, Rasa, local Slack, bridge) with the local
  Slack's events routed through an `EventSink`, so the client sees the exact moment each bot
  post lands in the staff channel; it can switch the local Slack's rate limit on and restart
  the bridge for a fresh process.
- `Socket`: one widget (or floor) WebSocket with a reader task that timestamps every frame.
- `slack_event`: a signed Events API request, as Slack sends it for a staff thread reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import resource
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from devstack.processes import free_port
from devstack.stack import LOCAL_SLACK, ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack

STAFF_CHANNEL = LOCAL_SLACK["SLACK_CHANNEL_ID"]
SIGNING_SECRET = LOCAL_SLACK["SLACK_SIGNING_SECRET"]
HANDOFF_TEXT = "I want to talk to a person"

Frame = dict[str, Any]


def raise_fd_limit() -> int:
    """Soft fd limit up to the hard limit; processes started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def gc_pauses(log: Path, since: float, until: float) -> list[float]:
    """The bridge's GC pauses (ms) that ended between two time.monotonic() readings."""
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return []
    pauses = []
    for line in lines:
        end, _generation, ms = line.split()[:3]
        if since <= float(end) <= until:
            pauses.append(float(ms))
    return pauses


def gc_pause_cpu(log: Path, since: float, until: float) -> list[float]:
    """Like `gc_pauses`, but the CPU time (ms) each took: the collection's own cost."""
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return []
    return [
        float(fields[3])
        for fields in (line.split() for line in lines)
        if len(fields) > 3 and since <= float(fields[0]) <= until
    ]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- the local Slack's events, seen by the client ---------------------------------------------


@dataclass(frozen=True)
class Post:
    """A bot post the local Slack accepted: `ts` is its wall-clock time of acceptance."""

    ts: float
    received: float
    text: str
    thread_ts: str | None


class EventSink:
    """Takes the local Slack's Events API calls, records bot posts, forwards all to the bridge."""

    def __init__(self) -> None:
        self.port = free_port()
        self.forward_to = ""
        self.posts: list[Post] = []
        self._waiting: list[tuple[str, asyncio.Future[Post]]] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, forward_to: str) -> None:
        self.forward_to = forward_to
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/slack/events", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def wait_for_post(self, needle: str) -> asyncio.Future[Post]:
        """The first top-level bot post whose text contains `needle` (already seen or to come)."""
        future: asyncio.Future[Post] = asyncio.get_running_loop().create_future()
        for post in self.posts:
            if post.thread_ts is None and needle in post.text:
                future.set_result(post)
                return future
        self._waiting.append((needle, future))
        return future

    async def _handle(self, request: web.Request) -> web.Response:
        received = time.time()
        body = await request.read()
        event = json.loads(body).get("event") or {}
        if event.get("type") == "message" and event.get("bot_id") and not event.get("subtype"):
            post = Post(float(event["ts"]), received, str(event.get("text", "")), None)
            if event.get("thread_ts") and event.get("thread_ts") != event.get("ts"):
                post = Post(post.ts, received, post.text, str(event["thread_ts"]))
            self.posts.append(post)
            if post.thread_ts is None:
                self._notify(post)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-slack")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        try:
            async with self._http.post(self.forward_to, data=body, headers=headers) as response:
                return web.Response(status=response.status, body=await response.read())
        except aiohttp.ClientError:
            # The bridge is restarting; the local Slack retries, as Slack would.
            return web.Response(status=503)

    def _notify(self, post: Post) -> None:
        still: list[tuple[str, asyncio.Future[Post]]] = []
        for needle, future in self._waiting:
            if future.done():
                continue
            if needle in post.text:
                future.set_result(post)
            else:
                still.append((needle, future))
        self._waiting = still


# --- the product on loopback --------------------------------------------------------------------


class BenchStack:
    def __init__(self, run_dir: Path, bridge_env: Mapping[str, str] | None = None) -> None:
        self.fd_limit = raise_fd_limit()
        self.sink = EventSink()
        # Every simulated customer connects from 127.0.0.1, so by default the per-address abuse
        # limits are off (as in the test suites); measurement 7 (bench/abuse.py) turns the
        # shipped ones back on with `use_bridge_env`.
        env = ONE_ADDRESS_FOR_MANY_CUSTOMERS if bridge_env is None else bridge_env
        self.stack = Stack(run_dir, local_telegram=False, bridge_env=dict(env))
        argv = self.stack.services["slack"].argv
        argv[argv.index("--events-url") + 1] = self.sink.url
        # The bridge logs its garbage-collector pauses (bench/gcwatch), so latency outliers
        # can be matched with them; nothing else about the process changes. One log per bench
        # process, so a second run on the same machine cannot add its bridge's pauses to ours.
        self.gc_log = run_dir / f"bridge-gc-{os.getpid()}.log"
        self.stack.services["bridge"].env |= {
            "PYTHONPATH": str(Path(__file__).parent / "gcwatch"),
            "BENCH_GC_LOG": str(self.gc_log),
        }
        self.slack_rate_limited = False

    @property
    def bridge_url(self) -> str:
        return self.stack.bridge_url

    @property
    def ws_url(self) -> str:
        return self.stack.bridge_url.replace("http://", "ws://") + "/widget/ws"

    @property
    def bridge_pid(self) -> int:
        process = self.stack.services["bridge"].process
        assert process is not None
        return process.pid

    @property
    def bridge_log(self) -> Path:
        return self.stack.services["bridge"].log_path

    async def start(self) -> None:
        await self.sink.start(f"{self.stack.bridge_url}/slack/events")
        await asyncio.to_thread(self.stack.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stack.stop)
        await self.sink.close()

    async def restart_bridge(self) -> None:
        bridge = self.stack.services["bridge"]
        await asyncio.to_thread(bridge.stop)
        await asyncio.to_thread(bridge.start)

    async def fresh_state(self, slack_rate_limit: bool) -> None:
        """Empty Redis and a new local Slack workspace, with a bridge started on top of them.

        What earlier measurements left behind (unclaimed handoffs whose reminders come due,
        threads the new workspace does not know) must not share the channel being measured.
        """
        bridge = self.stack.services["bridge"]
        await asyncio.to_thread(bridge.stop)
        redis = Redis.from_url(self.stack.redis_url)
        try:
            await redis.flushall()
        finally:
            await redis.aclose()
        await self.set_slack_rate_limit(slack_rate_limit)
        await asyncio.to_thread(bridge.start)

    def use_bridge_env(self, changes: Mapping[str, str | None]) -> dict[str, str | None]:
        """Set (or, with None, remove) bridge environment variables from its next start on
        (`fresh_state`, `restart_bridge`); returns what undoes it."""
        env = self.stack.services["bridge"].env
        undo = {name: env.get(name) for name in changes}
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return undo

    async def set_slack_rate_limit(self, on: bool) -> None:
        """Restart the local Slack with or without its 1 post/s per channel limit."""
        slack = self.stack.services["slack"]
        await asyncio.to_thread(slack.stop)
        if on and "--rate-limit" not in slack.argv:
            slack.argv.append("--rate-limit")
        if not on and "--rate-limit" in slack.argv:
            slack.argv.remove("--rate-limit")
        await asyncio.to_thread(slack.start)
        self.slack_rate_limited = on


# --- WebSocket clients ----------------------------------------------------------------------------


@dataclass
class Socket:
    """One open WebSocket; a reader task timestamps frames and resolves what is awaited."""

    ws: aiohttp.ClientWebSocketResponse
    conversation_id: str = ""
    token: str = ""
    customer: dict[str, str] | None = None  # `welcome`'s signed-in customer (None: a guest)
    on_frame: Callable[[Frame, float], None] | None = None
    _expect: list[tuple[Callable[[Frame], bool], asyncio.Future[float]]] = field(
        default_factory=list
    )
    _reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self._reader = asyncio.create_task(self._read())

    def expect(self, predicate: Callable[[Frame], bool]) -> asyncio.Future[float]:
        """Resolves with the perf_counter() time the first matching frame arrives."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._expect.append((predicate, future))
        return future

    async def send(self, frame: Frame) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read(self) -> None:
        async for message in self.ws:
            now = time.perf_counter()
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if self.on_frame is not None:
                self.on_frame(frame, now)
            if self._expect:
                matched = [(p, f) for p, f in self._expect if not f.done() and p(frame)]
                for _, future in matched:
                    future.set_result(now)
                self._expect = [(p, f) for p, f in self._expect if not f.done()]


async def open_widget(
    http: aiohttp.ClientSession,
    ws_url: str,
    token: str | None = None,
    timeout_s: float = 30.0,
    headers: Mapping[str, str] | None = None,
    identity: str | None = None,
) -> Socket:
    """Connect, say `hello`, wait for `welcome` and `history`; then keep reading.

    `headers` go with the upgrade request (a client address, an Origin); `identity` is a
    signed-in customer's signed identity (docs/widget-protocol.md, Identity).
    """
    ws = await http.ws_connect(
        ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=5.0), headers=headers
    )
    socket = Socket(ws)
    hello: Frame = {"type": "hello", "token": token, "since": None}
    if identity is not None:
        hello["identity"] = identity
    await socket.send(hello)
    async with asyncio.timeout(timeout_s):
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"widget socket: {message.type.name} {message.data!r}")
            frame = json.loads(message.data)
            if frame["type"] == "welcome":
                socket.conversation_id, socket.token = frame["conversation_id"], frame["token"]
                socket.customer = frame.get("customer")
            elif frame["type"] == "history":
                break
    socket.start_reading()
    return socket


def is_role(role: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == "message" and f.get("role") == role


async def say(socket: Socket, text: str) -> float:
    """Send a customer message; the perf_counter() time it left."""
    frame = {"type": "message", "text": text, "client_msg_id": uuid.uuid4().hex}
    sent = time.perf_counter()
    await socket.send(frame)
    return sent


# --- Slack Events API requests --------------------------------------------------------------------

_ts_counter = itertools.count()


def unique_ts() -> str:
    """A Slack-style `ts`, unique within this run."""
    micros = time.time_ns() // 1000 + next(_ts_counter)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def slack_event(thread_ts: str, text: str, user: str = "U0ALICE") -> tuple[bytes, dict[str, str]]:
    """A staff reply in a thread as Slack delivers it: body and signed headers."""
    ts = unique_ts()
    event_id = "EvBENCH" + uuid.uuid4().hex[:16].upper()
    envelope = {
        "token": "local-verification-token",
        "team_id": "T0LOCAL",
        "api_app_id": "A0LOCAL",
        "event": {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "event_ts": ts,
            "channel_type": "channel",
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": "T0LOCAL", "user_id": "U0BOT", "is_bot": True, "enterprise_id": None}
        ],
    }
    body = json.dumps(envelope).encode()
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    return body, headers


async def hand_over(sink: EventSink, socket: Socket, timeout_s: float = 60.0) -> Post:
    """A real handoff: the customer asks for a person; the thread's opening post in Slack."""
    posted = sink.wait_for_post(socket.conversation_id)
    await say(socket, HANDOFF_TEXT)
    return await asyncio.wait_for(posted, timeout_s)
