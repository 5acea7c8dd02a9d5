"""Checking the turns of multi-turn dialogues (issue 15): tools/evaluation/dialogues.py."""

from __future__ import annotations

import pytest

from tools.evaluation import dialogues
from tools.evaluation.dialogues import Got, check_turn

FILE = {
    "dialogues": [
        {
            "name": "follow-up keeps its topic",
            "metadata": {"customer": {"id": "c-ana", "email": "ana@example.com"}},
            "turns": [
                {
                    "say": "where is my order 10234",
                    "expect": {"outcome": "answer", "intent": "track_order", "says": 10234},
                },
                {"say": "and 10236?", "expect": {"outcome": "answer", "says": "10236"}},
                {
                    "say": "that didn't help",
                    "expect": {"outcome": "handoff", "reason": "not_resolved"},
                },
            ],
        },
        {"turns": [{"say": "hi", "expect": {"outcome": "answer", "not_says": ["sorry"]}}]},
    ]
}


def test_parse_the_file() -> None:
    found = dialogues.parse(FILE, "d.yml")
    assert [d.name for d in found] == ["follow-up keeps its topic", "dialogue 2"]
    first = found[0]
    assert first.metadata == {"customer": {"id": "c-ana", "email": "ana@example.com"}}
    assert first.turns[0].expect == {"outcome": "answer", "intent": "track_order", "says": "10234"}
    assert found[1].turns[0].expect["not_says"] == ["sorry"]


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"say": "hi", "expect": {"outcome": "answered"}}, "expect.outcome must be one of"),
        ({"say": "hi", "expect": {"outcome": "answer", "says_": "x"}}, "unknown expect keys"),
        ({"say": "", "expect": {"outcome": "answer"}}, "expected `say: <text>`"),
        ({"say": "hi"}, "`expect` must be a mapping"),
    ],
)
def test_mistakes_in_the_file_are_named(turn: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        dialogues.parse({"dialogues": [{"name": "x", "turns": [turn]}]}, "d.yml")
    assert "d.yml: dialogue 'x', turn 1" in str(raised.value)


def test_outcome_and_reason() -> None:
    handed = Got("handoff", "not_resolved", "track_order")
    assert check_turn({"outcome": "handoff", "reason": "not_resolved"}, handed) == []
    assert check_turn({"outcome": "handoff"}, handed) == []  # any reason
    assert check_turn({"outcome": "handoff", "reason": "explicit_request"}, handed) == [
        "reason not_resolved, expected explicit_request"
    ]
    assert check_turn({"outcome": "answer"}, handed) == ["outcome handoff, expected answer"]
    assert check_turn({"outcome": "answer", "intent": "cancel_order"}, Got("answer", None, "")) == [
        "intent (none), expected cancel_order"
    ]


def test_says_and_not_says_are_case_insensitive_substrings() -> None:
    got = Got("answer", None, "track_order", ["Order 10234 is on its way.", "Anything else?"])
    assert check_turn({"outcome": "answer", "says": "order 10234"}, got) == []
    assert check_turn({"outcome": "answer", "says": ["10234", "ANYTHING"]}, got) == []
    assert check_turn({"outcome": "answer", "says": "10236"}, got) == ["did not say '10236'"]
    assert check_turn({"outcome": "answer", "not_says": "sorry"}, got) == []
    assert check_turn({"outcome": "answer", "not_says": "ON ITS WAY"}, got) == ["said 'ON ITS WAY'"]
    assert check_turn({"outcome": "fallback", "says": "x"}, got) == [
        "outcome answer, expected fallback",
        "did not say 'x'",
    ]


def test_turns_after_a_handoff_are_not_reached() -> None:
    dialogue = dialogues.parse(FILE)[0]
    early = [Got("answer", None, "track_order", ["10234: shipped"]), Got("handoff", "language")]
    result = dialogues.judge(dialogue, early)
    assert [t.problems for t in result.turns] == [
        [],
        ["outcome handoff, expected answer", "did not say '10236'"],
        ["not reached"],
    ]
    assert not result.right and result.turns[2].got.outcome == "not reached"
    assert check_turn({"outcome": "handoff"}, None) == ["not reached"]

    summary = dialogues.summarise([result])
    assert summary["turns"] == 3 and summary["turns_right"] == 1
    assert summary["turn_accuracy"] == round(1 / 3, 4)
    assert (summary["dialogues"], summary["dialogues_right"]) == (1, 0)
    failure = summary["failures"][1]
    assert failure["turn"] == 3 and failure["say"] == "that didn't help"
    assert failure["got"] == {"outcome": "not reached", "reason": None, "intent": "", "replies": []}


def test_a_dialogue_that_ends_with_its_handoff_is_right() -> None:
    dialogue = dialogues.parse(FILE)[0]
    got = [
        Got("answer", None, "track_order", ["Order 10234 ships today"]),
        Got("answer", None, "track_order", ["Order 10236 was delivered"]),
        Got("handoff", "not_resolved", "deny"),
    ]
    result = dialogues.judge(dialogue, got)
    assert result.right
    assert dialogues.summarise([result])["turn_accuracy"] == 1.0


def test_outcome_of_a_turn_from_its_bot_messages() -> None:
    parse = {"person_request": {"score": 0.8, "phrase": None, "threshold": 0.3}}
    handoff = [{"text": None, "custom": {"handoff": {"reason": "language", "language": "ru"}}}]
    got = dialogues.got_from_events(parse, handoff, 0, 0, "greet")
    assert (got.outcome, got.reason, got.replies, got.person_score) == (
        "handoff",
        "language",
        [],
        0.8,
    )
    abstain = [{"text": "Sorry, I can't help", "utter_action": "utter_abstain"}]
    assert dialogues.got_from_events({}, abstain, 1, 0).outcome == "fallback"
    assert dialogues.got_from_events({}, [{"text": "Which order?"}], 0, 1).outcome == "fallback"
    answer = dialogues.got_from_events(None, [{"text": "Which order?"}], 1, 0)
    assert (answer.outcome, answer.replies, answer.language) == ("answer", ["Which order?"], None)
