"""Each case injects one fault into a live conversation and counts what the receiver saw.

Target for every case: 0 lost, 0 duplicated to a customer, 0 out of order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import aiohttp

from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, Stack
from faults.conftest import Report, assert_clean, tally
from tests.support import StaffDesk, TelegramCustomer, eventually

HANDOFF = "let me talk to a real person"
NOTICE = "person from our team"


async def _human(stack: Stack, chat_id: int, name: str) -> tuple[TelegramCustomer, StaffDesk, str]:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name=name)
    desk = StaffDesk(stack.slack_url)
    await customer.say(HANDOFF)
    await customer.wait_for(lambda t: NOTICE in t, "the handoff notice")
    return customer, desk, await desk.wait_for_thread(f"tg-{chat_id}")


async def _fault(url: str, method: str, status: int, count: int, retry_after: int = 1) -> None:
    body = {"method": method, "status": status, "count": count, "retry_after": retry_after}
    async with aiohttp.ClientSession() as http, http.post(f"{url}/_test/faults", json=body) as r:
        assert r.status == 200, await r.text()


async def _thread_posts(desk: StaffDesk, thread_ts: str) -> list[str]:
    """The thread's replies; the card above them only quotes what started the handoff."""
    return [m.get("text", "") for m in await desk.thread(thread_ts) if m.get("ts") != thread_ts]


def _has(marker: str, n: int) -> str:
    return f"{marker}-{n:02d}"


async def test_bridge_sigkilled_mid_relay(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Kim")
    bridge = stack.services["bridge"]
    # Staff write ten replies; they leave at Telegram's pace (one a second per chat), so the
    # bridge is killed with most of them queued or in flight.
    for n in range(1, 11):
        await desk.reply(thread_ts, f"kill-staff-{n:02d}")
    await customer.wait_for(lambda t: "kill-staff-03" in t, "the first replies")
    bridge.kill()
    # The customer writes while the bridge is down (Telegram keeps the updates).
    for n in range(1, 6):
        await customer.say(f"kill-cust-{n:02d}")
    await asyncio.to_thread(bridge.start)
    for n in range(6, 11):
        await customer.say(f"kill-cust-{n:02d}")
    texts = await customer.wait_for(lambda t: "kill-staff-10" in t, "every staff reply")
    posts = await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("kill-cust-10" in p for p in ps),
        what="every customer line in the thread",
    )
    to_customer = report.add(tally("bridge SIGKILL: staff → Telegram", "kill-staff", 10, texts))
    to_staff = report.add(tally("bridge SIGKILL: Telegram → thread", "kill-cust", 10, posts))
    assert_clean(to_customer)
    assert_clean(to_staff)


async def test_redis_restarted(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Rui")
    redis_server = stack.services["redis"]
    for n in range(1, 6):
        await customer.say(f"redis-cust-{n:02d}")
        await desk.reply(thread_ts, f"redis-staff-{n:02d}")
    await customer.wait_for(lambda t: "redis-staff-01" in t, "a first reply")
    redis_server.stop()  # SIGTERM: Redis writes its append-only file and exits
    await asyncio.to_thread(redis_server.start)
    for n in range(6, 11):
        await customer.say(f"redis-cust-{n:02d}")
        await desk.reply(thread_ts, f"redis-staff-{n:02d}")
    texts = await customer.wait_for(lambda t: "redis-staff-10" in t, "every staff reply")
    posts = await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("redis-cust-10" in p for p in ps),
        timeout_s=60,
        what="every customer line in the thread",
    )
    to_customer = report.add(tally("Redis restart: staff → Telegram", "redis-staff", 10, texts))
    to_staff = report.add(tally("Redis restart: Telegram → thread", "redis-cust", 10, posts))
    assert_clean(to_customer)
    assert_clean(to_staff)


async def test_slack_answers_bursts_of_429_and_500(
    stack: Stack, chat_id: int, report: Report
) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Lea")
    await _fault(stack.slack_url, "chat.postMessage", 429, count=3, retry_after=1)
    for n in range(1, 7):
        await customer.say(f"slack-{n:02d}")
    await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("slack-03" in p for p in ps),
        what="lines through the 429s",
    )
    await _fault(stack.slack_url, "chat.postMessage", 500, count=3)
    for n in range(7, 13):
        await customer.say(f"slack-{n:02d}")
    posts = await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("slack-12" in p for p in ps),
        what="every line through the 500s",
    )
    figure = report.add(tally("Slack 429 ×3 then 500 ×3: Telegram → thread", "slack", 12, posts))
    assert_clean(figure)


