"""`make review`: what the assistant could not handle, de-duplicated and grouped by suggested
intent, as a Rasa NLU YAML file a maintainer edits and moves into data/nlu (docs/learning.md)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.learning.marks import Mark, read_marks
from bridge.learning.turns import LOW_CONFIDENCE
from bridge.models import Message, Role

NEW_TOPIC_GROUP = "new_topic"
STAFF_REPLIES_SHOWN = 2


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


@dataclass
class Candidate:
    text: str
    sources: list[Source] = field(default_factory=list)

    def suggestion(self) -> tuple[str, str]:
        """(intent group, why): a staff mark wins over the classifier's guesses."""
        marked = [s for s in self.sources if s.confidence is None]
        for source in sorted(marked, key=lambda s: -s.at_ms):
            if source.new_topic is not None:
                label = f" '{source.new_topic}'" if source.new_topic else ""
                return NEW_TOPIC_GROUP, f"staff marked a new topic{label}"
            if source.intent:
                return source.intent, "staff mark"
        guesses = [s for s in self.sources if s.intent and s.confidence is not None]
        if not guesses:
            return NEW_TOPIC_GROUP, "no guess"
        intent, _ = Counter(s.intent for s in guesses).most_common(1)[0]
        confidence = max(s.confidence or 0.0 for s in guesses if s.intent == intent)
        return intent, f"classifier {confidence:.2f}"


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
        if outcome == "handoff":
            outcome = f"handoff ({turn.get('reason') or 'unknown'})"
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
    """Intent names in bot/domain.yml (a plain reading of its `intents:` list)."""
    names, inside = set(), False
    for line in domain.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            inside = line.startswith("intents:")
        elif inside and (m := re.match(r"^\s+-\s+([\w-]+)\s*$", line)):
            names.add(m.group(1))
    return names


def render(candidates: list[Candidate], known: set[str], origin: str = "") -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# Review candidates written by `make review` on {stamp}{origin}.",
        "# NOT training data: training reads data/nlu/ and data/rules.yml, never data/review/.",
        "# For each example, check the intent, then move the `- text:` line into",
        "# data/nlu/reviewed.yml under that intent (or delete it); `make evaluate` reports on the",
        "# examples of both files. Each is commented with its source and the suggested intent.",
        "# It holds customers' words: do not commit it; `make forget` does not reach copies.",
        'version: "3.1"',
    ]
    groups: dict[str, list[tuple[Candidate, str]]] = {}
    for candidate in candidates:
        intent, why = candidate.suggestion()
        groups.setdefault(intent, []).append((candidate, why))
    if not groups:
        return "\n".join([*lines, "nlu: []", ""])
    lines.append("nlu:")
    for intent in sorted(groups):
        lines.append(f"- intent: {intent}")
        if intent == NEW_TOPIC_GROUP:
            lines.append(
                "  # No intent covers these yet: name one in bot/domain.yml and routing.yml."
            )
        elif intent not in known:
            lines.append(f"  # `{intent}` is not in bot/domain.yml yet.")
        lines.append("  examples:")
        for candidate, why in groups[intent]:
            lines.append(f"  # suggested: {intent} ({why}); seen {len(candidate.sources)}x")
            for source in sorted(candidate.sources, key=lambda s: s.at_ms):
                lines.append("  #   " + _describe(source))
            lines.append(f"  - text: {json.dumps(candidate.text, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


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
