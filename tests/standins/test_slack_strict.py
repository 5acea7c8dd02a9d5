"""The Slack stand-in refuses what Slack refuses: calls without their scope (the bridge's bot
token has exactly the manifest's), malformed blocks, metadata and text, bad file uploads and
reaction names; and it threads and (silently) mis-threads posts as Slack does. Every refusal is
checked as a slack_sdk user sees it: SlackApiError.response["error"]."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.models import Channel, Conversation, Mode, RecentIntent
from bridge.platforms.slack import card, readback
from devstack.stack import LOCAL_SLACK, Stack
from standins.slack import SlackConfig, create_app
from standins.slack.api import METHODS
from standins.slack.scopes import BOT_TOKEN, NEEDS

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack-app-manifest.yml"
STAFF = "C0STAFF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Every Web API method the bridge calls (bridge/platforms/slack/*, bridge/deploy_check.py,
# tools/forget.py), and downloading the files staff attach (url_private).
BRIDGE_METHODS = {
    "auth.test",  # bolt's authorization, make check-deployment
    "conversations.info",  # make check-deployment
    "chat.postMessage",  # cards, thread posts, alerts
    "chat.update",  # the card's state
    "chat.getPermalink",  # a returning customer's earlier threads
    "chat.postEphemeral",  # "only staff may …" notices
    "chat.delete",  # tools/forget.py --slack
    "conversations.history",  # readback of the card (metadata)
    "conversations.replies",  # readback of thread posts, staff marks, forget
    "reactions.add",  # delivery receipts
    "users.info",  # staff names, guests and other organisations
    "usergroups.users.list",  # SLACK_STAFF_USERGROUP
    "files.getUploadURLExternal",  # files_upload_v2: a customer's file
    "files.completeUploadExternal",
}


def manifest_scopes() -> list[str]:
    return list(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])


@pytest.fixture
async def base(serve: Any) -> str:
    """A stand-in whose bot token has the manifest's scopes (the default)."""
    return str(await serve(create_app(SlackConfig(signing_secret="s"))))


def client(base: str, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=f"{base}/api/")


async def refused(call: Awaitable[Any]) -> dict[str, Any]:
    """Slack's answer to a refused call, as slack_sdk raises it."""
    with pytest.raises(SlackApiError) as refusal:
        await call
    return dict(refusal.value.response.data)


# ------------------------------------------------------------------------------------ scopes


def test_every_method_declares_the_scopes_it_needs() -> None:
    assert set(METHODS) <= set(NEEDS)
    assert BRIDGE_METHODS <= set(METHODS)


async def test_a_call_without_its_scope_is_missing_scope_with_needed_and_provided(
    serve: Any,
) -> None:
    base = await serve(create_app(SlackConfig(signing_secret="s", scopes=("chat:write",))))
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    posted = await bot.chat_postMessage(channel=STAFF, text="allowed")

    answer = await refused(bot.users_info(user="U0ALICE"))
    assert answer == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read",
        "provided": "chat:write",
    }
    answer = await refused(bot.conversations_replies(channel=STAFF, ts=posted["ts"]))
    assert (answer["error"], answer["needed"]) == ("missing_scope", "channels:history")
    # Staff tokens stand for people: they keep every scope.
    assert (await alice.users_info(user="U0BOB"))["user"]["name"] == "bob"


async def test_a_private_channel_needs_the_groups_scopes(serve: Any) -> None:
    scopes = ("chat:write", "channels:history", "channels:read")
    base = await serve(create_app(SlackConfig(signing_secret="s", scopes=scopes)))
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    private = (await alice.conversations_create(name="escalations", is_private=True))["channel"]
    assert private["is_private"] is True

    assert (await refused(bot.conversations_history(channel=private["id"])))["needed"] == (
        "groups:history"
    )
    assert (await refused(bot.conversations_info(channel=private["id"])))["needed"] == (
        "groups:read"
    )
    answer = await refused(bot.conversations_list(types="public_channel,private_channel"))
    assert answer["needed"] == "groups:read"
    public = await bot.conversations_list()
    assert [c["id"] for c in public["channels"]] == [STAFF]


async def test_the_manifest_does_not_let_the_bot_create_channels(base: str) -> None:
    answer = await refused(client(base).conversations_create(name="not-ours"))
    assert (answer["error"], answer["needed"]) == ("missing_scope", "channels:manage")
    assert answer["provided"] == ",".join(manifest_scopes())


