"""Staff marks land on the message staff meant (issue 17; docs/learning.md, "Staff marks"):
a reaction marks the customer line of the post it is on, a post showing several lines (the
transcript, the card) offers a picker, a command names its line or completes the sender's own
reaction, and every mark is answered in the thread. Through the real stack and the local Slack,
acting as staff with their own tokens; each test checks what staff see and what `make review`
reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bridge.learning.marks import Mark, read_marks
from devstack.stack import Stack
from tests.desk.helpers import Desk
from tests.learning.conftest import tool
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually

JSON = dict[str, Any]
HANDOFF = "person from our team"
PERSON = "I want to talk to a person"
SALE = "do you have a black friday sale?"
PAYPAL = "can I pay with paypal or klarna?"
ZIP = "the zip on my new jacket broke after one day"
GUEST = "U0GUEST"  # seeded in standins/slack/state.py


async def _handoff(stack: Stack, chat_id: int, before: list[str]) -> tuple[TelegramCustomer, str]:
    """A Telegram customer who said `before` (each answered by the bot), then asked for a
    person; returns them and their thread once its transcript is posted."""
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Vera")
    for line in before:
        count = len(await customer.received())
        await customer.say(line)
        await eventually(
            customer.received,
            lambda ms, count=count: len(ms) > count,
            what=f"the bot's answer to {line!r}",
        )
    await customer.say(PERSON)
    await customer.wait_for(lambda t: HANDOFF in t, "the handoff notice")
    thread = await desk.wait_for_thread(f"tg-{chat_id}")
    await eventually(
        lambda: desk.thread_text(thread),
        lambda text: all(line in text for line in [*before, PERSON]),
        what="every customer line in the thread",
    )
    return customer, thread


async def _post(desk: Desk, thread: str, needle: str) -> JSON:
    """The bridge's post in the thread containing `needle`, once it is there."""
    found = await eventually(
        lambda: desk.thread(thread),
        lambda ms: any(m.get("bot_id") and needle in m.get("text", "") for m in ms[1:]),
        what=f"a post with {needle!r} in the thread",
    )
    return next(m for m in found[1:] if m.get("bot_id") and needle in m.get("text", ""))


async def _answers(desk: Desk, thread: str) -> list[str]:
    """What the bridge answered staff about marks in the thread, in order."""
    return [
        text
        for text in await desk.bot_posts(thread)
        if "Marked for review" in text
        or "Not marked" in text
        or "Mark removed" in text
        or "which one" in text
    ]


async def _answer(desk: Desk, thread: str, *needles: str) -> str:
    """The bridge's answer in the thread containing every one of `needles`, once posted."""

    def has(text: str) -> bool:
        return all(needle in text for needle in needles)

    found = await eventually(
        lambda: _answers(desk, thread),
        lambda texts: any(has(t) for t in texts),
        what=f"an answer with {needles!r}",
    )
    return next(t for t in found if has(t))


def _buttons(message: JSON) -> list[JSON]:
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
        if str(element.get("action_id", "")).startswith("mark_pick_")
    ]


async def _picker(desk: Desk, thread: str) -> JSON:
    found = await eventually(
        lambda: desk.thread(thread),
        lambda ms: any(_buttons(m) for m in ms),
        what="the line picker",
    )
    return next(m for m in found if _buttons(m))


async def _click(stack: Stack, picker: JSON, number: int, user: str = "U0ALICE") -> None:
    """Click the picker's button for line `number`, as `user`; returns once it was handled."""
    button = next(b for b in _buttons(picker) if b["action_id"] == f"mark_pick_{number}")
    body = {
        "user": user,
        "channel": STAFF_CHANNEL,
        "message_ts": picker["ts"],
        "action_id": button["action_id"],
        "value": button["value"],
        "text": button["text"]["text"],
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.slack_url}/_test/interact", json=body) as response,
    ):
        result = await response.json()
    assert result.get("status") == 200, result


