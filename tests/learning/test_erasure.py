"""`make forget` leaves nothing naming the customer anywhere: every Redis key, stream entry and
hash, list, set and sorted-set member of the bridge and of Rasa's tracker store, the review
files and the local Slack, looked at before and after, on both customer channels; and another
customer's data is untouched."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bridge import keys
from bridge.learning.spikes import SpikeRule, Spikes
from bridge.outbox.outbox import Outbox
from bridge.outbox.retention import streams
from devstack.processes import free_port
from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer
from tests.identity.helpers import sign
from tests.learning.conftest import tool
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually

# (key, what, text): one string's value, hash field, list element, set or sorted-set member or
# stream entry of a key; `what` is "" for the key itself.
Item = tuple[str, str, str]


@dataclass
class Person:
    """A customer, and every string that names them."""

    conversation: str
    names: list[str]  # their name, their words, their ids
    chat_id: int | None = None

    def named_in(self, text: str) -> bool:
        if any(name in text for name in [self.conversation, *self.names]):
            return True
        # A chat id is a number: not as part of a longer one (a timestamp).
        return (
            self.chat_id is not None
            and re.search(rf"(?<!\d){self.chat_id}(?!\d)", text) is not None
        )


async def everything(redis: Redis) -> tuple[list[Item], dict[str, int]]:
    """Every key of the database with every part of its value, and each key's TTL."""
    db: Any = redis  # decode_responses: every reply is str
    items: list[Item] = []
    ttls: dict[str, int] = {}
    async for key in db.scan_iter(count=1000):
        kind = await db.type(key)
        ttls[key] = await db.ttl(key)
        items.append((key, "", ""))
        if kind == "string":
            items.append((key, "value", str(await db.get(key))))
        elif kind == "hash":
            fields = await db.hgetall(key)
            items += [(key, f"field {f}", f"{f}={v}") for f, v in fields.items()]
        elif kind == "list":
            items += [(key, "element", v) for v in await db.lrange(key, 0, -1)]
        elif kind in ("set", "zset"):
            members = await (db.smembers(key) if kind == "set" else db.zrange(key, 0, -1))
            items += [(key, "member", v) for v in members]
        elif kind == "stream":
            items += [(key, f"entry {i}", json.dumps(f)) for i, f in await db.xrange(key)]
    return items, ttls


def naming(items: list[Item], person: Person) -> list[Item]:
    return [item for item in items if person.named_in(item[0]) or person.named_in(item[2])]


def lasting(items: list[Item], ttls: dict[str, int]) -> set[Item]:
    """Leaving out what expires on its own within the minute (pacing slots, quotas)."""
    return {item for item in items if not 0 <= ttls.get(item[0], -1) < 60}


async def slack_posts(slack_url: str, *channels: str) -> list[dict[str, Any]]:
    """Every post the local Slack shows in these channels, replies included."""
    posts: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        for channel in channels:
            async with http.get(f"{slack_url}/_test/threads", params={"channel": channel}) as r:
                body = await r.json()
            for thread in body["threads"]:
                posts += [thread["parent"], *thread["replies"]]
    return posts


def kind(key: str) -> str:
    """A key's kind: its first part after the prefix and any hash tag (`{p3}`: a slot)."""
    return next(part for part in key.split(":")[1:] if not part.startswith("{"))


async def queues_drained(redis: Redis) -> bool:
    for stream in streams():
        if stream != keys.DEAD_LETTERS and await redis.xlen(stream):
            return False
    return True


async def _telegram_handoff(stack: Stack, desk: Desk, person: Person, name: str) -> str:
    assert person.chat_id is not None
    customer = TelegramCustomer(stack.telegram_url, person.chat_id, first_name=name)
    await customer.say(f"what's the meaning of life, {name}?")
    await customer.wait_for(lambda t: "can't help" in t, "an abstention")
    await customer.say("I want to talk to a person")
    thread_ts = await desk.wait_for_thread(person.conversation)
    await desk.reply(thread_ts, f"Hello {name}, how can I help?")
    await customer.wait_for(lambda t: "how can I help" in t, "the staff reply")
    words = person.names[1]
    await customer.say(f"my parcel {words} never arrived")
    await eventually(
        lambda: desk.thread_text(thread_ts), lambda t: words in t, what="the line in the thread"
    )
    return thread_ts


