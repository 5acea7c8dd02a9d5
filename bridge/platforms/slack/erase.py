"""`make forget … SLACK=1`: delete the bridge's own posts of a customer's staff threads."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


class ThreadEraser:
    """learning.forget's EraseThreads for Slack."""

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self._client = client
        self._channel = channel

    async def __call__(self, threads: list[str]) -> list[str]:
        done: list[str] = []
        for thread_ts in threads:
            done += await self._delete_thread(thread_ts)
        return done

    async def _delete_thread(self, thread_ts: str) -> list[str]:
        """The bridge's own posts in the thread (card, transcript, customer messages). Staff
        members' replies can only be deleted by them or a workspace admin."""
        slack, channel = self._client, self._channel
        try:
            found = await slack.conversations_replies(channel=channel, ts=thread_ts, limit=1000)
        except SlackApiError as exc:
            return [f"Slack thread {thread_ts}: not read ({exc.response.get('error')})"]
        messages = list(found.get("messages") or [])
        ours = [m for m in messages if m.get("bot_id")]
        # Replies first: deleting the card first would leave them orphaned in some clients.
        deleted = 0
        for message in sorted(ours, key=lambda m: m["ts"] == thread_ts):
            try:
                await slack.chat_delete(channel=channel, ts=message["ts"])
                deleted += 1
            except SlackApiError:
                pass
        left = len(messages) - deleted
        note = f"; {left} staff posts remain (delete them in Slack)" if left else ""
        return [f"deleted {deleted} bridge posts of Slack thread {thread_ts}{note}"]
