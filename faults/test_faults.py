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
from faults.conftest import Figure, Report, assert_clean, tally
from tests.support import StaffDesk, TelegramCustomer, eventually

HANDOFF = "let me talk to a real person"
DELIVERED = "white_check_mark"  # the receipt on a staff reply the customer's platform accepted
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


async def _hang(
    url: str, method: str, when: str, text: str = "", count: int = 1, seconds: float = 40
) -> None:
    """The local Slack holds the next matching call past the bridge's timeout (10 s), either
    before carrying it out or after (docs/faults.md)."""
    body = {"method": method, "hang": when, "text": text, "count": count, "seconds": seconds}
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
    # bridge is killed with most of them queued or in flight. The kill follows the third
    # reply's ✅ receipt, which is queued in the same transaction that marks it sent: killing
    # the moment Telegram shows it would time the kill into the one window no sender can
    # close, between Telegram taking a message and the answer reaching the bridge
    # (Telegram cannot be asked afterwards what a chat holds; docs/faults.md).
    for n in range(1, 11):
        await desk.reply(thread_ts, f"kill-staff-{n:02d}")
    await eventually(
        lambda: desk.thread(thread_ts),
        lambda ms: any(
            m.get("text") == "kill-staff-03"
            and any(r["name"] == DELIVERED for r in m.get("reactions", []))
            for m in ms
        ),
        what="the third reply's receipt",
    )
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


async def _settled(desk: StaffDesk, stack: Stack, thread_ts: str) -> list[str]:
    """The thread once every queue is drained: anything sent twice is in it by then."""
    await eventually(
        lambda: _queues_empty(stack), lambda empty: empty, timeout_s=60, what="the queues to drain"
    )
    return await _thread_posts(desk, thread_ts)


async def _in_thread(desk: StaffDesk, thread_ts: str, needle: str, what: str) -> list[str]:
    return await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any(needle in p for p in ps),
        timeout_s=60,
        what=what,
    )


async def test_slack_hangs_before_taking_a_post(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Noa")
    await _hang(stack.slack_url, "chat.postMessage", "before", text="hang-a-01")
    await customer.say("hang-a-01")
    for n in range(2, 7):  # queued behind the held post
        await customer.say(f"hang-a-{n:02d}")
    await _in_thread(desk, thread_ts, "hang-a-06", "every line after the timeout")
    posts = await _settled(desk, stack, thread_ts)
    figure = report.add(
        tally("Slack hangs before taking the post: Telegram → thread", "hang-a", 6, posts)
    )
    assert_clean(figure)


async def test_slack_takes_a_post_then_hangs(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Ivo")
    await _hang(stack.slack_url, "chat.postMessage", "after", text="hang-b-01")
    await customer.say("hang-b-01")
    # Slack has it; the bridge is still waiting for an answer that will not come in time.
    await _in_thread(desk, thread_ts, "hang-b-01", "the held post recorded")
    # The lines written meanwhile queue up and go out coalesced; that post is held too.
    await _hang(stack.slack_url, "chat.postMessage", "after", text="hang-b-04")
    for n in range(2, 7):
        await customer.say(f"hang-b-{n:02d}")
    await _in_thread(desk, thread_ts, "hang-b-06", "every line")
    posts = await _settled(desk, stack, thread_ts)
    carrying = sum(1 for p in posts if "hang-b-" in p)
    figure = report.add(
        tally(
            "Slack takes the post, then hangs (×2): Telegram → thread",
            "hang-b",
            6,
            posts,
            note=f"6 lines in {carrying} posts; both held posts found by their metadata",
        )
    )
    assert_clean(figure)


async def test_slack_takes_the_handoff_card_then_hangs(
    stack: Stack, chat_id: int, report: Report
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Uma")
    desk = StaffDesk(stack.slack_url)
    await _hang(stack.slack_url, "chat.postMessage", "after", text=f"tg-{chat_id}")
    await customer.say(HANDOFF)
    await customer.wait_for(lambda t: NOTICE in t, "the handoff notice")
    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    for n in range(1, 4):
        await customer.say(f"card-{n:02d}")
    await _in_thread(desk, thread_ts, "card-03", "the lines in the one thread")
    posts = await _settled(desk, stack, thread_ts)
    cards = [m for m in await desk.top_level() if f"tg-{chat_id}" in m.get("text", "")]
    figure = report.add(
        Figure(
            "Slack takes the handoff card, then hangs: threads opened",
            1,
            min(len(cards), 1),
            max(len(cards) - 1, 0),
            0,
            note="one card; the thread's ts found by its metadata",
        )
    )
    lines = report.add(tally("… and the lines after it: Telegram → thread", "card", 3, posts))
    assert_clean(figure)
    assert_clean(lines)


async def test_bridge_sigkilled_while_slack_holds_a_post(
    stack: Stack, chat_id: int, report: Report
) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Ola")
    bridge = stack.services["bridge"]
    await _hang(stack.slack_url, "chat.postMessage", "after", text="kill9-03", seconds=60)
    for n in range(1, 4):
        await customer.say(f"kill9-{n:02d}")
    # Slack has posted line 3 and not answered: the bridge dies between Slack's acceptance
    # and its acknowledgement (the window a SIGKILL used to duplicate).
    await _in_thread(desk, thread_ts, "kill9-03", "the held post recorded")
    bridge.kill()
    for n in range(4, 6):
        await customer.say(f"kill9-{n:02d}")
    await asyncio.to_thread(bridge.start)
    await customer.say("kill9-06")
    await _in_thread(desk, thread_ts, "kill9-06", "every line after the restart")
    posts = await _settled(desk, stack, thread_ts)
    figure = report.add(
        tally(
            "bridge SIGKILL while Slack holds a post it took: Telegram → thread",
            "kill9",
            6,
            posts,
            note="the restarted bridge looks before resending",
        )
    )
    assert_clean(figure)


async def test_slack_takes_a_receipt_then_hangs(stack: Stack, chat_id: int, report: Report) -> None:
    customer, desk, thread_ts = await _human(stack, chat_id, "Ren")
    dead_before = await _dead_letters(stack)
    await _hang(stack.slack_url, "reactions.add", "after")
    for n in range(1, 4):
        await desk.reply(thread_ts, f"receipt-{n:02d}")
    texts = await customer.wait_for(lambda t: "receipt-03" in t, "every staff reply")

    async def receipts() -> list[int]:
        replies = [m for m in await desk.thread(thread_ts) if "receipt-" in m.get("text", "")]
        return [
            sum(r.get("count", 0) for r in m.get("reactions", []) if r["name"] == DELIVERED)
            for m in replies
        ]

    # Retried after the timeout, the reaction is answered already_reacted: done, not refused.
    marks = await eventually(receipts, lambda c: c == [1, 1, 1], timeout_s=60, what="3 receipts")
    await eventually(lambda: _queues_empty(stack), lambda e: e, what="the queues to drain")
    assert await _dead_letters(stack) == dead_before
    figure = report.add(
        tally(
            "Slack takes a ✅ receipt, then hangs: staff → Telegram",
            "receipt",
            3,
            await customer.texts(),
            note=f"receipts per reply {marks}; none dead-lettered",
        )
    )
    assert texts
    assert_clean(figure)


async def _dead_letters(stack: Stack) -> int:
    from redis.asyncio import Redis

    from bridge import keys

    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return int(await redis.xlen(keys.DEAD_LETTERS))
    finally:
        await redis.aclose()
