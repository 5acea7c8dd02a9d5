"""The one place that decides where a message goes: to the assistant, to a person, on to the
customer, or nowhere. Pure functions of the conversation's state; the two sides of the router
(customers.py, staff.py) act on the answer."""

from __future__ import annotations

from enum import Enum, auto

from bridge.models import Conversation, Mode, StaffReply
from bridge.store.transcript import Inbound
from bridge.texts import customers, staff

# A staff message starting with one of these stays on the desk (docs/staff-desk.md).
NOTE_MARKERS = ("!note", "//")


class CustomerRoute(Enum):
    SATISFACTION = auto()  # an answer to the satisfaction prompt: ours, never the assistant's
    LATE_FOR_THREAD = auto()  # recorded just before a person took over: send it to their thread
    WITH_PERSON = auto()  # a person has it: it went to their thread in the step that recorded it
    ALREADY_ANSWERED = auto()  # a redelivered message the assistant has answered
    FILE_FOR_PERSON = auto()  # the assistant reads text only; a person can look at the file
    ASSISTANT = auto()


def customer_route(
    conversation: Conversation, inbound: Inbound, payload: str, answered: bool
) -> CustomerRoute:
    """Where an accepted customer message goes (`answered`: the assistant already answered it)."""
    if payload.startswith(customers.CSAT_PREFIX):
        return CustomerRoute.SATISFACTION
    if conversation.mode is Mode.HUMAN:
        if inbound.mode is not Mode.HUMAN and inbound.is_new:
            return CustomerRoute.LATE_FOR_THREAD
        return CustomerRoute.WITH_PERSON
    if answered:
        return CustomerRoute.ALREADY_ANSWERED
    if inbound.message.file_id:
        return CustomerRoute.FILE_FOR_PERSON
    return CustomerRoute.ASSISTANT


class StaffRoute(Enum):
    IGNORE = auto()  # not one of our conversations any more, or nothing in it
    KEEP_INTERNAL = auto()  # a note for the team
    REFUSE = auto()  # must not reach the customer; staff are told why
    RELAY = auto()


def is_note(text: str) -> bool:
    """A staff message meant for the team only."""
    return text.lstrip().lower().startswith(NOTE_MARKERS)


def may_take_fast_path(reply: StaffReply) -> bool:
    """A plain reply, which StaffSide may relay in one step when its thread is known (the
    relay script itself checks the handoff is claimed on that thread)."""
    return bool(reply.text.strip()) and not reply.attachments and not is_note(reply.text)


def staff_route(conversation: Conversation | None, reply: StaffReply) -> tuple[StaffRoute, str]:
    """Where a staff message in a thread goes, and (REFUSE) the reason staff are given."""
    if conversation is None or not (reply.text.strip() or reply.attachments):
        return StaffRoute.IGNORE, ""
    if is_note(reply.text):
        return StaffRoute.KEEP_INTERNAL, ""
    if conversation.thread_ts != reply.ref.thread:
        return StaffRoute.REFUSE, staff.NOT_SENT_MOVED
    if conversation.mode is Mode.CLOSED:
        return StaffRoute.REFUSE, staff.NOT_SENT_CLOSED
    if conversation.mode is Mode.BOT:
        return StaffRoute.REFUSE, staff.NOT_SENT_BOT
    return StaffRoute.RELAY, ""
