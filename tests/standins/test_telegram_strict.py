"""The Telegram stand-in refuses what Telegram refuses, with Telegram's descriptions, as the real
python-telegram-bot raises them (it drops "Bad Request: " and capitalizes the rest)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from standins.telegram import TelegramConfig, create_app
from tests.standins.test_telegram_standin import CHAT, PNG, TOKEN, customer_says, make_bot, post


@pytest.fixture
async def telegram(serve: Any) -> str:
    base: str = await serve(create_app(TelegramConfig(retry_initial=0.01, retry_max=0.05)))
    await customer_says(base, "hi")  # CHAT talked to the bot: it may be written to
    return base


@pytest.fixture
async def bot(telegram: str) -> Any:
    async with make_bot(telegram) as started:
        yield started


def ptb(description: str) -> str:
    """What ptb's BadRequest.message is for Telegram's `description`."""
    return description.removeprefix("Bad Request: ").capitalize()


async def refused(call: Any, description: str) -> None:
    with pytest.raises(BadRequest) as error:
        await call
    assert error.value.message == ptb(description)


async def raw(base: str, method: str, **params: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/bot{TOKEN}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


def keyboard(**button: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(**button)]])


async def test_unknown_methods_and_missing_parameters(telegram: str) -> None:
    assert await raw(telegram, "sendSticker", chat_id=CHAT) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    # Method names are case-insensitive, as Telegram's are.
    status, body = await raw(telegram, "SENDMESSAGE", chat_id=CHAT, text="hi")
    assert status == 200 and body["ok"]
    for method, params, description in (
        ("sendMessage", {"chat_id": CHAT}, "Bad Request: message text is empty"),
        ("sendMessage", {"text": "hi"}, "Bad Request: chat_id is empty"),
        ("sendPhoto", {"chat_id": CHAT}, "Bad Request: there is no photo in the request"),
        ("sendDocument", {"chat_id": CHAT}, "Bad Request: there is no document in the request"),
        ("editMessageText", {"text": "x"}, "Bad Request: message identifier is not specified"),
        ("deleteMessage", {"message_id": 1}, "Bad Request: chat identifier is not specified"),
        ("deleteMessage", {"chat_id": CHAT}, "Bad Request: message identifier is not specified"),
        ("sendChatAction", {"chat_id": CHAT}, "Bad Request: wrong parameter action in request"),
    ):
        assert await raw(telegram, method, **params) == (
            400,
            {"ok": False, "error_code": 400, "description": description},
        ), (method, params)


async def test_message_text_limits(bot: Bot) -> None:
    await refused(bot.send_message(CHAT, ""), "Bad Request: message text is empty")
    await refused(bot.send_message(CHAT, " \n "), "Bad Request: message must be non-empty")
    await refused(bot.send_message(CHAT, "x" * 4097), "Bad Request: message is too long")
    assert (await bot.send_message(CHAT, "x" * 4096)).text == "x" * 4096
    # The limit counts what the customer sees: markup is not counted, UTF-16 units are.
    bold = "<b>" + "x" * 4096 + "</b>"
    assert len((await bot.send_message(CHAT, bold, parse_mode="HTML")).text or "") == 4096
    await refused(bot.send_message(CHAT, "😀" * 2049), "Bad Request: message is too long")
    await refused(
        bot.send_message(CHAT, "<b></b>", parse_mode="HTML"),
        "Bad Request: message must be non-empty",
    )


async def test_the_text_is_checked_before_the_chat(bot: Bot) -> None:
    await refused(bot.send_message(999, ""), "Bad Request: message text is empty")
    await refused(bot.send_message(999, "hello"), "Bad Request: chat not found")
    await refused(bot.send_chat_action(999, "typing"), "Bad Request: chat not found")


async def test_captions(bot: Bot) -> None:
    await refused(
        bot.send_photo(CHAT, PNG, caption="c" * 1025), "Bad Request: message caption is too long"
    )
    sent = await bot.send_photo(CHAT, PNG, caption="<i>" + "c" * 1024 + "</i>", parse_mode="HTML")
    assert sent.caption == "c" * 1024
    await refused(
        bot.send_document(CHAT, b"data", filename="a.txt", caption="<b>open", parse_mode="HTML"),
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    )


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        (
            "1 < 2",
            "HTML",
            "Bad Request: can't parse entities: Unexpected end of name token at byte offset 2",
        ),
        (
            "<blink>hi</blink>",
            "HTML",
            'Bad Request: can\'t parse entities: Unsupported start tag "blink" at byte offset 0',
        ),
        (
            "<b>bold <i>both</b></i>",
            "HTML",
            "Bad Request: can't parse entities: Unmatched end tag at byte offset 15, expected "
            '"</i>", found "</b>"',
        ),
        (
            "Order 1234 is on its way.",
            "MarkdownV2",
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'",
        ),
        (
            "*bold",
            "MarkdownV2",
            "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
        ),
        (
            "snake_case",
            "Markdown",
            "Bad Request: can't parse entities: Can't find end of the entity starting at byte "
            "offset 5",
        ),
        ("hi", "XML", "Bad Request: unsupported parse_mode"),
    ],
)
async def test_markup_that_telegram_cannot_parse(
    bot: Bot, text: str, parse_mode: str, description: str
) -> None:
    await refused(bot.send_message(CHAT, text, parse_mode=parse_mode), description)


async def test_markup_that_parses_shows_its_text(telegram: str, bot: Bot) -> None:
    for text, mode, seen in (
        ("<b>Bold</b> &amp; <a href='https://example.com'>link</a>", "HTML", "Bold & link"),
        ("*Order* 1234 is on its way\\.", "MarkdownV2", "Order 1234 is on its way."),
        ("_Ana_ [here](https://example.com/a\\)b)", "MarkdownV2", "Ana here"),
        ("*bold* `code_x`", "Markdown", "bold code_x"),
        ("<b>not markup</b>", None, "<b>not markup</b>"),
    ):
        assert (await bot.send_message(CHAT, text, parse_mode=mode)).text == seen


async def test_inline_keyboards(bot: Bot, telegram: str) -> None:
    ok = await bot.send_message(
        CHAT, "pick", reply_markup=keyboard(text="Yes", callback_data="y" * 64)
    )
    assert ok.reply_markup is not None
    for markup, description in (
        (keyboard(text="Yes", callback_data="y" * 65), "Bad Request: BUTTON_DATA_INVALID"),
        # 64 bytes, not characters.
        (keyboard(text="Oui", callback_data="é" * 33), "Bad Request: BUTTON_DATA_INVALID"),
        (keyboard(text=" ", callback_data="y"), "Bad Request: BUTTON_TEXT_INVALID"),
        (
            keyboard(text="Yes"),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (
            keyboard(text="Shop", url="http://localhost:8080/orders"),
            "Bad Request: inline keyboard button URL 'http://localhost:8080/orders' is invalid: "
            "Wrong HTTP URL",
        ),
        (
            keyboard(text="Shop", url="not-a-url"),
            "Bad Request: inline keyboard button URL 'not-a-url' is invalid: Wrong HTTP URL",
        ),
        (
            keyboard(text="Files", url="ftp://example.com/x"),
            "Bad Request: inline keyboard button URL 'ftp://example.com/x' is invalid: "
            "Unsupported URL protocol",
        ),
    ):
        await refused(bot.send_message(CHAT, "pick", reply_markup=markup), description)
    link = await bot.send_message(
        CHAT, "see", reply_markup=keyboard(text="Shop", url="https://shop.example.com/o/1")
    )
    assert link.reply_markup is not None
    for reply_markup, description in (
        ("{not json", "Bad Request: can't parse reply keyboard markup JSON object"),
        ("[1]", "Bad Request: object expected as reply markup"),
        (
            '{"inline_keyboard": [{"text": "x"}]}',
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array '
            "of Arrays",
        ),
        (
            '{"inline_keyboard": [[{"callback_data": "x"}]]}',
            "Bad Request: can't parse inline keyboard button: Can't find field \"text\"",
        ),
        (
            '{"inline_keyboard": [["x"]]}',
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an "
            "Object",
        ),
    ):
        status, body = await raw(
            telegram, "sendMessage", chat_id=CHAT, text="pick", reply_markup=reply_markup
        )
        assert (status, body["description"]) == (400, description), reply_markup


async def test_edits(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Connecting you…")
    photo = await bot.send_photo(CHAT, PNG, caption="receipt")
    await refused(
        bot.edit_message_text("Connecting you…", chat_id=CHAT, message_id=sent.message_id),
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    await refused(
        bot.edit_message_text("x", chat_id=CHAT, message_id=sent.message_id + 100),
        "Bad Request: message to edit not found",
    )
    await refused(
        bot.edit_message_text("x", chat_id=CHAT, message_id=photo.message_id),
        "Bad Request: there is no text in the message to edit",
    )
    await refused(
        bot.edit_message_caption(chat_id=CHAT, message_id=sent.message_id, caption="x"),
        "Bad Request: there is no caption in the message to edit",
    )
    await refused(
        bot.edit_message_text("", chat_id=CHAT, message_id=sent.message_id),
        "Bad Request: message text is empty",
    )
    edited = await bot.edit_message_text("Alice: hi", chat_id=CHAT, message_id=sent.message_id)
    assert edited.text == "Alice: hi"  # type: ignore[union-attr]
    uncaptioned = await bot.edit_message_caption(chat_id=CHAT, message_id=photo.message_id)
    assert uncaptioned.caption is None  # type: ignore[union-attr]
    assert await bot.delete_message(CHAT, sent.message_id)
    await refused(
        bot.delete_message(CHAT, sent.message_id), "Bad Request: message to delete not found"
    )


async def test_callback_queries_are_answered_once(telegram: str, bot: Bot) -> None:
    msg = await bot.send_message(
        CHAT, "Close?", reply_markup=keyboard(text="Yes", callback_data="y")
    )
    tapped = await post(
        telegram,
        "/_test/customer/tap",
        {"chat_id": CHAT, "message_id": msg.message_id, "data": "y"},
    )
    old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    await refused(bot.answer_callback_query("12345"), old)
    assert await bot.answer_callback_query(tapped["callback_query_id"])
    await refused(bot.answer_callback_query(tapped["callback_query_id"]), old)


async def test_webhooks(bot: Bot) -> None:
    # The stand-in calls http on loopback (the bridge under test has no TLS); Telegram would not.
    assert await bot.set_webhook("http://127.0.0.1:9/telegram", secret_token="a-Z_09")
    for url, secret, description in (
        (
            "http://support.example.com/telegram",
            "",
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            "https://support.example.com:8080/telegram",
            "",
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("support", "", "Bad Request: invalid webhook URL specified"),
        (
            "https://support.example.com/telegram",
            "not secret!",
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            "https://support.example.com/telegram",
            "s" * 257,
            "Bad Request: secret token is too long",
        ),
    ):
        await refused(bot.set_webhook(url, secret_token=secret or None), description)
    assert (await bot.get_webhook_info()).url == "http://127.0.0.1:9/telegram"
    assert await bot.set_webhook("https://support.example.com:8443/telegram")
