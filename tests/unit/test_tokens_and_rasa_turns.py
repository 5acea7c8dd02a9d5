from __future__ import annotations

import time
from typing import Any

from bridge.models import HandoffReason
from bridge.platforms.widget.sessions import SessionTokens
from bridge.rasa_client import parse_turn


class _NoRevocations:
    """Stands in for Redis where no session was revoked (tests/security/test_sessions.py
    covers revocation against the real bridge)."""

    async def get(self, key: str) -> None:
        return None


async def test_session_tokens_grant_only_their_own_conversation_until_they_expire() -> None:
    redis: Any = _NoRevocations()
    tokens = SessionTokens("secret", redis, ttl_s=3600)
    token = tokens.issue("w-abc")
    assert await tokens.verify(token) == "w-abc"
    assert await tokens.verify(token.replace("w-abc", "w-abd")) is None
    assert await SessionTokens("other", redis).verify(token) is None
    version, conversation, issued, signature = token.split(".")
    later = f"{version}.{conversation}.{int(issued) + 3600}.{signature}"
    assert await tokens.verify(later) is None  # the issue time is signed too
    assert await tokens.verify(tokens.issue("w-abc", now=time.time() - 3601)) is None
    assert await tokens.verify(tokens.issue("w-abc", now=time.time() - 3500)) == "w-abc"
    for junk in (None, 42, "", "no-dot", "a.b.c", "v2.a.b.c", "x" * 300, f"w-abc.{signature}"):
        assert await tokens.verify(junk) is None


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
