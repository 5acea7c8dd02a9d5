"""The card's content for each state, and its escaping (pure logic)."""

from __future__ import annotations

import json

from bridge.models import Channel, Conversation, Mode, RecentIntent
from bridge.platforms.slack.card import render
from bridge.router.routes import is_note


def _conversation(**changes: object) -> Conversation:
    base = Conversation(
        id="tg-7",
        channel=Channel.TELEGRAM,
        external_id="7",
        display_name="<!channel> & <@U1>",
        mode=Mode.HUMAN,
        handoff_reason="low_confidence",
        trigger="<!here> <http://evil.example|bank> " + "x" * 1000,
        intents=(RecentIntent("<b>", "nlu_fallback", 0.2),),
        handoff_at_ms=1_700_000_000_000,
    )
    return Conversation(**{**base.__dict__, **changes})


def test_customer_text_on_the_card_is_escaped_everywhere() -> None:
    text, blocks = render(_conversation(), [], now_ms=1_700_000_120_000)
    everything = text + json.dumps(blocks)
    for control in ("<!channel>", "<!here>", "<@U1>", "<http://evil", "<b>"):
        assert control not in everything
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in text
    assert "Unclaimed, waiting 2 min" in text
    # Block Kit refuses section texts over 3,000 characters; the full text is in the thread.
    assert all(len(json.dumps(b)) < 3000 for b in blocks)


def test_card_buttons_follow_the_state() -> None:
    def actions(conversation: Conversation) -> list[str]:
        _, blocks = render(conversation, [])
        return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]

    assert actions(_conversation()) == ["desk_claim", "desk_close", "desk_hand_back"]
    claimed = _conversation(claimed_by="U0ALICE", claimed_name="Alice")
    assert actions(claimed) == ["desk_close", "desk_hand_back"]
    assert "Claimed by *Alice*" in render(claimed, [])[0]
    assert actions(_conversation(mode=Mode.CLOSED, closed_name="Bob")) == []
    assert (
        "Handed back to the bot by Bob"
        in render(_conversation(mode=Mode.BOT, handed_back_name="Bob"), [])[0]
    )


def test_note_markers() -> None:
    assert is_note("!note check the refund") and is_note("  // vip") and is_note("!NOTE x")
    assert not is_note("Hello! note that we ship today") and not is_note("see https://x")
