"""7. Abuse resistance: one attacker floods the widget while 20 signed-in customers hand over.

Each repeat runs two phases on a fresh stack state (empty Redis, a fresh local Slack and
bridge, the local Slack's own rate limit off, the bridge with the shipped abuse limits, which
read the client's address from `X-Forwarded-For`):

- **baseline**: `customers` signed-in widget customers (each from its own address, with an
  identity signed like the shop's) ask for a person, one every `spacing_s`; timed from the
  request message (wall clock) to the thread's opening post accepted by the local Slack (its
  `ts`), as in measurement 3. Meanwhile `guests` guests already handed over (in setup) send a
  line into their thread every `GUEST_LINE_EVERY_S`; timed from the line to the thread post
  carrying it.
- **attack**: the same, while one attacker (its own process, one address, the shop's Origin)
  opens new conversations as fast as it can: `ATTACKER_WORKERS` sequential loops of `hello` +
  "I want to talk to a person" + an upload of `UPLOAD_BYTES`; when a `hello` is refused it
  tries an upload with the token of a conversation it opened earlier. It never waits for the
  bot: a socket stays open (at most `LINGER` of them, for `LINGER_S`) only to see what became
  of its handoff. It runs from a second before the first customer until the last customer's
  thread is posted (or `TAIL_S` after the last request).

The two phases alternate order from repeat to repeat. Redis (`INFO memory` used_memory, and
DBSIZE of the bridge's and Rasa's databases) is read before the customers start, every
`SAMPLE_EVERY_S` while they run and `AFTER_S` after the attacker stopped. Customers whose
thread did not appear within the phase count at the time waited (the p99 is then a lower
bound, and the report says so).

`python -m bench.abuse --attack WS_URL HTTP_URL` is the attacker process itself.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import aiohttp
import jwt
from redis.asyncio import Redis

from devstack.processes import ROOT
from devstack.stack import LOCAL_SHOP_IDENTITY_SECRET, ONE_ADDRESS_FOR_MANY_CUSTOMERS

from .harness import HANDOFF_TEXT, BenchStack, Socket, hand_over, is_role, open_widget, say
from .stats import median, summary_ms

ADDRESS_HEADER = "X-Forwarded-For"
# Everyone comes "from the shop's page": an attacker's script copies the shop's Origin, so the
# per-origin limit must not be what keeps the attacker out at the customers' expense.
ORIGIN = "https://shop.example.com"
ATTACKER_ADDRESS = "203.0.113.66"
ATTACKER_WORKERS = 4
LINGER = 32
LINGER_S = 3.0
UPLOAD_BYTES = 64 * 1024
GUEST_LINE_EVERY_S = 20.0
TAIL_S = 15.0
SAMPLE_EVERY_S = 0.5
AFTER_S = 2.0
LEAD_S = 1.0
SLACK_SLOT_S = 1.05  # the bridge's SLACK_POST_INTERVAL_S
# Redis's own buffers (clients' query and output buffers, script cache) move used_memory
# without any data changing; the bound allows this much for them.
REDIS_SLACK_BYTES = 1024 * 1024
# The bridge keeps an upload base64-encoded in Redis (bridge/store/files.py).
UPLOAD_STORED_FACTOR = 4 / 3

# The shipped limits, with the client's address taken from the proxy header.
BRIDGE_ENV: dict[str, str | None] = {name: None for name in ONE_ADDRESS_FOR_MANY_CUSTOMERS} | {
    "BRIDGE_CLIENT_ADDRESS_HEADER": ADDRESS_HEADER
}


def _headers(address: str) -> dict[str, str]:
    return {ADDRESS_HEADER: address, "Origin": ORIGIN}


def _sign(sub: str) -> str:
    """What the shop's server puts on its page for a signed-in customer (docs/identity.md)."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "email": f"{sub}@example.com",
        "name": f"Customer {sub}",
        "aud": "support-widget",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, LOCAL_SHOP_IDENTITY_SECRET, algorithm="HS256")


