"""In-memory stand-ins for the router's store, outbox and assistant, for fast tests of the
router's logic. Each keeps the contract its real counterpart documents (the Lua scripts'
answers, what is queued and when); the integration and end-to-end tests hold the real ones to
the same behaviour."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.models import (
    Attachment,
    Channel,
    Conversation,
    DeskAction,
    Message,
    Mode,
    RecentIntent,
    StaffMessageRef,
)
from bridge.outbox import receipts
from bridge.outbox.jobs import (
    Job,
    OpenThread,
    PostNotice,
    PostTranscript,
    ReviseSent,
    SendToCustomer,
    UpdateCard,
)
from bridge.outbox.outbox import NOT_CLAIMED
from bridge.rasa_client import BotTurn, RasaUnavailable
from bridge.store.conversations import Handoff
from bridge.store.files import FileMeta
from bridge.store.threads import RelayRecord
from bridge.store.transcript import Inbound


@dataclass
class World:
    """What Redis would hold: conversation hashes, transcripts, queued jobs, once keys."""

    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    transcripts: dict[str, list[Message]] = field(default_factory=dict)
    queued: list[Job] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    threads: dict[tuple[str, str], str] = field(default_factory=dict)
    relays: dict[tuple[str, str], RelayRecord] = field(default_factory=dict)
    files: dict[str, tuple[Attachment, str]] = field(default_factory=dict)
    unclaimed: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> str:
        return f"1700000000000-{next(self._ids)}"

    def append(self, conversation_id: str, message: Message) -> Message:
        stored = replace(message, id=self.next_id())
        self.transcripts.setdefault(conversation_id, []).append(stored)
        return stored

    def jobs(self, kind: type[Job]) -> list[Any]:
        return [job for job in self.queued if isinstance(job, kind)]

    def said_to(self, conversation_id: str) -> list[str]:
        """What the bridge, the bot and staff said to the customer, in order."""
        lines = self.transcripts.get(conversation_id, [])
        return [m.text for m in lines if m.role != "customer"]


class FakeConversations:
    def __init__(self, world: World) -> None:
        self.w = world

    async def get(self, conversation_id: str) -> Conversation | None:
        data = self.w.hashes.get(conversation_id)
        return Conversation.from_hash(conversation_id, data) if data else None

    async def ensure(
        self,
        conversation_id: str,
        channel: Channel,
        external_id: str,
        display_name: str,
        ttl_s: int = 0,
        source: str = "",
    ) -> Conversation:
        data = self.w.hashes.setdefault(conversation_id, {})
        if source:
            data["source"] = source
        data.setdefault("channel", str(channel))
        data.setdefault("external_id", external_id)
        data.setdefault("mode", str(Mode.BOT))
        if display_name:
            data["display_name"] = display_name
        return Conversation.from_hash(conversation_id, data)

    async def for_turn(
        self, conversation_id: str, entry_id: str
    ) -> tuple[Conversation | None, bool]:
        data = self.w.hashes.get(conversation_id)
        if not data:
            return None, False
        upto = data.get("answered_upto")
        answered = upto is not None and _order(entry_id) <= _order(upto)
        return Conversation.from_hash(conversation_id, data), answered

    async def mark_answered(self, conversation_id: str, entry_id: str) -> None:
        self.w.hashes[conversation_id]["answered_upto"] = entry_id

    async def take_over(self, conversation_id: str, handoff: Handoff) -> bool:
        data = self.w.hashes[conversation_id]
        if data.get("mode") == Mode.HUMAN:
            return False
        for name in ("thread_ts", "claimed_by", "claimed_name", "closed_name", "bot_reset"):
            data.pop(name, None)
        data.update(
            mode=str(Mode.HUMAN),
            handoff_reason=handoff.reason,
            trigger=handoff.trigger,
            intents=RecentIntent.dump_list(handoff.intents),
            handoff_at=str(handoff.at_ms),
            after_hours="1" if handoff.after_hours else "0",
        )
        self.w.queued += [
            OpenThread(conversation_id),
            PostTranscript(conversation_id, handoff.transcript_upto),
        ]
        if handoff.claim_deadline_ms:
            self.w.unclaimed[conversation_id] = handoff.claim_deadline_ms
        return True

    async def desk_action(
        self, conversation_id: str, action: DeskAction, thread: str, user_id: str, name: str
    ) -> str:
        data = self.w.hashes[conversation_id]
        mode = data.get("mode")
        if data.get("thread_ts") != thread:
            return "stale"
        if (action, mode) in ((DeskAction.CLOSE, Mode.CLOSED), (DeskAction.HAND_BACK, Mode.BOT)):
            return "again"
        if mode != Mode.HUMAN:
            return "stale"
        if action is DeskAction.CLAIM:
            if data.get("claimed_by"):
                return "again" if data["claimed_by"] == user_id else "taken"
            data.update(claimed_by=user_id, claimed_name=name, claimed_at="1")
        elif action is DeskAction.CLOSE:
            data.update(mode=str(Mode.CLOSED), closed_name=name, csat_thread=thread)
        else:
            data.update(mode=str(Mode.BOT), handed_back_name=name, bot_reset="1")
        self.w.unclaimed.pop(conversation_id, None)
        self.w.queued.append(UpdateCard(conversation_id, thread))
        return "done"

    async def reopen_for_bot(self, conversation_id: str) -> None:
        data = self.w.hashes[conversation_id]
        if data.get("mode") == Mode.CLOSED:
            data.update(mode=str(Mode.BOT), bot_reset="1")

    async def bot_was_reset(self, conversation_id: str) -> None:
        self.w.hashes[conversation_id].pop("bot_reset", None)

    async def record_csat(
        self, conversation: Conversation, answer: str, notice: PostNotice
    ) -> bool:
        data = self.w.hashes[conversation.id]
        if not conversation.csat_thread or data.get("csat_thread") != conversation.csat_thread:
            return False
        del data["csat_thread"]
        data["csat"] = answer
        self.w.queued.append(notice)
        return True


class FakeTranscripts:
    def __init__(self, world: World) -> None:
        self.w = world

    async def record_inbound(
        self,
        conversation_id: str,
        message: Message,
        seen_key: str,
        to_thread: Job,
        active_at_ms: int | None = None,
        live_event: list[str] | None = None,
        quota: tuple[str, int] | None = None,
        retention_s: int = 0,
    ) -> Inbound:
        mode = Mode(self.w.hashes.get(conversation_id, {}).get("mode", Mode.BOT))
        if seen_key in self.w.seen:
            return Inbound(replace(message, id=self.w.seen[seen_key]), False, mode)
        stored = self.w.append(conversation_id, message)
        self.w.seen[seen_key] = stored.id
        if mode is Mode.HUMAN:
            self.w.queued.append(to_thread)
        return Inbound(stored, True, mode)

    async def history(self, conversation_id: str, since: str | None = None) -> list[Message]:
        lines = self.w.transcripts.get(conversation_id, [])
        return [m for m in lines if since is None or _order(m.id) > _order(since)]

    async def last_id(self, conversation_id: str) -> str:
        lines = self.w.transcripts.get(conversation_id, [])
        return lines[-1].id if lines else ""


class FakeThreads:
    def __init__(self, world: World) -> None:
        self.w = world
        self._known: dict[tuple[str, str], tuple[str, Channel]] = {}

    def open(self, conversation_id: str, channel: str, thread: str) -> None:
        """What the Slack sender's acknowledgement of the card does (Threads.link_step)."""
        self.w.hashes[conversation_id]["thread_ts"] = thread
        self.w.threads[channel, thread] = conversation_id

    def known_thread(self, channel: str, thread: str) -> tuple[str, Channel] | None:
        return self._known.get((channel, thread))

    async def staff_thread(
        self, channel: str, thread: str
    ) -> tuple[str, Conversation | None] | None:
        conversation_id = self.w.threads.get((channel, thread))
        if conversation_id is None:
            return None
        data = self.w.hashes.get(conversation_id)
        if not data:
            return conversation_id, None
        conversation = Conversation.from_hash(conversation_id, data)
        self._known[channel, thread] = (conversation_id, conversation.channel)
        return conversation_id, conversation

    async def conversation_for_thread(self, channel: str, thread: str) -> str | None:
        return self.w.threads.get((channel, thread))

    async def relay(self, ref: StaffMessageRef, conversation_id: str) -> RelayRecord | None:
        return self.w.relays.get((ref.channel, ref.id))


