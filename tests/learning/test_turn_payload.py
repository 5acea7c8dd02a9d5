"""The assistant's per-turn decision reaches the bridge and never the customer."""

from __future__ import annotations

from bridge.models import HandoffReason
from bridge.rasa_client import TurnDecision, parse_turn


def test_turn_payload_is_read_and_not_shown() -> None:
    turn = parse_turn(
        [
            {"recipient_id": "c", "text": "Sorry, I can't help with that here."},
            {
                "recipient_id": "c",
                "custom": {
                    "turn": {"intent": "track_order", "confidence": 0.41, "outcome": "abstain"}
                },
            },
        ]
    )
    assert [r.text for r in turn.replies] == ["Sorry, I can't help with that here."]
    assert turn.decision == TurnDecision("track_order", 0.41, "abstain")


def test_handoff_turn_keeps_its_reason_and_decision() -> None:
    turn = parse_turn(
        [
            {"custom": {"handoff": {"reason": "complaint", "intent": "complaint"}}},
            {"custom": {"turn": {"intent": "complaint", "confidence": 0.9, "outcome": "handoff"}}},
            {"custom": {"turn": {"outcome": "nonsense"}}},
        ]
    )
    assert turn.replies == [] and turn.handoff is HandoffReason.COMPLAINT
    assert turn.decision is not None and turn.decision.outcome == "handoff"
