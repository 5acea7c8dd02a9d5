"""A Telegram chat linked from the shop's account page (issue 13), through the local Telegram:
the link works once, the chat then acts for its customer, and either side can unlink it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from bridge import keys
from bridge.models import Customer, Verification
from bridge.store.identities import Identities
from devstack.stack import Stack
from tests.identity.helpers import ANA, TOM, Shop, answer_to, link_code, shop_calls, sign
from tests.support import TelegramCustomer, eventually


@pytest.fixture
def shop(stack: Stack) -> Iterator[Shop]:
    shop = Shop(stack)
    shop.reset()
    yield shop
    shop.reset()


async def test_a_linked_chat_acts_for_its_customer_until_unlinked(
    stack: Stack, shop: Shop, chat_id: int
) -> None:
    code = await link_code(stack, TOM)
    tom = TelegramCustomer(stack.telegram_url, chat_id, first_name="Tom")
    assert "now linked to your account (t**@example.com)" in await answer_to(tom, f"/start {code}")
    assert "on its way" in await answer_to(tom, "track order 10235")
    # The code worked once: nobody else can use it, and it never entered the transcript.
    other = TelegramCustomer(stack.telegram_url, chat_id + 50_000, first_name="Mallory")
    assert "expired or was already used" in await answer_to(other, f"/start {code}")
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        lines = await redis.xrange(keys.transcript(f"tg-{chat_id}"))
        assert lines and all(code not in " ".join(f.values()) for _, f in lines)
    finally:
        await redis.aclose()
    assert "no longer linked" in await answer_to(tom, "/unlink")
    assert "check it's yours" in await answer_to(tom, "track order 10235")


async def test_the_shop_can_unlink_a_customer(stack: Stack, shop: Shop, chat_id: int) -> None:
    ana = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ana")
    await answer_to(ana, f"/start {await link_code(stack, ANA)}")
    status, body = await shop_calls(stack, "/identity/unlink", ANA)
    # Every conversation she is signed in to (this chat, and web chats of earlier tests).
    assert status == 200 and body["unlinked"] >= 1
    await ana.wait_for(lambda t: "no longer linked" in t, "the unlink notice")
    assert "check it's yours" in await answer_to(ana, "where is order 10234?")


async def test_a_link_code_that_expired_or_was_forged_is_refused(
    stack: Stack, chat_id: int
) -> None:
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        code = await Identities(redis).issue_link_code(
            Customer("c-ana", "ana@example.com", "Ana", Verification.LINKED_CHAT), ttl_s=1
        )
        await eventually(
            lambda: redis.exists(keys.telegram_link_code(code)), lambda n: n == 0, what="expiry"
        )
    finally:
        await redis.aclose()
    visitor = TelegramCustomer(stack.telegram_url, chat_id, first_name="Eve")
    assert "expired or was already used" in await answer_to(visitor, f"/start {code}")
    assert "expired or was already used" in await answer_to(visitor, "/start madeupcode")
    assert "check it's yours" in await answer_to(visitor, "track order 10234")


async def test_the_shop_api_refuses_unsigned_callers(stack: Stack) -> None:
    for token in ("", "not-a-token", sign(ANA, audience="support-widget")):
        status, body = await shop_calls(stack, "/identity/telegram-links", ANA, token or "x")
        assert status == 401 and body["error"] == "bad_identity", (token, body)


async def test_a_change_on_telegram_waits_for_yes(stack: Stack, shop: Shop, chat_id: int) -> None:
    ana = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ana")
    await answer_to(ana, f"/start {await link_code(stack, ANA)}")
    question = await answer_to(ana, "please cancel order 10234")
    assert question == "Cancel order 10234 (2 × linen shirt, €79.90)?"
    sent = await ana.received()
    asked = next(m for m in sent if m.get("text") == question)
    choices = {
        b["text"]: b["callback_data"]
        for row in asked["reply_markup"]["inline_keyboard"]
        for b in row
    }
    assert choices == {"Yes, cancel it": "/affirm", "No, keep it": "/deny"}
    await ana.tap(asked["message_id"], "/deny")
    await ana.wait_for(lambda t: t == "OK, I haven't changed anything.", "nothing changed")
    assert shop.status("10234") == "processing"
