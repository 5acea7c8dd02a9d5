"""The router's staff side against in-memory fakes: what a staff reply, a note, a desk action
or an edit does for the customer and for the desk, with no Redis or Slack."""

from __future__ import annotations

import itertools

from bridge.models import Attachment, Channel, DeskAction, Mode, StaffMessageRef, StaffReply
from bridge.outbox.jobs import (
    Notice,
    PostNotice,
    Receipt,
    ReceiptOutcome,
    ReviseSent,
    SendToCustomer,
    UpdateCard,
)
from bridge.texts import customers as texts
from bridge.texts import staff as staff_texts
from tests.unit.test_router_customers import PERSON, Desk

STAFF = "C0STAFF"
_ts = itertools.count(1)


async def handed_over(channel: Channel = Channel.WIDGET) -> tuple[Desk, str]:
    desk = Desk(channel)
    await desk.say(PERSON)
    return desk, await desk.open_thread()


def reply(thread: str, text: str, user: str = "U1", files: int = 0) -> StaffReply:
    ts = f"1700000001.{next(_ts):06d}"
    attachments = tuple(Attachment(b"%d" % n, f"f{n}.txt", "text/plain") for n in range(files))
    return StaffReply(StaffMessageRef(STAFF, ts, thread), text, user, "Bob", f"Ev{ts}", attachments)


def receipts(desk: Desk) -> list[tuple[str, ReceiptOutcome, str]]:
    return [(r.staff_message.id, r.outcome, r.reason) for r in desk.world.jobs(Receipt)]


async def test_a_reply_reaches_the_customer_claims_the_handoff_and_gets_a_receipt() -> None:
    desk, thread = await handed_over()
    sent = reply(thread, "Hi Mira, Bob here.")
    relayed = await desk.staff.staff_reply(sent)
    assert relayed is not None and relayed.author == "Bob"
    assert desk.told()[-1] == "Hi Mira, Bob here."
    assert desk.world.hashes[desk.id]["claimed_by"] == "U1"  # answering is claiming
    assert UpdateCard(desk.id, thread) in desk.world.queued
    assert receipts(desk) == [(sent.ref.id, ReceiptOutcome.DELIVERED, "")]


async def test_later_replies_in_a_known_thread_take_the_fast_path() -> None:
    desk, thread = await handed_over()
    await desk.staff.staff_reply(reply(thread, "first"))
    lookups = desk.store.threads.known_thread(STAFF, thread)
    assert lookups == (desk.id, Channel.WIDGET)
    second = reply(thread, "second")
    assert await desk.staff.staff_reply(second) is not None
    assert desk.told()[-2:] == ["first", "second"]
    assert desk.world.queued.count(UpdateCard(desk.id, thread)) == 1  # claimed once


async def test_a_redelivered_reply_is_relayed_once() -> None:
    desk, thread = await handed_over()
    sent = reply(thread, "only once")
    await desk.staff.staff_reply(sent)
    assert await desk.staff.staff_reply(sent) is None
    assert desk.told().count("only once") == 1


async def test_a_note_stays_on_the_desk() -> None:
    desk, thread = await handed_over()
    note = reply(thread, "!note check the refund first")
    assert await desk.staff.staff_reply(note) is None
    assert "!note check the refund first" not in desk.told()
    assert receipts(desk) == [(note.ref.id, ReceiptOutcome.KEPT_INTERNAL, "")]


async def test_a_reply_after_the_close_is_refused_with_the_reason() -> None:
    desk, thread = await handed_over()
    await desk.staff.desk_action(DeskAction.CLOSE, STAFF, thread, "U1", "Bob")
    late = reply(thread, "one more thing")
    assert await desk.staff.staff_reply(late) is None
    assert "one more thing" not in desk.told()
    assert receipts(desk) == [
        (late.ref.id, ReceiptOutcome.NOT_DELIVERED, staff_texts.NOT_SENT_CLOSED)
    ]