async def _marks(stack: Stack, chat_id: int) -> dict[str, Mark]:
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return await read_marks(redis, f"tg-{chat_id}")
    finally:
        await redis.aclose()


async def _wait_marks(
    stack: Stack, chat_id: int, until: Callable[[dict[str, Mark]], bool], what: str
) -> dict[str, Mark]:
    return await eventually(lambda: _marks(stack, chat_id), until, what=what)


async def _review(stack: Stack, tmp_path: Path) -> list[str]:
    out = tmp_path / "candidates.yml"
    done = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out.read_text().splitlines()


def _marked(review: list[str], chat_id: int) -> dict[str, str]:
    """The examples `make review` lists with a staff mark from conversation `chat_id`: their
    text, and the comments above them (the suggestion and every source)."""
    marked: dict[str, str] = {}
    block: list[str] = []
    for line in review:
        if line.lstrip().startswith("#"):
            block.append(line)
            continue
        if line.lstrip().startswith("- text:"):
            text = json.loads(line.split("- text:", 1)[1])
            ours = f"conversation tg-{chat_id} "
            if any("staff mark by" in c and ours in c for c in block):
                marked[text] = "\n".join(block)
        block = []
    return marked


async def test_a_reaction_marks_its_line_is_answered_and_taking_it_off_unmarks(
    stack: Stack, chat_id: int
) -> None:
    alice = Desk(stack.slack_url)
    customer, thread = await _handoff(stack, chat_id, [SALE])
    await customer.say(ZIP)
    zip_post = await _post(alice, thread, ZIP)

    await alice.person.reactions_add(
        channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="robot_face"
    )
    said = await _answer(alice, thread, "Marked for review, the bot should have handled it")
    assert f"#3 “{ZIP}” — Alice" in said, said  # line 3: the sale, the request, the zip
    assert "`!intent <intent_name>`" in said
    marks = await _wait_marks(stack, chat_id, bool, "the mark stored")
    assert list(marks) == [zip_post["ts"]]
    assert (marks[zip_post["ts"]].text, marks[zip_post["ts"]].by) == (ZIP, "U0ALICE")
    assert marks[zip_post["ts"]].intent == ""

    # `!intent <name>` completes Alice's own reaction: the line she reacted to, not the last.
    await customer.say("hello?")
    await _post(alice, thread, "hello?")
    await alice.say(thread, "!intent complaint")
    said = await _answer(alice, thread, "→ `complaint`")
    assert said == f":memo: Marked for review: #3 “{ZIP}” → `complaint` — Alice"
    marks = await _marks(stack, chat_id)
    assert [(m.text, m.intent) for m in marks.values()] == [(ZIP, "complaint")]

    await alice.person.reactions_remove(
        channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="robot_face"
    )
    said = await _answer(alice, thread, "Mark removed")
    assert f"#3 “{ZIP}” is no longer marked for review — Alice" in said
    assert await _wait_marks(stack, chat_id, lambda ms: not ms, "the mark removed") == {}
    assert not any("!intent" in t for t in await customer.texts())  # commands stay in Slack


