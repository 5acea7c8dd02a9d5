from __future__ import annotations

from bridge.models import HandoffReason
from bridge.platforms.widget.sessions import SessionTokens
from bridge.rasa_client import parse_turn


def test_session_tokens_grant_only_their_own_conversation() -> None:
    tokens = SessionTokens("secret")
    token = tokens.issue("w-abc")
    assert tokens.verify(token) == "w-abc"
    assert tokens.verify(token.replace("w-abc", "w-abd")) is None
    assert SessionTokens("other").verify(token) is None
    for junk in (None, 42, "", "no-dot", "a.b.c", "x" * 300):
        assert tokens.verify(junk) is None


def test_handoff_signal_is_read_and_not_shown_to_the_customer() -> None:
    turn = parse_turn(
        [
            {
                "recipient_id": "c",
                "text": "Sorry, I can't help with that here.",
                "buttons": [{"title": "Talk to a person", "payload": "/contact_human_agent"}],
            },
            {"recipient_id": "c", "custom": {"handoff": {"reason": "repeated_miss"}}},
            "garbage",
        ]
    )
    assert turn.handoff is HandoffReason.REPEATED_MISS
    assert [m.text for m in turn.replies] == ["Sorry, I can't help with that here."]
    assert turn.replies[0].buttons[0].payload == "/contact_human_agent"


def test_unknown_handoff_reason_still_hands_over() -> None:
    turn = parse_turn([{"custom": {"handoff": {"reason": "something new"}}}])
    assert turn.handoff is HandoffReason.EXPLICIT_REQUEST