def shipped_caps() -> dict[str, Any]:
    """The abuse limits' shipped values (bridge/settings.py, group "Abuse limits"), by env."""
    from bridge.settings import Settings

    return {
        f.metadata["env"]: f.default
        for f in fields(Settings)
        if f.metadata.get("group") == "Abuse limits" and isinstance(f.default, int | float)
    }


def memory_bound(
    caps: dict[str, Any], attack_s: float, per_conversation_bytes: float
) -> dict[str, Any]:
    """The most Redis may grow by for one attacking address during `attack_s`, from the caps.

    Conversations: LIMIT_SOURCE_CONVERSATIONS_PER_HOUR at once, then evenly, each costing what
    one handed-over conversation cost in the same repeat's baseline (its transcript, thread,
    queue entries and Rasa tracker: the attacker sends one message per conversation). Uploads:
    LIMIT_SOURCE_UPLOADS_PER_HOUR files of UPLOAD_BYTES, at most
    LIMIT_SOURCE_UPLOAD_MB_PER_HOUR (all at once, then evenly) and FILES_MAX_MB, stored
    base64. Plus REDIS_SLACK_BYTES for Redis's own buffers. A cap of 0 is none: no bound.
    """
    hours = attack_s / 3600
    mib = 1024 * 1024

    def allowed(per_hour: float) -> float:
        return per_hour * (1 + hours) if per_hour > 0 else math.inf

    conversations = allowed(caps.get("LIMIT_SOURCE_CONVERSATIONS_PER_HOUR", 0))
    upload_bytes = min(
        allowed(caps.get("LIMIT_SOURCE_UPLOADS_PER_HOUR", 0)) * UPLOAD_BYTES,
        allowed(caps.get("LIMIT_SOURCE_UPLOAD_MB_PER_HOUR", 0)) * mib,
        (caps.get("FILES_MAX_MB") or math.inf) * mib,
    )
    bound = (
        conversations * per_conversation_bytes
        + upload_bytes * UPLOAD_STORED_FACTOR
        + REDIS_SLACK_BYTES
    )
    return {
        "attack_s": round(attack_s, 1),
        "conversations_allowed": round(conversations, 1),
        "per_conversation_bytes": round(per_conversation_bytes),
        "upload_bytes_allowed": upload_bytes,
        "redis_slack_bytes": REDIS_SLACK_BYTES,
        "bound_bytes": bound if math.isfinite(bound) else None,
    }


# --- the attacker (its own process, so its loop never delays the customers' clocks) ------------


