"""2. Human relay: a staff reply in a handoff thread (a signed Events API POST to the bridge's
/slack/events) until its frame reaches the customer's WebSocket, against the floor
(bench/floor.py: the same POST → Redis PUBLISH → subscriber → WebSocket, nothing else),
with the very same client code for both.

- Latency at a fixed offered rate (open loop: sends follow a schedule, and latency counts from
  the scheduled time, so a stalled client or server cannot hide its backlog).
- Highest sustained rate (closed loop: a fixed number of messages in flight, each new one sent
  when one arrives, for a fixed time; throughput = arrivals / time).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok

from .harness import BenchStack, Frame, Socket, gc_pauses, hand_over, open_widget, slack_event
from .stats import over_repeats, ratio, summary_ms

TEXT = "relay "


@dataclass
class RelayTarget:
    """Where staff events go and the sockets their frames come back on."""

    name: str
    events_url: str
    http: aiohttp.ClientSession
    threads: list[tuple[Socket, str]] = field(default_factory=list)
    arrivals: dict[int, float] = field(default_factory=dict)
    waiters: dict[int, asyncio.Future[float]] = field(default_factory=dict)
    errors: int = 0
    gc_log: Path | None = None
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, socket: Socket, thread_ts: str) -> None:
        socket.on_frame = self._on_frame
        self.threads.append((socket, thread_ts))

    def next_seq(self) -> int:
        return next(self._seq)

    def waiter(self, seq: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[seq] = future
        return future

    async def post(self, seq: int) -> None:
        _, thread_ts = self.threads[seq % len(self.threads)]
        body, headers = slack_event(thread_ts, f"{TEXT}{seq}")
        try:
            async with self.http.post(self.events_url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    self.errors += 1
        except aiohttp.ClientError:
            self.errors += 1

    async def close(self) -> None:
        for socket, _ in self.threads:
            await socket.close()
        self.threads.clear()

    def _on_frame(self, frame: Frame, now: float) -> None:
        text = str(frame.get("text", ""))
        if frame.get("type") != "message" or not text.startswith(TEXT):
            return
        seq = int(text[len(TEXT) :])
        self.arrivals[seq] = now
        future = self.waiters.pop(seq, None)
        if future is not None and not future.done():
            future.set_result(now)


async def confirm_relayed(target: RelayTarget, timeout_s: float = 60.0) -> None:
    """Each thread relays a message end to end (the thread map may trail the Slack post)."""
    deadline = time.monotonic() + timeout_s
    for index in range(len(target.threads)):
        while True:
            seq = target.next_seq()
            while seq % len(target.threads) != index:
                seq = target.next_seq()
            arrived = target.waiter(seq)
            await target.post(seq)
            try:
                await asyncio.wait_for(arrived, 0.5)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target.name}: thread {index} relays nothing") from None


async def open_loop(target: RelayTarget, rate: float, duration_s: float) -> dict[str, Any]:
    began = time.monotonic()
    count = max(1, round(rate * duration_s))
    start = time.perf_counter() + 0.05
    scheduled: dict[int, float] = {}
    posts: list[asyncio.Task[None]] = []
    errors_before = target.errors
    for i in range(count):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        seq = target.next_seq()
        scheduled[seq] = at
        posts.append(asyncio.create_task(target.post(seq)))
    await asyncio.gather(*posts)
    pending = [f for s in scheduled if s not in target.arrivals for f in [target.waiter(s)]]
    if pending:
        await asyncio.wait(pending, timeout=5.0)
    arrived = {s: target.arrivals[s] for s in scheduled if s in target.arrivals}
    latencies = [arrived[s] - at for s, at in scheduled.items() if s in arrived]
    span = (max(arrived.values()) - start) if arrived else float("nan")
    return {
        "offered_per_s": rate,
        "sent": count,
        "delivered": len(arrived),
        "lost": count - len(arrived),
        "http_errors": target.errors - errors_before,
        "achieved_per_s": round(len(arrived) / span, 1) if arrived else 0.0,
        **summary_ms(latencies),
        "longest_gc_pause_ms": max(gc_pauses(target.gc_log, began, time.monotonic()), default=0.0)
        if target.gc_log
        else None,
    }


async def closed_loop(target: RelayTarget, in_flight: int, duration_s: float) -> dict[str, Any]:
    latencies: list[float] = []
    lost = 0
    start = time.perf_counter()
    end = start + duration_s
    last = start

    async def worker() -> None:
        nonlocal lost, last
        while time.perf_counter() < end:
            seq = target.next_seq()
            arrived = target.waiter(seq)
            sent = time.perf_counter()
            await target.post(seq)
            try:
                at = await asyncio.wait_for(arrived, 5.0)
            except TimeoutError:
                lost += 1
                continue
            latencies.append(at - sent)
            last = max(last, at)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = last - start
    return {
        "in_flight": in_flight,
        "delivered": len(latencies),
        "lost": lost,
        "throughput_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        **summary_ms(latencies),
    }


# --- the two targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handed:
    """A widget conversation handed to staff: its session token and Slack thread."""

    token: str
    thread_ts: str


async def hand_over_conversations(
    http: aiohttp.ClientSession, bench: BenchStack, count: int
) -> list[Handed]:
    handed: list[Handed] = []
    for _ in range(count):
        socket = await open_widget(http, bench.ws_url)
        try:
            post = await hand_over(bench.sink, socket)
            handed.append(Handed(socket.token, f"{post.ts:.6f}"))
        finally:
            await socket.close()
    return handed


async def bridge_target(
    http: aiohttp.ClientSession, bench: BenchStack, handed: list[Handed]
) -> RelayTarget:
    target = RelayTarget("bridge", f"{bench.bridge_url}/slack/events", http, gc_log=bench.gc_log)
    for conversation in handed:
        socket = await open_widget(http, bench.ws_url, token=conversation.token)
        target.add(socket, conversation.thread_ts)
    await confirm_relayed(target)
    return target


class Floor:
    def __init__(self, run_dir: Path, redis_url: str) -> None:
        self.port = free_port()
        argv = [str(BRIDGE_PYTHON), "-m", "bench.floor", "--port", str(self.port)]
        argv += ["--redis-url", redis_url]
        self.service = Service(
            "floor",
            argv,
            run_dir,
            ready=lambda: http_ok(f"http://127.0.0.1:{self.port}/healthz"),
        )

    async def start(self) -> None:
        await asyncio.to_thread(self.service.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.service.stop)

    async def target(self, http: aiohttp.ClientSession, threads: int) -> RelayTarget:
        target = RelayTarget("floor", f"http://127.0.0.1:{self.port}/slack/events", http)
        for i in range(threads):
            ws = await http.ws_connect(f"ws://127.0.0.1:{self.port}/ws")
            socket = Socket(ws, conversation_id=f"floor-{uuid.uuid4().hex}")
            thread_ts = f"{time.time():.6f}{i}"
            await socket.send({"conversation": socket.conversation_id, "thread_ts": thread_ts})
            await ws.receive()  # welcome
            socket.start_reading()
            target.add(socket, thread_ts)
        await confirm_relayed(target)
        return target


async def interleaved(
    targets: list[RelayTarget],
    repeats: int,
    measure: Callable[[RelayTarget], Awaitable[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Each repeat measures every target, alternating which goes first."""
    results: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    for r in range(repeats):
        for target in targets if r % 2 == 0 else list(reversed(targets)):
            results[target.name].append(await measure(target))
    return results