class FakeFiles:
    def __init__(self, world: World) -> None:
        self.w = world

    async def put(self, attachment: Attachment, owner: str = "") -> str:
        file_id = f"file-{len(self.w.files) + 1}"
        self.w.files[file_id] = (attachment, owner)
        return file_id

    async def attach(self, file_id: str) -> None:
        pass  # fakes keep every file

    async def meta(self, file_id: str) -> FileMeta | None:
        found = self.w.files.get(file_id)
        return FileMeta(found[0].name, found[0].type, found[1]) if found else None

    async def get(self, file_id: str) -> Attachment | None:
        found = self.w.files.get(file_id)
        return found[0] if found else None


class FakeDedupe:
    def __init__(self, world: World) -> None:
        self.w = world

    async def first_time(self, key: str) -> bool:
        if key in self.w.seen:
            return False
        self.w.seen[key] = "1"
        return True


@dataclass
class FakeStore:
    conversations: FakeConversations
    transcripts: FakeTranscripts
    threads: FakeThreads
    files: FakeFiles
    dedupe: FakeDedupe

    @classmethod
    def on(cls, world: World) -> FakeStore:
        return cls(
            FakeConversations(world),
            FakeTranscripts(world),
            FakeThreads(world),
            FakeFiles(world),
            FakeDedupe(world),
        )