async def test_forget_leaves_nothing_naming_the_customer_anywhere(
    stack: Stack,
    redis: Redis,
    rasa_redis: Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nonce = secrets.token_hex(3)
    desk = Desk(stack.slack_url)
    created = await desk.person.conversations_create(name=f"alerts-{time.time_ns()}")
    alerts = created["channel"]["id"]

    # Telegram: the customer to forget, and another who stays.
    chat, other_chat = (700_000_000 + secrets.randbelow(10**8) for _ in range(2))
    noor = Person(f"tg-{chat}", [f"Ysolde{nonce}", f"kumquat{nonce}"], chat)
    other = Person(f"tg-{other_chat}", [f"Brisbane{nonce}", f"persimmon{nonce}"], other_chat)
    noor_thread = await _telegram_handoff(stack, desk, noor, noor.names[0])
    other_thread = await _telegram_handoff(stack, desk, other, other.names[0])

    # The widget: a signed-in customer to forget (the shop's id, email and name).
    shop_customer = {
        "sub": f"c-{nonce}",
        "email": f"quillon{nonce}@example.com",
        "name": f"Quillon {nonce}",
    }
    async with WidgetCustomer(stack.bridge_url, identity=sign(shop_customer)) as visitor:
        await visitor.say("what's the meaning of life?")
        await visitor.wait_for(lambda m: "can't help" in m.get("text", ""), "an abstention")
        await visitor.say("I want to talk to a person")
        web_thread = await desk.wait_for_thread(visitor.conversation_id)
        await desk.reply(web_thread, f"Hi {shop_customer['name']}, Alice here.")
        await visitor.wait_for(lambda m: "Alice here" in m.get("text", ""), "the staff reply")
        await visitor.say(f"the order with the quince{nonce} never came")
        await eventually(
            lambda: desk.thread_text(web_thread), lambda t: f"quince{nonce}" in t, what="the line"
        )
        quillon = Person(
            visitor.conversation_id,
            [shop_customer["sub"], shop_customer["email"], shop_customer["name"], f"quince{nonce}"],
        )

    # Topic spikes quoting them: one alert also quotes the other customer (it is rewritten),
    # one to a channel that does not exist quotes only Noor (a dead letter).
    topic = f"spiking_{nonce}"
    # (min_share=0: the stack's Redis holds the other tests' misses of the last hour too.)
    spikes = Spikes(redis, Outbox(redis), SpikeRule(alerts, min_count=3, min_share=0))
    now = int(time.time() * 1000)
    for n, person in enumerate([noor, other, noor]):
        said = f"where is my {person.names[1]}?"
        await spikes.count(topic, person.conversation, said, "abstain", now + n)
    lost = Spikes(redis, Outbox(redis), SpikeRule("C0NOWHERE", min_count=1, min_share=0))
    await lost.count(f"{topic}_lost", noor.conversation, f"and {noor.names[1]}?", "abstain", now)
    await lost.count(f"{topic}_kept", other.conversation, f"and {other.names[1]}?", "abstain", now)
    posted = await eventually(
        lambda: slack_posts(stack.slack_url, alerts), lambda ps: len(ps) == 1, what="the alert"
    )
    assert noor.names[1] in posted[0]["text"] and other.names[1] in posted[0]["text"]
    await eventually(lambda: queues_drained(redis), bool, what="every queue delivered")

    # The review files, as `make review` writes them, and an example a maintainer moved on
    # with its source comment.
    candidates, reviewed = tmp_path / "candidates.yml", tmp_path / "reviewed.yml"
    made = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(candidates))
    assert made.returncode == 0, made.stderr
    moved = [
        'version: "3.1"\nnlu:\n- intent: out_of_scope\n  examples:\n',
        f"  #   abstain | conversation {noor.conversation} | telegram | guess out_of_scope\n",
        f'  - text: "what\'s the meaning of life, {noor.names[0]}?"\n',
        f"  #   abstain | conversation {other.conversation} | telegram | guess out_of_scope\n",
        f'  - text: "what\'s the meaning of life, {other.names[0]}?"\n',
    ]
    reviewed.write_text("".join(moved))
    assert noor.names[0] in candidates.read_text() and other.names[0] in candidates.read_text()

    before, ttls_before = await everything(redis)
    rasa_before, _ = await everything(rasa_redis)
    slack_before = await slack_posts(stack.slack_url, STAFF_CHANNEL, alerts)
    for person in (noor, quillon, other):
        assert naming(before, person), person  # the snapshot sees them
        assert naming(rasa_before, person), person
    kinds = {kind(key) for key, _, _ in naming(before, noor)}
    assert {"conv", "slack", "learn", "out", "ops"} <= kinds, kinds  # "out": the dead letter
    assert "seen" in {kind(key) for key, _, _ in naming(before, quillon)}
    # Telegram's once keys are named by update ids; each holds the line it recorded.
    lines = {i for i, _ in await redis.xrange(keys.transcript(noor.conversation))}
    telegram_markers = [k for k, what, v in before if what == "value" and v in lines]
    assert telegram_markers and all(":seen:telegram:" in k for k in telegram_markers)

    monkeypatch.setenv("SPIKE_ALERT_CHANNEL", alerts)
    review = ["--review-file", str(candidates), "--review-file", str(reviewed)]
    reports = []
    for person, thread_ts in ((noor, noor_thread), (quillon, web_thread)):
        customer = str(person.chat_id) if person.chat_id else person.conversation
        done = await asyncio.to_thread(tool, stack, "tools.forget", customer, "--slack", *review)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"forgot {person.conversation}" in done.stdout
        assert f"bridge posts of Slack thread {thread_ts}; 1 staff posts remain" in done.stdout
        reports.append(done.stdout)
    alert_ts = posted[0]["ts"]
    assert f"removed 2 examples from the topic-spike alert {alert_ts} in {alerts}" in reports[0], (
        reports[0]
    )
    assert "queued jobs from bridge:out:dead" in reports[0], reports[0]

    after, ttls_after = await everything(redis)
    rasa_after, _ = await everything(rasa_redis)
    for person in (noor, quillon):
        assert naming(after, person) == [], naming(after, person)
        assert naming(rasa_after, person) == [], naming(rasa_after, person)
    assert not await redis.exists(*telegram_markers)
    # The other customer: every key, entry and member that named them is still there.
    mine = lasting(naming(before, other), ttls_before)
    assert mine <= lasting(naming(after, other), ttls_after), mine - set(naming(after, other))
    assert naming(rasa_after, other) == naming(rasa_before, other)

    # The review files: nothing about them, the other customer's lines kept.
    for path in (candidates, reviewed):
        text = path.read_text()
        assert not (noor.named_in(text) or quillon.named_in(text)), text
        assert other.names[0] in text and other.conversation in text, text

    # Slack: no post of the bridge about them (their threads, their alert examples); staff
    # replies stay (only their authors or an admin may delete them).
    slack_after = await slack_posts(stack.slack_url, STAFF_CHANNEL, alerts)
    for person in (noor, quillon):
        assert [p for p in slack_after if person.named_in(json.dumps(p))] == []
    still = {p["ts"] for p in slack_after}
    theirs = [p["ts"] for p in slack_before if other.named_in(json.dumps(p))]
    assert other_thread in theirs and set(theirs) <= still
    [alert] = await slack_posts(stack.slack_url, alerts)
    assert alert["ts"] == alert_ts
    assert other.names[1] in alert["text"] and noor.names[1] not in alert["text"]

    again = await asyncio.to_thread(tool, stack, "tools.forget", noor.conversation, *review)
    assert f"nothing found about {noor.conversation}" in again.stdout