async def run(
    bench: BenchStack,
    http: aiohttp.ClientSession,
    handed: list[Handed],
    run_dir: Path,
    repeats: int,
    rate: float,
    duration_s: float,
    in_flight: int,
    saturate_s: float,
) -> dict[str, Any]:
    floor = Floor(run_dir, bench.stack.redis_url)
    await floor.start()
    try:
        bridge = await bridge_target(http, bench, handed)
        base = await floor.target(http, len(handed))
        targets = [bridge, base]
        for target in targets:  # warm-up
            await open_loop(target, rate, 1.0)
        at_rate = await interleaved(targets, repeats, lambda t: open_loop(t, rate, duration_s))
        saturated = await interleaved(
            targets, repeats, lambda t: closed_loop(t, in_flight, saturate_s)
        )
        await bridge.close()
        await base.close()
    finally:
        await floor.stop()
    fields = ("p50_ms", "p99_ms", "max_ms", "lost", "achieved_per_s")
    latency = {name: over_repeats(rs, *fields) for name, rs in at_rate.items()}
    capacity = {
        name: over_repeats(rs, "throughput_per_s", "p50_ms", "p99_ms", "lost")
        for name, rs in saturated.items()
    }
    bridge_p99 = latency["bridge"]["p99_ms"]
    throughput_ratio = ratio(
        capacity["bridge"]["throughput_per_s"], capacity["floor"]["throughput_per_s"]
    )
    return {
        "threads": len(handed),
        "rate_per_s": rate,
        "duration_s": duration_s,
        "in_flight": in_flight,
        "saturate_s": saturate_s,
        "at_rate": {"repeats": at_rate, "median": latency},
        "saturated": {"repeats": saturated, "median": capacity},
        "ratios": {
            "p50_vs_floor": ratio(latency["bridge"]["p50_ms"], latency["floor"]["p50_ms"]),
            "p99_vs_floor": ratio(bridge_p99, latency["floor"]["p99_ms"]),
            "p99_vs_target": ratio(bridge_p99, 10.0),
            "throughput_vs_floor": throughput_ratio,
        },
        "target": {"p99_ms_max_at_200": 10.0, "throughput_vs_floor_min": 0.5},
        "met": {
            "p99": bridge_p99 <= 10.0,
            "throughput": throughput_ratio >= 0.5,
        },
    }
