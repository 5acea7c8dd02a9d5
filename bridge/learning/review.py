"""`make review`: what the assistant could not handle, de-duplicated, in groups of messages
about one thing (tools/review.py makes the groups), as a Rasa NLU YAML file a maintainer edits
and moves into data/nlu (docs/learning.md). Handoffs that went as designed (the customer asked
for a person) are listed last, for information only."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.learning.marks import Mark, read_marks
from bridge.learning.turns import LOW_CONFIDENCE
from bridge.models import Message, Role

STAFF_REPLIES_SHOWN = 2
# The intent of a group no one has named yet: a maintainer must rename it, and `make validate`
# rejects it in data/ (tools/answer_check.py has the same prefix; a test keeps them equal).
PLACEHOLDER_PREFIX = "TODO_"
UNNAMED = PLACEHOLDER_PREFIX + "name_this_intent"
# Handoff reasons that are the assistant doing what it should: nothing to teach it.
AS_DESIGNED = {
    "explicit_request": "asked for a person",
    "language": "wrote in a language the assistant does not answer",
}
RECIPE = 'docs/learning.md, "Adding a new intent"'


@dataclass(frozen=True)
class Source:
    """One occurrence of a candidate: where and when, and what happened."""

    conversation: str
    channel: str
    at_ms: int
    outcome: str  # abstain | handoff (reason) | low-confidence answer | staff mark
    intent: str = ""  # the classifier's guess (or the staff's intent for a mark)
    confidence: float | None = None  # None: a staff mark
    new_topic: str | None = None  # a staff "new topic" mark, with its label ("" if none)
    staff_replies: tuple[str, ...] = ()
    reason: str = ""  # a handoff's reason (explicit_request, repeated_miss, ...)


@dataclass
class Candidate:
    text: str
    sources: list[Source] = field(default_factory=list)

    def suggestion(self) -> tuple[str, str]:
        """(intent, why): the latest staff mark wins over the classifier's guesses; the intent
        is "" for a staff "new topic" mark or when there is no guess."""
        marked = [s for s in self.sources if s.confidence is None]
        for source in sorted(marked, key=lambda s: -s.at_ms):
            if source.new_topic is not None:
                label = f" '{source.new_topic}'" if source.new_topic else ""
                return "", f"staff marked a new topic{label}"
            if source.intent:
                return source.intent, "staff mark"
        guesses = [s for s in self.sources if s.intent and s.confidence is not None]
        if not guesses:
            return "", "no guess"
        intent, _ = Counter(s.intent for s in guesses).most_common(1)[0]
        confidence = max(s.confidence or 0.0 for s in guesses if s.intent == intent)
        return intent, f"classifier {confidence:.2f}"

    def staff_intent(self) -> str:
        """The intent the latest staff mark names ("" if none, or a "new topic" mark)."""
        intent, why = self.suggestion()
        return intent if why == "staff mark" else ""

    def staff_label(self) -> str:
        """The label of the latest staff "new topic" mark ("" if none)."""
        marked = [s for s in self.sources if s.confidence is None]
        latest = max(marked, key=lambda s: s.at_ms, default=None)
        return (latest.new_topic or "") if latest is not None else ""

    def guesses(self) -> Counter[str]:
        """The classifier's guesses, over the occurrences."""
        return Counter(s.intent for s in self.sources if s.intent and s.confidence is not None)


@dataclass(frozen=True)
class Neighbour:
    """A training example near a group: where its messages would fit."""

    text: str
    intent: str
    similarity: float


@dataclass
class Group:
    """Candidates about one thing (tools/review.py groups them by their text)."""

    intent: str  # a staff-named intent, or a placeholder to rename (PLACEHOLDER_PREFIX…)
    label: str  # what they are about, in a few words
    candidates: list[Candidate]
    neighbours: list[Neighbour] = field(default_factory=list)
    by_staff: bool = False  # staff named the intent

    @property
    def seen(self) -> int:
        return sum(len(c.sources) for c in self.candidates)