async def test_a_reaction_on_the_transcript_offers_its_lines_and_marks_the_chosen_one(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    alice = Desk(stack.slack_url)
    _, thread = await _handoff(stack, chat_id, [SALE])
    transcript = await _post(alice, thread, "Transcript so far")

    await alice.person.reactions_add(channel=STAFF_CHANNEL, timestamp=transcript["ts"], name="new")
    picker = await _picker(alice, thread)
    assert "which one is a new topic?" in picker["text"]
    assert f"• #1 “{SALE}”\n• #2 “{PERSON}”" in picker["text"]
    assert [b["text"]["text"] for b in _buttons(picker)] == [f"#1 · {SALE}", f"#2 · {PERSON}"]
    assert await _marks(stack, chat_id) == {}  # nothing is marked until a line is chosen

    await _click(stack, picker, 1)
    chosen = await eventually(
        lambda: alice.thread(thread),
        lambda ms: any(m["ts"] == picker["ts"] and not _buttons(m) for m in ms),
        what="the picker rewritten",
    )
    text = next(m["text"] for m in chosen if m["ts"] == picker["ts"])
    assert text.startswith(f":new: Marked for review as a new topic: #1 “{SALE}” — Alice.")
    marks = await _marks(stack, chat_id)
    assert [(f, m.text, m.new_topic) for f, m in marks.items()] == [
        (f"{transcript['ts']}#1", SALE, True)
    ]

    await alice.say(thread, "!new black friday sale")
    said = await _answer(alice, thread, "(black friday sale)")
    assert (
        said == f":memo: Marked for review: #1 “{SALE}” → a new topic (black friday sale) — Alice"
    )

    marked = _marked(await _review(stack, tmp_path), chat_id)
    assert list(marked) == [SALE], marked  # the handoff request stays unmarked
    assert f"staff mark by Alice (U0ALICE) | conversation tg-{chat_id} " in marked[SALE]
    assert "new topic 'black friday sale'" in marked[SALE]


async def test_a_reaction_on_the_card_offers_every_customer_line(
    stack: Stack, chat_id: int
) -> None:
    alice = Desk(stack.slack_url)
    customer, thread = await _handoff(stack, chat_id, [PAYPAL])
    await customer.say(ZIP)
    await _post(alice, thread, ZIP)

    await alice.person.reactions_add(channel=STAFF_CHANNEL, timestamp=thread, name="robot_face")
    picker = await _picker(alice, thread)
    assert "which one the bot should have handled?" in picker["text"]
    assert [b["text"]["text"] for b in _buttons(picker)] == [
        f"#1 · {PAYPAL}",
        f"#2 · {PERSON}",
        f"#3 · {ZIP}",
    ]
    await _click(stack, picker, 1)
    await eventually(
        lambda: alice.thread_text(thread),
        lambda text: f"it: #1 “{PAYPAL}” — Alice" in text,
        what="the picker saying what was marked",
    )
    await alice.say(thread, "!intent check_payment_methods")
    said = await _answer(alice, thread, "`check_payment_methods`")
    assert f"#1 “{PAYPAL}” → `check_payment_methods` — Alice" in said
    marks = await _marks(stack, chat_id)
    assert [(m.text, m.intent) for m in marks.values()] == [(PAYPAL, "check_payment_methods")]

    # Taking the reaction off the card removes the mark its picker made.
    await alice.person.reactions_remove(channel=STAFF_CHANNEL, timestamp=thread, name="robot_face")
    said = await _answer(alice, thread, "Mark removed")
    assert f"#1 “{PAYPAL}”" in said
    assert await _wait_marks(stack, chat_id, lambda ms: not ms, "the mark removed") == {}


async def test_a_command_without_a_line_of_its_own_marks_nothing_and_says_how(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    alice, bob = Desk(stack.slack_url), Desk(stack.slack_url, user="U0BOB")
    customer, thread = await _handoff(stack, chat_id, [PAYPAL])
    await customer.say(ZIP)
    zip_post = await _post(alice, thread, ZIP)
    # Bob's reaction is his: it is not what Alice's command completes.
    await bob.person.reactions_add(
        channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="robot_face"
    )
    await _answer(alice, thread, f"#3 “{ZIP}” — Bob")

    await alice.say(thread, "!intent check_payment_methods")
    said = await _answer(alice, thread, "Not marked")
    assert said.startswith(
        ":warning: Not marked: `!intent check_payment_methods` does not say which customer "
        "message it is about"
    ), said
    assert '`!intent check_payment_methods #2` or `!intent check_payment_methods "words' in said
    assert f"• #1 “{PAYPAL}”\n• #2 “{PERSON}”\n• #3 “{ZIP}”" in said
    await alice.say(thread, "!intent Check Payment")
    await _answer(alice, thread, "an intent name is lower-case")
    marks = await _marks(stack, chat_id)
    assert [(m.text, m.by, m.intent) for m in marks.values()] == [(ZIP, "U0BOB", "")]

    marked = _marked(await _review(stack, tmp_path), chat_id)
    assert list(marked) == [ZIP], marked
    assert f"staff mark by Bob (U0BOB) | conversation tg-{chat_id} " in marked[ZIP]


async def test_a_command_names_its_line_by_number_or_by_its_words(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    alice = Desk(stack.slack_url)
    _, thread = await _handoff(stack, chat_id, [PAYPAL, SALE])

    await alice.say(thread, "!intent check_payment_methods #1")
    said = await _answer(alice, thread, "`check_payment_methods`")
    assert said == f":memo: Marked for review: #1 “{PAYPAL}” → `check_payment_methods` — Alice"
    await alice.say(thread, '!new black friday "Black Friday sale"')
    said = await _answer(alice, thread, "(black friday)")
    assert said == f":memo: Marked for review: #2 “{SALE}” → a new topic (black friday) — Alice"

    await alice.say(thread, "!intent track_order #9")
    said = await _answer(alice, thread, "no customer message #9")
    assert f"• #3 “{PERSON}”" in said
    await alice.say(thread, '!intent track_order "gift card"')
    await _answer(alice, thread, "no customer message in this thread contains “gift card”")
    await alice.say(thread, '!intent track_order "I"')  # in the first and the last
    said = await _answer(alice, thread, "several customer messages contain “I”")
    assert f"• #1 “{PAYPAL}”\n• #3 “{PERSON}”" in said

    marks = await _marks(stack, chat_id)
    assert sorted((m.text, m.intent, m.label) for m in marks.values()) == [
        (PAYPAL, "check_payment_methods", ""),
        (SALE, "", "black friday"),
    ]
    marked = _marked(await _review(stack, tmp_path), chat_id)
    assert sorted(marked) == sorted([PAYPAL, SALE]), marked
    assert "suggested: check_payment_methods (staff mark)" in marked[PAYPAL]
    assert "new topic 'black friday'" in marked[SALE]


async def test_reactions_that_are_not_marks(stack: Stack, chat_id: int) -> None:
    alice, guest = Desk(stack.slack_url), Desk(stack.slack_url, user=GUEST)
    customer, thread = await _handoff(stack, chat_id, [])
    await customer.say(ZIP)
    zip_post = await _post(alice, thread, ZIP)

    # A guest is not staff: their reaction marks nothing and is not answered.
    await guest.person.reactions_add(
        channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="robot_face"
    )
    # Staff's own words are no example for the bot: said so.
    reply = await alice.say(thread, "We will look at the zip.")
    await alice.person.reactions_add(channel=STAFF_CHANNEL, timestamp=reply, name="robot_face")
    said = await _answer(alice, thread, "Not marked")
    assert said.startswith(":warning: Not marked: that post shows no customer message"), said
    # Slack delivers the channel's events in order, and each answer is queued before the next
    # event: the guest's reaction, handled first, was answered with nothing.
    assert await _answers(alice, thread) == [said]
    assert await _marks(stack, chat_id) == {}

    await alice.person.reactions_add(channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="new")
    said = await _answer(alice, thread, "as a new topic")
    assert f"#2 “{ZIP}” — Alice" in said
    marks = await _marks(stack, chat_id)
    assert [(m.by, m.new_topic) for m in marks.values()] == [("U0ALICE", True)]
    # The guest taking theirs off changes nothing either.
    await guest.person.reactions_remove(
        channel=STAFF_CHANNEL, timestamp=zip_post["ts"], name="robot_face"
    )
    await alice.say(thread, "!new zips #2")
    await _answer(alice, thread, "(zips)")
    assert [(m.text, m.label) for m in (await _marks(stack, chat_id)).values()] == [(ZIP, "zips")]
    assert not any("Mark removed" in t for t in await _answers(alice, thread))
