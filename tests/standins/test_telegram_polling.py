"""The Telegram stand-in's getUpdates, driven by the real python-telegram-bot: long polling,
offsets that confirm, redelivery of what was not confirmed, and Telegram's 409 Conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from standins.telegram import TelegramConfig, create_app
from standins.telegram.webhook import CONFLICT_POLL, CONFLICT_SET_WEBHOOK, CONFLICT_WEBHOOK
from tests.standins.test_telegram_standin import (
    CHAT,
    TOKEN,
    customer_says,
    get,
    make_bot,
    post,
)

# A poll that must not be answered by its timeout in these tests.
LONG = 30


@pytest.fixture
async def telegram(serve: Any) -> str:
    return await serve(create_app(TelegramConfig(retry_initial=0.01, retry_max=0.05)))


async def long_polling(base: str, eventually: Any) -> None:
    async def waiting() -> bool:
        return bool((await get(base, "/_test/delivery"))["long_polling"])

    await eventually(waiting, what="a getUpdates call waiting for an update")


async def statuses(base: str) -> list[tuple[str, int]]:
    return [(u["status"], u["attempts"]) for u in await get(base, "/_test/updates")]


async def test_a_long_poll_answers_as_soon_as_an_update_arrives(
    telegram: str, eventually: Any
) -> None:
    async with make_bot(telegram) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=LONG))
        await long_polling(telegram, eventually)
        sent = await customer_says(telegram, "is anyone there?")
        (update,) = await asyncio.wait_for(poll, 5)
    assert update.update_id == sent["update_id"]
    assert update.message is not None and update.message.text == "is anyone there?"
    assert update.message.chat.id == CHAT and update.message.from_user is not None


async def test_a_short_poll_with_nothing_waiting_is_empty(telegram: str) -> None:
    async with make_bot(telegram) as bot:
        assert await bot.get_updates(timeout=0) == ()


async def test_the_offset_confirms_and_what_is_unconfirmed_comes_again(telegram: str) -> None:
    first = await customer_says(telegram, "one")
    second = await customer_says(telegram, "two")
    async with make_bot(telegram) as bot:
        updates = await bot.get_updates()
        assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
        # Not confirmed yet: both come again, and count as pending.
        again = await bot.get_updates()
        assert [u.update_id for u in again] == [first["update_id"], second["update_id"]]
        assert await statuses(telegram) == [("pending", 2), ("pending", 2)]
        # An offset above the first confirms it (and only it).
        rest = await bot.get_updates(offset=first["update_id"] + 1)
        assert [u.update_id for u in rest] == [second["update_id"]]
        assert await statuses(telegram) == [("delivered", 2), ("pending", 3)]
        assert await bot.get_updates(offset=second["update_id"] + 1) == ()
        assert await statuses(telegram) == [("delivered", 2), ("delivered", 3)]
        assert (await bot.get_webhook_info()).pending_update_count == 0
        # Confirmed updates are gone for good, whatever offset is asked for later.
        assert await bot.get_updates(offset=1) == ()


async def test_limit_is_clamped_and_a_negative_offset_forgets_older_updates(
    telegram: str,
) -> None:
    ids = [(await customer_says(telegram, f"m{n}"))["update_id"] for n in range(4)]
    async with make_bot(telegram) as bot:
        assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
        assert [u.update_id for u in await bot.get_updates(limit=0)] == ids[:1]  # at least 1
        # -2: only the last two are kept; the earlier ones are forgotten.
        assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[2:]
    assert [u["status"] for u in await get(telegram, "/_test/updates")] == [
        "dropped",
        "dropped",
        "pending",
        "pending",
    ]


async def test_get_updates_is_refused_while_a_webhook_is_set(telegram: str, receiver: Any) -> None:
    _rec, url = receiver
    await customer_says(telegram, "hi")
    async with make_bot(telegram) as bot:
        await bot.set_webhook(f"{url}/telegram")
        with pytest.raises(Conflict) as refused:
            await bot.get_updates()
        assert refused.value.message == CONFLICT_WEBHOOK
        await bot.delete_webhook()
        # The update the webhook delivered is not handed out again.
        assert await bot.get_updates() == ()


async def test_a_second_poller_ends_the_first_with_a_conflict(
    telegram: str, eventually: Any
) -> None:
    async with make_bot(telegram) as first, make_bot(telegram) as second:
        earlier = asyncio.create_task(first.get_updates(timeout=LONG))
        await long_polling(telegram, eventually)
        later = asyncio.create_task(second.get_updates(timeout=LONG))
        with pytest.raises(Conflict) as ended:
            await asyncio.wait_for(earlier, 5)
        assert ended.value.message == CONFLICT_POLL
        assert "only one bot instance" in CONFLICT_POLL
        await long_polling(telegram, eventually)
        sent = await customer_says(telegram, "hello")
        (update,) = await asyncio.wait_for(later, 5)
        assert update.update_id == sent["update_id"]


async def test_setting_a_webhook_ends_a_long_poll(
    telegram: str, receiver: Any, eventually: Any
) -> None:
    rec, url = receiver
    async with make_bot(telegram) as poller, make_bot(telegram) as admin:
        poll = asyncio.create_task(poller.get_updates(timeout=LONG))
        await long_polling(telegram, eventually)
        await admin.set_webhook(f"{url}/telegram")
        with pytest.raises(Conflict) as ended:
            await asyncio.wait_for(poll, 5)
        assert ended.value.message == CONFLICT_SET_WEBHOOK
    # From now on updates go to the webhook.
    sent = await customer_says(telegram, "via the webhook")
    (received,) = await rec.wait_for(1)
    assert str(sent["update_id"]) in received.body.decode()


async def test_updates_polled_but_not_confirmed_go_to_a_webhook_set_later(
    telegram: str, receiver: Any
) -> None:
    rec, url = receiver
    sent = await customer_says(telegram, "handed out, never confirmed")
    async with make_bot(telegram) as bot:
        assert [u.update_id for u in await bot.get_updates()] == [sent["update_id"]]
        await bot.set_webhook(f"{url}/telegram")
    (received,) = await rec.wait_for(1)
    assert str(sent["update_id"]) in received.body.decode()


async def test_allowed_updates_filters_what_polling_hands_out(telegram: str) -> None:
    sent = await customer_says(telegram, "order 1")
    await post(
        telegram,
        "/_test/customer/edit",
        {"chat_id": CHAT, "message_id": sent["message_id"], "text": "order 2"},
    )
    thanks = await customer_says(telegram, "thanks")
    async with make_bot(telegram) as bot:
        updates = await bot.get_updates(allowed_updates=["message"])
        assert [u.update_id for u in updates] == [sent["update_id"], thanks["update_id"]]
        # The setting is kept for the next calls, as Telegram keeps it.
        assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in updates]
    assert [u["status"] for u in await get(telegram, "/_test/updates")] == [
        "pending",
        "filtered",
        "pending",
    ]


async def test_a_ptb_application_polling_the_stand_in_answers_and_confirms(
    telegram: str, eventually: Any
) -> None:
    """python-telegram-bot's own Updater: deleteWebhook, then getUpdates with offsets."""
    application = Application.builder().token(TOKEN).base_url(f"{telegram}/bot").build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, f"echo: {update.effective_message.text}"
        )

    application.add_handler(MessageHandler(filters.TEXT, echo))
    await customer_says(telegram, "sent before the bot started")
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=LONG)
        await application.start()
        await customer_says(telegram, "sent while it polls")

        async def echoed() -> bool:
            return len(await get(telegram, f"/_test/sent?chat_id={CHAT}")) == 2

        await eventually(echoed, what="both messages echoed")

        async def confirmed() -> bool:
            return [s for s, _ in await statuses(telegram)] == ["delivered", "delivered"]

        await eventually(confirmed, what="both updates confirmed by the next offset")
        await application.updater.stop()
        await application.stop()
    texts = [s["text"] for s in await get(telegram, f"/_test/sent?chat_id={CHAT}")]
    assert texts == ["echo: sent before the bot started", "echo: sent while it polls"]
