"""The staff-reply fast path (issue 6, measurement 2): a plain reply in a handoff thread skips
slack-bolt's dispatch and is relayed in one Redis script, and must still keep every promise of
the slow path: signatures checked, redelivered events relayed once, receipts, edits, marks and
notes kept in Slack, the first-reply metric. Over Socket Mode (the no-public-url stack) the
same replies go through bolt instead, and must keep the same promises."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

from devstack.stack import LOCAL_SLACK, Stack
from tests.desk.helpers import Desk, WidgetCustomer, deliver_as_slack
from tests.support import STAFF_CHANNEL, eventually, telegram_handoff

SIGNER = SignatureVerifier(LOCAL_SLACK["SLACK_SIGNING_SECRET"])


def _reply_event(event_id: str, thread_ts: str, ts: str, text: str) -> bytes:
    """A staff thread reply as Slack delivers it (the shape the fast path takes)."""
    envelope = {
        "type": "event_callback",
        "event_id": event_id,
        "event": {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": "U0ALICE",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "event_ts": ts,
        },
    }
    return json.dumps(envelope).encode()


async def _post(stack: Stack, body: bytes, timestamp: str | None, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.bridge_url}/slack/events", data=body, headers=headers) as response,
    ):
        return response.status


async def _redeliver(stack: Stack, body: bytes) -> int:
    """Slack sending `body` again, over the stack's transport (a signed POST or Socket Mode)."""
    return await deliver_as_slack(stack.slack_url, json.loads(body))