def placeholder(label: str, taken: set[str] | None = None) -> str:
    """`TODO_gift_card` for "gift card": an intent name a maintainer must change (at least drop
    the prefix); a number is added when `taken` has it already."""
    words = re.findall(r"[^\W_]+", label.lower())
    name = PLACEHOLDER_PREFIX + "_".join(words) if words else UNNAMED
    taken = taken if taken is not None else set()
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def as_designed(candidate: Candidate, routed: Mapping[str, str], low_confidence: float) -> str:
    """Why every occurrence of `candidate` was handed over to a person as designed, or "" when
    one of them is worth a look. As designed: the customer asked for a person, wrote in a
    language the assistant does not answer, or the classifier was sure of an intent that
    `routed` (bot/routing.yml handoff: intent -> reason) sends to a person, for that reason."""
    why: list[str] = []
    for source in candidate.sources:
        if source.confidence is None or not source.outcome.startswith("handoff"):
            return ""
        if source.reason in AS_DESIGNED:
            why.append(AS_DESIGNED[source.reason])
        elif routed.get(source.intent) == source.reason and source.confidence >= low_confidence:
            why.append(f"bot/routing.yml sends {source.intent} to a person")
        else:
            return ""
    return "; ".join(dict.fromkeys(why))


def normalise(text: str) -> str:
    """Texts that differ only in case, spacing or punctuation are one candidate."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


async def collect(redis: Redis, low_confidence: float = LOW_CONFIDENCE) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    conversation_ids: Any = await redis.zrange(keys.REVIEW, 0, -1)
    for conversation_id in conversation_ids:
        for source, text in await _sources(redis, str(conversation_id), low_confidence):
            key = normalise(text)
            if key:
                found.setdefault(key, Candidate(text.strip())).sources.append(source)
    return sorted(found.values(), key=lambda c: (-len(c.sources), c.text))


async def _sources(
    redis: Redis, conversation_id: str, low_confidence: float
) -> list[tuple[Source, str]]:
    info: Any = await redis.hgetall(keys.conversation(conversation_id))
    channel = str(info.get("channel") or "?")
    turns: Any = await redis.xrange(keys.turns(conversation_id))
    log: Any = await redis.xrange(keys.transcript(conversation_id))
    staff = [Message.from_fields(i, f) for i, f in log if f.get("role") == Role.STAFF]
    out: list[tuple[Source, str]] = []
    for _, turn in turns:
        confidence = float(turn.get("confidence") or 0)
        outcome = turn.get("outcome", "")
        at = int(turn.get("at") or 0)
        replies: tuple[str, ...] = ()
        reason = ""
        if outcome == "handoff":
            reason = str(turn.get("reason") or "")
            outcome = f"handoff ({reason or 'unknown'})"
            later = [m.text for m in staff if m.ts_ms >= at and m.text]
            replies = tuple(later[:STAFF_REPLIES_SHOWN])
        elif outcome == "answer":
            if confidence >= low_confidence or turn.get("awaiting") == "1":
                continue
            outcome = "low-confidence answer"
        source = Source(
            conversation_id,
            channel,
            at,
            outcome,
            turn.get("intent", ""),
            confidence,
            staff_replies=replies,
            reason=reason,
        )
        out.append((source, turn.get("text", "")))
    for mark in (await read_marks(redis, conversation_id)).values():
        out.append((_mark_source(conversation_id, channel, mark), mark.text))
    return out


def _mark_source(conversation_id: str, channel: str, mark: Mark) -> Source:
    return Source(
        conversation_id,
        channel,
        mark.at_ms,
        f"staff mark by {mark.who()}",
        intent=mark.intent,
        confidence=None,
        new_topic=mark.label if mark.new_topic else None,
    )


def known_intents(domain: Path) -> set[str]:
    """Intent names in domain.yml (a plain reading of its `intents:` list)."""
    names, inside = set(), False
    for line in domain.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            inside = line.startswith("intents:")
        elif inside and (m := re.match(r"^\s+-\s+([\w-]+)\s*$", line)):
            names.add(m.group(1))
    return names


def render(
    groups: list[Group],
    known: set[str],
    information: Sequence[tuple[Candidate, str]] = (),
    origin: str = "",
    method: str = "",
) -> str:
    """The review file: `groups` as NLU data (everything else in comments), then the
    `information` (candidate, why it went as designed) in comments only."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    todo = PLACEHOLDER_PREFIX
    lines = [
        f"# Review candidates written by `make review` on {stamp}{origin}.",
        "# NOT training data: training reads data/, never review/.",
        "# What the assistant could not handle, in groups of messages about one thing, grouped",
        f"# {method or 'by their text'}.",
        "# The classifier's guess is only a comment.",
        "# For each group:",
        "#  - an intent the bot has (the nearest training examples show where it would fit): set",
        "#    `- intent:` to it, and move the `- text:` lines you agree with into",
        "#    data/nlu/reviewed.yml under that intent;",
        f"#  - a new topic: rename the placeholder {todo}... (`make validate` rejects it",
        f"#    in data/), and give the new intent its answer ({RECIPE});",
        "#  - nothing to learn: delete the group.",
        "# `make evaluate` counts an example once it is in data/nlu/reviewed.yml, never here.",
        "# It holds customers' words: do not commit it; `make forget` does not reach copies.",
        'version: "3.1"',
    ]
    if not groups:
        lines.append("nlu: []")
    else:
        lines.append("nlu:")
    for number, group in enumerate(groups, 1):
        lines.extend(["", *_group_lines(number, group, known)])
    if information:
        lines.extend(["", *_information_lines(information)])
    return "\n".join(lines) + "\n"