async def test_the_manifest_scopes_allow_every_call_the_bridge_makes(base: str) -> None:
    """The bridge's calls, made with its token, shaped as the bridge shapes them."""
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/_test/calls") as before:
        assert await before.json() == {}

    assert (await bot.auth_test())["user_id"] == "U0BOT"
    assert (await bot.conversations_info(channel=STAFF))["channel"]["id"] == STAFF
    text, blocks = card.render(_worst_case_card(), ["<https://x.slack.com/p1|earlier>"])
    entries = ["slack:desk/1700000000000-0"]
    opened = await bot.chat_postMessage(
        channel=STAFF,
        text=text,
        blocks=blocks,
        metadata=readback.metadata(entries),
        unfurl_links=False,
        unfurl_media=False,
    )
    await bot.chat_update(channel=STAFF, ts=opened["ts"], text=text, blocks=blocks)
    await bot.chat_getPermalink(channel=STAFF, message_ts=opened["ts"])
    line = await bot.chat_postMessage(
        channel=STAFF, text="customer: hello", thread_ts=opened["ts"], metadata=None
    )
    await bot.chat_postEphemeral(
        channel=STAFF, user="U0GUEST", text="Only staff can do that", thread_ts=opened["ts"]
    )
    seen = await bot.conversations_history(channel=STAFF, include_all_metadata=True, limit=200)
    assert seen["messages"][0]["metadata"] == readback.metadata(entries)
    await bot.conversations_replies(channel=STAFF, ts=opened["ts"], inclusive=True, limit=1000)
    await bot.reactions_add(channel=STAFF, timestamp=line["ts"], name="white_check_mark")
    await bot.users_info(user="U0ALICE")
    await bot.usergroups_users_list(usergroup="S0SUPPORT")
    uploaded = await bot.files_upload_v2(
        channel=STAFF, thread_ts=opened["ts"], file=PNG, filename="photo.png", initial_comment="x"
    )
    staff_file = await alice.files_upload_v2(
        channel=STAFF, thread_ts=opened["ts"], file=PNG, filename="label.png"
    )
    async with aiohttp.ClientSession() as http:
        url = staff_file["file"]["url_private_download"]
        headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
        async with http.get(url, headers=headers) as response:
            assert await response.read() == PNG
    assert uploaded["file"]["name"] == "photo.png"
    await bot.chat_delete(channel=STAFF, ts=line["ts"])

    async with aiohttp.ClientSession() as http, http.get(f"{base}/_test/calls") as after:
        assert BRIDGE_METHODS <= set(await after.json())


def _worst_case_card() -> Conversation:
    """A card whose customer-written parts are as long as the bridge lets them be, and made
    of characters that escaping lengthens."""
    said = "&<>" * 100
    return Conversation(
        id="tg-" + "9" * 20,
        channel=Channel.TELEGRAM,
        external_id="9" * 20,
        display_name="&" * 128,  # Telegram: first and last name, 64 characters each
        mode=Mode.HUMAN,
        handoff_reason="customer_asked",
        trigger=said * 10,
        intents=tuple(RecentIntent(said, "nlu_fallback?", 0.5) for _ in range(5)),
        handoff_at_ms=1_700_000_000_000,
        language="de",
    )


async def test_the_stack_gives_the_bridge_exactly_the_manifest_scopes(tmp_path: Path) -> None:
    """The local Slack as devstack starts it for the whole desk (tests/desk, make run): the
    bridge's token has the manifest's scopes, and what the manifest does not grant is refused."""
    stack = Stack(tmp_path, local_telegram=False)
    assert LOCAL_SLACK["SLACK_BOT_TOKEN"] == BOT_TOKEN
    assert stack.services["bridge"].env["SLACK_BOT_TOKEN"] == BOT_TOKEN
    slack = stack.services["slack"]
    await asyncio.to_thread(slack.start)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{stack.slack_url}/_test/scopes") as response:
                scopes = await response.json()
        assert scopes["token"] == BOT_TOKEN
        assert scopes["scopes"] == manifest_scopes()
        assert scopes["source"] == str(MANIFEST)
        bot = client(stack.slack_url)
        assert (await refused(bot.conversations_create(name="x")))["error"] == "missing_scope"
    finally:
        await asyncio.to_thread(slack.stop)


