"""Office hours and the no-claim timeout: the customer is told honestly when to expect us."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok
from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, card_text
from tests.support import eventually

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
StartBridge = Callable[[dict[str, str]], str]


@pytest.fixture
def extra_bridge(stack: Stack) -> Iterator[StartBridge]:
    """Another replica of the bridge with different desk settings, sharing Redis and Slack,
    reached as the stack's bridge is (with Socket Mode it opens a connection of its own, and
    Slack's envelopes go to either replica)."""
    started: list[Service] = []

    def start(env: dict[str, str]) -> str:
        port = free_port()
        own = {
            "BRIDGE_PORT": str(port),
            "BRIDGE_INSTANCE": f"bridge-desk-{len(started)}",
            "TELEGRAM_SET_WEBHOOK": "false",
        }
        if "BRIDGE_PUBLIC_URL" in stack.services["bridge"].env:  # else it defaults to its port
            own["BRIDGE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        service = Service(
            f"bridge-desk-{len(started)}",
            [str(BRIDGE_PYTHON), "-m", "bridge"],
            stack.run_dir,
            env=dict(stack.services["bridge"].env) | own | env,
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        )
        service.start()
        started.append(service)
        return f"http://127.0.0.1:{port}"

    yield start
    for service in started:
        service.stop()


async def test_outside_office_hours_the_customer_is_told_when(
    stack: Stack, extra_bridge: StartBridge
) -> None:
    closed_day = DAYS[(datetime.now(UTC).weekday() + 3) % 7]
    bridge = extra_bridge(
        {"OFFICE_TIMEZONE": "UTC", "OFFICE_DAYS": closed_day, "OFFICE_HOURS": "09:00-17:00"}
    )
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(bridge) as customer:
        await customer.say("I want to talk to a person")
        notice = await customer.wait_for(
            lambda m: "nobody can read this right now" in m["text"], "the after-hours notice"
        )
        weekday = {d: n for n, d in enumerate(DAYS)}[closed_day]
        day_name = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
        full = [*day_name, "Sunday"][weekday]
        assert f"{closed_day.title()} 09:00-17:00 (UTC time)" in notice["text"]
        assert f"from {full} 09:00 (UTC time)" in notice["text"]
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        await desk.wait_for_card(card_ts, "outside office hours")

        # The answer comes later and still reaches the customer.
        await desk.say(card_ts, "Good morning! Here is your answer.")
        await customer.wait_for(lambda m: "Here is your answer" in m["text"], "the late reply")


async def test_unclaimed_handoff_tells_the_customer_and_still_delivers_late_replies(
    stack: Stack, extra_bridge: StartBridge
) -> None:
    bridge = extra_bridge({"DESK_CLAIM_TIMEOUT_S": "1"})
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(bridge) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(
            lambda m: "everyone on our team is busy" in m["text"], "the no-claim notice"
        )
        token = customer.token
    card_ts = await desk.wait_for_thread(customer.conversation_id)
    await eventually(
        lambda: desk.thread_text(card_ts),
        lambda t: "Nobody claimed this" in t,
        what="the no-claim note in the thread",
    )
    assert "Unclaimed" in card_text(await desk.card(card_ts))

    # The page is closed; the answer comes late and is there on the next visit.
    reply_ts = await desk.say(card_ts, "Sorry for the wait, here I am.")
    await eventually(
        lambda: desk.reactions(card_ts, reply_ts),
        lambda rs: "white_check_mark" in rs,
        what="the reply stored for the widget",
    )
    async with WidgetCustomer(bridge, token=token) as again:
        message = await again.wait_for(
            lambda m: "here I am" in m["text"], "the late reply in the history"
        )
        assert message["role"] == "staff"
        busy = [m for m in again.messages() if "everyone on our team is busy" in m["text"]]
        assert len(busy) == 1  # told once, by one replica
    await desk.wait_for_card(card_ts, "Claimed by *Alice*")  # answering claimed it