async def _event_id_of(stack: Stack, ts: str) -> str:
    """The event id the local Slack gave the message event of `ts` (to redeliver it)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.slack_url}/_test/deliveries") as response,
    ):
        records: list[dict[str, Any]] = await response.json()
    return next(r["event_id"] for r in records if r["ts"] == ts and r["event_type"] == "message")


async def test_a_redelivered_reply_reaches_the_widget_once_with_a_receipt(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)

        ts = await desk.say(card_ts, "Looking into it now.")
        first = await customer.wait_for(lambda m: m["text"] == "Looking into it now.", "reply")
        assert first["role"] == "staff" and first["author"] == "Alice"
        assert first["ts"] == int(first["id"].split("-")[0])  # the frame carries its entry's time

        # Slack retries an event it thinks we missed: same event id, same message.
        body = _reply_event(await _event_id_of(stack, ts), card_ts, ts, "Looking into it now.")
        assert await _redeliver(stack, body) == 200
        # A later reply arrives after anything the retry could have sent (one ordered channel).
        await desk.say(card_ts, "Found it.")
        await customer.wait_for(lambda m: m["text"] == "Found it.", "the next reply")
        live = [
            f
            for f in customer.frames
            if f["type"] == "message" and f.get("text") == "Looking into it now."
        ]
        assert len(live) == 1, live

        await eventually(
            lambda: desk.reactions(card_ts, ts),
            lambda rs: "white_check_mark" in rs,
            what="the delivery receipt",
        )

    # The transcript (what a reload shows) holds it once as well.
    async with WidgetCustomer(stack.bridge_url, token=customer.token) as again:
        history = await again.wait_for(lambda m: m["text"] == "Found it.", "the history")
        assert history["role"] == "staff"
        assert [m["text"] for m in again.messages()].count("Looking into it now.") == 1


async def test_a_redelivered_reply_reaches_telegram_once_and_can_be_edited(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Ines")
    ts = await desk.say(card_ts, "Your refund is on its way.")
    await customer.wait_for(lambda t: "refund is on its way" in t, "the reply on Telegram")

    body = _reply_event(await _event_id_of(stack, ts), card_ts, ts, "Your refund is on its way.")
    assert await _redeliver(stack, body) == 200
    await desk.say(card_ts, "Anything else?")
    texts = await customer.wait_for(lambda t: "Anything else?" in t, "the next reply")
    assert sum("refund is on its way" in t for t in texts) == 1, texts

    await eventually(
        lambda: desk.reactions(card_ts, ts),
        lambda rs: "white_check_mark" in rs,
        what="the delivery receipt",
    )
    # The relay record written in the same step lets the edit find the customer's copy.
    await desk.person.chat_update(channel=STAFF_CHANNEL, ts=ts, text="Your refund left today.")
    await customer.wait_for(lambda t: "refund left today" in t, "the edit on Telegram")


async def test_thread_replies_with_a_bad_or_stale_signature_are_refused(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)

        now = str(int(time.time()))
        forged = _reply_event("EvFORGED1", card_ts, "1700000000.000001", "forged reply")
        assert await _post(stack, forged, None, None) == 401
        assert await _post(stack, forged, now, "v0=" + "0" * 64) == 401
        other = SignatureVerifier("not-the-secret").generate_signature(timestamp=now, body=forged)
        assert await _post(stack, forged, now, other) == 401
        # Signed with an empty secret: what a Socket Mode bridge, which has none, must refuse.
        base = f"v0:{now}:".encode() + forged
        empty = "v0=" + hmac.new(b"", base, hashlib.sha256).hexdigest()
        assert await _post(stack, forged, now, empty) == 401
        stale = str(int(time.time()) - 600)
        old_signature = SIGNER.generate_signature(timestamp=stale, body=forged)
        assert await _post(stack, forged, stale, old_signature) == 401

        # Genuine replies still go through, and the forged one never did.
        await desk.say(card_ts, "genuine reply")
        await customer.wait_for(lambda m: m["text"] == "genuine reply", "the signed reply")
        assert not any(m["text"] == "forged reply" for m in customer.messages())


async def test_commands_and_notes_stay_in_slack_around_plain_replies(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)

        await desk.say(card_ts, "!intent order_status")
        note = await desk.say(card_ts, "!note customer sounds upset")
        await desk.say(card_ts, "// second note")
        await desk.say(card_ts, "We are on it.")
        await customer.wait_for(lambda m: m["text"] == "We are on it.", "the plain reply")
        said = [m["text"] for m in customer.messages()]
        assert not any("order_status" in t or "upset" in t or "second note" in t for t in said)
        await eventually(
            lambda: desk.reactions(card_ts, note), lambda rs: "lock" in rs, what="the note's lock"
        )


async def test_only_the_first_reply_is_timed(stack: Stack) -> None:
    desk = Desk(stack.slack_url)

    async def first_reply_count() -> float:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{stack.bridge_url}/metrics") as response,
        ):
            page = await response.text()
        for line in page.splitlines():
            if line.startswith("bridge_time_to_first_human_reply_seconds_count"):
                return float(line.split()[-1])
        return 0.0

    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        before = await first_reply_count()
        await desk.say(card_ts, "Hello!")
        await desk.say(card_ts, "Still here.")
        await customer.wait_for(lambda m: m["text"] == "Still here.", "both replies")
        assert await first_reply_count() == before + 1


async def test_replies_in_a_known_thread_follow_the_conversation_state(
    stack: Stack, chat_id: int
) -> None:
    """Once a thread has carried a reply, later replies skip the lookup; closing the
    conversation or moving it to a new thread must still stop them, with the reason."""
    desk = Desk(stack.slack_url)
    customer, first = await telegram_handoff(stack.telegram_url, desk, chat_id, "Rui")
    await desk.say(first, "Hi Rui, Alice here.")  # claims the handoff
    await desk.say(first, "What is your order number?")
    await customer.wait_for(lambda t: "order number" in t, "the replies")

    await desk.click(first, "desk_close")
    await customer.wait_for(lambda t: "closed this conversation" in t, "the close notice")
    await desk.say(first, "after closing")
    await eventually(
        lambda: desk.thread_text(first),
        lambda t: "Not delivered to the customer" in t and "is closed" in t,
        what="the closed warning",
    )

    await customer.say("I need a person again please")
    cards = await eventually(
        desk.top_level,
        lambda ms: any(f"tg-{chat_id}" in m.get("text", "") and m["ts"] != first for m in ms),
        what="the second thread",
    )
    second = next(
        m["ts"] for m in cards if f"tg-{chat_id}" in m.get("text", "") and m["ts"] != first
    )
    await desk.say(first, "in the old thread")
    await eventually(
        lambda: desk.thread_text(first),
        lambda t: "continues in a newer thread" in t,
        what="the moved warning",
    )
    await desk.say(second, "in the new thread")
    texts = await customer.wait_for(lambda t: "in the new thread" in t, "the reply")
    assert not any("after closing" in t or "in the old thread" in t for t in texts), texts
