"""Posts queued staff-thread messages to Slack."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import slack_format
from bridge.senders.stream import RetryLater, Undeliverable
from bridge.store import ConversationStore


class SlackThreadSender:
    def __init__(self, client: AsyncWebClient, store: ConversationStore, channel: str) -> None:
        self._client = client
        self._store = store
        self._channel = channel

    async def __call__(self, job: dict[str, str]) -> None:
        conversation = await self._store.get(job["conversation"])
        if conversation is None:
            raise Undeliverable(f"unknown conversation {job['conversation']}")
        text = job["text"]
        if job.get("as") == "customer":
            text = slack_format.customer_post(text)
        if job["kind"] == "open_thread":
            if conversation.thread_ts:
                return  # opened by an earlier attempt whose acknowledgement was lost
            response = await self._post(text)
            await self._store.link_thread(conversation.id, self._channel, str(response["ts"]))
            return
        if not conversation.thread_ts:
            raise RetryLater("the thread is not open yet")
        for part in slack_format.split_posts([text]):
            await self._post(part, thread_ts=conversation.thread_ts)

    async def _post(self, text: str, thread_ts: str | None = None) -> dict:
        try:
            response = await self._client.chat_postMessage(
                channel=self._channel,
                text=text,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                raise RetryLater(f"Slack HTTP {status}", _seconds(retry_after)) from exc
            raise Undeliverable(f"Slack refused: {exc.response.get('error')}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"Slack unreachable: {exc!r}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
