"""Who counts as staff (issue 14, item 6; docs/staff-desk.md): in a channel shared with another
organisation (Slack Connect) or with guests, only members of the installing workspace, and
when SLACK_STAFF_USERGROUP is set only its members, reach the customer or work the card; anyone
else is told, in a message only they see, that nothing was sent. The bridge's own user is
recognised by its user id, not only by a post's bot_id."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devstack.stack import Stack
from tests.desk.helpers import (
    Desk,
    WidgetCustomer,
    buttons,
    card_text,
    deliver_as_slack,
    stack_like,
)
from tests.support import STAFF_CHANNEL, eventually, inject_fault, telegram_handoff

GUEST, PARTNER = "U0GUEST", "U0PARTNER"  # seeded in standins/slack/state.py


@pytest.fixture
def usergroup_stack(stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A bridge whose staff is user group S0SUPPORT, reached as `stack` is (Events API or
    Socket Mode), with its own Redis and stand-ins."""
    with stack_like(stack, tmp_path, {"SLACK_STAFF_USERGROUP": "S0SUPPORT"}) as run:
        yield run


async def shown_to(slack_url: str, user: str, after: str = "0") -> list[dict[str, Any]]:
    """The ephemeral messages `user` was shown in the staff channel after message `after`."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{slack_url}/_test/ephemeral", params={"user": user, "channel": STAFF_CHANNEL}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        messages: list[dict[str, Any]] = (await response.json())["messages"]
    return [m for m in messages if float(m["ts"]) > float(after)]


async def told(slack_url: str, user: str, needle: str, after: str, count: int = 1) -> list[str]:
    """Wait until `user` was shown `count` ephemeral notices containing `needle` since `after`
    (a message ts: the stand-in keeps the notices of earlier tests)."""
    found = await eventually(
        lambda: shown_to(slack_url, user, after),
        lambda ms: sum(needle in m["text"] for m in ms) >= count,
        what=f"{user} told {needle!r}",
    )
    return [m["text"] for m in found if needle in m["text"]]


async def test_outsiders_replies_do_not_reach_the_customer_and_they_are_told_why(
    stack: Stack, chat_id: int
) -> None:
    alice = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, alice, chat_id, "Pia")
    partner, guest = Desk(stack.slack_url, user=PARTNER), Desk(stack.slack_url, user=GUEST)

    partner_ts = await partner.say(card_ts, "Omar from Acme: your parcel is with us")
    guest_ts = await guest.say(card_ts, "Gita the contractor: refund approved!")
    await guest.say(card_ts, "!intent order_status")  # nor do they mark messages
    (to_partner,) = await told(stack.slack_url, PARTNER, "not sent to the customer", card_ts)
    assert "another organisation" in to_partner
    (to_guest,) = await told(stack.slack_url, GUEST, "not sent to the customer", card_ts)
    assert "guests" in to_guest
    await told(stack.slack_url, GUEST, "Nothing was done", card_ts)
    notices = await shown_to(stack.slack_url, GUEST, card_ts)
    assert {m.get("thread_ts") for m in notices} == {card_ts}  # in the thread they wrote in

    # A real staff member still reaches the customer; what the others wrote never did.
    await alice.say(card_ts, "Alice here, I am looking at it.")
    texts = await customer.wait_for(lambda t: "Alice here" in t, "Alice's reply")
    assert not any("Acme" in t or "refund approved" in t or "order_status" in t for t in texts)
    card = await alice.wait_for_card(card_ts, "Claimed by *Alice*")  # theirs claimed nothing
    assert "Omar" not in card_text(card) and "Gita" not in card_text(card)
    thread = await alice.thread_text(card_ts)
    assert "Marked for review" not in thread
    for ts in (partner_ts, guest_ts):  # no receipt: nothing was delivered, nor kept as a note
        assert await alice.reactions(card_ts, ts) == []


async def test_outsiders_cannot_claim_or_close_from_the_card(stack: Stack, chat_id: int) -> None:
    alice = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, alice, chat_id, "Quin")

    await alice.click(card_ts, "desk_claim", user=PARTNER)
    await alice.click(card_ts, "desk_close", user=GUEST)
    await told(stack.slack_url, PARTNER, "Nothing was done", card_ts)
    (to_guest,) = await told(stack.slack_url, GUEST, "Nothing was done", card_ts)
    assert "guests" in to_guest
    card = await alice.card(card_ts)
    assert "Claimed by" not in card_text(card) and "Closed by" not in card_text(card)
    assert {"desk_claim", "desk_close"} <= set(buttons(card))

    await alice.click(card_ts, "desk_claim")
    await customer.wait_for(lambda t: "Alice from our team" in t, "Alice's claim")
    await alice.wait_for_card(card_ts, "Claimed by *Alice*")
    texts = await customer.texts()
    assert not any("Omar" in t or "closed this conversation" in t for t in texts), texts


async def test_the_bridges_own_user_is_not_relayed_back_without_a_bot_id(
    stack: Stack, chat_id: int
) -> None:
    alice = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, alice, chat_id, "Ravi")
    await alice.say(card_ts, "Hi Ravi.")  # claims: later replies take the fast path
    await customer.wait_for(lambda t: "Hi Ravi." in t, "the first reply")

    # A post by the bridge's own user (U0BOT, from auth.test) that carries no bot_id, as an
    # app's user token or an older client posts it.
    ts = f"{time.time():.6f}"
    envelope = {
        "type": "event_callback",
        "event_id": f"EvOWN{chat_id}",
        "event": {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": "U0BOT",
            "text": "Customer wrote: my own words echoed",
            "ts": ts,
            "thread_ts": card_ts,
            "event_ts": ts,
        },
    }
    assert await deliver_as_slack(stack.slack_url, envelope) == 200

    await alice.say(card_ts, "Anything else?")
    texts = await customer.wait_for(lambda t: "Anything else?" in t, "the next reply")
    assert not any("echoed" in t for t in texts), texts
    assert await shown_to(stack.slack_url, "U0BOT", card_ts) == []  # nor does it tell itself off


async def test_with_a_staff_user_group_only_its_members_reach_customers(
    usergroup_stack: Stack,
) -> None:
    group_stack = usergroup_stack
    alice = Desk(group_stack.slack_url)  # in S0SUPPORT
    bob = Desk(group_stack.slack_url, user="U0BOB")  # of this workspace, but not in the group
    async with WidgetCustomer(group_stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await alice.wait_for_thread(customer.conversation_id)

        await bob.say(card_ts, "Bob here, I will sort it out")
        (to_bob,) = await told(group_stack.slack_url, "U0BOB", "not sent to the customer", card_ts)
        assert "user group" in to_bob
        await bob.click(card_ts, "desk_claim")
        await told(group_stack.slack_url, "U0BOB", "Nothing was done", card_ts)

        # Slack cannot say who Alice is at first (rate limited): her reply waits for Slack's
        # redelivery rather than going out unchecked or being dropped.
        await inject_fault(group_stack.slack_url, "users.info", 429)
        ts = await alice.say(card_ts, "Alice here, from the support group.")
        await customer.wait_for(lambda m: m["text"].startswith("Alice here"), "Alice's reply")
        assert [m["author"] for m in customer.messages() if m["role"] == "staff"] == ["Alice"]

        async def delivery() -> tuple[str, int]:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{group_stack.slack_url}/_test/deliveries") as response,
            ):
                (record,) = [d for d in await response.json() if d["ts"] == ts]
            return record["status"], record["attempts"]

        # Acknowledged (HTTP 200, or the Socket Mode ack) just after the reply went out.
        await eventually(delivery, lambda d: d == ("delivered", 2), what="the second attempt")
        assert not any("Bob" in m["text"] for m in customer.messages())
        card = await alice.wait_for_card(card_ts, "Claimed by *Alice*")
        assert "Bob" not in card_text(card)
