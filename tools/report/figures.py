"""The report's figures, computed from a Snapshot (collect.py): pure functions, no I/O.

Definitions (docs/report.md):
- A conversation counts in the period if the customer wrote in it during the period; per day it
  counts once, on the day (UTC) of its first customer message in the period.
- It was handed to a person if a handoff happened in the period (the reason is the first
  handoff's); otherwise the bot handled it alone (an upper bound on "resolved by the bot": a
  customer who gave up silently is in it too).
- For each handoff in the period: time to the first human reply is from the handoff to the first
  staff line after it; time to close from the handoff to the close after it (before the next
  handoff). By hour of day and office hours at the moment of the handoff, in OFFICE_TIMEZONE.
- Percentiles are nearest-rank: p50 of [1, 2, 3, 4] is 2, p90 is 4.
- A rating is the customer's answer acknowledged with the thank-you line.
- Failing topics: messages the assistant abstained on or handed over for a reason other than
  an explicit request for a person or a language, grouped by the intent it was confident of or
  else by their commonest content word.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bridge.learning import topics
from bridge.learning.review import AS_DESIGNED
from bridge.office_hours import OfficeHours
from bridge.texts import customers as texts
from tools.report.collect import Event, Record, Snapshot, SpikeTopic

# The reasons, in the order the report lists them, with their names for people.
REASONS: dict[str, str] = {
    "explicit_request": "asked for a person",
    "complaint": "complaint",
    "repeated_miss": "two misses in a row",
    "low_confidence": "low confidence",
    "out_of_scope": "out of scope",
    "not_resolved": "answer did not help",
    "backend_failed": "backend failure",
    "bot_unavailable": "bot unavailable",
    "language": "language",
}
RATINGS: dict[str, str] = {
    payload.removeprefix(texts.CSAT_PREFIX): title for payload, title in texts.CSAT_ANSWERS.items()
}
EXAMPLES = 3


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class Handoff:
    conversation: str
    channel: str
    reason: str
    at_ms: int
    first_reply_s: float | None
    close_s: float | None
    hour: int  # hour of day in the office time zone
    office_open: bool | None  # None: no office hours configured


@dataclass(frozen=True)
class Topic:
    name: str
    count: int
    conversations: int
    examples: tuple[str, ...]


@dataclass
class Figures:
    since_ms: int
    until_ms: int
    timezone: str
    conversations: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)  # day -> channel -> n
    by_bot: int = 0
    to_person: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # first handoff's reason -> n
    handoffs: list[Handoff] = field(default_factory=list)
    first_reply: Spread = Spread(0, None, None)
    close: Spread = Spread(0, None, None)
    first_reply_by_hour: dict[int, Spread] = field(default_factory=dict)
    close_by_hour: dict[int, Spread] = field(default_factory=dict)
    first_reply_office: dict[str, Spread] = field(default_factory=dict)  # open/closed
    close_office: dict[str, Spread] = field(default_factory=dict)
    unanswered: int = 0  # handoffs with no human reply yet
    ratings: dict[str, int] = field(default_factory=dict)
    ratings_per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    failing: list[Topic] = field(default_factory=list)
    spikes: list[SpikeTopic] = field(default_factory=list)

    @property
    def bot_share(self) -> float | None:
        return self.by_bot / self.conversations if self.conversations else None

    @property
    def satisfied_share(self) -> float | None:
        total = sum(self.ratings.values())
        return self.ratings.get("great", 0) / total if total else None

    def as_dict(self) -> dict[str, object]:
        """The figures as JSON-ready data (figures.json beside the page)."""

        def spread(s: Spread) -> dict[str, object]:
            return {"count": s.count, "p50_s": s.p50, "p90_s": s.p90}

        return {
            "since_ms": self.since_ms,
            "until_ms": self.until_ms,
            "timezone": self.timezone,
            "conversations": self.conversations,
            "by_channel": self.by_channel,
            "per_day": self.per_day,
            "by_bot": self.by_bot,
            "to_person": self.to_person,
            "reasons": self.reasons,
            "handoffs": [h.__dict__ for h in self.handoffs],
            "first_reply": spread(self.first_reply),
            "close": spread(self.close),
            "first_reply_by_hour": {h: spread(s) for h, s in self.first_reply_by_hour.items()},
            "close_by_hour": {h: spread(s) for h, s in self.close_by_hour.items()},
            "first_reply_office": {k: spread(s) for k, s in self.first_reply_office.items()},
            "close_office": {k: spread(s) for k, s in self.close_office.items()},
            "unanswered": self.unanswered,
            "ratings": self.ratings,
            "ratings_per_day": self.ratings_per_day,
            "failing": [t.__dict__ for t in self.failing],
            "spikes": [s.__dict__ for s in self.spikes],
        }


def _day(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).date().isoformat()


def compute(snapshot: Snapshot, hours: OfficeHours | None, timezone: str = "UTC") -> Figures:
    zone = ZoneInfo(timezone)
    since, until = snapshot.since_ms, snapshot.until_ms
    figures = Figures(since, until, timezone)
    channels: Counter[str] = Counter()
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    ratings: Counter[str] = Counter()
    ratings_per_day: dict[str, Counter[str]] = defaultdict(Counter)
    failing_turns: list[tuple[str, str, str, float]] = []
    for record in snapshot.conversations:
        wrote = [
            ln.at_ms for ln in record.lines if ln.role == "customer" and since <= ln.at_ms <= until
        ]
        if not wrote:
            continue
        channels[record.channel] += 1
        per_day[_day(min(wrote))][record.channel] += 1
        handoffs = handoffs_of(record, since, until, hours, zone)
        figures.handoffs += handoffs
        if handoffs:
            figures.to_person += 1
            reasons[handoffs[0].reason] += 1
        else:
            figures.by_bot += 1
        for at_ms, rating in ratings_of(record):
            if since <= at_ms <= until:
                ratings[rating] += 1
                ratings_per_day[_day(at_ms)][rating] += 1
        for turn in record.turns:
            if not since <= turn.at_ms <= until or turn.outcome not in ("abstain", "handoff"):
                continue
            if turn.outcome == "handoff" and turn.reason in AS_DESIGNED:
                continue
            failing_turns.append((record.id, turn.text, turn.intent, turn.confidence))
    figures.conversations = sum(channels.values())
    figures.by_channel = dict(sorted(channels.items()))
    figures.per_day = {day: dict(sorted(c.items())) for day, c in sorted(per_day.items())}
    figures.reasons = {r: reasons[r] for r in [*REASONS, *sorted(reasons)] if reasons.get(r)}
    figures.ratings = {r: ratings[r] for r in RATINGS if ratings.get(r)}
    figures.ratings_per_day = {d: dict(c) for d, c in sorted(ratings_per_day.items())}
    _waits(figures)
    figures.failing = failing_topics(failing_turns)
    figures.spikes = sorted(snapshot.spikes, key=lambda s: (not s.alerted, -s.last_day, s.topic))
    return figures


def _events(record: Record) -> list[Event]:
    if record.events:
        return sorted(record.events, key=lambda e: e.at_ms)
    if record.handoff_at_ms:  # recorded before the timeline kept its events
        return [Event("handoff", record.handoff_at_ms, record.handoff_reason)]
    return []


def handoffs_of(
    record: Record, since: int, until: int, hours: OfficeHours | None, zone: ZoneInfo
) -> list[Handoff]:
    events = _events(record)
    starts = [e for e in events if e.kind == "handoff"]
    found = []
    for n, start in enumerate(starts):
        if not since <= start.at_ms <= until:
            continue
        end = starts[n + 1].at_ms if n + 1 < len(starts) else math.inf
        reply = next(
            (
                ln.at_ms
                for ln in record.lines
                if ln.role == "staff" and start.at_ms <= ln.at_ms < end
            ),
            None,
        )
        closed = next(
            (e.at_ms for e in events if e.kind == "closed" and start.at_ms <= e.at_ms < end), None
        )
        moment = datetime.fromtimestamp(start.at_ms / 1000, UTC)
        found.append(
            Handoff(
                conversation=record.id,
                channel=record.channel,
                reason=start.reason or "unknown",
                at_ms=start.at_ms,
                first_reply_s=None if reply is None else (reply - start.at_ms) / 1000,
                close_s=None if closed is None else (closed - start.at_ms) / 1000,
                hour=moment.astimezone(zone).hour,
                office_open=None if hours is None else hours.is_open(moment),
            )
        )
    return found


def ratings_of(record: Record) -> list[tuple[int, str]]:
    """(when, rating) of each answer the bridge thanked the customer for."""
    by_title = {title: rating for rating, title in RATINGS.items()}
    by_payload = {texts.CSAT_PREFIX + rating: rating for rating in RATINGS}
    found = []
    for n, line in enumerate(record.lines):
        if line.role != "system" or line.text != texts.CSAT_THANKS:
            continue
        for earlier in reversed(record.lines[:n]):
            if earlier.role != "customer":
                continue
            rating = by_title.get(earlier.text.strip()) or by_payload.get(earlier.text.strip())
            if rating:
                found.append((earlier.at_ms, rating))
            break
    return found


def _waits(figures: Figures) -> None:
    replies = [h.first_reply_s for h in figures.handoffs if h.first_reply_s is not None]
    closes = [h.close_s for h in figures.handoffs if h.close_s is not None]
    figures.first_reply, figures.close = Spread.of(replies), Spread.of(closes)
    figures.unanswered = sum(1 for h in figures.handoffs if h.first_reply_s is None)
    figures.first_reply_by_hour = _grouped(figures.handoffs, lambda h: h.hour, "first_reply_s")
    figures.close_by_hour = _grouped(figures.handoffs, lambda h: h.hour, "close_s")

    def office(h: Handoff) -> str:
        return {True: "office hours", False: "after hours", None: "always open"}[h.office_open]

    figures.first_reply_office = _grouped(figures.handoffs, office, "first_reply_s")
    figures.close_office = _grouped(figures.handoffs, office, "close_s")


def _grouped(handoffs: Iterable[Handoff], key, attribute: str) -> dict:  # type: ignore[no-untyped-def]
    groups: dict[object, list[float]] = defaultdict(list)
    for h in handoffs:
        value = getattr(h, attribute)
        if value is not None:
            groups[key(h)].append(value)
    return {k: Spread.of(v) for k, v in sorted(groups.items())}


def failing_topics(turns: Sequence[tuple[str, str, str, float]]) -> list[Topic]:
    """Group (conversation, text, intent, confidence): by a confident intent, else by the
    message's content word that is commonest among all of them (ties: alphabetical)."""
    words: Counter[str] = Counter()
    for _, text, _, _ in turns:
        words.update(set(topics.content_words(text)))
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for conversation, text, intent, confidence in turns:
        if topics.is_subject_intent(intent, confidence):
            key = f"intent:{intent}"
        else:
            own = set(topics.content_words(text))
            key = "word:" + min(own, key=lambda w: (-words[w], w)) if own else "unclear"
        groups[key].append((conversation, text))
    found = []
    for key, items in groups.items():
        examples: list[str] = []
        for _, text in items:
            if text not in examples:
                examples.append(text)
        if key.startswith("intent:"):
            name = key.removeprefix("intent:")
        elif key == "unclear":
            name = "(no words)"
        else:
            name = topics.label(examples)
        found.append(
            Topic(name, len(items), len({c for c, _ in items}), tuple(examples[:EXAMPLES]))
        )
    return sorted(found, key=lambda t: (-t.count, t.name))
