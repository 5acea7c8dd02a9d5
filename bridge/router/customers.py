"""The router's customer side: accept a customer's message, let the assistant answer it, or
hand the conversation to a person; the satisfaction answers after a close.

It is what the customer channels (widget, Telegram) may ask for (`bridge.ports.CustomerDoor`):
they translate their platform's payloads and call these methods, nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bridge import keys
from bridge.clock import now_ms
from bridge.learning.turns import Learning
from bridge.limits import AbuseLimits
from bridge.models import (
    Attachment,
    Button,
    Channel,
    Conversation,
    HandoffReason,
    Message,
    Mode,
    Role,
)
from bridge.observability import metrics
from bridge.observability.logs import bind_conversation
from bridge.observability.timeline import Timeline
from bridge.office_hours import Availability, describe_moment
from bridge.outbox.jobs import Notice, PostCustomerLine, PostNotice
from bridge.outbox.outbox import Outbox
from bridge.rasa_client import MESSAGE_ID, SAID, RasaClient, RasaUnavailable
from bridge.rate_limits import CustomerQuota
from bridge.router.routes import CustomerRoute, customer_route
from bridge.router.turn_locks import TurnLocks
from bridge.store.conversations import Handoff
from bridge.store.dedupe import QUOTA_NOTICES, event_key
from bridge.store.files import FileMeta, FilesFull
from bridge.store.stores import Store
from bridge.store.transcript import Inbound
from bridge.texts import customers as texts

log = logging.getLogger(__name__)


class CustomerSide:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        rasa: RasaClient,
        learning: Learning | None = None,
        availability: Availability | None = None,
        timeline: Timeline | None = None,
        quotas: dict[Channel, CustomerQuota] | None = None,
        limits: AbuseLimits | None = None,
        retention_s: int = 0,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._rasa = rasa
        self._learning = learning  # turns, retention, spikes (docs/learning.md)
        self._availability = availability or Availability()
        self._timeline = timeline  # metrics: activity, handoff, first reply, close
        self._quotas = quotas or {}
        self._limits = limits  # guests' handoffs (docs/abuse.md)
        self._retention_s = retention_s
        self._turns = TurnLocks()

    # --- what a channel may look up ---------------------------------------------------------

    async def ensure(
        self, conversation_id: str, channel: Channel, external_id: str, display_name: str
    ) -> Conversation:
        return await self._store.conversations.ensure(
            conversation_id, channel, external_id, display_name, self._retention_s
        )

    async def history(self, conversation_id: str, since: str | None = None) -> list[Message]:
        return await self._store.transcripts.history(conversation_id, since)

    async def put_file(self, attachment: Attachment, owner: str = "") -> str:
        return await self._store.files.put(attachment, owner)

    async def file_meta(self, file_id: str) -> FileMeta | None:
        return await self._store.files.meta(file_id)

    async def get_file(self, file_id: str) -> Attachment | None:
        return await self._store.files.get(file_id)

    def per_minute(self, channel: Channel) -> int:
        """The customer's message quota on `channel` (0: none)."""
        quota = self._quotas.get(channel)
        return quota.per_minute if quota is not None else 0

    async def within_quota(self, conversation: Conversation) -> bool:
        """Take one message from the customer's quota; False when it is spent (the caller then
        does not pass the message on, and calls `slow_down`)."""
        quota = self._quotas.get(conversation.channel)
        if quota is None:
            return True
        channel, external = str(conversation.channel), conversation.external_id
        return await quota.allow(channel, external, conversation.id)

    # --- a customer's line --------------------------------------------------------------------

    async def accept(
        self,
        conversation: Conversation,
        message: Message,
        event_id: str,
        attachment: Attachment | None = None,
        check_quota: bool = False,
        payload: str = "",
    ) -> Inbound:
        """Record a customer message (once per event id). Safe to acknowledge after this.

        `check_quota`: take it from the customer's quota in the same step; a message over it is
        not recorded (`over_quota`) and must not be responded to. `payload`: the quick reply it
        taps; honoured only for a button the customer was shown, whose title is then what the
        transcript shows (so the words seen and the action run always agree).
        """
        if payload:
            title = await self._outbox.offered(conversation.id, payload)
            if title is None:
                log.info("ignored a quick reply that was never offered: %r", payload[:80])
                payload = ""
            else:
                message = replace(message, text=title)
        if attachment is not None:
            try:
                file_id = await self._store.files.put(attachment)
            except FilesFull as exc:
                # The words still count; staff see that a file came and could not be kept.
                log.warning("a customer's file was not kept: %s", exc)
                message = replace(message, text=texts.with_file_not_kept(message.text))
            else:
                message = replace(
                    message, file_id=file_id, file_name=attachment.name, file_type=attachment.type
                )
        bind_conversation(conversation.id)
        log.debug("customer message", extra={"body": message.text})
        quota = self._quotas.get(conversation.channel) if check_quota else None
        source = str(conversation.channel)
        inbound = await self._store.transcripts.record_inbound(
            conversation.id,
            message,
            event_key(source, event_id, conversation.id),
            to_thread=PostCustomerLine(conversation.id, message.text, message.file_id),
            active_at_ms=now_ms() if self._timeline is not None else None,
            # Echoed to the customer's other tabs (and other devices on the same session).
            live_event=self._outbox.live_event(conversation, message),
            quota=quota.in_script(source, conversation.external_id, conversation.id)
            if quota
            else None,
            retention_s=self._retention_s,
        )
        if inbound.is_new:
            if attachment is None and message.file_id:
                # An upload (widget) is kept only once a message names it (docs/abuse.md).
                await self._store.files.attach(message.file_id)
            metrics.message(source, "in")
            if conversation.channel is Channel.WIDGET:
                await self._outbox.deliver_here(conversation.id, inbound.message)
        return replace(inbound, payload=payload)

    async def respond(self, conversation: Conversation, inbound: Inbound) -> None:
        """Let the assistant answer an accepted message, unless a person has the conversation.

        Afterwards (so the customer's answer never waits for it) the conversation's data is
        kept for another retention period, including whatever this turn created.
        """
        if inbound.ended or inbound.over_quota:
            return  # nothing was recorded
        try:
            async with self._turns.turn(conversation.id):
                await self._respond(conversation, inbound, inbound.payload)
        finally:
            if self._learning is not None:
                await self._learning.touch(conversation.id)

    async def slow_down(self, conversation: Conversation, window: str) -> None:
        """A customer went over their message quota: say so once per window (their messages
        in that window are not passed on)."""
        once = event_key(QUOTA_NOTICES, f"{conversation.id}:{window}", conversation.id)
        await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=texts.SLOW_DOWN), once_key=once
        )

    async def _respond(self, conversation: Conversation, inbound: Inbound, payload: str) -> None:
        conversations = self._store.conversations
        stored, answered = await conversations.for_turn(conversation.id, inbound.message.id)
        current = stored or conversation
        route = customer_route(current, inbound, payload, answered)
        if route is CustomerRoute.SATISFACTION:
            await self._satisfaction(current, payload)
            return
        if route is CustomerRoute.LATE_FOR_THREAD:
            message = inbound.message
            await self._outbox.enqueue(PostCustomerLine(current.id, message.text, message.file_id))
            return
        if route in (CustomerRoute.WITH_PERSON, CustomerRoute.ALREADY_ANSWERED):
            return
        if current.mode is Mode.CLOSED:
            await conversations.reopen_for_bot(current.id)
            current = await conversations.get(current.id) or current
        if route is CustomerRoute.FILE_FOR_PERSON:
            await self._outbox.to_customer(current, _files_need_a_person())
        else:
            await self._assistant_turn(current, inbound, payload)
        await conversations.mark_answered(current.id, inbound.message.id)

    async def _assistant_turn(
        self, conversation: Conversation, inbound: Inbound, payload: str
    ) -> None:
        try:
            if conversation.bot_reset:
                await self._rasa.restart(conversation.id)
                await self._store.conversations.bot_was_reset(conversation.id)
            said = payload or _words(inbound.message.text)
            metadata = _who_is_asking(conversation)
            # Names the message in Rasa's tracker: a turn whose server died is settled by it.
            metadata[MESSAGE_ID] = inbound.message.id
            if payload:
                # The card shows the words the customer tapped, not the payload (issue 15).
                metadata[SAID] = inbound.message.text
            turn = await self._rasa.send(conversation.id, said, metadata)
        except RasaUnavailable as exc:
            log.warning("rasa unavailable for %s: %s", conversation.id, exc)
            await self._hand_over(conversation, HandoffReason.BOT_UNAVAILABLE, inbound.message.text)
            return
        for reply in turn.replies:
            await self._outbox.to_customer(conversation, reply)
        if turn.handoff is not None:
            await self._hand_over(conversation, turn.handoff, inbound.message.text, turn.language)
        if self._learning is not None:
            await self._learning.record_turn(
                conversation, inbound.message, turn.decision, str(turn.handoff or "")
            )

    async def _satisfaction(self, conversation: Conversation, payload: str) -> None:
        answer = texts.CSAT_ANSWERS.get(payload)
        if answer is None:
            return
        notice = PostNotice(
            conversation.id, Notice.RATED, detail=answer, thread=conversation.csat_thread
        )
        if await self._store.conversations.record_csat(conversation, answer, notice):
            metrics.satisfaction(str(conversation.channel), payload.removeprefix(texts.CSAT_PREFIX))
            await self._outbox.to_customer(
                conversation, Message(role=Role.SYSTEM, text=texts.CSAT_THANKS)
            )

    async def _hand_over(
        self, conversation: Conversation, reason: HandoffReason, trigger: str, language: str = ""
    ) -> None:
        upto = await self._store.transcripts.last_id(conversation.id)
        intents = (
            []
            if reason is HandoffReason.BOT_UNAVAILABLE
            else await self._rasa.recent_intents(conversation.id)
        )
        now = datetime.now(UTC)
        hours = self._availability.hours
        after_hours = hours is not None and not hours.is_open(now)
        timeout_ms = self._availability.claim_timeout_s * 1000
        handoff = Handoff(
            reason=str(reason),
            trigger=trigger,
            intents=intents,
            at_ms=int(now.timestamp() * 1000),
            # Outside office hours the customer is already told when to expect us.
            claim_deadline_ms=0 if after_hours or not timeout_ms else now_ms() + timeout_ms,
            after_hours=after_hours,
            transcript_upto=upto,
            # Gives way only from the guests' own partitions, where it holds up no one else.
            guest=conversation.customer is None and keys.is_guest_conversation(conversation.id),
            language=language,
        )
        if conversation.customer is None and self._limits is not None:
            refused = await self._limits.guest_handoff(_source(conversation))
            if refused is not None:
                # A flood of anonymous handoffs must not hold up signed-in customers and open
                # threads: this guest is asked to come back shortly (docs/abuse.md).
                log.warning("guest handoff of %s refused (%s)", conversation.id, refused.limit)
                text = texts.handoff_busy(refused.retry_after_s)
                await self._outbox.to_customer(conversation, Message(role=Role.SYSTEM, text=text))
                return
        if not await self._store.conversations.take_over(conversation.id, handoff):
            return
        log.info("handed over %s (%s)", conversation.id, reason)
        if self._timeline is not None:
            await self._timeline.handed_over(conversation.id, str(reason))
        await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=texts.handoff_notice(reason, language))
        )
        if hours is not None and after_hours:
            notice = texts.after_hours_notice(
                hours.describe(), describe_moment(hours.next_open(now)), language
            )
            await self._outbox.to_customer(conversation, Message(role=Role.SYSTEM, text=notice))


def _words(text: str) -> str:
    """What the customer typed, for the assistant's classifier: Rasa runs any text starting
    with "/" as an intent, so a typed "/cancel_order" must not become one."""
    return text.lstrip("/ ") or text


def _who_is_asking(conversation: Conversation) -> dict[str, Any]:
    """The metadata the actions read (actions/identity.py): who is signed in, and where from."""
    customer = conversation.customer
    signed_in = (
        {"id": customer.id, "email": customer.email, "name": customer.name}
        if customer is not None
        else None
    )
    return {"customer": signed_in, "source": _source(conversation)}


def _source(conversation: Conversation) -> str:
    """Where the customer writes from: a browser's address, or their chat."""
    return conversation.source or f"{conversation.channel}:{conversation.external_id}"


def _files_need_a_person() -> Message:
    return Message(
        role=Role.SYSTEM,
        text=texts.FILES_NEED_A_PERSON,
        buttons=(Button(texts.TALK_TO_A_PERSON, "/contact_human_agent"),),
    )