# ------------------------------------------------------------------------------ text, blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(action_id: str, label: str = "Claim") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}}


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
        ([{"text": "no type"}], "missing required field: type [json-pointer:/blocks/0]"),
        (
            [_section("x" * 3001)],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([_section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
        ([{"type": "section"}], "must define either `text` or `fields` [json-pointer:/blocks/0]"),
        (
            [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
            "must be one of plain_text, mrkdwn [json-pointer:/blocks/0/text/type]",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}],
            "must be one of plain_text [json-pointer:/blocks/0/text/type]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [_button(f"b{n}") for n in range(26)]}],
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [_button("claim", "x" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [_button("a" * 256)]}],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [{"type": "actions", "elements": [_button("claim"), _button("claim")]}],
            "action_id must be unique in the block [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            [{"type": "actions", "elements": [{**_button("claim"), "value": "v" * 2001}]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{**_section("a"), "block_id": "card"}, {**_section("b"), "block_id": "card"}],
            "block_id must be unique in the message [json-pointer:/blocks/1/block_id]",
        ),
        (
            [{**_section("a"), "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        ([_section("x")] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
    ],
)
async def test_malformed_blocks_are_invalid_blocks_with_slack_s_reasons(
    base: str, blocks: list[dict[str, Any]], problem: str
) -> None:
    answer = await refused(client(base).chat_postMessage(channel=STAFF, text="x", blocks=blocks))
    assert answer["error"] == "invalid_blocks"
    assert problem in answer["errors"]
    assert f"[ERROR] {problem}" in answer["response_metadata"]["messages"]


async def test_blocks_that_are_no_array_are_invalid_blocks_format(base: str) -> None:
    web = client(base)
    for blocks in ('{"type": "divider"}', "not json"):
        answer = await refused(web.chat_postMessage(channel=STAFF, text="x", blocks=blocks))
        assert answer["error"] == "invalid_blocks_format"


async def test_a_refused_update_leaves_the_message_as_it_was(base: str) -> None:
    web = client(base)
    posted = await web.chat_postMessage(channel=STAFF, text="card", blocks=[_section("card")])
    bad = [{"type": "actions", "elements": [_button("claim"), _button("claim")]}]
    answer = await refused(web.chat_update(channel=STAFF, ts=posted["ts"], text="x", blocks=bad))
    assert answer["error"] == "invalid_blocks"
    assert (await refused(web.chat_update(channel=STAFF, ts=posted["ts"])))["error"] == "no_text"
    history = await web.conversations_history(channel=STAFF)
    assert history["messages"][0]["text"] == "card"
    assert history["messages"][0]["blocks"] == [_section("card")]


async def test_text_is_required_without_blocks_and_at_most_40000_characters(base: str) -> None:
    web = client(base)
    assert (await refused(web.chat_postMessage(channel=STAFF, text="")))["error"] == "no_text"
    too_long = web.chat_postMessage(channel=STAFF, text="x" * 40_001)
    assert (await refused(too_long))["error"] == "msg_too_long"
    ephemeral = web.chat_postEphemeral(channel=STAFF, user="U0ALICE", text="")
    assert (await refused(ephemeral))["error"] == "no_text"
    assert (await web.chat_postMessage(channel=STAFF, text="x" * 40_000))["ok"]
    only_blocks = await web.chat_postMessage(channel=STAFF, blocks=[{"type": "divider"}])
    assert only_blocks["ok"]


# ---------------------------------------------------------------------------------- metadata


async def test_malformed_metadata_is_invalid_metadata_format(base: str) -> None:
    web = client(base)
    malformed: list[Any] = [
        {"event_payload": {"a": 1}},  # no event_type
        {"event_type": "", "event_payload": {}},
        {"event_type": "delivery", "event_payload": ["not", "an", "object"]},
        "not json",
    ]
    for metadata in malformed:
        answer = await refused(web.chat_postMessage(channel=STAFF, text="x", metadata=metadata))
        assert answer["error"] == "invalid_metadata_format", metadata


async def test_metadata_with_an_invalid_event_type_is_ignored_with_a_warning(base: str) -> None:
    """docs.slack.dev/messaging/message-metadata: letters, numbers, underscores and hyphens;
    otherwise an invalid_metadata_schema warning, and the metadata is dropped."""
    web = client(base)
    metadata = {"event_type": "support.delivery", "event_payload": {"entries": "a"}}
    posted = await web.chat_postMessage(channel=STAFF, text="x", metadata=metadata)
    assert posted["response_metadata"]["warnings"] == ["invalid_metadata_schema"]
    history = await web.conversations_history(channel=STAFF, include_all_metadata=True)
    assert "metadata" not in history["messages"][0]
    fine = {"event_type": readback.DELIVERY_EVENT, "event_payload": {"entries": "a"}}
    await web.chat_postMessage(channel=STAFF, text="y", metadata=fine)
    history = await web.conversations_history(channel=STAFF, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == fine


# ---------------------------------------------------------------------------------- threads


async def test_a_reply_to_a_reply_goes_into_the_parent_s_thread(base: str) -> None:
    web = client(base)
    parent = await web.chat_postMessage(channel=STAFF, text="card")
    first = await web.chat_postMessage(channel=STAFF, text="one", thread_ts=parent["ts"])
    second = await web.chat_postMessage(channel=STAFF, text="two", thread_ts=first["ts"])
    assert second["message"]["thread_ts"] == parent["ts"]
    thread = await web.conversations_replies(channel=STAFF, ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["card", "one", "two"]


async def test_a_post_into_no_message_s_thread_succeeds_but_is_shown_nowhere(base: str) -> None:
    """Slack answers ok (chat.postMessage names no thread error) and the post shows neither in
    the channel nor in any thread (python-slack-sdk #840, node-slack-sdk #780)."""
    web = client(base)
    lost = await web.chat_postMessage(channel=STAFF, text="lost", thread_ts="1600000000.000100")
    assert lost["ok"] and lost["message"]["thread_ts"] == "1600000000.000100"
    history = await web.conversations_history(channel=STAFF)
    assert "lost" not in [m["text"] for m in history["messages"]]
    for ts in ("1600000000.000100", lost["ts"]):
        answer = await refused(web.conversations_replies(channel=STAFF, ts=ts))
        assert answer["error"] == "thread_not_found"
    await web.chat_delete(channel=STAFF, ts=lost["ts"])  # the post itself exists


# ------------------------------------------------------------------------------------ files


async def test_an_upload_url_needs_a_filename_and_a_length(base: str) -> None:
    web = client(base)

    async def ask(**params: Any) -> dict[str, Any]:
        return await refused(web.api_call("files.getUploadURLExternal", params=params))

    assert (await ask(length=3))["error"] == "invalid_arguments"
    assert (await ask(filename="a.txt"))["error"] == "invalid_arguments"
    assert (await ask(filename="a.txt", length="three"))["error"] == "invalid_arguments"
    assert (await ask(filename="a.txt", length=-1))["error"] == "invalid_arguments"
    # "missing_argument: ... Typically only occurs when the length provided is 0."
    assert (await ask(filename="a.txt", length=0))["error"] == "missing_argument"


async def test_completing_an_upload_checks_the_files_and_the_channel(base: str) -> None:
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    parent = await bot.chat_postMessage(channel=STAFF, text="card")
    got = await bot.files_getUploadURLExternal(filename="a.txt", length=3)
    file_id = got["file_id"]

    def complete(web: AsyncWebClient = bot, **kwargs: Any) -> Awaitable[Any]:
        return web.files_completeUploadExternal(**{"files": [{"id": file_id}], **kwargs})

    assert (await refused(complete()))["error"] == "file_not_found"  # no bytes yet
    async with aiohttp.ClientSession() as http:
        async with http.post(got["upload_url"], data=b"abc") as response:
            assert response.status == 200
    unknown = bot.files_completeUploadExternal(files=[{"id": "F0NOSUCH"}])
    assert (await refused(unknown))["error"] == "file_not_found"
    assert (await refused(complete(alice)))["error"] == "access_denied"  # not hers
    assert (await refused(complete(channel_id="C0NOSUCH")))["error"] == "channel_not_found"
    not_a_list = bot.api_call("files.completeUploadExternal", params={"files": '{"id": "F1"}'})
    assert (await refused(not_a_list))["error"] == "invalid_arguments"

    reply = await bot.chat_postMessage(channel=STAFF, text="one", thread_ts=parent["ts"])
    done = await complete(channel_id=STAFF, thread_ts=reply["ts"], initial_comment="here")
    assert done["files"][0]["id"] == file_id
    thread = await bot.conversations_replies(channel=STAFF, ts=parent["ts"])
    assert [m.get("subtype") for m in thread["messages"]] == [None, None, "file_share"]
    # "This method can only be called once."
    assert (await refused(complete(channel_id=STAFF)))["error"] == "file_not_found"


async def test_downloading_a_file_needs_files_read(serve: Any) -> None:
    scopes = ("chat:write", "files:write")
    base = await serve(create_app(SlackConfig(signing_secret="s", scopes=scopes)))
    uploaded = await client(base, "xoxp-U0ALICE").files_upload_v2(
        channel=STAFF, file=PNG, filename="label.png"
    )
    url = uploaded["file"]["url_private_download"]
    async with aiohttp.ClientSession() as http:
        for token, expected in ((BOT_TOKEN, "text/html"), ("xoxp-U0BOB", "image/png")):
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                # Slack's answer without the scope is a sign-in page, with HTTP 200.
                assert (response.status, response.content_type) == (200, expected)


# -------------------------------------------------------------------------------- reactions


async def test_reaction_names_are_emoji_names_without_colons(base: str) -> None:
    web = client(base)
    posted = await web.chat_postMessage(channel=STAFF, text="line")

    def react(name: str) -> Awaitable[Any]:
        return web.reactions_add(channel=STAFF, timestamp=posted["ts"], name=name)

    for name in (":white_check_mark:", "white check mark", "Lock", ""):
        assert (await refused(react(name)))["error"] == "invalid_name", name
    await react("white_check_mark")
    await react("thumbsup::skin-tone-2")
    assert (await refused(react("white_check_mark")))["error"] == "already_reacted"
    remove = web.reactions_remove(channel=STAFF, timestamp=posted["ts"], name="lock")
    assert (await refused(remove))["error"] == "no_reaction"
