"""The Telegram stand-in, driven by the real python-telegram-bot."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from standins.telegram import SECRET_HEADER, TelegramConfig, create_app

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret_1"
CHAT = 424242
# A 2x3 PNG (header only matters: the stand-in reads the size from it).
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + (2).to_bytes(4, "big")
    + (3).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
    + b"rest-of-image"
)


@pytest.fixture
async def telegram(serve: Any) -> str:
    return await serve(create_app(TelegramConfig(retry_initial=0.01, retry_max=0.05)))


def make_bot(base: str) -> Bot:
    return Bot(TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")


async def post(base: str, path: str, body: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession() as http, http.post(f"{base}{path}", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def get(base: str, path: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(f"{base}{path}") as resp:
        return await resp.json()


async def customer_says(base: str, text: str, chat_id: int = CHAT) -> Any:
    return await post(
        base, "/_test/customer/message", {"chat_id": chat_id, "text": text, "first_name": "Dana"}
    )


async def test_get_me_and_unknown_method(telegram: str) -> None:
    async with make_bot(telegram) as bot:
        assert bot.username == "northwind_support_bot"
        assert bot.id == 123456  # Telegram's bot id is the token's prefix
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{telegram}/bot{TOKEN}/sendSticker") as resp:
                assert resp.status == 404
                assert await resp.json() == {
                    "ok": False,
                    "error_code": 404,
                    "description": "Not Found: method not found",
                }


async def test_sent_message_with_keyboard_is_visible_and_tracks_edits(telegram: str) -> None:
    await customer_says(telegram, "hi")
    button = InlineKeyboardButton("Talk to a person", callback_data="human")
    keyboard = InlineKeyboardMarkup([[button]])
    async with make_bot(telegram) as bot:
        msg = await bot.send_message(CHAT, "How can I help?", reply_markup=keyboard)
        assert msg.text == "How can I help?" and msg.from_user.id == bot.id
        assert msg.reply_markup == keyboard and msg.chat.first_name == "Dana"
        second = await bot.send_message(CHAT, "<b>Bold</b> &amp; plain", parse_mode="HTML")
        await bot.edit_message_text("Connecting you…", chat_id=CHAT, message_id=msg.message_id)
        await bot.delete_message(CHAT, second.message_id)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Connecting you…", chat_id=CHAT, message_id=msg.message_id)

    sent = await get(telegram, f"/_test/sent?chat_id={CHAT}")
    assert [s["message_id"] for s in sent] == [msg.message_id, second.message_id]
    assert sent[0]["text"] == "Connecting you…" and sent[0]["edited"]
    assert sent[0]["reply_markup"] is None  # an edit without markup drops the keyboard
    assert sent[1]["text"] == "Bold & plain" and sent[1]["deleted"]


async def test_send_errors_match_telegram(telegram: str) -> None:
    async with make_bot(telegram) as bot:
        with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
            await bot.send_message(999, "nobody here")
        await customer_says(telegram, "hi")
        with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
            await bot.send_message(CHAT, "1 < 2 <b>ok</b>", parse_mode="HTML")
        await post(telegram, "/_test/customer/block", {"chat_id": CHAT})
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "still there?")


async def test_webhook_delivers_updates_with_secret_to_a_ptb_application(
    telegram: str, serve: Any, eventually: Any
) -> None:
    application = (
        Application.builder().token(TOKEN).base_url(f"{telegram}/bot").updater(None).build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, f"echo: {update.effective_message.text}"
        )

    application.add_handler(MessageHandler(filters.TEXT, echo))
    secrets_seen: list[str | None] = []

    async def webhook(request: web.Request) -> web.Response:
        secrets_seen.append(request.headers.get(SECRET_HEADER))
        await application.process_update(Update.de_json(await request.json(), application.bot))
        return web.Response()

    hook = web.Application()
    hook.router.add_post("/telegram", webhook)
    hook_url = await serve(hook) + "/telegram"

    async with application:
        # Updates that arrive before the webhook exists wait for it.
        await customer_says(telegram, "early bird")
        info = await application.bot.get_webhook_info()
        assert info.url == "" and info.pending_update_count == 1
        await application.bot.set_webhook(hook_url, secret_token=SECRET)
        await customer_says(telegram, "second")

        async def echoed() -> list[str]:
            return [s["text"] for s in await get(telegram, f"/_test/sent?chat_id={CHAT}")]

        async def both_echoed() -> bool:
            return len(await echoed()) == 2

        await eventually(both_echoed, what="the application to answer both messages")
        assert await echoed() == ["echo: early bird", "echo: second"]
        assert secrets_seen == [SECRET, SECRET]
        assert (await application.bot.get_webhook_info()).url == hook_url


async def test_failed_webhook_is_retried_in_order_until_delivered(
    telegram: str, receiver: Any, eventually: Any
) -> None:
    rec, url = receiver
    rec.fail_first = 2
    async with make_bot(telegram) as bot:
        await bot.set_webhook(f"{url}/telegram", secret_token=SECRET)
    first = await customer_says(telegram, "one")
    second = await customer_says(telegram, "two")
    received = await rec.wait_for(4)
    ids = [json.loads(r.body)["update_id"] for r in received]
    # The first update is retried until accepted; only then does the second go out.
    assert ids == [first["update_id"]] * 3 + [second["update_id"]]
    assert all(r.headers[SECRET_HEADER] == SECRET for r in received)

    async def settled() -> bool:
        updates = await get(telegram, "/_test/updates")
        return [(u["status"], u["attempts"]) for u in updates] == [
            ("delivered", 3),
            ("delivered", 1),
        ]

    await eventually(settled, what="both updates delivered")


async def test_button_tap_reaches_the_bot_and_can_be_answered(telegram: str, receiver: Any) -> None:
    rec, url = receiver
    await customer_says(telegram, "hi")
    async with make_bot(telegram) as bot:
        await bot.set_webhook(f"{url}/telegram", secret_token=SECRET)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
        msg = await bot.send_message(CHAT, "Close the conversation?", reply_markup=keyboard)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{telegram}/_test/customer/tap",
                json={"chat_id": CHAT, "message_id": msg.message_id, "data": "nope"},
            ) as resp:
                assert resp.status == 400  # no such button on the message
        tapped = await post(
            telegram,
            "/_test/customer/tap",
            {"chat_id": CHAT, "message_id": msg.message_id, "data": "yes"},
        )
        update = Update.de_json(json.loads((await rec.wait_for(2))[1].body), bot)
        assert update.callback_query is not None
        assert update.callback_query.data == "yes"
        assert update.callback_query.message.message_id == msg.message_id  # type: ignore[union-attr]
        await update.callback_query.answer("Done")
    answer = next(
        u for u in await get(telegram, "/_test/updates") if u["update_id"] == tapped["update_id"]
    )
    assert answer["callback_answer"]["text"] == "Done"


async def test_photos_both_ways_can_be_downloaded(telegram: str, receiver: Any) -> None:
    rec, url = receiver
    async with make_bot(telegram) as bot:
        await bot.set_webhook(f"{url}/telegram")
        await post(
            telegram,
            "/_test/customer/photo",
            {"chat_id": CHAT, "image_base64": base64.b64encode(PNG).decode(), "caption": "look"},
        )
        update = Update.de_json(json.loads((await rec.wait_for(1))[0].body), bot)
        assert update.message is not None and update.message.caption == "look"
        size = update.message.photo[-1]
        assert (size.width, size.height) == (2, 3)
        file = await size.get_file()
        assert bytes(await file.download_as_bytearray()) == PNG

        sent = await bot.send_photo(CHAT, photo=b"bot-image-bytes", caption="receipt")
        again = await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
        assert bytes(again) == b"bot-image-bytes"
    (record,) = await get(telegram, f"/_test/sent?chat_id={CHAT}")
    assert record["method"] == "sendPhoto" and record["text"] == "receipt"


# ptb warns about its own RetryAfter formatting; nothing for the stand-in to act on.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_and_injected_faults(serve: Any) -> None:
    base = await serve(create_app(TelegramConfig(rate_limit=True)))
    await customer_says(base, "hi")
    await customer_says(base, "hi", chat_id=CHAT + 1)
    async with make_bot(base) as bot:
        await bot.send_message(CHAT, "one")
        with pytest.raises(RetryAfter, match=r"Retry in 1(\.0)? seconds"):
            await bot.send_message(CHAT, "two")
        await bot.send_message(CHAT + 1, "other chats have their own budget")

        await post(
            base,
            "/_test/faults",
            {"method": "sendMessage", "status": 429, "count": 1, "retry_after": 7},
        )
        with pytest.raises(RetryAfter, match=r"Retry in 7(\.0)? seconds"):
            await bot.send_message(CHAT + 2, "x")
        await post(base, "/_test/faults", {"method": "getMe", "status": 502, "count": 1})
        with pytest.raises(NetworkError):
            await bot.get_me()
        assert (await bot.get_me()).username == "northwind_support_bot"


async def test_customer_edits_arrive_as_edited_message_updates(
    telegram: str, receiver: Any
) -> None:
    rec, url = receiver
    sent = await customer_says(telegram, "where is order 1234?")
    async with aiohttp.ClientSession() as http:
        for body, why in (
            ({"chat_id": CHAT, "message_id": 999, "text": "x"}, "message to edit not found"),
            ({"chat_id": CHAT, "message_id": sent["message_id"], "text": ""}, "non-empty"),
            (
                {"chat_id": CHAT, "message_id": sent["message_id"], "text": "where is order 1234?"},
                "message is not modified",
            ),
        ):
            async with http.post(f"{telegram}/_test/customer/edit", json=body) as resp:
                assert resp.status == 400 and why in (await resp.json())["error"]
    edit = await post(
        telegram,
        "/_test/customer/edit",
        {"chat_id": CHAT, "message_id": sent["message_id"], "text": "where is order 1235?"},
    )
    async with make_bot(telegram) as bot:
        # Only the kinds asked for are delivered: without edited_message the edit is dropped.
        await bot.set_webhook(f"{url}/telegram", secret_token=SECRET, allowed_updates=["message"])
        await customer_says(telegram, "thanks")
        delivered = await rec.wait_for(2)
        assert [json.loads(r.body).get("message", {}).get("text") for r in delivered] == [
            "where is order 1234?",
            "thanks",
        ]
        await bot.set_webhook(
            f"{url}/telegram", secret_token=SECRET, allowed_updates=["message", "edited_message"]
        )
        second = await post(
            telegram,
            "/_test/customer/edit",
            {"chat_id": CHAT, "message_id": sent["message_id"], "text": "order 1236, sorry"},
        )
        update = Update.de_json(json.loads((await rec.wait_for(3))[2].body), bot)
    assert update.update_id == second["update_id"] != edit["update_id"]
    assert update.edited_message is not None and update.message is None
    assert update.edited_message.message_id == sent["message_id"]
    assert update.edited_message.text == "order 1236, sorry"
    assert update.edited_message.edit_date is not None
    statuses = {u["update_id"]: u["status"] for u in await get(telegram, "/_test/updates")}
    assert statuses[edit["update_id"]] == "filtered"
