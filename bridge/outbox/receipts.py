"""The one place receipts are made: what staff see on their own message once it is settled.

- delivered: the customer's platform has it. For the widget that is the moment the reply is in
  the transcript (`Outbox.relay_staff`); for a queued channel, the moment its sender's delivery
  is acknowledged (`after_delivery`).
- kept internal: a note, which never leaves the desk.
- not delivered: refused by the router, or given up on by a sender (`after_dead_letter`).
"""

from __future__ import annotations

from bridge.models import StaffMessageRef
from bridge.outbox.jobs import Job, Receipt, ReceiptOutcome, ReviseSent, SendToCustomer


def delivered(conversation_id: str, ref: StaffMessageRef) -> Receipt:
    return Receipt(conversation_id, ref, ReceiptOutcome.DELIVERED)


def kept_internal(conversation_id: str, ref: StaffMessageRef) -> Receipt:
    return Receipt(conversation_id, ref, ReceiptOutcome.KEPT_INTERNAL)


def not_delivered(conversation_id: str, ref: StaffMessageRef, reason: str) -> Receipt:
    return Receipt(conversation_id, ref, ReceiptOutcome.NOT_DELIVERED, reason)


def after_delivery(job: Job) -> tuple[Job, ...]:
    """The receipts due once a queued job has been delivered."""
    if isinstance(job, SendToCustomer) and job.staff_message is not None:
        return (delivered(job.conversation, job.staff_message),)
    return ()


def after_dead_letter(job: Job, reason: str) -> tuple[Job, ...]:
    """The receipts due when a queued job will never be delivered."""
    if isinstance(job, SendToCustomer | ReviseSent) and job.staff_message is not None:
        return (not_delivered(job.conversation, job.staff_message, reason),)
    return ()
