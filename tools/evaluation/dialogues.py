"""Multi-turn evaluation (issue 15): short conversations with the expected outcome of each turn.

    python -m tools.evaluate --dialogues FILE.yml [--dialogues ...] --out report.json

A dialogue file:

    dialogues:
      - name: follow-up keeps its topic
        metadata: {customer: {id: c-ana, email: ana@example.com}}  # optional, every turn
        turns:
          - say: where is my order 10234
            expect: {outcome: answer, intent: track_order, says: "10234"}
          - say: that didn't help
            expect: {outcome: handoff, reason: not_resolved}

`outcome` (required) is answer | handoff | fallback, decided as the single-row runner does
(signals.turn_outcome); `reason` is the handoff reason; `intent` the classifier's guess
(before FallbackClassifier); `says` / `not_says` a substring (or a list of them) that must /
must not appear, case-insensitively, in the bot's text replies of that turn.

Each dialogue is a fresh conversation (its own sender id) sent one turn at a time through
`Agent.handle_message`, exactly as the bridge sends live messages, with the custom actions
in-process (runner.in_process_actions) against a throw-away demo backend of its own. Only the
events after a turn's user message count for that turn. Once a turn is handed over the
conversation belongs to a person: the dialogue ends, and turns still listed after it are "not
reached" and count as wrong.

Everything but `run` is pure (no Rasa), for the unit tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.evaluation import signals

OUTCOMES = ("answer", "handoff", "fallback")
EXPECT_KEYS = ("outcome", "reason", "intent", "says", "not_says")
NOT_REACHED = "not reached"


@dataclass(frozen=True)
class Turn:
    say: str
    expect: dict[str, Any]


@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: list[Turn]
    metadata: dict[str, Any] | None = None
    source: str = ""


@dataclass
class Got:
    """What the assistant did in one turn."""

    outcome: str  # answer | handoff | fallback
    reason: str | None = None  # handoff reason
    intent: str = ""
    replies: list[str] = field(default_factory=list)  # the bot's text replies of the turn
    person_score: float = 0.0
    person_phrase: str | None = None
    language: str | None = None

    def brief(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "intent": self.intent,
            "replies": self.replies,
        }

    def row(self) -> dict[str, Any]:
        return {
            **self.brief(),
            "person_score": round(self.person_score, 4),
            "person_phrase": self.person_phrase,
            "language": self.language,
        }


NOT_REACHED_GOT = Got(NOT_REACHED, intent="")


# -- the file --------------------------------------------------------------------------------


def load(path: Path) -> list[Dialogue]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse(data, str(path))


def parse(data: Any, source: str = "") -> list[Dialogue]:
    """Dialogues from a loaded YAML document; ValueError naming the place of any mistake."""
    if not isinstance(data, dict) or not isinstance(data.get("dialogues"), list):
        raise ValueError(f"{source}: expected a mapping with a `dialogues` list")
    found = []
    for n, item in enumerate(data["dialogues"], 1):
        where = f"{source}: dialogue {n}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping")
        name = str(item.get("name") or f"dialogue {n}")
        where = f"{source}: dialogue {name!r}"
        metadata = item.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError(f"{where}: `metadata` must be a mapping")
        turns = item.get("turns")
        if not isinstance(turns, list) or not turns:
            raise ValueError(f"{where}: `turns` must be a non-empty list")
        checked = [_turn(t, f"{where}, turn {i}") for i, t in enumerate(turns, 1)]
        found.append(Dialogue(name, checked, metadata, source))
    return found


def _turn(item: Any, where: str) -> Turn:
    if not isinstance(item, dict) or not isinstance(item.get("say"), str) or not item["say"]:
        raise ValueError(f"{where}: expected `say: <text>` and `expect: {{outcome: ...}}`")
    expect = item.get("expect")
    if not isinstance(expect, dict):
        raise ValueError(f"{where}: `expect` must be a mapping")
    unknown = sorted(set(expect) - set(EXPECT_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown expect keys {unknown} (known: {list(EXPECT_KEYS)})")
    if expect.get("outcome") not in OUTCOMES:
        raise ValueError(f"{where}: expect.outcome must be one of {list(OUTCOMES)}")
    clean: dict[str, Any] = {}
    for key, value in expect.items():
        if key in ("says", "not_says"):
            values = value if isinstance(value, list) else [value]
            if not values or any(v is None or isinstance(v, dict | list) for v in values):
                raise ValueError(f"{where}: expect.{key} must be text or a list of texts")
            # `says: 10234` is read by YAML as a number: it means the text "10234".
            clean[key] = [str(v) for v in values] if isinstance(value, list) else str(value)
        elif value is not None:
            clean[key] = str(value)
    return Turn(item["say"], clean)


# -- judging ---------------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_turn(expect: dict[str, Any], got: Got | None) -> list[str]:
    """What is wrong with `got` (None: the turn was not reached); empty when it is right."""
    if got is None or got.outcome == NOT_REACHED:
        return [NOT_REACHED]
    problems = []
    if got.outcome != expect["outcome"]:
        problems.append(f"outcome {got.outcome}, expected {expect['outcome']}")
    if "reason" in expect and got.reason != expect["reason"]:
        problems.append(f"reason {got.reason}, expected {expect['reason']}")
    if "intent" in expect and got.intent != expect["intent"]:
        problems.append(f"intent {got.intent or '(none)'}, expected {expect['intent']}")
    said = "\n".join(got.replies).casefold()
    for text in _texts(expect["says"]) if "says" in expect else []:
        if text.casefold() not in said:
            problems.append(f"did not say {text!r}")
    for text in _texts(expect["not_says"]) if "not_says" in expect else []:
        if text.casefold() in said:
            problems.append(f"said {text!r}")
    return problems


@dataclass
class TurnResult:
    say: str
    expected: dict[str, Any]
    got: Got
    problems: list[str]

    @property
    def right(self) -> bool:
        return not self.problems


@dataclass
class DialogueResult:
    name: str
    source: str
    turns: list[TurnResult]

    @property
    def right(self) -> bool:
        return all(t.right for t in self.turns)

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "right": self.right,
            "turns": [
                {
                    "say": t.say,
                    "expected": t.expected,
                    "got": t.got.row(),
                    "right": t.right,
                    "problems": t.problems,
                }
                for t in self.turns
            ],
        }


def judge(dialogue: Dialogue, got: list[Got]) -> DialogueResult:
    """Each listed turn against what happened; turns beyond `got` were not reached."""
    turns = []
    for n, turn in enumerate(dialogue.turns):
        happened = got[n] if n < len(got) else None
        problems = check_turn(turn.expect, happened)
        turns.append(TurnResult(turn.say, turn.expect, happened or NOT_REACHED_GOT, problems))
    return DialogueResult(dialogue.name, dialogue.source, turns)


def summarise(results: list[DialogueResult]) -> dict[str, Any]:
    turns = [t for d in results for t in d.turns]
    right = sum(t.right for t in turns)
    return {
        "turns": len(turns),
        "turns_right": right,
        "turn_accuracy": round(right / len(turns), 4) if turns else None,
        "dialogues": len(results),
        "dialogues_right": sum(d.right for d in results),
        "failures": [
            {
                "name": d.name,
                "turn": n,
                "say": t.say,
                "expected": t.expected,
                "got": t.got.brief(),
                "problems": t.problems,
            }
            for d in results
            for n, t in enumerate(d.turns, 1)
            if not t.right
        ],
    }


def got_from_events(
    parse: dict[str, Any] | None,
    bot_messages: list[dict[str, Any]],
    misses_before: int,
    misses_after: int,
    intent: str = "",
) -> Got:
    """A turn's result from its bot messages ({"text", "custom", "utter_action"} each)."""
    handoffs = signals.handoff_payloads(m.get("custom") for m in bot_messages)
    abstained = any(m.get("utter_action") == signals.ABSTAIN_RESPONSE for m in bot_messages)
    outcome, reason = signals.turn_outcome(handoffs, abstained, misses_before, misses_after)
    score, phrase = signals.person_request(parse)
    return Got(
        outcome,
        reason,
        intent,
        [str(m["text"]) for m in bot_messages if m.get("text")],
        score,
        phrase,
        signals.detected_language(parse),
    )


