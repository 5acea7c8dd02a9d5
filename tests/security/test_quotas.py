"""Per-customer message quotas: a flood gets a clear answer and is not passed on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bridge import keys
from tests.desk.helpers import WidgetCustomer
from tests.reliability.conftest import Replicas
from tests.support import TelegramCustomer, eventually

QUOTA = {"WIDGET_MESSAGES_PER_MINUTE": "3", "TELEGRAM_MESSAGES_PER_MINUTE": "3"}


async def test_widget_flood_gets_rate_limited_frames(
    replicas_factory: Callable[..., Any],
) -> None:
    replicas: Replicas = await replicas_factory(15, count=1, events_to=0, env=QUOTA)
    async with WidgetCustomer(replicas.bridge_urls[0]) as customer:
        assert customer._ws is not None
        ids = [uuid.uuid4().hex for _ in range(5)]
        for n, client_msg_id in enumerate(ids):
            await customer._ws.send_json(
                {"type": "message", "text": f"flood {n}", "client_msg_id": client_msg_id}
            )

        def answered(frames: list[dict[str, Any]]) -> bool:
            return all(
                any(f.get("client_msg_id") == i and f["type"] in ("ack", "error") for f in frames)
                for i in ids
            )

        async def frames() -> list[dict[str, Any]]:
            return list(customer.frames)

        seen = await eventually(frames, answered, what="an answer to every message")
        outcome = {
            f["client_msg_id"]: f.get("code", f["type"])
            for f in seen
            if f["type"] in ("ack", "error") and "client_msg_id" in f
        }
        assert [outcome[i] for i in ids] == ["ack", "ack", "ack", "rate_limited", "rate_limited"]
        error = next(f for f in seen if f.get("code") == "rate_limited")
        assert "3 messages a minute" in error["message"]
    # Only the accepted messages are in the conversation.
    async with WidgetCustomer(replicas.bridge_urls[0], token=customer.token) as again:

        async def history() -> list[dict[str, Any]]:
            return [f for f in again.frames if f["type"] == "history"]

        frames = await eventually(history, bool, what="the history")
    texts = [m.get("text", "") for m in frames[0]["messages"]]
    assert [t for t in texts if t.startswith("flood")] == ["flood 0", "flood 1", "flood 2"]


async def test_telegram_flood_gets_one_polite_reply(
    replicas_factory: Callable[..., Any], chat_id: int
) -> None:
    replicas: Replicas = await replicas_factory(10, count=1, events_to=0, telegram=True, env=QUOTA)
    customer = TelegramCustomer(replicas.telegram_url, chat_id, first_name="Ola")
    for n in range(6):
        await customer.say(f"flood {n}")
    texts = await customer.wait_for(
        lambda t: "faster than we can take them" in t, "the polite reply"
    )
    await customer.say("flood 6")  # still over the quota: no second notice this minute
    redis = replicas.redis()
    transcript = await eventually(
        lambda: redis.xrange(keys.transcript(f"tg-{chat_id}")),
        lambda entries: any("faster than" in f.get("text", "") for _, f in entries),
        what="the notice in the transcript",
    )
    customer_lines = [f["text"] for _, f in transcript if f.get("role") == "customer"]
    assert customer_lines == ["flood 0", "flood 1", "flood 2"], customer_lines
    texts = await customer.texts()
    assert sum("faster than we can take them" in t for t in texts) == 1, texts
    await redis.aclose()