def _group_lines(number: int, group: Group, known: set[str]) -> list[str]:
    messages = len(group.candidates)
    about = f"{group.intent} (named by staff)" if group.by_staff else json.dumps(group.label)
    lines = [
        f"# == {number}. {about}: {messages} message{'s' * (messages != 1)}, seen {group.seen}x",
    ]
    guesses: Counter[str] = Counter()
    for candidate in group.candidates:
        guesses.update(candidate.guesses())
    if guesses:
        ranked = sorted(guesses.items(), key=lambda item: (-item[1], item[0]))
        said = ", ".join(f"{intent} {n}x" for intent, n in ranked)
        lines.append(f"# The classifier guessed: {said}.")
    if group.neighbours:
        lines.append("# Nearest training examples (intent, similarity):")
        width = max(len(n.intent) for n in group.neighbours)
        for n in group.neighbours:
            text = _one_line(json.dumps(n.text, ensure_ascii=False))
            lines.append(f"#   {n.intent:<{width}}  {n.similarity:.2f}  {text}")
    if group.intent.startswith(PLACEHOLDER_PREFIX):
        lines.append(f"# Rename `{group.intent}`: an intent above, or a new one ({RECIPE}).")
    elif group.intent not in known:
        lines.append(f"# `{group.intent}` is not in domain.yml yet: {RECIPE}.")
    lines.extend([f"- intent: {group.intent}", "  examples:"])
    for candidate in group.candidates:
        intent, why = candidate.suggestion()
        if why == "staff mark":
            said = f"suggested: {intent} (staff mark)"
        elif intent:
            said = f"the classifier's guess: {intent} ({why.removeprefix('classifier ')})"
        else:
            said = f"suggested: a new topic ({why})"
        lines.append(f"  # seen {len(candidate.sources)}x; {said}")
        for source in sorted(candidate.sources, key=lambda s: s.at_ms):
            lines.append("  #   " + _describe(source))
        lines.append(f"  - text: {json.dumps(candidate.text, ensure_ascii=False)}")
    return lines


def _information_lines(information: Sequence[tuple[Candidate, str]]) -> list[str]:
    lines = [
        "# == For information, nothing to review: handed over to a person as designed",
        "# (the customer asked for one, wrote in a language the assistant does not answer, or",
        "# bot/routing.yml sends the intent to a person and the classifier was sure of it).",
        "# Comments only: none of it is training data.",
    ]
    for candidate, why in information:
        text = _one_line(json.dumps(candidate.text, ensure_ascii=False))
        lines.append(f"#   {text}: {why}; seen {len(candidate.sources)}x")
        for source in sorted(candidate.sources, key=lambda s: s.at_ms):
            lines.append("#     " + _describe(source))
    return lines


def _describe(source: Source) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(source.at_ms / 1000))
    parts = [source.outcome, f"conversation {source.conversation}", source.channel, when]
    if source.confidence is not None and source.intent:
        parts.append(f"guess {source.intent} {source.confidence:.2f}")
    if source.new_topic is not None:
        parts.append("new topic" + (f" '{source.new_topic}'" if source.new_topic else ""))
    for reply in source.staff_replies:
        short = reply if len(reply) <= 100 else reply[:97] + "..."
        parts.append("staff: " + json.dumps(short, ensure_ascii=False))
    return " | ".join(_one_line(p) for p in parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())