# -- running ---------------------------------------------------------------------------------


@dataclass
class Run:
    results: list[DialogueResult]
    seconds: float  # the dialogues, model already loaded
    load_seconds: float


async def run(model: Path, dialogues: list[Dialogue], http_actions: bool = False) -> Run:
    """Every dialogue against `model`, one turn at a time, in order."""
    from rasa.core.agent import Agent

    from tools.evaluation import runner

    runner._cache_action_response_validator()
    loading = time.perf_counter()
    with runner.action_server() if http_actions else runner.in_process_actions() as endpoint:
        agent = Agent.load(str(model), action_endpoint=endpoint)
        load_seconds = time.perf_counter() - loading
        started = time.perf_counter()
        results = []
        for dialogue in dialogues:
            # In-process, each dialogue gets a backend of its own (a cancelled order stays
            # cancelled within a dialogue only). The action server keeps one for the run.
            with nullcontext() if http_actions else _fresh_backend():
                results.append(judge(dialogue, await _converse(agent, dialogue)))
        seconds = time.perf_counter() - started
    return Run(results, seconds, load_seconds)


@contextmanager
def _fresh_backend() -> Iterator[None]:
    """A new throw-away demo backend for the in-process actions; the agent's endpoint calls
    the same executor, which reads the backend from COMMERCE_DB (set and restored here)."""
    from tools.evaluation import runner

    with runner.in_process_actions():
        yield


async def _converse(agent: Any, dialogue: Dialogue) -> list[Got]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sender = f"eval-dialogue-{uuid.uuid4().hex}"
    got: list[Got] = []
    for turn in dialogue.turns:
        before = await agent.tracker_store.retrieve(sender)
        misses_before = int(before.get_slot("misses") or 0) if before is not None else 0
        seen = len(before.events) if before is not None else 0
        message = UserMessage(
            turn.say, CollectingOutputChannel(), sender, metadata=dialogue.metadata
        )
        await agent.handle_message(message)
        tracker = await agent.tracker_store.retrieve(sender)
        got.append(_turn_result(tracker, seen, misses_before))
        if got[-1].outcome == "handoff":
            break  # a person has the conversation now
    return got


def _turn_result(tracker: Any, seen: int, misses_before: int) -> Got:
    from rasa.shared.core.events import BotUttered, UserUttered

    from tools.evaluation import runner

    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if isinstance(e, UserUttered) and i >= seen]
    turn_events = events[users[-1] + 1 :] if users else events[seen:]
    bot_messages = [
        {
            "text": e.text,
            "custom": (e.data or {}).get("custom"),
            "utter_action": (e.metadata or {}).get("utter_action"),
        }
        for e in turn_events
        if isinstance(e, BotUttered)
    ]
    parse = tracker.latest_message.parse_data
    intent, _ = runner._classifier_guess(parse)
    return got_from_events(
        parse, bot_messages, misses_before, int(tracker.get_slot("misses") or 0), intent
    )
