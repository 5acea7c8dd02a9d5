"""Drains the Slack jobs: the handoff card and its updates, thread posts, delivery reactions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bridge import slack_card, slack_format
from bridge.models import Conversation
from bridge.rate_limits import PlatformLimiter
from bridge.senders.stream import RetryLater, Undeliverable, after_delivery
from bridge.store import ConversationStore

# A returning customer's card links this many of their most recent earlier threads.
EARLIER_THREADS_SHOWN = 5
# Errors that mean the job's goal is already reached.
_ALREADY_DONE = {"already_reacted"}


# Lines joined into one post at most (a burst beyond it goes out in several posts).
COALESCE_MAX_LINES = 20


class SlackThreadSender:
    def __init__(
        self,
        client: AsyncWebClient,
        store: ConversationStore,
        channel: str,
        limiter: PlatformLimiter | None = None,
    ) -> None:
        self._client = client
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
        text = "\n".join(_lines(job) for job in run)
        return {**run[0], "as": "customer_lines", "text": text}

    async def __call__(self, job: dict[str, str]) -> None:
        if job["kind"] == "react":
            await self._call(
                self._client.reactions_add,
                channel=job["channel"],
                timestamp=job["ts"],
                name=job["name"],
            )
            return
        if job["kind"] == "channel_post":  # an alert, e.g. a topic spike (docs/learning.md)
            await self._call(
                self._client.chat_postMessage,
                channel=job["channel"],
                text=job["text"],
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
            text, blocks = await self._card(conversation)
            response = await self._call(
                self._client.chat_postMessage,
                channel=self._channel,
                text=text,
                blocks=blocks,
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
        text = _lines(job)
        thread_ts = job.get("thread_ts") or conversation.thread_ts
        if not thread_ts:
            raise RetryLater("the thread is not open yet")
        if job.get("file"):
            await self._upload(job["file"], text, thread_ts)
            return
        for part in slack_format.split_posts([text]):
            await self._call(
                self._client.chat_postMessage,
                channel=self._channel,
                text=part,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )

    async def _upload(self, file_id: str, text: str, thread_ts: str) -> None:
        """A customer's photo or file, with their caption, into the thread."""
        attachment = await self._store.get_file(file_id)
        if attachment is None:
            text += "\n_(a file was attached, but it has expired)_"
            await self._call(
                self._client.chat_postMessage, channel=self._channel, text=text, thread_ts=thread_ts
            )
            return
        try:
            await self._call(
                self._client.files_upload_v2,
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
        self, method: Callable[..., Awaitable[AsyncSlackResponse]], **kwargs: Any
    ) -> dict[str, Any]:
        if self._limiter is not None and method == self._client.chat_postMessage:
            await self._limiter.slack_post(str(kwargs["channel"]))
        try:
            response = await method(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                raise RetryLater(f"Slack HTTP {status}", _seconds(retry_after)) from exc
            if exc.response.get("error") in _ALREADY_DONE:
                return {}
            raise Undeliverable(f"Slack refused: {exc.response.get('error')}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Slack unreachable: {exc!r}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _lines(job: dict[str, str]) -> str:
    """The post text of a thread job: customer words escaped and labelled, lines joined
    earlier kept as they are."""
    if job.get("as") == "customer":
        return slack_format.customer_post(job["text"])
    return job["text"]


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
