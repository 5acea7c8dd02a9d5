"""The floor for the human relay: the least a WebSocket + Redis pub/sub relay can do.

`python -m bench.floor --port P --redis-url URL`. A socket says
`{"conversation": c, "thread_ts": t}` first; a POSTed Slack event for thread `t` is published
on Redis and every process subscribed sends it to the sockets of conversation `c`. No
signature check, no transcript, no de-duplication: what is left is the cost of the hops. Like
the bridge, it runs on uvloop and sends to its own sockets at once, publishing for the other
processes with an origin its own subscriber skips (bridge/platforms/widget/hub.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from bridge.event_loop import new_event_loop

ORIGIN = uuid.uuid4().hex[:12]
CHANNEL = "bench:floor:events"
REDIS = web.AppKey("redis", Redis)
SocketMap = defaultdict[str, set[web.WebSocketResponse]]
SOCKETS = web.AppKey("sockets", SocketMap)
THREADS = web.AppKey("threads", dict[str, str])


async def socket_handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    hello = await ws.receive_json()
    conversation = str(hello["conversation"])
    request.app[THREADS][str(hello["thread_ts"])] = conversation
    request.app[SOCKETS][conversation].add(ws)
    await ws.send_str('{"type": "welcome"}')
    try:
        async for _ in ws:
            pass
    finally:
        request.app[SOCKETS][conversation].discard(ws)
    return ws


async def event_handler(request: web.Request) -> web.Response:
    event = (await request.json())["event"]
    conversation = request.app[THREADS].get(event.get("thread_ts", ""))
    if conversation is not None:
        message = {"role": "staff", "text": event["text"]}
        await request.app[REDIS].publish(
            CHANNEL,
            json.dumps({"origin": ORIGIN, "conversation": conversation, "message": message}),
        )
        await _send(request.app, conversation, message)
    return web.Response()


async def _send(app: web.Application, conversation: str, message: dict[str, str]) -> None:
    frame = json.dumps({"type": "message", **message})
    for ws in list(app[SOCKETS].get(conversation, ())):
        with contextlib.suppress(ConnectionError):
            await ws.send_str(frame)


async def _fan_out(app: web.Application) -> None:
    async with app[REDIS].pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(CHANNEL)
        async for item in pubsub.listen():
            event = json.loads(item["data"])
            if event.get("origin") != ORIGIN:
                await _send(app, event["conversation"], event["message"])


def create_app(redis_url: str) -> web.Application:
    app = web.Application()
    sockets: SocketMap = defaultdict(set)
    app[SOCKETS] = sockets
    app[THREADS] = {}

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[REDIS] = Redis.from_url(redis_url, decode_responses=True)
        task = asyncio.create_task(_fan_out(app))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app[REDIS].aclose()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/ws", socket_handler)
    app.router.add_post("/slack/events", event_handler)
    app.router.add_get("/healthz", _ok)
    return app


async def _ok(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    web.run_app(
        create_app(args.redis_url),
        host="127.0.0.1",
        port=args.port,
        print=None,
        loop=new_event_loop(),
    )


if __name__ == "__main__":
    main()
