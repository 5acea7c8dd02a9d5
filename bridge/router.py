"""The one place that decides where a message goes: to the assistant, or to a person."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from bridge import slack_format, texts
from bridge.learning.turns import Learning
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
from bridge.office_hours import OfficeHours, describe_moment
from bridge.outbox import NOT_CLAIMED, Outbox
from bridge.rasa_client import RasaClient, RasaUnavailable
from bridge.slack_card import is_note
from bridge.store import ConversationStore, Handoff, Inbound, now_ms
from bridge.texts import handoff_notice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Availability:
    """When staff answer: office hours (None: always) and how long a handoff may stay unclaimed."""

    hours: OfficeHours | None = None
    claim_timeout_s: int = 600


@dataclass(frozen=True)
class StaffPost:
    """A message a staff member wrote in a handoff thread, as the Slack adapter read it."""

    channel: str
    ts: str
    thread_ts: str
    raw_text: str  # Slack mrkdwn, as typed
    user_id: str
    author: str
    event_id: str
    extra: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()

    @property
    def plain_text(self) -> str:
        return slack_format.staff_text_to_plain(self.raw_text)


class Router:
    def __init__(
        self,
        store: ConversationStore,
        outbox: Outbox,
        rasa: RasaClient,
        availability: Availability | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self._timeline = timeline  # metrics: activity, handoff, first reply, close
        self.learning: Learning | None = None  # turns, retention, spikes (docs/learning.md)
        self._store = store
        self._outbox = outbox
        self._rasa = rasa
        self._availability = availability or Availability()
        # One turn at a time per conversation, so replies come back in the order asked.
        # Each lock is dropped once nobody holds or waits for it.
        self._turns: dict[str, asyncio.Lock] = {}
        self._turn_users: defaultdict[str, int] = defaultdict(int)

    # --- customers ------------------------------------------------------------------------

    async def accept(
        self,
        conversation: Conversation,
        message: Message,
        source: str,
        event_id: str,
        attachment: Attachment | None = None,
        quota: tuple[str, int] | None = None,
    ) -> Inbound:
        """Record a customer message (once per event id). Safe to acknowledge after this.

        `quota`: the customer's quota to check in the same step (CustomerQuota.in_script); a
        message over it is not recorded (`over_quota`) and must not be responded to.
        """
        if attachment is not None:
            file_id = await self._store.put_file(attachment)
            message = replace(
                message, file_id=file_id, file_name=attachment.name, file_type=attachment.type
            )
        bind_conversation(conversation.id)
        log.debug("customer message", extra={"body": message.text})
        widget = conversation.channel is Channel.WIDGET
        inbound = await self._store.record_inbound(
            conversation.id,
            message,
            source,
            event_id,
            active_at_ms=now_ms() if self._timeline is not None else None,
            # Echoed to the customer's other tabs (and other devices on the same session).
            widget_event=self._outbox.widget_event(conversation.id, message) if widget else None,
            quota=quota,
        )
        if inbound.is_new:
            metrics.message(str(conversation.channel), "in")
            if widget:
                await self._outbox.deliver_here(conversation.id, inbound.message)
        return inbound

    async def respond(
        self, conversation: Conversation, inbound: Inbound, payload: str = ""
    ) -> None:
        """Let the assistant answer an accepted message, unless a person has the conversation.

        Afterwards (so the customer's answer never waits for it) the conversation's data is
        kept for another retention period, including whatever this turn created.
        """
        try:
            await self._respond(conversation, inbound, payload)
        finally:
            if self.learning is not None:
                await self.learning.touch(conversation.id)

    async def _respond(self, conversation: Conversation, inbound: Inbound, payload: str) -> None:
        async with self._turn(conversation.id):
            stored, answered = await self._store.for_turn(conversation.id, inbound.message.id)
            current = stored or conversation
            if payload.startswith(texts.CSAT_PREFIX):
                # The satisfaction prompt's buttons are for us, never for the assistant.
                await self._satisfaction(current, payload)
                return
            if current.mode is Mode.HUMAN:
                if inbound.mode is not Mode.HUMAN and inbound.is_new:
                    # Accepted just before the handoff, so it was not queued for the thread.
                    await self._store.forward_to_thread(
                        current.id, inbound.message.text, inbound.message.file_id
                    )
                return
            if answered:
                return
            if current.mode is Mode.CLOSED:
                await self._store.reopen_for_bot(current.id)
                current = await self._store.get(current.id) or current
            if inbound.message.file_id:
                # The assistant reads text only; a person can look at the file.
                await self._outbox.to_customer(current, _files_need_a_person())
                await self._store.mark_answered(current.id, inbound.message.id)
                return
            try:
                if current.bot_reset:
                    await self._rasa.restart(current.id)
                    await self._store.bot_was_reset(current.id)
                turn = await self._rasa.send(current.id, payload or inbound.message.text)
            except RasaUnavailable as exc:
                log.warning("rasa unavailable for %s: %s", current.id, exc)
                await self._hand_over(current, HandoffReason.BOT_UNAVAILABLE, inbound.message.text)
                return
            for reply in turn.replies:
                await self._outbox.to_customer(current, reply)
            if turn.handoff is not None:
                await self._hand_over(current, turn.handoff, inbound.message.text)
            if self.learning is not None:
                await self.learning.record_turn(
                    current, inbound.message, turn.decision, str(turn.handoff or "")
                )
            await self._store.mark_answered(current.id, inbound.message.id)

    async def _satisfaction(self, conversation: Conversation, payload: str) -> None:
        answer = texts.CSAT_ANSWERS.get(payload)
        if answer is None:
            return
        if await self._store.record_csat(conversation.id, answer, texts.csat_for_staff(answer)):
            metrics.satisfaction(str(conversation.channel), payload.removeprefix(texts.CSAT_PREFIX))
            await self._outbox.to_customer(
                conversation, Message(role=Role.SYSTEM, text=texts.CSAT_THANKS)
            )

    async def _hand_over(
        self, conversation: Conversation, reason: HandoffReason, trigger: str
    ) -> None:
        transcript = await self._store.history(conversation.id)
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
            thread_posts=slack_format.transcript_posts(transcript),
        )
        if not await self._store.take_over(conversation.id, handoff):
            return
        log.info("handed over %s (%s)", conversation.id, reason)
        if self._timeline is not None:
            await self._timeline.handed_over(conversation.id, str(reason))
        await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=handoff_notice(reason))
        )
        if hours is not None and after_hours:
            notice = texts.after_hours_notice(
                hours.describe(), describe_moment(hours.next_open(now))
            )
            await self._outbox.to_customer(conversation, Message(role=Role.SYSTEM, text=notice))

    async def remind_unclaimed(self, conversation_id: str) -> None:
        """Nobody claimed the handoff in time: tell the customer honestly, and the thread."""
        conversation = await self._store.get(conversation_id)
        if conversation is None or conversation.mode is not Mode.HUMAN:
            return
        if conversation.claimed_by:
            return
        hours = self._availability.hours
        notice = texts.unclaimed_notice(hours.describe() if hours else "")
        once = self._store.event_key("desk", f"late:{conversation.id}:{conversation.handoff_at_ms}")
        if await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=notice), once_key=once
        ):
            minutes = self._availability.claim_timeout_s // 60
            job = {
                "kind": "thread_post",
                "conversation": conversation.id,
                "as": "raw",
                "text": texts.unclaimed_for_staff(minutes),
            }
            await self._store.queue_slack(job)

    async def slow_down(self, conversation: Conversation, window: str) -> None:
        """A customer went over their message quota: say so once per window (their messages
        in that window are not passed on)."""
        once = self._store.event_key("quota", f"{conversation.id}:{window}")
        await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=texts.SLOW_DOWN), once_key=once
        )

    # --- staff ----------------------------------------------------------------------------

    async def staff_post(self, post: StaffPost) -> Message | None:
        """A staff member wrote in a thread: relay it to the customer, or keep it internal.

        Returns the message as the customer got it, or None when nothing was sent.

        The hot path of the human relay. A plain reply in a thread this process has seen before
        is one Redis round trip (Outbox.relay_staff, guarded: it relays only into a claimed
        handoff on that thread). Anything else, or a failed guard, takes the full path: read
        the conversation, then note, refusal or claim, then relay.
        """
        text = post.plain_text
        known = self._store.known_thread(post.channel, post.thread_ts)
        plain = text.strip() and not post.attachments and not is_note(post.raw_text)
        if known is not None and plain:
            conversation_id, channel = known
            bind_conversation(conversation_id)
            conversation = Conversation(conversation_id, channel, external_id="", display_name="")
            relayed = await self._relay(conversation, post, text, guarded=True)
            if relayed != NOT_CLAIMED:
                return relayed
        found = await self._store.staff_thread(post.channel, post.thread_ts)
        if found is None:
            return None  # not one of our threads
        conversation_id, current = found
        bind_conversation(conversation_id)
        if current is None or not (text.strip() or post.attachments):
            return None
        once = self._store.event_key("slack", post.event_id)
        if is_note(post.raw_text):
            if await self._store.first_time(once):
                await self._react(current, post, texts.NOTE_KEPT)
            return None
        refusal = _refusal(current, post.thread_ts)
        if refusal:
            if await self._store.first_time(once):
                await self._warn(current, post, refusal)
            return None
        if not current.claimed_by:
            # Answering is claiming: the card shows who has it and the no-claim timer stops.
            await self._store.desk_action(
                current.id, "claim", post.thread_ts, post.user_id, post.author
            )
        relayed = await self._relay(current, post, text, guarded=False)
        return None if relayed == NOT_CLAIMED else relayed

    async def _relay(
        self, conversation: Conversation, post: StaffPost, text: str, guarded: bool
    ) -> Message | Literal["not-claimed"] | None:
        """Relay a staff reply (and its files) in one script call, with the timeline's stamps.
        `guarded`: only into a claimed handoff on the post's thread (else NOT_CLAIMED)."""
        once = self._store.event_key("slack", post.event_id)
        extra = {
            "slack_channel": post.channel,
            "slack_ts": post.ts,
            "slack_thread": post.thread_ts,
            **post.extra,
        }
        message = Message(role=Role.STAFF, text=text, author=post.author, extra=extra)
        if post.attachments:
            message = await self._attach(message, post.attachments[0])
        stamp = now_ms() if self._timeline is not None else None
        relayed = await self._outbox.relay_staff(
            conversation,
            message,
            once,
            (post.channel, post.ts),
            stamp,
            only_if_claimed=post.thread_ts if guarded else "",
        )
        if relayed == NOT_CLAIMED:
            return NOT_CLAIMED
        for n, attachment in enumerate(post.attachments[1:], start=1):
            # Further files of the same Slack message follow as messages of their own.
            more = await self._attach(
                Message(role=Role.STAFF, text="", author=post.author), attachment
            )
            more_once = self._store.event_key("slack", f"{post.event_id}:{n}")
            await self._outbox.to_customer(conversation, more, once_key=more_once)
        if relayed is None:
            return None  # a redelivered event: it was relayed the first time
        stored, first_after_handoff = relayed
        if self._timeline is not None and stamp is not None:
            self._timeline.staff_reply_counted(stamp, first_after_handoff)
        return stored

    async def desk_action(
        self, action: str, channel: str, card_ts: str, user_id: str, user_name: str
    ) -> str:
        """Claim, close or hand back, from the card's buttons. Returns the outcome."""
        conversation_id = await self._store.conversation_for_thread(channel, card_ts)
        if conversation_id is None:
            return "unknown"
        bind_conversation(conversation_id)
        outcome = await self._store.desk_action(
            conversation_id, action, card_ts, user_id, user_name
        )
        if action == "close" and outcome == "done" and self._timeline is not None:
            await self._timeline.closed(conversation_id)
        if outcome not in ("done", "again"):
            return outcome
        conversation = await self._store.get(conversation_id)
        if conversation is None:
            return outcome
        # "again" re-sends with the same once-keys: a click retried after a crash completes
        # what the first one started, and never tells the customer twice.
        for n, message in enumerate(_desk_notices(action, user_name)):
            once = self._store.event_key("desk", f"{action}:{conversation_id}:{card_ts}:{n}")
            await self._outbox.to_customer(conversation, message, once_key=once)
        return outcome

    async def staff_revision(
        self, channel: str, ts: str, raw_text: str | None, author: str, event_id: str
    ) -> bool:
        """A relayed staff message was edited (`raw_text`) or deleted (None) in Slack: reflect
        it to the customer. False when the message never reached them (a note, a refusal)."""
        relay = await self._store.relay(channel, ts)
        conversation = await self._store.get(relay["conversation"]) if relay else None
        if conversation is None:
            return False
        if not await self._store.first_time(self._store.event_key("slack", event_id)):
            return True
        text = slack_format.staff_text_to_plain(raw_text) if raw_text is not None else None
        job = {
            "kind": "edit" if text is not None else "delete",
            "slack_channel": channel,
            "slack_ts": ts,
            "text": text or "",
            "author": author,
        }
        await self._outbox.revise(conversation, relay["message_id"], text, job)
        return True

    async def _attach(self, message: Message, attachment: Attachment) -> Message:
        file_id = await self._store.put_file(attachment)
        return replace(
            message, file_id=file_id, file_name=attachment.name, file_type=attachment.type
        )

    async def _react(self, conversation: Conversation, post: StaffPost, name: str) -> None:
        await self._store.queue_slack(
            {
                "kind": "react",
                "conversation": conversation.id,
                "channel": post.channel,
                "ts": post.ts,
                "name": name,
            }
        )

    async def _warn(self, conversation: Conversation, post: StaffPost, reason: str) -> None:
        await self._store.queue_slack(
            {
                "kind": "thread_post",
                "conversation": conversation.id,
                "as": "raw",
                "text": texts.not_delivered(reason),
                "thread_ts": post.thread_ts,
            }
        )

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._turns.setdefault(conversation_id, asyncio.Lock())
        self._turn_users[conversation_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._turn_users[conversation_id] -= 1
            if not self._turn_users[conversation_id]:
                del self._turn_users[conversation_id], self._turns[conversation_id]


def _refusal(conversation: Conversation, thread_ts: str) -> str:
    """Why a staff reply in this thread must not reach the customer ("" when it may)."""
    if conversation.thread_ts != thread_ts:
        return texts.NOT_SENT_MOVED
    if conversation.mode is Mode.CLOSED:
        return texts.NOT_SENT_CLOSED
    if conversation.mode is Mode.BOT:
        return texts.NOT_SENT_BOT
    return ""


def _files_need_a_person() -> Message:
    return Message(
        role=Role.SYSTEM,
        text=texts.FILES_NEED_A_PERSON,
        buttons=(Button(texts.TALK_TO_A_PERSON, "/contact_human_agent"),),
    )


def _desk_notices(action: str, name: str) -> list[Message]:
    if action == "claim":
        return [Message(role=Role.SYSTEM, text=texts.claimed_notice(name))]
    if action == "close":
        buttons = tuple(Button(title, payload) for payload, title in texts.CSAT_ANSWERS.items())
        return [
            Message(role=Role.SYSTEM, text=texts.closed_notice(name)),
            Message(role=Role.SYSTEM, text=texts.CSAT_QUESTION, buttons=buttons),
        ]
    if action == "hand_back":
        return [Message(role=Role.SYSTEM, text=texts.HANDED_BACK_NOTICE)]
    return []