async def test_a_reply_in_an_older_thread_is_refused() -> None:
    desk, first = await handed_over()
    await desk.staff.desk_action(DeskAction.HAND_BACK, STAFF, first, "U1", "Bob")
    await desk.say(PERSON)  # the customer comes back: a new thread
    await desk.open_thread("1700000000.000200")
    late = reply(first, "answering the old thread")
    await desk.staff.staff_reply(late)
    assert receipts(desk)[-1] == (
        late.ref.id,
        ReceiptOutcome.NOT_DELIVERED,
        staff_texts.NOT_SENT_MOVED,
    )


async def test_closing_thanks_the_customer_and_asks_for_a_rating_once() -> None:
    desk, thread = await handed_over()
    assert await desk.staff.desk_action(DeskAction.CLOSE, STAFF, thread, "U1", "Bob") == "done"
    assert await desk.staff.desk_action(DeskAction.CLOSE, STAFF, thread, "U1", "Bob") == "again"
    told = desk.told()
    assert told.count(texts.closed_notice("Bob")) == 1 and told[-1] == texts.CSAT_QUESTION
    question = desk.world.transcripts[desk.id][-1]
    assert [b.payload for b in question.buttons] == list(texts.CSAT_ANSWERS)
    assert desk.mode is Mode.CLOSED


async def test_a_second_person_cannot_claim_a_claimed_handoff() -> None:
    desk, thread = await handed_over()
    assert await desk.staff.desk_action(DeskAction.CLAIM, STAFF, thread, "U1", "Bob") == "done"
    assert await desk.staff.desk_action(DeskAction.CLAIM, STAFF, thread, "U2", "Eve") == "taken"
    assert desk.told().count(texts.claimed_notice("Bob")) == 1
    assert texts.claimed_notice("Eve") not in desk.told()


async def test_handing_back_lets_the_assistant_answer_again() -> None:
    desk, thread = await handed_over()
    await desk.staff.desk_action(DeskAction.HAND_BACK, STAFF, thread, "U1", "Bob")
    assert desk.told()[-1] == texts.HANDED_BACK_NOTICE
    await desk.say("what are your opening hours?")
    assert desk.rasa.restarted == [desk.id]
    assert desk.told()[-1] == "answer to what are your opening hours?"


async def test_telegram_replies_are_queued_naming_the_staff_message() -> None:
    desk, thread = await handed_over(Channel.TELEGRAM)
    sent = reply(thread, "Hello from Bob")
    await desk.staff.staff_reply(sent)
    job = desk.world.jobs(SendToCustomer)[-1]
    assert job.message.text == "Hello from Bob" and job.staff_message == sent.ref
    assert receipts(desk) == []  # its receipt waits for Telegram to accept it


async def test_files_of_one_reply_follow_as_messages_of_their_own() -> None:
    desk, thread = await handed_over()
    await desk.staff.staff_reply(reply(thread, "two files", files=2))
    lines = desk.world.transcripts[desk.id][-2:]
    assert [line.file_name for line in lines] == ["f0.txt", "f1.txt"]
    assert lines[0].text == "two files" and lines[1].text == ""


async def test_an_edit_reaches_a_telegram_customer_and_a_note_edit_does_not() -> None:
    desk, thread = await handed_over(Channel.TELEGRAM)
    sent = reply(thread, "10 days")
    await desk.staff.staff_reply(sent)
    assert await desk.staff.staff_revision(sent.ref, "3 days", "Bob", "Ev-edit")
    assert desk.world.jobs(ReviseSent)[-1].text == "3 days"
    note = reply(thread, "// internal")
    await desk.staff.staff_reply(note)
    assert not await desk.staff.staff_revision(note.ref, "// changed", "Bob", "Ev-edit-2")


async def test_an_unclaimed_handoff_is_owned_up_to_once() -> None:
    desk, _ = await handed_over()
    await desk.staff.remind_unclaimed(desk.id)
    await desk.staff.remind_unclaimed(desk.id)
    assert desk.told().count(texts.unclaimed_notice("")) == 1
    assert desk.world.jobs(PostNotice) == [PostNotice(desk.id, Notice.UNCLAIMED, detail="10")]


async def test_a_reply_in_a_thread_that_is_not_ours_goes_nowhere() -> None:
    desk, _ = await handed_over()
    before = len(desk.world.queued)
    assert await desk.staff.staff_reply(reply("1699999999.000001", "hello?")) is None
    assert len(desk.world.queued) == before
