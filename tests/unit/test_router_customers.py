"""The router's customer side against in-memory fakes (tests/unit/fakes.py): what the customer
is told and what reaches the staff desk, with no Redis, Rasa or platform."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from bridge.models import (
    Attachment,
    Channel,
    Conversation,
    DeskAction,
    HandoffReason,
    Message,
    Mode,
    Role,
)
from bridge.office_hours import DAY_NAMES, Availability, OfficeHours
from bridge.outbox.jobs import (
    Notice,
    OpenThread,
    PostCustomerLine,
    PostNotice,
    PostTranscript,
    SendToCustomer,
)
from bridge.rasa_client import MESSAGE_ID, BotTurn
from bridge.router.customers import CustomerSide
from bridge.router.staff import StaffSide
from bridge.store.transcript import Inbound
from bridge.texts import customers as texts
from tests.unit.fakes import FakeOutbox, FakeRasa, FakeStore, World

PERSON = "I want to talk to a person"
_events = itertools.count(1)


def assistant(text: str) -> BotTurn:
    if text == PERSON:
        return BotTurn(replies=[], handoff=HandoffReason.EXPLICIT_REQUEST)
    return BotTurn(replies=[Message(Role.BOT, f"answer to {text}")], handoff=None)


class Desk:
    """One conversation, its router and what Redis would hold."""

    def __init__(self, channel: Channel = Channel.WIDGET, **kwargs: Any) -> None:
        self.world = World()
        self.store = FakeStore.on(self.world)
        self.rasa = FakeRasa(assistant)
        outbox: Any = FakeOutbox(self.world)
        store: Any = self.store
        self.customers = CustomerSide(store, outbox, self.rasa, **kwargs)  # type: ignore[arg-type]
        self.staff = StaffSide(store, outbox)
        self.id = "w-1" if channel is Channel.WIDGET else "tg-1"
        self.channel = channel

    async def conversation(self) -> Conversation:
        return await self.customers.ensure(self.id, self.channel, self.id, "Mira")

    async def say(
        self, text: str, event_id: str = "", payload: str = "", file: Attachment | None = None
    ) -> Inbound:
        conversation = await self.conversation()
        inbound = await self.customers.accept(
            conversation,
            Message(Role.CUSTOMER, text),
            event_id or str(next(_events)),
            file,
            payload=payload,
        )
        await self.customers.respond(conversation, inbound)
        return inbound

    @property
    def mode(self) -> Mode:
        return Mode(self.world.hashes[self.id]["mode"])

    def told(self) -> list[str]:
        return self.world.said_to(self.id)

    async def open_thread(self, thread: str = "1700000000.000100") -> str:
        self.store.threads.open(self.id, "C0STAFF", thread)
        return thread


async def test_the_first_request_for_a_person_hands_over_at_once() -> None:
    desk = Desk()
    await desk.say("what payment methods do you accept?")
    await desk.say(PERSON)
    assert desk.mode is Mode.HUMAN
    assert desk.told() == [
        "answer to what payment methods do you accept?",
        texts.handoff_notice(HandoffReason.EXPLICIT_REQUEST),
    ]
    # The thread opens with its card, then the transcript up to the request itself.
    opened, transcript = desk.world.queued
    assert opened == OpenThread(desk.id)
    assert isinstance(transcript, PostTranscript)
    request = desk.world.transcripts[desk.id][-2]
    assert request.text == PERSON and transcript.upto == request.id


async def test_a_person_has_it_so_the_assistant_hears_nothing_more() -> None:
    desk = Desk()
    await desk.say(PERSON)
    heard = len(desk.rasa.heard)
    await desk.say("my parcel never came")
    assert len(desk.rasa.heard) == heard
    assert desk.world.queued[-1] == PostCustomerLine(desk.id, "my parcel never came")
    assert desk.told()[-1] == texts.handoff_notice(HandoffReason.EXPLICIT_REQUEST)


async def test_an_unreachable_assistant_hands_over_with_an_honest_notice() -> None:
    desk = Desk()
    desk.rasa.down = True
    await desk.say("where is my order?")
    assert desk.mode is Mode.HUMAN
    assert desk.world.hashes[desk.id]["handoff_reason"] == HandoffReason.BOT_UNAVAILABLE
    assert desk.told() == [texts.handoff_notice(HandoffReason.BOT_UNAVAILABLE)]


async def test_a_redelivered_message_is_answered_once() -> None:
    desk = Desk()
    first = await desk.say("hi", event_id="update-7")
    again = await desk.say("hi", event_id="update-7")
    assert again.message.id == first.message.id and not again.is_new
    assert desk.rasa.heard == [(desk.id, "hi")]
    assert desk.told() == ["answer to hi"]


async def test_a_photo_is_for_a_person_with_a_button_to_reach_one() -> None:
    desk = Desk()
    await desk.say("📷 Photo", file=Attachment(b"\x89PNG", "photo.png", "image/png"))
    assert desk.rasa.heard == []
    [notice] = desk.world.transcripts[desk.id][1:]
    assert notice.text == texts.FILES_NEED_A_PERSON
    assert [b.payload for b in notice.buttons] == ["/contact_human_agent"]


async def test_a_closed_conversation_goes_back_to_the_assistant_afresh() -> None:
    desk = Desk()
    await desk.say(PERSON)
    thread = await desk.open_thread()
    assert await desk.staff.desk_action(DeskAction.CLOSE, "C0STAFF", thread, "U1", "Bob") == "done"
    await desk.say("one more question")
    assert desk.mode is Mode.BOT
    assert desk.rasa.restarted == [desk.id]  # its memory of the handoff is gone
    assert desk.told()[-1] == "answer to one more question"


async def test_the_satisfaction_answer_is_kept_once_and_never_reaches_the_assistant() -> None:
    desk = Desk()
    await desk.say(PERSON)
    thread = await desk.open_thread()
    await desk.staff.desk_action(DeskAction.CLOSE, "C0STAFF", thread, "U1", "Bob")
    heard = len(desk.rasa.heard)
    await desk.say("😀 Great", payload="/csat_great")
    await desk.say("🙁 Poor", payload="/csat_poor")
    assert len(desk.rasa.heard) == heard
    assert desk.world.hashes[desk.id]["csat"] == "😀 Great"
    assert desk.world.jobs(PostNotice) == [
        PostNotice(desk.id, Notice.RATED, detail="😀 Great", thread=thread)
    ]
    assert desk.told().count(texts.CSAT_THANKS) == 1


async def test_a_line_recorded_just_before_the_handoff_still_reaches_the_thread() -> None:
    desk = Desk()
    conversation = await desk.conversation()
    early = await desk.customers.accept(conversation, Message(Role.CUSTOMER, "also..."), "e1")
    await desk.say(PERSON)  # handled first: the handoff happens in between
    await desk.customers.respond(conversation, early)
    assert desk.world.queued[-1] == PostCustomerLine(desk.id, "also...")


async def test_outside_office_hours_the_customer_is_told_when_we_open() -> None:
    tomorrow = DAY_NAMES[(datetime.now(UTC).weekday() + 1) % 7]
    hours = OfficeHours.parse("UTC", tomorrow, "09:00-17:00")  # closed all of today
    desk = Desk(availability=Availability(hours=hours, claim_timeout_s=600))
    await desk.say(PERSON)
    assert desk.told()[-1].startswith("Our team is available")
    assert desk.world.hashes[desk.id]["after_hours"] == "1"
    assert desk.world.unclaimed == {}  # no "we are busy" reminder on top of it


async def test_telegram_lines_are_queued_for_its_sender() -> None:
    desk = Desk(Channel.TELEGRAM)
    await desk.say("hi")
    [job] = desk.world.jobs(SendToCustomer)
    assert job.via is Channel.TELEGRAM and job.message.text == "answer to hi"


async def test_a_quick_reply_counts_only_for_a_button_the_customer_was_shown() -> None:
    desk = Desk()
    await desk.say("thanks, all good!", payload="/cancel_order")  # never offered
    assert desk.rasa.heard[-1] == (desk.id, "thanks, all good!")
    await desk.say("/cancel_order")  # typed: Rasa would run it as an intent
    assert desk.rasa.heard[-1] == (desk.id, "cancel_order")
    await desk.say("📷 Photo", file=Attachment(b"x", "x.png", "image/png"))
    tap = await desk.say("anything", payload="/contact_human_agent")  # the offered button
    assert tap.message.text == texts.TALK_TO_A_PERSON  # the transcript shows what was tapped
    assert desk.rasa.heard[-1] == (desk.id, "/contact_human_agent")


async def test_the_assistant_is_told_who_is_asking() -> None:
    desk = Desk()
    said = await desk.say("hi")
    assert desk.rasa.metadata[-1] == {
        "customer": None,
        "source": f"widget:{desk.id}",
        # Names the message in Rasa's tracker (a turn whose Rasa died is settled by it).
        MESSAGE_ID: said.message.id,
    }
    desk.world.hashes[desk.id].update(
        customer_id="c-ana", customer_email="ana@example.com", customer_name="Ana"
    )
    await desk.say("hello again")
    customer = desk.rasa.metadata[-1]["customer"]
    assert customer == {"id": "c-ana", "email": "ana@example.com", "name": "Ana"}