class FakeOutbox:
    def __init__(self, world: World) -> None:
        self.w = world

    async def offered(self, conversation_id: str, payload: str) -> str | None:
        for line in reversed(self.w.transcripts.get(conversation_id, [])):
            for button in line.buttons:
                if button.payload == payload:
                    return button.title
        return None

    async def enqueue(self, *jobs: Job) -> None:
        self.w.queued += jobs

    async def to_customer(
        self, conversation: Conversation, message: Message, once_key: str = ""
    ) -> Message | None:
        if once_key:
            if once_key in self.w.seen:
                return None
            self.w.seen[once_key] = "1"
        stored = self.w.append(conversation.id, message)
        if conversation.channel is Channel.TELEGRAM:
            self.w.queued.append(SendToCustomer(conversation.id, conversation.channel, message))
        return stored

    async def relay_staff(
        self,
        conversation: Conversation,
        message: Message,
        ref: StaffMessageRef,
        once_key: str,
        stamp_ms: int | None,
        only_if_claimed: str = "",
    ) -> tuple[Message, int | None] | str | None:
        data = self.w.hashes.get(conversation.id, {})
        if only_if_claimed and not (
            data.get("mode") == Mode.HUMAN
            and data.get("thread_ts") == only_if_claimed
            and data.get("claimed_by")
        ):
            return NOT_CLAIMED
        if once_key in self.w.seen:
            return None
        self.w.seen[once_key] = "1"
        stored = self.w.append(conversation.id, message)
        if conversation.channel is Channel.TELEGRAM:
            job: Job = SendToCustomer(conversation.id, conversation.channel, message, ref)
        else:
            job = receipts.delivered(conversation.id, ref)
        self.w.queued.append(job)
        self.w.relays[ref.channel, ref.id] = RelayRecord(conversation.id, stored.id)
        return stored, None

    async def revise(
        self,
        conversation: Conversation,
        ref: StaffMessageRef,
        message_id: str,
        text: str | None,
        author: str,
    ) -> None:
        for n, line in enumerate(self.w.transcripts[conversation.id]):
            if line.id == message_id:
                self.w.transcripts[conversation.id][n] = replace(line, text=text or "", edited=True)
        if conversation.channel is Channel.TELEGRAM:
            self.w.queued.append(
                ReviseSent(conversation.id, conversation.channel, ref, text, author)
            )

    def live_event(self, conversation: Conversation, message: Message) -> list[str]:
        return ["", "", ""]

    async def deliver_here(self, conversation_id: str, message: Message) -> None:
        pass


class FakeRasa:
    """The assistant: `answer(text)` says what it makes of each message."""

    def __init__(self, answer: Callable[[str], BotTurn]) -> None:
        self.answer = answer
        self.heard: list[tuple[str, str]] = []
        self.restarted: list[str] = []
        self.metadata: list[Any] = []
        self.down = False

    async def send(self, sender: str, text: str, metadata: Any = None) -> BotTurn:
        if self.down:
            raise RasaUnavailable("connection refused")
        self.heard.append((sender, text))
        self.metadata.append(metadata)
        return self.answer(text)

    async def recent_intents(self, sender: str, count: int = 5) -> list[RecentIntent]:
        return [RecentIntent(text, "?", 0.5) for who, text in self.heard[-count:] if who == sender]

    async def restart(self, sender: str) -> None:
        self.restarted.append(sender)


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
