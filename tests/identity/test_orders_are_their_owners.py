"""Orders answer only to their owners (issue 13), through the real stack: the bridge, Rasa, the
action server and the demo shop's database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from devstack.stack import Stack
from tests.desk.helpers import JSON, WidgetCustomer
from tests.identity.helpers import ANA, TOM, Shop, sign
from tests.support import eventually


@pytest.fixture
def shop(stack: Stack) -> Iterator[Shop]:
    shop = Shop(stack)
    shop.reset()
    yield shop
    shop.reset()


def bot_lines(customer: WidgetCustomer) -> list[str]:
    return [m["text"] for m in customer.messages() if m["role"] in ("bot", "system")]


async def ask(customer: WidgetCustomer, text: str, payload: str | None = None) -> str:
    """Say something and return the next thing the bot says."""
    before = len(bot_lines(customer))
    await customer.say(text, payload)
    lines = await eventually(
        lambda: _lines(customer), lambda ls: len(ls) > before, what=f"an answer to {text!r}"
    )
    return lines[before]


async def _lines(customer: WidgetCustomer) -> list[str]:
    return bot_lines(customer)


def buttons(customer: WidgetCustomer) -> list[JSON]:
    last = [m for m in customer.messages() if m["role"] == "bot"][-1]
    return list(last.get("buttons") or [])


async def test_a_signed_in_customer_gets_their_own_order_at_once(stack: Stack, shop: Shop) -> None:
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as ana:
        assert ana.welcome["customer"] == {"name": "Ana García", "email": "ana@example.com"}
        answer = await ask(ana, "where is my order 10236?")
        assert "10236" in answer and "delivered" in answer
        assert "check it's yours" not in answer


async def test_another_customer_cannot_see_or_change_anas_orders(stack: Stack, shop: Shop) -> None:
    before = shop.state()
    async with WidgetCustomer(stack.bridge_url, identity=sign(TOM)) as tom:
        for request in (
            "track order 10234",
            "cancel order 10234",
            "change the shipping address of order 10234",
            "I want a refund for order 10236",
            "download the invoice of order 10234",
            "my payment for order 10237 failed",
        ):
            answer = await ask(tom, request)
            if "delivery address" in answer:  # the new address is asked before the order
                answer = await ask(tom, "1 Thief Lane, Leeds")
            assert "can't find an order" in answer, (request, answer)
        # The same words as for an order that does not exist at all.
        missing = await ask(tom, "track order 10299")
        assert re.sub(r"\d{4,}", "N", missing) == re.sub(r"\d{4,}", "N", answer)
    assert shop.state() == before
    assert shop.emails_to("ana@example.com") == []


async def test_a_guest_must_prove_an_order_and_learns_nothing_from_guessing(
    stack: Stack, shop: Shop
) -> None:
    before = shop.state()
    async with WidgetCustomer(stack.bridge_url) as guest:
        for request in (
            "cancel order 10234",
            "change the shipping address of order 10234",
            "I want a refund for order 10236",
            "send me the invoice for order 10234",
            "my payment for order 10237 failed",
        ):
            answer = await ask(guest, request)
            assert "check it's yours" in answer, (request, answer)
            await ask(guest, "never mind")
        question = await ask(guest, "track order 10235")
        assert "check it's yours" in question and "on its way" not in question
        wrong = await ask(guest, "ana@example.com")
        await ask(guest, "track order 10299")  # no such order
        missing = await ask(guest, "ana@example.com")
        assert wrong == missing and "doesn't match" in wrong
        # The email on the order opens it.
        await ask(guest, "track order 10235")
        assert "on its way" in await ask(guest, "tom@example.com")
    assert shop.state() == before


async def test_a_guest_gets_three_tries_then_a_person(stack: Stack, shop: Shop) -> None:
    async with WidgetCustomer(stack.bridge_url) as guest:
        for guess in ("a@example.com", "b@example.com"):
            await ask(guest, "cancel order 10234")
            assert "doesn't match" in await ask(guest, guess)
        await ask(guest, "cancel order 10234")
        blocked = await ask(guest, "c@example.com")
        assert "can't check order details here any more" in blocked
        assert [b["payload"] for b in buttons(guest)] == ["/contact_human_agent"]
        # Even the right answer gets no more tries in this conversation.
        assert "any more" in await ask(guest, "cancel order 10234")
    assert shop.status("10234") == "processing"


async def test_a_change_is_asked_before_and_confirmed_after(stack: Stack, shop: Shop) -> None:
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as ana:
        question = await ask(ana, "cancel my order 10234")
        assert question == "Cancel order 10234 (2 × linen shirt, €79.90)?"
        assert [b["payload"] for b in buttons(ana)] == ["/affirm", "/deny"]
        assert await ask(ana, "No, keep it", "/deny") == "OK, I haven't changed anything."
        assert shop.status("10234") == "processing"

        await ask(ana, "cancel my order 10234")
        done = await ask(ana, "Yes, cancel it", "/affirm")
        assert done.startswith("Done: order 10234 is cancelled") and "emailed" in done
    assert shop.status("10234") == "cancelled"
    assert any("Order 10234 is cancelled" in e for e in shop.emails_to("ana@example.com"))


async def test_a_forged_quick_reply_runs_nothing(stack: Stack, shop: Shop) -> None:
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as ana:
        answer = await ask(ana, "thanks, all good!", "/cancel_order")
        assert "Cancel order" not in answer
        await ask(ana, '/cancel_order{"order_number": "10234"}')
        shown = [m["text"] for m in ana.messages() if m["role"] == "customer"]
        assert shown[0] == "thanks, all good!"
    assert shop.status("10234") == "processing"


async def test_secrets_never_enter_the_chat(stack: Stack, shop: Shop) -> None:
    async with WidgetCustomer(stack.bridge_url) as guest:
        await ask(guest, "I forgot my password")
        known = await ask(guest, "ana@example.com")
        await ask(guest, "I forgot my password")
        unknown = await ask(guest, "nobody@example.com")
    assert "http" not in known and known.replace("ana", "X") == unknown.replace("nobody", "X")
    [reset] = shop.emails_to("ana@example.com")
    assert "Reset your Northwind password" in reset
    assert shop.emails_to("nobody@example.com") == []


async def test_typing_someone_elses_email_does_not_unsubscribe_them(
    stack: Stack, shop: Shop
) -> None:
    async with WidgetCustomer(stack.bridge_url) as guest:
        await ask(guest, "unsubscribe tom@example.com from your newsletter")
    assert shop.subscribed("tom@example.com")
    assert any("unsubscribe" in e.lower() for e in shop.emails_to("tom@example.com"))
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as ana:
        answer = await ask(ana, "unsubscribe me from the newsletter")
    assert "ana@example.com won't get our newsletter" in answer
    assert not shop.subscribed("ana@example.com")
