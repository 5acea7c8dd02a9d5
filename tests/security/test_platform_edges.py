"""Platform edge cases (issue 14, item 7): what Slack and Telegram can send that is legal, odd or
hostile, against the running bridge."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, Stack
from tests.desk.helpers import Desk
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually, telegram_handoff

SIGNER = SignatureVerifier(LOCAL_SLACK["SLACK_SIGNING_SECRET"])
TELEGRAM_SECRET = {"X-Telegram-Bot-Api-Secret-Token": LOCAL_TELEGRAM["TELEGRAM_WEBHOOK_SECRET"]}


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


def _signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    now = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": SIGNER.generate_signature(timestamp=now, body=body),
    }


def _event(event_id: str, event: dict[str, Any]) -> bytes:
    return json.dumps({"type": "event_callback", "event_id": event_id, "event": event}).encode()


async def test_a_slack_timestamp_that_is_not_a_number_is_refused_with_401(stack: Stack) -> None:
    reply = _event(
        "EvBADTIME1",
        {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": "U0ALICE",
            "text": "hello",
            "ts": "1700000000.000100",
            "thread_ts": "1700000000.000001",
        },
    )
    other = _event("EvBADTIME2", {"type": "reaction_added", "user": "U0ALICE"})
    click = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})}).encode()
    requests = [
        ("/slack/events", reply, "application/json"),  # the fast path's shape
        ("/slack/events", other, "application/json"),  # bolt's
        ("/slack/interactivity", click, "application/x-www-form-urlencoded"),
    ]
    for path, body, content_type in requests:
        for timestamp in ("abc", "", "1e9", "１７００"):
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
            status, text = await _post(stack.bridge_url + path, body, headers)
            assert status == 401, (path, timestamp, status, text)
            assert "X-Slack-Request-Timestamp" in json.loads(text)["error"]
    async with aiohttp.ClientSession() as http, http.get(f"{stack.bridge_url}/healthz") as r:
        assert r.status == 200


async def test_one_slack_message_under_two_event_ids_reaches_the_customer_once(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Sol")
    ts = await desk.say(card_ts, "Your order ships today.")
    await customer.wait_for(lambda t: "ships today" in t, "the reply")

    message = {
        "channel": STAFF_CHANNEL,
        "user": "U0ALICE",
        "text": "Your order ships today.",
        "ts": ts,
        "thread_ts": card_ts,
        "event_ts": ts,
    }
    # Slack sends the same message again under new event ids: as a retry given a new id, and
    # as the `app_mention` that comes with a `message` when the app is mentioned.
    answers: dict[str, tuple[int, str]] = {}
    for event_id, kind in (
        (f"EvAGAIN{chat_id}", "message"),
        (f"EvMENTION{chat_id}", "app_mention"),
    ):
        body = _event(event_id, {"type": kind, **message})
        answers[kind] = await _post(f"{stack.bridge_url}/slack/events", body, _signed(body))

    await desk.say(card_ts, "Anything else?")  # after whatever a second copy would have sent
    texts = await customer.wait_for(lambda t: "Anything else?" in t, "the next reply")
    assert sum("ships today" in t for t in texts) == 1, texts
    # Both acknowledged, so Slack does not keep retrying them.
    assert {kind: status for kind, (status, _) in answers.items()} == {
        "message": 200,
        "app_mention": 200,
    }, answers


async def test_a_telegram_update_over_the_size_limit_is_413(stack: Stack) -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 1, "type": "private"},
            "text": "x" * (2 * 1024 * 1024),
        },
    }
    headers = {"Content-Type": "application/json", **TELEGRAM_SECRET}
    url = f"{stack.bridge_url}/telegram/webhook"
    status, text = await _post(url, json.dumps(update).encode(), headers)
    assert status == 413, text
    assert "too large" in json.loads(text)["error"]


async def _edit(stack: Stack, chat_id: int, message_id: int, text: str) -> int:
    """The customer edits their message `message_id` in the Telegram app; its update id."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stack.telegram_url}/_test/customer/edit",
            json={"chat_id": chat_id, "message_id": message_id, "text": text},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        update_id: int = (await response.json())["update_id"]
    return update_id


async def test_a_telegram_customers_edit_is_answered_by_the_assistant(
    stack: Stack, chat_id: int
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Tove")
    first = await customer.say("hello")
    before = len(await customer.wait_for(lambda t: "Northwind" in t, "the greeting"))
    await _edit(stack, chat_id, first, "which payment methods can I use?")
    texts = await eventually(
        customer.texts,
        lambda ts: any("paypal" in t.lower() for t in ts[before:]),
        what="the assistant's answer to the edited message",
    )
    assert not any("person from our team" in t for t in texts), texts


async def test_a_telegram_customers_edit_reaches_the_thread_once_marked_as_an_edit(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Uma")
    await desk.say(card_ts, "Hi Uma, which order is it?")
    await customer.wait_for(lambda t: "which order" in t, "the staff reply")
    sent = await customer.say("It is order 1234")
    await eventually(
        lambda: desk.thread_text(card_ts), lambda t: "order 1234" in t, what="the line"
    )
    update_id = await _edit(stack, chat_id, sent, "It is order 1243, sorry")
    # Telegram redelivers an update it thinks we missed: the same update id again.
    redelivered = {
        "update_id": update_id,
        "edited_message": {
            "message_id": sent,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Uma"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Uma"},
            "text": "It is order 1243, sorry",
        },
    }
    headers = {"Content-Type": "application/json", **TELEGRAM_SECRET}
    url = f"{stack.bridge_url}/telegram/webhook"
    status, text = await _post(url, json.dumps(redelivered).encode(), headers)
    assert status == 200, text
    await customer.say("thanks")  # after anything a second copy would have posted
    thread = await eventually(
        lambda: desk.thread_text(card_ts), lambda t: "thanks" in t, what="the next line"
    )
    lines = [line for line in thread.splitlines() if "order 1243" in line]
    assert len(lines) == 1 and "edited" in lines[0], thread
    assert "order 1234" in thread  # the original stays: staff see what changed
