"""A Telegram customer, the assistant, a first-request handoff, and a staff member in Slack:
over a Telegram webhook, and over long polling (a bridge with no public address)."""

from __future__ import annotations

import pytest

from devstack.stack import Stack
from tests.conftest import STACK_MODES, either_stack
from tests.support import StaffDesk, TelegramCustomer, eventually


@pytest.fixture(scope="session", params=STACK_MODES)
def stack(request: pytest.FixtureRequest) -> Stack:
    return either_stack(request)


async def test_telegram_customer_reaches_staff_on_first_request(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Dana")
    desk = StaffDesk(stack.slack_url)

    await customer.say("hi")
    greeting = await eventually(customer.texts, lambda ts: len(ts) >= 1, what="a greeting")

    await customer.say("what payment methods do you accept?")
    await eventually(
        customer.texts,
        lambda ts: any("paypal" in t.lower() for t in ts[len(greeting) :]),
        what="an answer naming the payment methods",
    )
    before_request = len(await customer.texts())

    await customer.say("I want to talk to a person")
    texts = await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    # Handed over at once: the notice is the only answer, with no confirmation question.
    assert len(texts) == before_request + 1, texts

    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    opening = await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "payment methods" in text,
        what="the transcript in the thread",
    )
    assert "Dana" in opening and "asked for a person" in opening
    assert "I want to talk to a person" in opening

    await desk.reply(thread_ts, "Hi Dana, Alice here. How can I help?")
    await customer.wait_for(lambda t: "Alice here" in t, "the staff reply on Telegram")

    await customer.say("my parcel arrived damaged")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "my parcel arrived damaged" in text,
        what="the follow-up in the thread",
    )
    # The follow-up went to the person only: the assistant said nothing more, and none of the
    # bridge's own thread posts looped back to the customer.
    texts = await customer.texts()
    assert len(texts) == before_request + 2, texts
    assert not any("Transcript" in t or "Handoff" in t for t in texts)


async def test_staff_replies_arrive_in_order(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Eli")
    desk = StaffDesk(stack.slack_url)
    await customer.say("can I speak to a human please")
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")

    replies = [f"step {n} of 5" for n in range(1, 6)]
    for text in replies:
        await desk.reply(thread_ts, text)
    texts = await eventually(
        customer.texts,
        lambda ts: sum(t.endswith("of 5") for t in ts) == 5,
        what="all five staff replies",
    )
    assert [t.split(": ", 1)[-1] for t in texts if t.endswith("of 5")] == replies
