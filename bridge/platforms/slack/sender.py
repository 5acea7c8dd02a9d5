"""Sends the staff desk's jobs to Slack: the handoff card and its updates, thread posts,
receipts and channel alerts. Dispatches on the job's type; renders each for Slack.

Every Web API call is bounded (`SLACK_API_TIMEOUT_S`, bridge/platforms/slack/api.py); a post
whose earlier attempt is in doubt looks before it posts again (readback.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bridge.models import Conversation
from bridge.outbox.delivery import Delivered, Delivery, Joined, RetryLater, Undeliverable
from bridge.outbox.jobs import (
    Job,
    MarkReply,
    OpenThread,
    PostCustomerLine,
    PostNotice,
    PostTranscript,
    Receipt,
    ReceiptOutcome,
    ReviseSent,
    SendToCustomer,
    TopicSpikeAlert,
    UpdateCard,
)
from bridge.platforms.slack import card, mrkdwn, readback, render
from bridge.platforms.slack.api import SlackCalls
from bridge.platforms.slack.readback import Seen, earlier_posts
from bridge.store.stores import Store
from bridge.store.threads import Threads
from bridge.texts import staff as texts

log = logging.getLogger(__name__)

# A returning customer's card links this many of their most recent earlier threads.
EARLIER_THREADS_SHOWN = 5
# Lines joined into one post at most (a burst beyond it goes out in several posts).
COALESCE_MAX_LINES = 20
# A file upload is several requests (upload URL, upload, completion): this many timeouts.
UPLOAD_TIMEOUTS = 4

_REACTIONS = {
    ReceiptOutcome.DELIVERED: render.DELIVERED,
    ReceiptOutcome.KEPT_INTERNAL: render.KEPT_INTERNAL,
}


class SlackSender:
    def __init__(self, calls: SlackCalls, store: Store, channel: str) -> None:
        self._calls = calls
        self._client = calls.client
        self._store = store
        self._channel = channel

    # Coalescing (outbox drain): quick customer lines for one thread become one post.

    def joinable(self, job: Job) -> bool:
        return isinstance(job, PostCustomerLine) and not job.file

    def fits(self, run: list[Job], job: Job) -> bool:
        lines = [j for j in [*run, job] if isinstance(j, PostCustomerLine)]
        size = sum(len(mrkdwn.customer_post(j.text)) + 1 for j in lines)
        return len(run) < COALESCE_MAX_LINES and size <= mrkdwn.POST_LIMIT

    async def ready(self, job: Job) -> None:
        await self._calls.post_free(self._channel)

    async def __call__(self, job: Job | Joined, delivery: Delivery) -> Delivered | None:
        match job:
            case Receipt(outcome=ReceiptOutcome.DELIVERED | ReceiptOutcome.KEPT_INTERNAL):
                await self._react(job)
            case TopicSpikeAlert():
                await self._alert(job, delivery)
            case OpenThread():
                return await self._open_thread(job, delivery)
            case UpdateCard():
                await self._update_card(job)
            case Joined(jobs=jobs):
                lines = [j for j in jobs if isinstance(j, PostCustomerLine)]
                posts = [mrkdwn.customer_post(j.text) for j in lines]
                await self._post_lines(posts, await self._thread(lines[0]), delivery)
            case PostCustomerLine(file=file) if file:
                text = mrkdwn.customer_post(job.text)
                await self._upload(file, text, await self._thread(job), delivery)
            case PostCustomerLine():
                text = mrkdwn.customer_post(job.text)
                await self._post_lines([text], await self._thread(job), delivery)
            case PostTranscript():
                await self._transcript(job, delivery)
            case PostNotice():
                await self._post_lines([render.notice(job)], await self._thread(job), delivery)
            case MarkReply():
                await self._mark_reply(job, delivery)
            case Receipt():  # not delivered: said in the staff message's thread
                text = render.not_delivered(job)
                await self._post_lines([text], await self._thread(job), delivery)
            case SendToCustomer() | ReviseSent():
                raise Undeliverable(f"{job.KIND} is a customer job, not the desk's")
        return None

    async def _react(self, receipt: Receipt) -> None:
        ref = receipt.staff_message
        name = _REACTIONS[receipt.outcome]
        await self._calls(
            self._client.reactions_add, channel=ref.channel, timestamp=ref.id, name=name
        )

    async def _alert(self, alert: TopicSpikeAlert, delivery: Delivery) -> None:
        """An alert to a channel of its own (docs/learning.md)."""
        names = delivery.names
        if delivery.unsure and await earlier_posts(self._calls, alert.channel, None, names):
            return  # an earlier attempt posted it
        await self._calls(
            self._client.chat_postMessage,
            channel=alert.channel,
            text=render.spike_alert(alert),
            metadata=readback.metadata(names),
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _open_thread(self, job: OpenThread, delivery: Delivery) -> Delivered | None:
        conversation = await self._conversation(job.conversation)
        if conversation.thread_ts:
            return None  # opened by an earlier attempt whose acknowledgement was lost
        ts = await self._earlier_card(delivery) if delivery.unsure else ""
        if not ts:
            text, blocks = await self._card(conversation)
            response = await self._calls(
                self._client.chat_postMessage,
                gives_way=job.guest,
                channel=self._channel,
                text=text,
                blocks=blocks,
                metadata=readback.metadata(delivery.names),
                unfurl_links=False,
                unfurl_media=False,
            )
            ts = str(response["ts"])
        customer = conversation.customer.id if conversation.customer is not None else ""
        link = Threads.link_step(conversation.id, self._channel, ts, customer)
        return Delivered(steps=(link,))

    async def _update_card(self, job: UpdateCard) -> None:
        conversation = await self._conversation(job.conversation)
        if job.thread != conversation.thread_ts:
            return  # the card of an earlier handoff: it keeps its last state
        text, blocks = await self._card(conversation)
        await self._calls(
            self._client.chat_update,
            channel=self._channel,
            ts=conversation.thread_ts,
            text=text,
            blocks=blocks,
        )

    async def _transcript(self, job: PostTranscript, delivery: Delivery) -> None:
        thread = await self._thread(job)
        lines = await self._store.transcripts.history_upto(job.conversation, job.upto)
        names = delivery.names
        seen = await self._seen(thread, delivery)
        parts = mrkdwn.transcript_posts(lines)
        await self._post_parts(parts, names, seen, thread, gives_way=job.guest)

    async def _post_lines(self, lines: list[str], thread: str, delivery: Delivery) -> None:
        """Post the lines (one per stream entry when joined) into the thread, leaving out what
        an earlier attempt already posted."""
        names = delivery.names
        seen = await self._seen(thread, delivery)
        if len(names) > 1 and len(lines) == len(names):
            left = [(n, line) for n, line in zip(names, lines, strict=True) if not _done(seen, n)]
            if not left:
                log.info("thread post %s: already in Slack; not posted again", names[0])
                return
            names, lines = [n for n, _ in left], [line for _, line in left]
        await self._post_parts(mrkdwn.split_posts(["\n".join(lines)]), names, seen, thread)

    async def _post_parts(
        self,
        parts: list[str],
        names: list[str],
        seen: dict[str, Seen],
        thread: str,
        gives_way: bool = False,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Post `parts` of one delivery in order; a single entry's parts that an earlier
        attempt posted are left out. `gives_way`: a guest's new thread (docs/abuse.md).
        `blocks`: of a single part."""
        done = seen[names[0]].ts if len(names) == 1 and names[0] in seen else {}
        if done and len(done) >= len(parts):
            log.info("thread post %s: already in Slack; not posted again", names[0])
            return
        if done:
            log.info("thread post %s: parts %s already in Slack", names[0], sorted(done))
        posted = False
        for number, part in enumerate(parts, start=1):
            if number in done:
                continue
            try:
                await self._calls(
                    self._client.chat_postMessage,
                    gives_way=gives_way,
                    channel=self._channel,
                    text=part,
                    blocks=blocks,
                    thread_ts=thread,
                    metadata=readback.metadata(names, number, len(parts)),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except RetryLater as exc:
                if posted:  # some parts are in the thread: the retry must look first
                    raise RetryLater(str(exc), exc.retry_after_s, outcome_unknown=True) from exc
                raise
            posted = True

    async def _seen(self, thread: str, delivery: Delivery) -> dict[str, Seen]:
        if not delivery.unsure:
            return {}
        return await earlier_posts(self._calls, self._channel, thread, delivery.names)

    async def _earlier_card(self, delivery: Delivery) -> str:
        """The ts of the handoff card an earlier attempt posted, or ""."""
        seen = await earlier_posts(self._calls, self._channel, None, delivery.names)
        for name in delivery.names:
            if name in seen and 1 in seen[name].ts:
                log.info("handoff card %s: already in Slack; not posted again", name)
                return seen[name].ts[1]
        return ""

    async def _upload(self, file_id: str, text: str, thread: str, delivery: Delivery) -> None:
        """A customer's photo or file, with their caption, into the thread."""
        attachment = await self._store.files.get(file_id)
        if attachment is None:
            text += "\n" + texts.FILE_EXPIRED
            await self._post_lines([text], thread, delivery)
            return
        # Slack's upload takes no metadata: an upload whose outcome is unknown is sent again
        # (docs/faults.md, limits).
        try:
            await self._calls(
                self._client.files_upload_v2,
                timeout_s=self._calls.timeout_s * UPLOAD_TIMEOUTS,
                channel=self._channel,
                thread_ts=thread,
                file=attachment.data,
                filename=attachment.name,
                initial_comment=text[: mrkdwn.POST_LIMIT],
            )
        except SlackRequestError as exc:  # the upload step itself failed
            raise RetryLater(f"Slack file upload failed: {exc}") from exc

    async def _mark_reply(self, job: MarkReply, delivery: Delivery) -> None:
        """A staff mark's answer (docs/learning.md): a post in its thread, or the line picker
        it answers rewritten (an edit, harmless to repeat)."""
        text, blocks = render.mark_reply(job)
        if job.replace:
            await self._calls(
                self._client.chat_update,
                channel=self._channel,
                ts=job.replace,
                text=text,
                blocks=blocks,
            )
            return
        thread = await self._thread(job)
        seen = await self._seen(thread, delivery)
        await self._post_parts([text], delivery.names, seen, thread, blocks=blocks)

    async def _thread(
        self, job: PostCustomerLine | PostTranscript | PostNotice | MarkReply | Receipt
    ) -> str:
        """The thread a post goes in: the one it names, else the conversation's current one."""
        conversation = await self._conversation(job.conversation)
        named = job.staff_message.thread if isinstance(job, Receipt) else ""
        named = job.thread if isinstance(job, PostNotice | MarkReply) else named
        thread = named or conversation.thread_ts
        if not thread:
            raise RetryLater("the thread is not open yet")
        return thread

    async def _conversation(self, conversation_id: str) -> Conversation:
        conversation = await self._store.conversations.get(conversation_id)
        if conversation is None:
            raise Undeliverable(f"unknown conversation {conversation_id}")
        return conversation

    async def _card(self, conversation: Conversation) -> tuple[str, list[dict[str, Any]]]:
        earlier = set(await self._store.threads.earlier_threads(conversation.id))
        if conversation.customer is not None:  # a returning customer, on any channel
            earlier |= set(await self._store.identities.threads_of(conversation.customer.id))
        earlier.discard(conversation.thread_ts)
        shown = sorted(earlier, key=float)[-EARLIER_THREADS_SHOWN:]
        links = [await self._link(ts) for ts in shown]
        return card.render(conversation, links)

    async def _link(self, ts: str) -> str:
        label = time.strftime("%d %b %Y %H:%M UTC", time.gmtime(float(ts)))
        try:
            response = await self._client.chat_getPermalink(channel=self._channel, message_ts=ts)
            return f"<{response['permalink']}|{label}>"
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            # A link is a convenience; the thread's date still lets staff find it.
            return label


def _done(seen: dict[str, Seen], name: str) -> bool:
    return name in seen and seen[name].complete
