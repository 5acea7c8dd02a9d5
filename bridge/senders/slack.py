"""Drains the Slack jobs: the handoff card and its updates, thread posts, delivery reactions.

Every Web API call is bounded (`SLACK_API_TIMEOUT_S`); no answer in time is retried like a
5xx. A post that got no answer may still have been made, so every post carries Slack message
metadata naming the stream entries it delivers (`DELIVERY_EVENT`), and a delivery whose earlier
attempt is in doubt (`stream.OUTCOME_UNKNOWN`: a timeout, a dropped connection, a 5xx, or a
process killed mid-delivery) first reads the thread or channel back with
`include_all_metadata` and posts only what is not there yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bridge import slack_card, slack_format
from bridge.models import Conversation
from bridge.rate_limits import PlatformLimiter
from bridge.senders.stream import (
    DELIVERY_IDS,
    OUTCOME_UNKNOWN,
    RetryLater,
    Undeliverable,
    after_delivery,
)
from bridge.settings import Settings
from bridge.store import ConversationStore

log = logging.getLogger(__name__)

# A returning customer's card links this many of their most recent earlier threads.
EARLIER_THREADS_SHOWN = 5
# Errors that mean the job's goal is already reached.
_ALREADY_DONE = {"already_reacted"}


# Lines joined into one post at most (a burst beyond it goes out in several posts).
COALESCE_MAX_LINES = 20

# The metadata event type on every post: {"entries": "<stream>/<entry id>,…", "part": n,
# "parts": m} (a long text goes out in several parts).
DELIVERY_EVENT = "support_bridge_delivery"
# Looking for an earlier attempt's post starts this long before its job was queued (Redis's
# clock names the entry; Slack's names the message).
CLOCK_SKEW_S = 300.0
# ...and reads at most this many pages of 200 messages.
LOOKUP_PAGES = 10
# A file upload is several requests (upload URL, upload, completion): this many timeouts.
UPLOAD_TIMEOUTS = 4


class SlackThreadSender:
    def __init__(
        self,
        client: AsyncWebClient,
        store: ConversationStore,
        channel: str,
        limiter: PlatformLimiter | None = None,
        timeout_s: float = Settings.slack_api_timeout_s,
    ) -> None:
        # A client of our own: the same workspace and session, every call bounded, and without
        # slack_sdk's silent retry after a dropped connection (it would post a second copy
        # when the first went through); failures come back here and are retried knowingly.
        self._client = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=max(1, math.ceil(timeout_s)),
            ssl=client.ssl,
            proxy=client.proxy,
            session=client.session,
            headers=dict(client.headers),
            retry_handlers=[],
        )
        self._timeout_s = timeout_s
        self._store = store
        self._channel = channel
        self._limiter = limiter

    # Coalescing (StreamSender): quick customer lines for one thread become one post.

    def joinable(self, job: dict[str, str]) -> bool:
        return (
            job.get("kind") == "thread_post"
            and job.get("as") in ("customer", "customer_lines")
            and not job.get("file")
            and not job.get("thread_ts")
        )

    def fits(self, run: list[dict[str, str]], job: dict[str, str]) -> bool:
        size = sum(len(_lines(j)) + 1 for j in [*run, job])
        return len(run) < COALESCE_MAX_LINES and size <= slack_format.POST_LIMIT

    async def ready(self, job: dict[str, str]) -> None:
        if self._limiter is not None:
            await self._limiter.slack_post_free(self._channel)

    def join(self, run: list[dict[str, str]]) -> dict[str, str]:
        lines = [_lines(job) for job in run]
        # Each entry's own line is kept too: a retry posts only the entries not yet in Slack.
        return {
            **run[0],
            "as": "customer_lines",
            "text": "\n".join(lines),
            "lines": json.dumps(lines),
        }

    async def __call__(self, job: dict[str, str]) -> None:
        if job["kind"] == "react":
            await self._call(
                self._client.reactions_add,
                channel=job["channel"],
                timestamp=job["ts"],
                name=job["name"],
            )
            return
        delivery = _Delivery.of(job)
        if job["kind"] == "channel_post":  # an alert, e.g. a topic spike (docs/learning.md)
            if delivery.unsure and await self._earlier_posts(job["channel"], None, delivery):
                return  # an earlier attempt posted it
            await self._call(
                self._client.chat_postMessage,
                channel=job["channel"],
                text=job["text"],
                metadata=delivery.metadata(delivery.ids),
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        conversation = await self._store.get(job["conversation"])
        if conversation is None:
            raise Undeliverable(f"unknown conversation {job['conversation']}")
        if job["kind"] == "open_thread":
            if conversation.thread_ts:
                return  # opened by an earlier attempt whose acknowledgement was lost
            ts = await self._earlier_card(delivery) if delivery.unsure else ""
            if not ts:
                text, blocks = await self._card(conversation)
                response = await self._call(
                    self._client.chat_postMessage,
                    channel=self._channel,
                    text=text,
                    blocks=blocks,
                    metadata=delivery.metadata(delivery.ids),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                ts = str(response["ts"])
            await after_delivery(
                lambda: self._store.link_thread(conversation.id, self._channel, ts), "the thread"
            )
            return
        if job["kind"] == "update_card":
            if job.get("thread_ts") != conversation.thread_ts:
                return  # the card of an earlier handoff: it keeps its last state
            text, blocks = await self._card(conversation)
            await self._call(
                self._client.chat_update,
                channel=self._channel,
                ts=conversation.thread_ts,
                text=text,
                blocks=blocks,
            )
            return
        thread_ts = job.get("thread_ts") or conversation.thread_ts
        if not thread_ts:
            raise RetryLater("the thread is not open yet")
        if job.get("file"):
            await self._upload(job["file"], _lines(job), thread_ts, delivery)
            return
        lines = json.loads(job["lines"]) if job.get("lines") else [_lines(job)]
        await self._post_lines(lines, thread_ts, delivery)

    async def _post_lines(self, lines: list[str], thread_ts: str, delivery: _Delivery) -> None:
        """Post the lines (one per stream entry when coalesced) into the thread, leaving out
        what an earlier attempt already posted."""
        ids = delivery.ids
        seen = (
            await self._earlier_posts(self._channel, thread_ts, delivery) if delivery.unsure else {}
        )
        if len(ids) > 1 and len(lines) == len(ids):
            left = [(i, line) for i, line in zip(ids, lines, strict=True) if not _done(seen, i)]
            if not left:
                log.info("thread post %s: already in Slack; not posted again", ids[0])
                return
            ids, lines = [i for i, _ in left], [line for _, line in left]
        parts = slack_format.split_posts(["\n".join(lines)])
        # A long single entry goes out in parts; an earlier attempt may have posted some.
        done = seen[ids[0]].ts if len(ids) == 1 and ids[0] in seen else {}
        if done and len(done) >= len(parts):
            log.info("thread post %s: already in Slack; not posted again", ids[0])
            return
        if done:
            log.info("thread post %s: parts %s already in Slack", ids[0], sorted(done))
        posted = False
        for number, part in enumerate(parts, start=1):
            if number in done:
                continue
            try:
                await self._call(
                    self._client.chat_postMessage,
                    channel=self._channel,
                    text=part,
                    thread_ts=thread_ts,
                    metadata=delivery.metadata(ids, number, len(parts)),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except RetryLater as exc:
                if posted:  # some parts are in the thread: the retry must look first
                    raise RetryLater(str(exc), exc.retry_after_s, outcome_unknown=True) from exc
                raise
            posted = True

    async def _earlier_card(self, delivery: _Delivery) -> str:
        """The ts of the handoff card an earlier attempt posted, or ""."""
        seen = await self._earlier_posts(self._channel, None, delivery)
        for entry in delivery.ids:
            if entry in seen and 1 in seen[entry].ts:
                log.info("handoff card %s: already in Slack; not posted again", entry)
                return seen[entry].ts[1]
        return ""

    async def _earlier_posts(
        self, channel: str, thread_ts: str | None, delivery: _Delivery
    ) -> dict[str, _Seen]:
        """What earlier attempts at this delivery posted, by stream entry: read back the thread
        (conversations.replies) or the channel (conversations.history) with their metadata."""
        wanted = set(delivery.ids)
        seen: dict[str, _Seen] = {}
        args: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200}
        if oldest := delivery.oldest():
            args["oldest"] = oldest
        cursor = ""
        for _ in range(LOOKUP_PAGES):
            if cursor:
                args["cursor"] = cursor
            if thread_ts:
                page = await self._call(self._client.conversations_replies, ts=thread_ts, **args)
            else:
                page = await self._call(self._client.conversations_history, **args)
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") != DELIVERY_EVENT:
                    continue
                payload = metadata.get("event_payload") or {}
                part, parts = _number(payload.get("part")), _number(payload.get("parts"))
                for entry in str(payload.get("entries") or "").split(","):
                    if entry in wanted:
                        seen.setdefault(entry, _Seen(parts)).ts[part] = str(message.get("ts"))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        else:
            log.warning("delivery %s: looked back %d pages only", delivery.ids[0], LOOKUP_PAGES)
        return seen

    async def _upload(self, file_id: str, text: str, thread_ts: str, delivery: _Delivery) -> None:
        """A customer's photo or file, with their caption, into the thread."""
        attachment = await self._store.get_file(file_id)
        if attachment is None:
            text += "\n_(a file was attached, but it has expired)_"
            await self._post_lines([text], thread_ts, delivery)
            return
        # Slack's upload takes no metadata: an upload whose outcome is unknown is sent again
        # (docs/faults.md, limits).
        try:
            await self._call(
                self._client.files_upload_v2,
                timeout_s=self._timeout_s * UPLOAD_TIMEOUTS,
                channel=self._channel,
                thread_ts=thread_ts,
                file=attachment.data,
                filename=attachment.name,
                initial_comment=text[: slack_format.POST_LIMIT],
            )
        except SlackRequestError as exc:  # the upload step itself failed
            raise RetryLater(f"Slack file upload failed: {exc}") from exc

    async def _card(self, conversation: Conversation) -> tuple[str, list[dict[str, Any]]]:
        earlier = await self._store.earlier_threads(conversation.id)
        links = [await self._link(ts) for ts in earlier[-EARLIER_THREADS_SHOWN:]]
        return slack_card.render(conversation, links)

    async def _link(self, ts: str) -> str:
        label = time.strftime("%d %b %Y %H:%M UTC", time.gmtime(float(ts)))
        try:
            response = await self._client.chat_getPermalink(channel=self._channel, message_ts=ts)
            return f"<{response['permalink']}|{label}>"
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            # A link is a convenience; the thread's date still lets staff find it.
            return label

    async def _call(
        self,
        method: Callable[..., Awaitable[AsyncSlackResponse]],
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if self._limiter is not None and method == self._client.chat_postMessage:
            await self._limiter.slack_post(str(kwargs["channel"]))
        try:
            async with asyncio.timeout(timeout_s or self._timeout_s):
                response = await method(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                # A 5xx (a gateway timing out, say) does not prove the call was not carried out.
                raise RetryLater(
                    f"Slack HTTP {status}", _seconds(retry_after), outcome_unknown=status >= 500
                ) from exc
            if exc.response.get("error") in _ALREADY_DONE:
                return {}
            raise Undeliverable(f"Slack refused: {exc.response.get('error')}") from exc
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing reached Slack
            raise RetryLater(f"Slack unreachable: {exc!r}") from exc
        except TimeoutError as exc:
            raise RetryLater(
                f"Slack did not answer within {timeout_s or self._timeout_s:g}s",
                outcome_unknown=True,
            ) from exc
        except aiohttp.ClientError as exc:  # the connection dropped: the call may have landed
            raise RetryLater(f"Slack connection failed: {exc!r}", outcome_unknown=True) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _lines(job: dict[str, str]) -> str:
    """The post text of a thread job: customer words escaped and labelled, lines joined
    earlier kept as they are."""
    if job.get("as") == "customer":
        return slack_format.customer_post(job["text"])
    return job["text"]


@dataclass(frozen=True)
class _Delivery:
    """The stream entries a job delivers (stream.DELIVERY_IDS) and whether an earlier attempt
    may have posted it already (stream.OUTCOME_UNKNOWN)."""

    ids: list[str]
    unsure: bool

    @classmethod
    def of(cls, job: dict[str, str]) -> _Delivery:
        ids = [i for i in job.get(DELIVERY_IDS, "").split(",") if i]
        return cls(ids, bool(ids) and job.get(OUTCOME_UNKNOWN) == "1")

    def metadata(self, ids: list[str], part: int = 1, parts: int = 1) -> dict[str, Any] | None:
        if not ids:
            return None
        payload = {"entries": ",".join(ids), "part": part, "parts": parts}
        return {"event_type": DELIVERY_EVENT, "event_payload": payload}

    def oldest(self) -> str | None:
        """A Slack timestamp before any post of this delivery: its entries were queued (their
        ids start with Redis's time in ms) before any attempt."""
        queued = [
            int(ms) / 1000
            for i in self.ids
            if (ms := i.rsplit("/", 1)[-1].split("-", 1)[0]).isdigit()
        ]
        return f"{min(queued) - CLOCK_SKEW_S:.6f}" if queued else None


@dataclass
class _Seen:
    """Where one stream entry was found in Slack: the ts of each part posted."""

    parts: int
    ts: dict[int, str] = field(default_factory=dict)


def _done(seen: dict[str, _Seen], entry: str) -> bool:
    return entry in seen and len(seen[entry].ts) >= seen[entry].parts


def _number(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
