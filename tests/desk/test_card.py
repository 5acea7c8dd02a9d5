"""The handoff card: who, why, what the bot understood, how long they wait, the transcript."""

from __future__ import annotations

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, buttons, card_text
from tests.support import TelegramCustomer, eventually


async def test_card_tells_staff_who_why_and_what_the_bot_understood(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Grace")
    await customer.say("hi")
    await eventually(customer.texts, lambda ts: len(ts) >= 1, what="a greeting")
    await customer.say("I want to talk to a person")
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")

    card_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    card = await desk.card(card_ts)
    text = card_text(card)
    assert "Telegram" in text and "Grace" in text and f"tg-{chat_id}" in text
    assert "asked for a person" in text and "I want to talk to a person" in text
    # The bot's recent intents, each with its confidence, oldest first.
    understood = text.split("The bot understood:", 1)[1]
    assert understood.index("`greet`") < understood.index("`contact_human_agent`")
    assert "%" in understood
    assert "Waiting since" in text and "<!date^" in text
    assert "Unclaimed" in text
    assert "`!note`" in text  # how to write an internal note
    assert buttons(card) == ["desk_claim", "desk_close", "desk_hand_back"]

    # The transcript follows in the thread.
    thread = await eventually(
        lambda: desk.thread_text(card_ts),
        lambda t: "Transcript so far" in t,
        what="the transcript",
    )
    assert "*Customer:* hi" in thread


async def test_long_transcripts_are_split_into_posts_never_cut(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    # Three long messages, each with a marker at its very end.
    long_lines = [f"{n} " + "lorem ipsum " * 160 + f"END-{n}" for n in range(3)]
    async with WidgetCustomer(stack.bridge_url) as customer:
        for line in [*long_lines, "I want to talk to a person"]:
            await customer.say(line)
        # Two long messages the bot cannot place may already hand over; either way one notice.
        await customer.wait_for(lambda m: "person from our team" in m["text"], "the handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        posts = await eventually(
            lambda: desk.bot_posts(card_ts),
            lambda ps: all(f"END-{n}" in "".join(ps) for n in range(3)),
            what="the whole transcript",
        )
    assert len(posts) > 1, "a transcript this long takes several posts"
    assert all(len(p) <= 3500 for p in posts)
    joined = "\n".join(posts)
    for n in range(3):
        assert f"END-{n}" in joined
