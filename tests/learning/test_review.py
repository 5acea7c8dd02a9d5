"""`make review`: what the bot could not handle, with staff marks from Slack, as NLU YAML."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from redis.asyncio import Redis

from bridge import keys
from bridge.learning.spikes import SpikeRule
from bridge.learning.turns import Learning
from bridge.models import Channel, Conversation, Message, Role
from bridge.rasa_client import TurnDecision
from devstack.processes import BRIDGE_PYTHON, ROOT
from devstack.stack import Stack, scratch_redis
from tests.desk.helpers import Desk
from tests.learning.conftest import RASA_PYTHON, tool
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually
from tools import answer_check

NOTICE = "person from our team"


async def _posted(desk: Desk, thread_ts: str, needle: str) -> str:
    """The ts of the customer's line containing `needle`, once the bridge posted it."""
    posts = await eventually(
        lambda: desk.thread(thread_ts),
        lambda ms: any(needle in m.get("text", "") for m in ms),
        what=f"the customer's line {needle!r} in the thread",
    )
    return str(next(m["ts"] for m in posts if needle in m.get("text", "")))


async def test_review_file_lists_misses_handoffs_and_staff_marks(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ines")
    await customer.say("Who won the football world cup in 1966?")
    await customer.wait_for(lambda t: "can't help" in t, "an abstention")
    await customer.say("what is the airspeed of an unladen swallow")
    await customer.wait_for(lambda t: NOTICE in t, "the handoff after two misses")
    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    await desk.reply(thread_ts, "We only help with orders from our shop, sorry!")
    await customer.wait_for(lambda t: "only help with orders" in t, "the staff reply")

    # A message after the handoff: staff mark it with 🤖 and name the intent in the thread.
    await customer.say("the zip on my new jacket broke after one day")
    zip_ts = await _posted(desk, thread_ts, "zip on my new jacket")
    await desk.person.reactions_add(channel=STAFF_CHANNEL, timestamp=zip_ts, name="robot_face")
    await desk.reply(thread_ts, "!intent complaint")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "Marked for review" in text and "`complaint`" in text,
        what="the bridge confirming the mark",
    )
    # A command is for the team: the customer never sees it.
    assert not any("!intent" in t for t in await customer.texts())
    # The bridge answered Slack's delivery of the command with a 2xx: no retries.
    replies = await desk.thread(thread_ts)
    command_ts = next(m["ts"] for m in replies if m.get("text") == "!intent complaint")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.slack_url}/_test/deliveries") as response,
    ):
        deliveries = [d for d in await response.json() if d["ts"] == command_ts]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 1)], deliveries

    # Another staff member marks a later message as a new topic with a reaction alone.
    bob = Desk(stack.slack_url, user="U0BOB")
    await customer.say("do you sell gift cards for the outlet stores")
    gift_ts = await _posted(desk, thread_ts, "gift cards")
    await bob.person.reactions_add(channel=STAFF_CHANNEL, timestamp=gift_ts, name="new")
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        await eventually(
            lambda: redis.hget(keys.marks(f"tg-{chat_id}"), gift_ts),
            lambda raw: raw is not None,
            what="Bob's mark stored",
        )
    finally:
        await redis.aclose()

    out = tmp_path / "candidates.yml"
    done = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "candidates" in done.stdout
    review = out.read_text()
    assert "NOT training data" in review
    conversation = f"conversation tg-{chat_id} | telegram"
    lines = review.splitlines()

    def comments_of(text: str) -> str:
        at = next(i for i, line in enumerate(lines) if text in line and "- text:" in line)
        start = at
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        return "\n".join(lines[start:at])

    assert "abstain | " + conversation in comments_of("football world cup in 1966")
    handoff = comments_of("unladen swallow")
    assert "handoff (repeated_miss) | " + conversation in handoff
    assert 'staff: "We only help with orders from our shop, sorry!"' in handoff
    marked = comments_of("zip on my new jacket")
    # Staff are named as Slack shows them, with their user id.
    assert "suggested: complaint (staff mark)" in marked
    assert "staff mark by Alice (U0ALICE)" in marked
    gift = comments_of("gift cards for the outlet")
    assert "suggested: a new topic (staff marked a new topic)" in gift, gift
    assert "staff mark by Bob (U0BOB)" in gift
    zip_line = next(i for i, line in enumerate(lines) if "zip on my new jacket" in line)
    assert (
        "- intent: complaint" in [ln for ln in lines[:zip_line] if ln.startswith("- intent:")][-1]
    )

    # It is valid Rasa NLU data (training reads data/, and the review file is not in it).
    check = await asyncio.to_thread(
        subprocess.run,
        [
            str(RASA_PYTHON),
            "-c",
            "import sys; from rasa.shared.nlu.training_data.loading "
            "import load_data; print(len(load_data(sys.argv[1]).training_examples))",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.strip().splitlines()[-1]) >= 3


async def test_same_question_twice_is_one_candidate_seen_twice(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    first = TelegramCustomer(stack.telegram_url, chat_id, first_name="Jon")
    second = TelegramCustomer(stack.telegram_url, chat_id + 50_000, first_name="Kim")
    await first.say("Can you recommend a good hiking trail near Lyon?")
    await second.say("can you recommend a good hiking trail near lyon")
    for customer in (first, second):
        await customer.wait_for(lambda t: "can't help" in t, "an abstention")

    out = tmp_path / "candidates.yml"
    done = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(out))
    assert done.returncode == 0, done.stderr
    review = out.read_text()
    assert review.lower().count("hiking trail near lyon") == 1, review
    assert f"tg-{chat_id} " in review and f"tg-{chat_id + 50_000} " in review


# Three topics the assistant has no intent for, each in several wordings, and how it handled
# them (an abstention, a low-confidence answer, a handoff after two misses).
NEW_TOPICS = {
    "gift": [
        ("do you sell gift cards", "out_of_scope", 0.41, "abstain", ""),
        ("can I buy a gift card for my sister", "place_order", 0.63, "answer", ""),
        ("gift voucher available?", "out_of_scope", 0.38, "abstain", ""),
        ("how do I redeem a gift card", "out_of_scope", 0.44, "handoff", "repeated_miss"),
    ],
    "black_friday": [
        ("when does the black friday sale start", "out_of_scope", 0.47, "abstain", ""),
        ("any black friday discounts this year?", "out_of_scope", 0.35, "abstain", ""),
        ("will you have deals on Black Friday", "delivery_period", 0.61, "answer", ""),
        ("black friday offers", "out_of_scope", 0.4, "handoff", "repeated_miss"),
    ],
    "bitcoin": [
        ("can I pay with bitcoin", "check_payment_methods", 0.64, "answer", ""),
        ("do you accept bitcoin", "out_of_scope", 0.46, "abstain", ""),
        ("bitcoin payment possible?", "out_of_scope", 0.42, "abstain", ""),
        ("do you take cryptocurrency like bitcoin", "check_payment_methods", 0.62, "answer", ""),
    ],
}
# A request for a person, handed over as it should be: nothing to review; nor is a complaint
# the classifier was sure of, which bot/routing.yml sends to a person.
PERSON = ("I want to talk to a real person please", "contact_human_agent", 0.97, "handoff")
COMPLAINT = ("your courier threw my parcel over the fence", "complaint", 0.91, "handoff")


@pytest.fixture
def empty_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of its own: the review file holds what this test recorded and nothing else."""
    with scratch_redis("redis-review", tmp_path) as url:
        yield url


async def _record(url: str) -> None:
    """The turns as the router records them (bridge/learning/turns.py), one conversation each."""
    redis = Redis.from_url(url, decode_responses=True)
    learning = Learning(redis, None, 0, "", SpikeRule(channel=""))  # type: ignore[arg-type]
    turns = [t for wordings in NEW_TOPICS.values() for t in wordings]
    turns += [(*PERSON, "explicit_request"), (*COMPLAINT, "complaint")]
    try:
        for n, (text, intent, confidence, outcome, reason) in enumerate(turns):
            conversation = Conversation(f"tg-{7000 + n}", Channel.TELEGRAM, str(7000 + n), "Ana")
            await redis.hset(keys.conversation(conversation.id), "channel", "telegram")
            message = Message(Role.CUSTOMER, text, id=f"{1_764_000_000_000 + n}-0")
            decision = TurnDecision(intent, confidence, outcome)
            await learning.record_turn(conversation, message, decision, reason)
    finally:
        await redis.aclose()


def _review(url: str, out: Path, *args: str) -> str:
    env = {**os.environ, "BRIDGE_ENV_FILE": os.devnull, "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run(
        [str(BRIDGE_PYTHON), "-m", "tools.review", "--redis-url", url, "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note:" not in done.stdout, done.stdout  # grouped as asked, not by the fallback
    return out.read_text(encoding="utf-8")


def _loads_as_nlu(path: Path) -> int:
    """The number of examples Rasa reads from `path` (it fails on anything but NLU data)."""
    check = subprocess.run(
        [
            str(RASA_PYTHON),
            "-c",
            "import sys; from rasa.shared.nlu.training_data.loading "
            "import load_data; print(len(load_data(sys.argv[1]).training_examples))",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    return int(check.stdout.strip().splitlines()[-1])


def _check_three_topics(review: str) -> list[str]:
    """The groups are the three topics, each with its nearest training examples; answers the
    groups' intents."""
    data: Any = yaml.safe_load(review)
    groups = {b["intent"]: [e["text"] for e in b["examples"]] for b in data["nlu"]}
    assert len(groups) == len(data["nlu"]) == 3, review
    for topic, wordings in NEW_TOPICS.items():
        texts = sorted(w[0] for w in wordings)
        intent = next(i for i, g in groups.items() if sorted(g) == texts)  # one group, all of it
        # Named after its words, as a placeholder a maintainer must rename.
        assert intent.startswith("TODO_") and topic.split("_")[0] in intent, intent
    lines = review.splitlines()
    known = set(answer_check.load(ROOT).domain_intents)
    for intent in groups:
        at = lines.index(f"- intent: {intent}")
        start = max(i for i in range(at) if lines[i].startswith("# == "))
        header = lines[start:at]
        shown = header.index("# Nearest training examples (intent, similarity):")
        nearest = [ln.split()[1] for ln in header[shown + 1 : shown + 4]]
        assert len(nearest) == 3 and set(nearest) <= known, header
        assert any(ln.startswith("# The classifier guessed:") for ln in header), header
    # The handoffs that went as designed are listed last, for information, as comments.
    information = lines.index(
        "# == For information, nothing to review: handed over to a person as designed"
    )
    for (text, *_), why, outcome in [
        (PERSON, "asked for a person", "handoff (explicit_request)"),
        (COMPLAINT, "bot/routing.yml sends complaint to a person", "handoff (complaint)"),
    ]:
        assert all(text not in g for g in groups.values())
        at = next(i for i, ln in enumerate(lines) if text in ln)
        assert information < at and lines[at].startswith("#")
        assert why in lines[at] and outcome in lines[at + 1], lines[at : at + 2]
    return list(groups)


async def test_review_groups_new_topics_by_their_text_with_the_nearest_examples(
    empty_redis: str, tmp_path: Path
) -> None:
    await _record(empty_redis)
    out = tmp_path / "candidates.yml"
    review = await asyncio.to_thread(_review, empty_redis, out)
    assert "grouped\n# by meaning" in review
    intents = _check_three_topics(review)
    # The classifier's guess is a comment: "out_of_scope" is no group.
    assert "- intent: out_of_scope" not in review
    assert "# seen 1x; the classifier's guess: check_payment_methods (0.64)" in review
    assert await asyncio.to_thread(_loads_as_nlu, out) == sum(map(len, NEW_TOPICS.values()))

    # Grouped by words instead (no Rasa environment needed): the same three groups.
    by_words = await asyncio.to_thread(_review, empty_redis, tmp_path / "lexical.yml", "--lexical")
    assert "grouped\n# by words" in by_words
    _check_three_topics(by_words)

    # Moved into data/ unchanged, the placeholders are rejected by `make validate`.
    project = tmp_path / "project"
    for name in ("domain.yml", "bot/routing.yml", "actions/answers.py"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "data", project / "data")
    shutil.copy(out, project / "data" / "nlu" / "reviewed.yml")
    problems = answer_check.problems(project)
    assert sorted(problems) == sorted(
        f"data/nlu/reviewed.yml: `{intent}` is the review file's placeholder: name the intent "
        "(docs/learning.md, Adding a new intent)"
        for intent in intents
    )
