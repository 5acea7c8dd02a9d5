"""The router's staff side: a staff reply in a handoff thread, the card's desk actions, edits and
deletions of what was sent, and the reminder when nobody claims a handoff in time.

It is what the staff desk adapter may ask for (`bridge.ports.StaffDoor`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Literal

from bridge.clock import now_ms
from bridge.models import (
    Attachment,
    Button,
    Conversation,
    DeskAction,
    Message,
    Mode,
    Role,
    StaffMessageRef,
    StaffReply,
)
from bridge.observability.logs import bind_conversation
from bridge.observability.timeline import Timeline
from bridge.office_hours import Availability
from bridge.outbox import receipts
from bridge.outbox.jobs import Notice, PostNotice
from bridge.outbox.outbox import NOT_CLAIMED, Outbox
from bridge.router.routes import StaffRoute, may_take_fast_path, staff_route
from bridge.store.dedupe import DESK_EVENTS, STAFF_EVENTS, event_key
from bridge.store.files import FilesFull
from bridge.store.stores import Store
from bridge.texts import customers as texts

log = logging.getLogger(__name__)


class StaffSide:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        availability: Availability | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._availability = availability or Availability()
        self._timeline = timeline

    async def staff_reply(self, reply: StaffReply) -> Message | None:
        """A staff member wrote in a thread: relay it to the customer, or keep it internal.

        Returns the message as the customer got it, or None when nothing was sent.

        The hot path of the human relay. A plain reply in a thread this process has seen before
        is one Redis round trip (Outbox.relay_staff, guarded: it relays only into a claimed
        handoff on that thread). Anything else, or a failed guard, takes the full path: read
        the conversation, then note, refusal or claim, then relay.
        """
        threads = self._store.threads
        known = threads.known_thread(reply.ref.channel, reply.ref.thread)
        if known is not None and may_take_fast_path(reply):
            conversation_id, channel = known
            bind_conversation(conversation_id)
            conversation = Conversation(conversation_id, channel, external_id="", display_name="")
            relayed = await self._relay(conversation, reply, guarded=True)
            if relayed != NOT_CLAIMED:
                return relayed
        found = await threads.staff_thread(reply.ref.channel, reply.ref.thread)
        if found is None:
            return None  # not one of our threads
        conversation_id, current = found
        bind_conversation(conversation_id)
        route, reason = staff_route(current, reply)
        if route is StaffRoute.IGNORE or current is None:
            return None
        once = event_key(STAFF_EVENTS, reply.event_id, conversation_id)
        if route is StaffRoute.KEEP_INTERNAL:
            if await self._store.dedupe.first_time(once):
                await self._outbox.enqueue(receipts.kept_internal(current.id, reply.ref))
            return None
        if route is StaffRoute.REFUSE:
            if await self._store.dedupe.first_time(once):
                await self._outbox.enqueue(receipts.not_delivered(current.id, reply.ref, reason))
            return None
        if not current.claimed_by:
            # Answering is claiming: the card shows who has it and the no-claim timer stops.
            await self._store.conversations.desk_action(
                current.id, DeskAction.CLAIM, reply.ref.thread, reply.user_id, reply.author
            )
        relayed = await self._relay(current, reply, guarded=False)
        return None if relayed == NOT_CLAIMED else relayed

    async def desk_action(
        self, action: DeskAction, channel: str, card: str, user_id: str, user_name: str
    ) -> str:
        """Claim, close or hand back, from the card (message `card`, which opens its thread).
        Returns the outcome: done | again | taken | stale | unknown."""
        threads = self._store.threads
        conversation_id = await threads.conversation_for_thread(channel, card)
        if conversation_id is None:
            return "unknown"
        bind_conversation(conversation_id)
        conversations = self._store.conversations
        outcome = await conversations.desk_action(conversation_id, action, card, user_id, user_name)
        if action is DeskAction.CLOSE and outcome == "done" and self._timeline is not None:
            await self._timeline.closed(conversation_id)
        if outcome not in ("done", "again"):
            return outcome
        conversation = await conversations.get(conversation_id)
        if conversation is None:
            return outcome
        # "again" re-sends with the same once-keys: a click retried after a crash completes
        # what the first one started, and never tells the customer twice.
        for n, message in enumerate(_desk_notices(action, user_name)):
            once = event_key(DESK_EVENTS, f"{action}:{conversation_id}:{card}:{n}", conversation_id)
            await self._outbox.to_customer(conversation, message, once_key=once)
        return outcome

    async def staff_revision(
        self, ref: StaffMessageRef, text: str | None, author: str, event_id: str
    ) -> bool:
        """A relayed staff message was edited (`text`, its new words) or deleted (None): reflect
        it to the customer. False when the message never reached them (a note, a refusal)."""
        threads = self._store.threads
        found = (
            await threads.conversation_for_thread(ref.channel, ref.thread) if ref.thread else None
        )
        relay = await threads.relay(ref, found) if found else None
        conversations = self._store.conversations
        conversation = await conversations.get(relay.conversation) if relay else None
        if relay is None or conversation is None:
            return False
        if not await self._store.dedupe.first_time(
            event_key(STAFF_EVENTS, event_id, conversation.id)
        ):
            return True
        await self._outbox.revise(conversation, ref, relay.message_id, text, author)
        return True

    async def remind_unclaimed(self, conversation_id: str) -> None:
        """Nobody claimed the handoff in time: tell the customer honestly, and the thread."""
        conversation = await self._store.conversations.get(conversation_id)
        if conversation is None or conversation.mode is not Mode.HUMAN:
            return
        if conversation.claimed_by:
            return
        hours = self._availability.hours
        notice = texts.unclaimed_notice(hours.describe() if hours else "")
        late = f"late:{conversation.id}:{conversation.handoff_at_ms}"
        once = event_key(DESK_EVENTS, late, conversation.id)
        if await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=notice), once_key=once
        ):
            minutes = self._availability.claim_timeout_s // 60
            await self._outbox.enqueue(
                PostNotice(conversation.id, Notice.UNCLAIMED, detail=str(minutes))
            )

    async def _relay(
        self, conversation: Conversation, reply: StaffReply, guarded: bool
    ) -> Message | Literal["not-claimed"] | None:
        """Relay a staff reply (and its files) in one script call, with the timeline's stamps.
        `guarded`: only into a claimed handoff on the reply's thread (else NOT_CLAIMED)."""
        once = event_key(STAFF_EVENTS, reply.event_id, conversation.id)
        message = Message(role=Role.STAFF, text=reply.text, author=reply.author)
        if reply.attachments:
            message = await self._attach(message, reply.attachments[0])
        stamp = now_ms() if self._timeline is not None else None
        relayed = await self._outbox.relay_staff(
            conversation,
            message,
            reply.ref,
            once,
            stamp,
            only_if_claimed=reply.ref.thread if guarded else "",
        )
        if relayed == NOT_CLAIMED:
            return NOT_CLAIMED
        for n, attachment in enumerate(reply.attachments[1:], start=1):
            # Further files of the same message follow as messages of their own.
            more = await self._attach(
                Message(role=Role.STAFF, text="", author=reply.author), attachment
            )
            more_once = event_key(STAFF_EVENTS, f"{reply.event_id}:{n}", conversation.id)
            await self._outbox.to_customer(conversation, more, once_key=more_once)
        if relayed is None:
            return None  # a redelivered event: it was relayed the first time
        stored, first_after_handoff = relayed
        if self._timeline is not None and stamp is not None:
            self._timeline.staff_reply_counted(stamp, first_after_handoff)
        return stored

    async def _attach(self, message: Message, attachment: Attachment) -> Message:
        try:
            file_id = await self._store.files.put(attachment)
        except FilesFull as exc:
            log.warning("a staff file was not sent: %s", exc)
            return replace(message, text=texts.with_file_not_kept(message.text))
        return replace(
            message, file_id=file_id, file_name=attachment.name, file_type=attachment.type
        )


def _desk_notices(action: DeskAction, name: str) -> list[Message]:
    if action is DeskAction.CLAIM:
        return [Message(role=Role.SYSTEM, text=texts.claimed_notice(name))]
    if action is DeskAction.CLOSE:
        buttons = tuple(Button(title, payload) for payload, title in texts.CSAT_ANSWERS.items())
        return [
            Message(role=Role.SYSTEM, text=texts.closed_notice(name)),
            Message(role=Role.SYSTEM, text=texts.CSAT_QUESTION, buttons=buttons),
        ]
    return [Message(role=Role.SYSTEM, text=texts.HANDED_BACK_NOTICE)]
