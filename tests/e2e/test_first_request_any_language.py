"""Issue 15 from outside: the first request for a person is never missed, in the customer's
own language and at any point, a follow-up keeps its topic, an answer that did not help goes
to a person instead of being said again, and the card shows words, never payloads.

Real Rasa (the trained model), the real bridge, the local Telegram and Slack; each test runs
over both ways the platforms reach the bridge (a Telegram webhook, and polling)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from bridge.texts.languages import LANGUAGES
from devstack.stack import Stack
from tests.conftest import STACK_MODES, either_stack
from tests.support import StaffDesk, TelegramCustomer, eventually
from tests.widget_page import conversation_id, messages_by, open_widget, say

NOTICE = "person from our team"


@pytest.fixture(scope="session", params=STACK_MODES)
def stack(request: pytest.FixtureRequest) -> Stack:
    """Over a Telegram webhook (the Events API), and over polling (Socket Mode)."""
    return either_stack(request)


def _card_text(message: dict[str, Any]) -> str:
    """Everything a person reads on the card: its blocks' text, not only the fallback."""
    return (
        message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)
    )


async def _card(desk: StaffDesk, who: int | str) -> str:
    """The card of the thread opened for a Telegram chat id or a widget conversation id."""
    thread_ts = await desk.wait_for_thread(f"tg-{who}" if isinstance(who, int) else who)
    opening = (await desk.thread(thread_ts))[0]
    return _card_text(opening)


async def test_a_russian_request_for_a_person_is_answered_in_russian(
    stack: Stack, chat_id: int
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Olga")
    await customer.say("Здравствуйте, соедините меня, пожалуйста, с живым оператором")
    texts = await customer.wait_for(lambda t: t == LANGUAGES["ru"].to_person, "a Russian notice")
    assert not any("can't help" in t for t in texts), texts
    card = await _card(StaffDesk(stack.slack_url), chat_id)
    assert "asked for a person" in card
    assert "Russian" in card


async def test_a_message_in_a_language_the_bot_does_not_answer_goes_to_a_person(
    stack: Stack, chat_id: int
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Kenji")
    await customer.say("注文した商品はいつ届きますか？まだ発送されていないようです")
    texts = await customer.wait_for(
        lambda t: t == LANGUAGES["ja"].not_answered, "the notice in Japanese"
    )
    assert len(texts) == 1, texts  # at once: no English "can't help" before it
    card = await _card(StaffDesk(stack.slack_url), chat_id)
    assert "a language the bot does not answer" in card and "Japanese" in card


async def test_one_word_in_the_middle_of_collecting_an_order_number(
    stack: Stack, chat_id: int
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ines")
    await customer.say("I want to cancel an order")
    await customer.wait_for(lambda t: "order number" in t.lower(), "the question for a number")
    await customer.say("agent")
    await customer.wait_for(lambda t: NOTICE in t, "the handoff notice")
    assert "asked for a person" in await _card(StaffDesk(stack.slack_url), chat_id)


async def test_a_follow_up_keeps_its_topic_and_a_failed_answer_is_not_repeated(
    stack: Stack, chat_id: int
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ana")
    await customer.say("where is my order 10234")
    await customer.wait_for(lambda t: "postcode on that order" in t, "the proof question")
    await customer.say("LS1 4AB")
    await customer.wait_for(lambda t: "Order 10234" in t, "the status of 10234")

    await customer.say("and 10236?")
    # The same request for the other order: its own proof first, then its status.
    await customer.wait_for(lambda t: "order 10236" in t and "postcode" in t, "proof for 10236")
    await customer.say("10435")
    texts = await customer.wait_for(lambda t: "10236" in t and "delivered" in t, "its status")
    said = len(texts)

    await customer.say("my order 10236 never arrived even though it says delivered")
    texts = await customer.wait_for(lambda t: NOTICE in t, "a person taking over")
    # The delivered status is not said again: the notice is the only answer.
    assert len(texts) == said + 1, texts[said:]
    assert "did not resolve it" in await _card(StaffDesk(stack.slack_url), chat_id)


async def test_the_card_shows_the_words_tapped_not_the_payload(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Gus")
    await customer.say("what's the best recipe for banana bread?")
    messages = await eventually(
        customer.received,
        lambda ms: any(m.get("reply_markup") for m in ms),
        what="an abstention with a button",
    )
    offer = next(m for m in messages if m.get("reply_markup"))
    button = offer["reply_markup"]["inline_keyboard"][0][0]
    await customer.tap(offer["message_id"], button["callback_data"])
    await customer.wait_for(lambda t: NOTICE in t, "the handoff notice")
    card = await _card(StaffDesk(stack.slack_url), chat_id)
    assert "Talk to a person" in card
    assert "/contact_human_agent" not in card


async def test_an_arabic_widget_customer_reads_the_notice_in_arabic_right_to_left(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await open_widget(page, stack.bridge_url)
    await say(page, "أريد التحدث مع موظف خدمة العملاء من فضلك")
    notice = messages_by(page, "system").last
    await expect(notice).to_have_text(LANGUAGES["ar"].to_person, timeout=30_000)
    bubble = notice.locator(".bubble")
    assert await bubble.evaluate("b => getComputedStyle(b).direction") == "rtl"
    card = await _card(StaffDesk(stack.slack_url), await conversation_id(page))
    assert "Arabic" in card and "asked for a person" in card
    await context.close()