async def test_forget_says_so_when_slack_cannot_be_reached_and_deletes_nothing(
    stack: Stack, redis: Redis, chat_id: int, tmp_path: Path
) -> None:
    conversation = f"tg-{chat_id}"
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ines")
    await customer.say("what's the meaning of life?")
    await customer.wait_for(lambda t: "can't help" in t, "an abstention")
    before, ttls = await everything(redis)
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    done = await asyncio.to_thread(_tool_with_slack_at, stack, nowhere, str(chat_id), tmp_path)
    assert done.returncode == 1, done.stdout
    assert f"cannot reach Slack at {nowhere}" in done.stderr, done.stderr
    assert "Nothing was deleted" in done.stderr and "Traceback" not in done.stderr
    after, _ = await everything(redis)
    person = Person(conversation, [], chat_id)
    assert lasting(naming(before, person), ttls) <= set(naming(after, person))


def _tool_with_slack_at(stack: Stack, api: str, customer: str, tmp_path: Path) -> Any:
    import os
    import subprocess

    from devstack.processes import BRIDGE_PYTHON, ROOT
    from devstack.stack import LOCAL_SLACK

    env = {
        **os.environ,
        "BRIDGE_ENV_FILE": os.devnull,
        "REDIS_URL": stack.redis_url,
        "RASA_REDIS_URL": stack.rasa_redis_url,
        **LOCAL_SLACK,
        "SLACK_API_URL": api,
    }
    review = ["--review-file", str(tmp_path / "none.yml")]
    return subprocess.run(
        [str(BRIDGE_PYTHON), "-m", "tools.forget", customer, "--slack", *review],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