async def _attack(ws_url: str, http_url: str, stop: asyncio.Event) -> dict[str, Any]:
    from bridge.texts.customers import HANDOFF_NOTICES

    notices = set(HANDOFF_NOTICES.values())
    counts: collections.Counter[str] = collections.Counter()
    refusals: collections.Counter[str] = collections.Counter()
    other_system: collections.Counter[str] = collections.Counter()
    tokens: list[str] = []
    linger = asyncio.Semaphore(LINGER)
    watchers: set[asyncio.Task[None]] = set()
    headers = _headers(ATTACKER_ADDRESS)
    payload = os.urandom(UPLOAD_BYTES)
    started = time.monotonic()

    async def upload(http: aiohttp.ClientSession, token: str) -> None:
        counts["uploads_tried"] += 1
        try:
            async with http.post(
                f"{http_url}/widget/upload?name=scan.bin",
                data=payload,
                headers=headers
                | {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
            ) as response:
                await response.read()
                counts["uploads_accepted" if response.status == 200 else "uploads_refused"] += 1
                if response.status != 200:
                    refusals[f"upload HTTP {response.status}"] += 1
        except (aiohttp.ClientError, TimeoutError):
            counts["uploads_failed"] += 1

    async def watch(ws: aiohttp.ClientWebSocketResponse, client_msg_id: str) -> None:
        """What became of the handoff: ack or refusal, then the handoff notice or not."""
        acked = False
        try:
            async with asyncio.timeout(LINGER_S):
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    frame = json.loads(message.data)
                    kind = frame.get("type")
                    if kind == "ack" and frame.get("client_msg_id") == client_msg_id:
                        acked = True
                        counts["messages_accepted"] += 1
                    elif kind == "error" and frame.get("client_msg_id") == client_msg_id:
                        counts["messages_refused"] += 1
                        refusals[_refusal("message", frame)] += 1
                        return
                    elif kind == "message" and frame.get("role") == "system":
                        text = str(frame.get("text", ""))
                        if text in notices:
                            counts["handoffs_accepted"] += 1
                        else:
                            counts["handoffs_refused"] += 1
                            other_system[text[:120]] += 1
                        return
                    elif kind == "message" and frame.get("role") == "bot":
                        counts["handoffs_answered_by_bot"] += 1
                        return
        except TimeoutError:
            counts["handoffs_no_answer_in_time" if acked else "messages_no_answer_in_time"] += 1
        except (aiohttp.ClientError, ValueError):
            counts["socket_errors"] += 1
        finally:
            with contextlib.suppress(Exception):
                await ws.close()
            linger.release()

    async def one(http: aiohttp.ClientSession) -> None:
        await linger.acquire()
        handed_to_watcher = False
        counts["hellos_tried"] += 1
        try:
            ws = await http.ws_connect(
                ws_url, headers=headers, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
            )
        except aiohttp.WSServerHandshakeError as refused:
            # Turned away before the handshake (too many connections): keep pushing uploads
            # under a session it was given before, at once, as an attacker would.
            linger.release()
            counts["hellos_refused"] += 1
            refusals[f"connection HTTP {refused.status}"] += 1
            if tokens:
                await upload(http, tokens[counts["hellos_refused"] % len(tokens)])
            return
        except BaseException:
            linger.release()
            raise
        try:
            await ws.send_json({"type": "hello", "token": None, "since": None})
            token = ""
            async with asyncio.timeout(5):
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    frame = json.loads(message.data)
                    if frame.get("type") == "welcome":
                        token = str(frame["token"])
                    elif frame.get("type") == "history":
                        break
                    elif frame.get("type") == "error":
                        refusals[_refusal("hello", frame)] += 1
                        if not token:
                            break
            if not token:
                counts["hellos_refused"] += 1
                if tokens:  # an upload under a session it was given before
                    await upload(http, tokens[counts["hellos_refused"] % len(tokens)])
                return
            counts["hellos_accepted"] += 1
            tokens.append(token)
            client_msg_id = uuid.uuid4().hex
            counts["messages_tried"] += 1
            await ws.send_json(
                {"type": "message", "text": HANDOFF_TEXT, "client_msg_id": client_msg_id}
            )
            await upload(http, token)
            task = asyncio.create_task(watch(ws, client_msg_id))
            watchers.add(task)
            task.add_done_callback(watchers.discard)
            handed_to_watcher = True
        finally:
            if not handed_to_watcher:
                with contextlib.suppress(Exception):
                    await ws.close()
                linger.release()

    async def worker(http: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            try:
                await one(http)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
                counts["connection_errors"] += 1
                await asyncio.sleep(0.05)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        print("started", flush=True)
        await asyncio.gather(*(worker(http) for _ in range(ATTACKER_WORKERS)))
        duration = time.monotonic() - started
        if watchers:  # the last handoffs' fates: a second more, then they count as unknown
            await asyncio.wait(watchers, timeout=1.0)
            counts["handoffs_unknown_at_stop"] += sum(1 for w in watchers if not w.done())
            for w in list(watchers):
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
    return {
        "duration_s": round(duration, 2),
        "conversations_per_s": round(counts["hellos_tried"] / duration, 1),
        "counts": dict(sorted(counts.items())),
        "refusals": dict(sorted(refusals.items())),
        "other_system_messages": dict(other_system.most_common(5)),
    }


def _refusal(what: str, frame: dict[str, Any]) -> str:
    """A refusal's code, and roughly how long it said to wait (which tells the limits apart:
    a per-minute one says seconds, an hourly one a minute or more)."""
    retry = frame.get("retry_after")
    if not isinstance(retry, int | float):
        return f"{what} {frame.get('code')}"
    band = "< 5 s" if retry < 5 else "5-60 s" if retry <= 60 else "> 60 s"
    return f"{what} {frame.get('code')} (retry {band})"


def _attacker_main(ws_url: str, http_url: str, max_s: float) -> None:
    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.call_later(max_s, stop.set)  # never outlives a bench that died
        return await _attack(ws_url, http_url, stop)

    result = asyncio.run(main())
    print(json.dumps(result), flush=True)


class Attacker:
    """The attacker process, started and stopped by the bench."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, bench: BenchStack, max_s: float) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.abuse",
            "--attack",
            bench.ws_url,
            bench.bridge_url,
            "--max-s",
            str(max_s),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        if line.strip() != b"started":
            raise RuntimeError(f"the attacker did not start: {line!r}")

    async def stop(self) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        process.send_signal(signal.SIGTERM)
        try:
            out = await asyncio.wait_for(process.stdout.read(), 30)
            await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        lines = out.decode().strip().splitlines()
        return dict(json.loads(lines[-1])) if lines else {"error": "no result"}


# --- one phase, with or without the attacker --------------------------------------------------


@dataclass
class Memory:
    redis: Redis
    rasa: Redis
    samples: list[dict[str, float]] = field(default_factory=list)

    async def read(self) -> dict[str, float]:
        info = await self.redis.info("memory")
        return {
            "t": time.monotonic(),
            "used_memory": int(info["used_memory"]),
            "keys_bridge": int(await self.redis.dbsize()),
            "keys_rasa": int(await self.rasa.dbsize()),
        }

    async def sample_until(self, done: asyncio.Event) -> None:
        while not done.is_set():
            self.samples.append(await self.read())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), SAMPLE_EVERY_S)


@dataclass
class CustomerResult:
    thread_s: float | None = None  # request → thread's opening post; None: not within the phase
    notice_s: float | None = None
    open_s: float | None = None  # connect → welcome + history
    signed_in: bool = False
    sent_wall: float | None = None
    error: str = ""


async def _rasa_quiet(http: aiohttp.ClientSession, rasa_url: str, timeout_s: float = 90) -> None:
    """Rasa may still be working through turns an attacker queued: wait until it answers a
    turn promptly, so no backlog of the previous phase runs into this one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        body = {"sender": f"bench-quiet-{uuid.uuid4().hex}", "message": "hello"}
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.post(f"{rasa_url}/webhooks/rest/webhook", json=body) as response:
                await response.read()
            if time.monotonic() - started < 0.5:
                return
        await asyncio.sleep(1)


async def _customer(
    http: aiohttp.ClientSession, bench: BenchStack, index: int, deadline: float
) -> CustomerResult:
    result = CustomerResult()
    started = time.perf_counter()
    try:
        socket = await open_widget(
            http,
            bench.ws_url,
            headers=_headers(f"198.51.100.{index + 1}"),
            identity=_sign(f"c-bench-{index}"),
        )
    except (aiohttp.ClientError, TimeoutError, ConnectionError, KeyError) as error:
        result.error = f"open: {type(error).__name__} {error}"
        return result
    try:
        result.open_s = time.perf_counter() - started
        result.signed_in = socket.customer is not None
        posted = bench.sink.wait_for_post(socket.conversation_id)
        notice = socket.expect(is_role("system"))
        result.sent_wall = time.time()
        sent = await say(socket, HANDOFF_TEXT)
        await asyncio.wait([posted], timeout=max(0.05, deadline - time.monotonic()))
        if posted.done():
            result.thread_s = posted.result().ts - result.sent_wall
        else:
            posted.cancel()
        if notice.done():
            result.notice_s = notice.result() - sent
        else:
            notice.cancel()
        return result
    finally:
        await socket.close()


async def _guest_lines(guests: list[Socket], until: float, lines: list[tuple[str, float]]) -> None:
    """Each guest (already in a thread) sends a line every GUEST_LINE_EVERY_S, staggered."""
    step = GUEST_LINE_EVERY_S / max(1, len(guests))
    next_at = time.monotonic() + step / 2
    k = 0
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        socket = guests[k % len(guests)]
        needle = f"guest-line-{uuid.uuid4().hex[:10]}"
        lines.append((needle, time.time()))
        await say(socket, f"any news? ({needle})")
        k += 1
        next_at += step


async def _lines_posted(
    bench: BenchStack, first_post: int, lines: list[tuple[str, float]], deadline: float
) -> None:
    """Until every guest line is in a thread post the local Slack accepted, or the deadline."""
    for _ in range(int(max(0.0, deadline - time.monotonic()) / 0.1) + 1):
        text = "\n".join(p.text for p in bench.sink.posts[first_post:] if p.thread_ts)
        if all(needle in text for needle, _ in lines):
            return
        await asyncio.sleep(0.1)


def _latencies(values: list[float | None], waited: list[float]) -> tuple[list[float], int]:
    """The measured times, with the ones never seen counted at the time waited for them."""
    out = [v if v is not None else w for v, w in zip(values, waited, strict=True)]
    return out, sum(1 for v in values if v is None)


async def _phase(
    bench: BenchStack,
    attack: bool,
    customers: int,
    spacing_s: float,
    guests: int,
) -> dict[str, Any]:
    await bench.fresh_state(slack_rate_limit=False)
    redis = Redis.from_url(bench.stack.redis_url)
    rasa = Redis.from_url(bench.stack.rasa_redis_url)
    memory = Memory(redis, rasa)
    attacker = Attacker() if attack else None
    sampling_done = asyncio.Event()
    sampler: asyncio.Task[None] | None = None
    connector = aiohttp.TCPConnector(limit=0)
    guest_sockets: list[Socket] = []
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            await _rasa_quiet(http, bench.stack.rasa_url)
            # Setup (also the warm-up): the guests hand over, and their threads are posted.
            for g in range(guests):
                guest_sockets.append(
                    await open_widget(http, bench.ws_url, headers=_headers(f"192.0.2.{g + 1}"))
                )
            await asyncio.gather(*(hand_over(bench.sink, s) for s in guest_sockets))
            # Their cards are posted; their transcripts follow, one per channel slot.
            await asyncio.sleep(guests * SLACK_SLOT_S + SLACK_SLOT_S)
            before = await memory.read()
            sampler = asyncio.create_task(memory.sample_until(sampling_done))
            phase_posts = len(bench.sink.posts)
            attack_started = time.monotonic()
            if attacker is not None:
                max_s = LEAD_S + customers * spacing_s + TAIL_S + 120
                await attacker.start(bench, max_s)
                attack_started = time.monotonic()
            t0 = time.monotonic() + LEAD_S
            t0_wall = time.time() + LEAD_S
            last_start = t0 + (customers - 1) * spacing_s
            deadline = last_start + TAIL_S
            lines: list[tuple[str, float]] = []
            liner = (
                asyncio.create_task(_guest_lines(guest_sockets, last_start, lines))
                if guest_sockets
                else None
            )
            tasks: list[asyncio.Task[CustomerResult]] = []
            for i in range(customers):
                # Open loop: each customer starts on schedule, however the others fare.
                await asyncio.sleep(max(0.0, t0 + i * spacing_s - time.monotonic()))
                tasks.append(asyncio.create_task(_customer(http, bench, i, deadline)))
            results = await asyncio.gather(*tasks)
            if liner is not None:
                await liner
            ended = time.monotonic()
            attacker_result = await attacker.stop() if attacker is not None else None
            attack_s = time.monotonic() - attack_started
            # Guest lines still on their way get until the tail's end to land.
            await _lines_posted(bench, phase_posts, lines, deadline)
            sampling_done.set()
            await sampler
            await asyncio.sleep(AFTER_S)
            after = await memory.read()
            waited_until = time.time()
    finally:
        sampling_done.set()
        if sampler is not None and not sampler.done():
            sampler.cancel()
        for s in guest_sockets:
            await s.close()
        if attacker is not None and attacker._process is not None:
            if attacker._process.returncode is None:
                attacker._process.kill()
                await attacker._process.wait()
        await redis.aclose()
        await rasa.aclose()

    wall_end = waited_until
    thread_s, not_posted = _latencies(
        [r.thread_s for r in results],
        [wall_end - (r.sent_wall or wall_end) for r in results],
    )
    posts = bench.sink.posts[phase_posts:]
    line_s: list[float | None] = []
    for needle, sent_wall in lines:
        found = [p.ts for p in posts if p.thread_ts is not None and needle in p.text]
        line_s.append(min(found) - sent_wall if found else None)
    lines_s, lines_missing = _latencies(line_s, [wall_end - w for _, w in lines])
    peak = max(memory.samples, key=lambda s: s["used_memory"]) if memory.samples else before
    during = memory.samples or [before]
    return {
        "attack": attack,
        "thread_posted": summary_ms(thread_s),
        "not_posted": not_posted,
        "signed_in": sum(1 for r in results if r.signed_in),
        "open_errors": [r.error for r in results if r.error],
        "customer_notice": summary_ms([r.notice_s for r in results if r.notice_s is not None]),
        "customers_told": sum(1 for r in results if r.notice_s is not None),
        "open": summary_ms([r.open_s for r in results if r.open_s is not None]),
        # Per customer, in order: when it asked (s after the first was due), its notice and
        # its thread (ms); and when each post landed in the channel (s, "c" a thread's card).
        "timeline": {
            "customers": [
                [
                    _round(r.sent_wall - t0_wall if r.sent_wall else None, 2),
                    _round(r.notice_s * 1000 if r.notice_s is not None else None, 0),
                    _round(r.thread_s * 1000 if r.thread_s is not None else None, 0),
                ]
                for r in results
            ],
            "posts": [f"{p.ts - t0_wall:.2f}{'' if p.thread_ts else 'c'}" for p in posts],
        },
        "guest_lines": summary_ms(lines_s) | {"missing": lines_missing},
        "phase_s": round(ended - attack_started, 1),
        "attack_s": round(attack_s, 1) if attacker is not None else None,
        "posts_in_channel": len(posts),
        "memory": {
            "before": before["used_memory"],
            "peak": peak["used_memory"],
            "after": after["used_memory"],
            "growth_peak": peak["used_memory"] - before["used_memory"],
            "growth_after": after["used_memory"] - before["used_memory"],
            "keys_bridge": [
                before["keys_bridge"],
                max(s["keys_bridge"] for s in during),
                after["keys_bridge"],
            ],
            "keys_rasa": [
                before["keys_rasa"],
                max(s["keys_rasa"] for s in during),
                after["keys_rasa"],
            ],
            "samples": len(memory.samples),
        },
        "attacker": attacker_result,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _p99(phase: dict[str, Any]) -> float:
    return float(phase["thread_posted"]["p99_ms"])


async def run(
    bench: BenchStack,
    repeats: int,
    customers: int,
    spacing_s: float,
    guests: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    undo = bench.use_bridge_env(BRIDGE_ENV)
    caps = shipped_caps()
    results: list[dict[str, Any]] = []
    try:
        for repeat in range(repeats):
            order = (False, True) if repeat % 2 == 0 else (True, False)
            phases: dict[bool, dict[str, Any]] = {}
            for attack in order:
                phase = await _phase(bench, attack, customers, spacing_s, guests)
                log(
                    f"   repeat {repeat + 1}, {'attack' if attack else 'baseline'}: thread p50 "
                    f"{phase['thread_posted']['p50_ms']:.0f} ms, p99 "
                    f"{phase['thread_posted']['p99_ms']:.0f} ms, {phase['not_posted']} not "
                    f"posted, Redis +{phase['memory']['growth_peak'] / 1024:.0f} KB"
                )
                phases[attack] = phase
            base, under = phases[False], phases[True]
            per_conversation = max(0, base["memory"]["growth_peak"]) / max(1, customers)
            bound = memory_bound(caps, float(under["attack_s"] or 0), per_conversation)
            growth = under["memory"]["growth_peak"]
            attacker_growth = growth - base["memory"]["growth_peak"]
            results.append(
                {
                    "order": ["attack" if a else "baseline" for a in order],
                    "baseline": base,
                    "attack": under,
                    "p50_ms": base["thread_posted"]["p50_ms"],
                    "p99_ms": _p99(base),
                    "attack_p50_ms": under["thread_posted"]["p50_ms"],
                    "attack_p99_ms": _p99(under),
                    "p99_difference_ms": round(_p99(under) - _p99(base), 3),
                    "guest_line_p99_ms": base["guest_lines"]["p99_ms"],
                    "attack_guest_line_p99_ms": under["guest_lines"]["p99_ms"],
                    "censored": base["not_posted"] + under["not_posted"],
                    "memory_growth_bytes": growth,
                    "attacker_memory_growth_bytes": attacker_growth,
                    "memory_bound": bound,
                    "within_bound": bound["bound_bytes"] is not None
                    and attacker_growth <= bound["bound_bytes"],
                }
            )
    finally:
        bench.use_bridge_env(undo)
    differences = [r["p99_difference_ms"] for r in results]
    keys = (
        "p50_ms",
        "p99_ms",
        "attack_p50_ms",
        "attack_p99_ms",
        "p99_difference_ms",
        "guest_line_p99_ms",
        "attack_guest_line_p99_ms",
        "memory_growth_bytes",
        "attacker_memory_growth_bytes",
    )
    medians = {k: round(median([float(r[k]) for r in results]), 3) for k in keys}
    bounds = [float(r["memory_bound"]["bound_bytes"] or math.nan) for r in results]
    medians["memory_bound_bytes"] = round(median(bounds), 0)
    difference = medians["p99_difference_ms"]
    return {
        "customers_per_repeat": customers,
        "spacing_s": spacing_s,
        "guests": guests,
        "guest_line_every_s": GUEST_LINE_EVERY_S,
        "attacker": {
            "workers": ATTACKER_WORKERS,
            "linger": LINGER,
            "upload_bytes": UPLOAD_BYTES,
            "address": ATTACKER_ADDRESS,
        },
        "caps": caps,
        "repeats": results,
        "median": medians,
        "worst_p99_difference_ms": max(differences) if differences else None,
        "any_censored": any(r["censored"] for r in results),
        "target": {"p99_difference_ms_max": 2000, "memory": "attacker's growth ≤ bound"},
        "met": {
            "p99": bool(results) and difference <= 2000,
            "memory": bool(results) and all(r["within_bound"] for r in results),
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.abuse")
    parser.add_argument("--attack", nargs=2, metavar=("WS_URL", "HTTP_URL"), required=True)
    parser.add_argument("--max-s", type=float, default=600.0)
    args = parser.parse_args()
    _attacker_main(args.attack[0], args.attack[1], args.max_s)