async def test_telegram_429_with_retry_after(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Tom")
    await _fault(stack.telegram_url, "sendMessage", 429, count=3, retry_after=2)
    for n in range(1, 9):
        await desk.reply(thread_ts, f"tg429-{n:02d}")
    texts = await customer.wait_for(lambda t: "tg429-08" in t, "every staff reply")
    figure = report.add(
        tally("Telegram 429 ×3 (retry_after 2 s): staff → Telegram", "tg429", 8, texts)
    )
    assert_clean(figure)


async def test_rasa_killed_mid_conversation(stack: Stack, chat_id: int, report: Report) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ada")
    desk = StaffDesk(stack.slack_url)
    await customer.say("which payment methods can I use?")
    await customer.wait_for(lambda t: "PayPal" in t, "the assistant's answer")
    rasa = stack.services["rasa"]
    rasa.kill()
    try:
        await customer.say("rasa-01 where is my order?")
        texts = await customer.wait_for(lambda t: NOTICE in t, "the customer told and handed over")
        thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
        await customer.say("rasa-02 hello?")
        posts = await eventually(
            lambda: _thread_posts(desk, thread_ts),
            lambda ps: any("rasa-02" in p for p in ps),
            what="the customer's lines in the thread",
        )
    finally:
        await asyncio.to_thread(rasa.start)
    figure = report.add(
        tally("Rasa killed: Telegram → thread (handed to a person)", "rasa", 2, posts)
    )
    notices = sum(NOTICE in t for t in texts)
    assert notices == 1, texts
    assert_clean(figure)
    # Restarted, the assistant answers a new conversation again.
    other = TelegramCustomer(stack.telegram_url, chat_id + 50_000, first_name="Bo")
    await other.say("which payment methods can I use?")
    await other.wait_for(lambda t: "PayPal" in t, "an answer after Rasa's restart")


def _signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    key = LOCAL_SLACK["SLACK_SIGNING_SECRET"].encode()
    digest = hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def test_same_event_and_update_delivered_twice(
    stack: Stack, chat_id: int, report: Report
) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Eva")
    for n in range(1, 4):
        ts = f"{time.time():.6f}"
        event = {
            "type": "event_callback",
            "event_id": f"EvDUP{chat_id}{n}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": "C0STAFF",
                "user": "U0ALICE",
                "text": f"dup-staff-{n:02d}",
                "ts": ts,
                "thread_ts": thread_ts,
                "event_ts": ts,
            },
        }
        body = json.dumps(event).encode()
        for _ in range(2):  # Slack retried: the same event_id twice
            assert await _post(f"{stack.bridge_url}/slack/events", body, _signed(body)) == 200
        update = {
            "update_id": 7_000_000 + chat_id * 10 + n,
            "message": {
                "message_id": 90_000 + n,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Eva"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "Eva"},
                "text": f"dup-cust-{n:02d}",
            },
        }
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": LOCAL_TELEGRAM["TELEGRAM_WEBHOOK_SECRET"],
        }
        raw = json.dumps(update).encode()
        for _ in range(2):  # Telegram redelivered: the same update_id twice
            assert await _post(f"{stack.bridge_url}/telegram/webhook", raw, headers) == 200
    texts = await customer.wait_for(lambda t: "dup-staff-03" in t, "the staff replies")
    posts = await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("dup-cust-03" in p for p in ps),
        what="the customer lines",
    )
    # Anything sent twice would have arrived by now; both receivers are settled.
    await eventually(lambda: _queues_empty(stack), lambda empty: empty, what="the queues to drain")
    texts = await customer.texts()
    posts = await _thread_posts(desk, thread_ts)
    to_customer = report.add(tally("Slack event ×2: staff → Telegram", "dup-staff", 3, texts))
    to_staff = report.add(tally("Telegram update ×2: Telegram → thread", "dup-cust", 3, posts))
    assert_clean(to_customer)
    assert_clean(to_staff)


async def _queues_empty(stack: Stack) -> bool:
    from redis.asyncio import Redis

    from bridge import keys

    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        for platform in (keys.SLACK_OUTBOX, keys.TELEGRAM_OUTBOX):
            for stream in keys.outbox_streams(platform):
                if await redis.exists(stream):
                    info = await redis.xpending(stream, keys.SENDER_GROUP)
                    if int(info["pending"]):
                        return False
                    groups = await redis.xinfo_groups(stream)
                    if any(int(g.get("lag") or 0) for g in groups):
                        return False
        return True
    finally:
        await redis.aclose()
