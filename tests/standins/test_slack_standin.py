"""The Slack stand-in, driven by the real slack_sdk and slack-bolt clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack import SlackConfig, create_app

SECRET = "test-signing-secret"
FAST_RETRIES = (0.01, 0.01, 0.01)


@pytest.fixture
async def slack(serve: Any, receiver: Any) -> tuple[str, Any]:
    rec, url = receiver
    config = SlackConfig(
        signing_secret=SECRET, events_url=f"{url}/slack/events", retry_delays=FAST_RETRIES
    )
    return await serve(create_app(config)), rec


def client(base: str, token: str = "xoxb-local") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=f"{base}/api/")


def verified(received: Any) -> dict[str, Any]:
    """The request body, after checking Slack's signature the way a receiver must."""
    assert SignatureVerifier(SECRET).is_valid_request(received.body, received.headers)
    return json.loads(received.body)


async def test_bot_post_arrives_as_signed_message_event(slack: Any) -> None:
    base, rec = slack
    posted = await client(base).chat_postMessage(channel="C0STAFF", text="New conversation")
    assert posted["ok"] and posted["channel"] == "C0STAFF"
    assert posted["message"]["bot_id"] == "B0LOCAL" and posted["message"]["user"] == "U0BOT"

    body = verified((await rec.wait_for(1))[0])
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")
    assert body["team_id"] == "T0LOCAL"
    event = body["event"]
    assert event["type"] == "message" and event["channel"] == "C0STAFF"
    assert (event["user"], event["bot_id"], event["text"]) == (
        "U0BOT",
        "B0LOCAL",
        "New conversation",
    )
    assert event["ts"] == posted["ts"] and event["channel_type"] == "channel"


async def test_staff_reply_threads_under_the_parent(slack: Any) -> None:
    base, rec = slack
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    parent = await bot.chat_postMessage(channel="C0STAFF", text="Customer asks for a refund")
    other = await bot.chat_postMessage(channel="C0STAFF", text="Another customer")
    reply = await alice.chat_postMessage(
        channel="C0STAFF", thread_ts=parent["ts"], text="I'll take it"
    )
    assert float(parent["ts"]) < float(other["ts"]) < float(reply["ts"])

    event = verified((await rec.wait_for(3))[2])["event"]
    assert event["user"] == "U0ALICE" and event["thread_ts"] == parent["ts"]
    assert "bot_id" not in event and "subtype" not in event

    replies = await bot.conversations_replies(channel="C0STAFF", ts=parent["ts"])
    texts = [m["text"] for m in replies["messages"]]
    assert texts == ["Customer asks for a refund", "I'll take it"]
    assert replies["messages"][0]["reply_count"] == 1
    assert replies["messages"][0]["latest_reply"] == reply["ts"]

    history = await bot.conversations_history(channel="C0STAFF", limit=10)
    assert [m["text"] for m in history["messages"]] == [
        "Another customer",
        "Customer asks for a refund",
    ]
    limited = await bot.conversations_history(channel="C0STAFF", limit=1)
    assert len(limited["messages"]) == 1 and limited["has_more"]


async def test_tokens_identify_bot_and_staff(slack: Any) -> None:
    base, _ = slack
    me = await client(base).auth_test()
    assert (me["user_id"], me["bot_id"], me["user"], me["team_id"]) == (
        "U0BOT",
        "B0LOCAL",
        "support-bridge",
        "T0LOCAL",
    )
    bob = await client(base, "xoxp-U0BOB").auth_test()
    assert bob["user_id"] == "U0BOB" and "bot_id" not in bob
    assert (await client(base).users_info(user="U0ALICE"))["user"]["real_name"] == "Alice"
    info = await client(base).conversations_info(channel="C0STAFF")
    assert info["channel"]["name"] == "support"

    for token, error in (("xoxp-U0NOBODY", "invalid_auth"), ("nonsense", "invalid_auth")):
        with pytest.raises(SlackApiError) as exc:
            await client(base, token).auth_test()
        assert exc.value.response["error"] == error
    with pytest.raises(SlackApiError) as exc:
        await client(base).chat_postMessage(channel="C0MISSING", text="hi")
    assert exc.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as exc:
        await client(base).api_call("chat.unfurl")
    assert exc.value.response["error"] == "unknown_method"


async def test_bolt_app_sees_staff_messages_and_ignores_its_own(serve: Any, receiver: Any) -> None:
    rec, url = receiver
    base = await serve(
        create_app(SlackConfig(signing_secret=SECRET, events_url=f"{url}/slack/events"))
    )
    bolt = AsyncApp(
        token="xoxb-local",
        signing_secret=SECRET,
        client=AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/"),
    )
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @bolt.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        await seen.put(event)

    async def to_bolt(request: web.Request, _body: bytes) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    rec.handler = to_bolt
    bot = client(base)
    parent = await bot.chat_postMessage(channel="C0STAFF", text="from the bridge itself")
    await client(base, "xoxp-U0BOB").chat_postMessage(
        channel="C0STAFF", thread_ts=parent["ts"], text="hello from Bob"
    )

    event = await asyncio.wait_for(seen.get(), 5)
    # Events arrive in order, so the bot's own message was dispatched (and ignored) first.
    assert (event["user"], event["text"]) == ("U0BOB", "hello from Bob")
    assert seen.empty()


async def test_api_answers_before_delivery_and_events_keep_order(slack: Any) -> None:
    base, rec = slack
    rec.gate = asyncio.Event()  # the receiver hangs until released
    bot = client(base)
    for n in range(5):
        await bot.chat_postMessage(channel="C0STAFF", text=f"message {n}")
    assert rec.requests == []
    rec.gate.set()
    received = await rec.wait_for(5)
    assert [verified(r)["event"]["text"] for r in received] == [f"message {n}" for n in range(5)]


async def test_failed_delivery_is_retried_with_slack_retry_headers(
    slack: Any, eventually: Any
) -> None:
    base, rec = slack
    rec.fail_first = 2
    await client(base).chat_postMessage(channel="C0STAFF", text="retry me")
    first, second, third = await rec.wait_for(3)
    assert verified(first)["event_id"] == verified(third)["event_id"]
    assert "X-Slack-Retry-Num" not in first.headers
    assert (second.headers["X-Slack-Retry-Num"], second.headers["X-Slack-Retry-Reason"]) == (
        "1",
        "http_error",
    )
    assert third.headers["X-Slack-Retry-Num"] == "2"

    async def delivered() -> bool:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/_test/deliveries") as r:
            records = await r.json()
        return records[0]["status"] == "delivered" and records[0]["attempts"] == 3

    await eventually(delivered, what="delivery recorded as delivered after 3 attempts")


async def test_delivery_gives_up_after_three_retries(slack: Any, eventually: Any) -> None:
    base, rec = slack
    rec.fail_first = 100
    await client(base).chat_postMessage(channel="C0STAFF", text="nobody home")
    await rec.wait_for(4)

    async def failed() -> bool:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/_test/deliveries") as r:
            return (await r.json())[0]["status"] == "failed"

    await eventually(failed, what="delivery marked failed")
    assert len(rec.requests) == 4


async def test_rate_limit_is_per_channel_with_retry_after(serve: Any) -> None:
    base = await serve(create_app(SlackConfig(signing_secret=SECRET, rate_limit=True)))
    bot = client(base)
    parent = await bot.chat_postMessage(channel="C0STAFF", text="one")
    with pytest.raises(SlackApiError) as exc:
        # A thread reply shares its channel's budget.
        await bot.chat_postMessage(channel="C0STAFF", thread_ts=parent["ts"], text="two")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    assert int(exc.value.response.headers["Retry-After"]) >= 1
    other = await bot.conversations_create(name="escalations")
    assert (await bot.chat_postMessage(channel=other["channel"]["id"], text="ok"))["ok"]


async def test_injected_faults_fail_the_next_calls(slack: Any) -> None:
    base, _ = slack
    async with aiohttp.ClientSession() as http:
        await http.post(
            f"{base}/_test/faults", json={"method": "chat.postMessage", "status": 500, "count": 1}
        )
    bot = client(base)
    with pytest.raises(SlackApiError) as exc:
        await bot.chat_postMessage(channel="C0STAFF", text="first")
    assert exc.value.response.status_code == 500
    assert (await bot.chat_postMessage(channel="C0STAFF", text="second"))["ok"]


async def test_update_delete_and_reactions(slack: Any) -> None:
    base, rec = slack
    bot, alice = client(base), client(base, "xoxp-U0ALICE")
    posted = await bot.chat_postMessage(channel="C0STAFF", text="draft")
    await bot.chat_update(channel="C0STAFF", ts=posted["ts"], text="final")
    with pytest.raises(SlackApiError) as exc:
        await alice.chat_update(channel="C0STAFF", ts=posted["ts"], text="hijack")
    assert exc.value.response["error"] == "cant_update_message"

    await alice.reactions_add(channel="C0STAFF", timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError) as exc:
        await alice.reactions_add(channel="C0STAFF", timestamp=posted["ts"], name="eyes")
    assert exc.value.response["error"] == "already_reacted"
    history = await bot.conversations_history(channel="C0STAFF")
    message = history["messages"][0]
    assert message["text"] == "final"
    assert message["reactions"] == [{"name": "eyes", "users": ["U0ALICE"], "count": 1}]

    events = [verified(r)["event"] for r in await rec.wait_for(3)]
    assert events[1]["subtype"] == "message_changed"
    assert events[2]["type"] == "reaction_added" and events[2]["user"] == "U0ALICE"
    assert events[2]["item"] == {"type": "message", "channel": "C0STAFF", "ts": posted["ts"]}

    await bot.chat_delete(channel="C0STAFF", ts=posted["ts"])
    assert (await bot.conversations_history(channel="C0STAFF"))["messages"] == []


async def test_button_click_is_a_signed_block_actions_request(slack: Any) -> None:
    base, rec = slack
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Customer waiting"}},
        {
            "type": "actions",
            "block_id": "conv",
            "elements": [
                {
                    "type": "button",
                    "action_id": "close",
                    "value": "conv-1",
                    "text": {"type": "plain_text", "text": "Close"},
                }
            ],
        },
    ]
    posted = await client(base).chat_postMessage(
        channel="C0STAFF", text="Customer waiting", blocks=blocks
    )
    await rec.wait_for(1)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/_test/interact",
            json={
                "user": "U0ALICE",
                "action_id": "close",
                "value": "conv-1",
                "block_id": "conv",
                "channel": "C0STAFF",
                "message_ts": posted["ts"],
            },
        ) as resp:
            assert (await resp.json())["status"] == 200
        click = rec.requests[1]
        assert SignatureVerifier(SECRET).is_valid_request(click.body, click.headers)
        assert click.headers["Content-Type"] == "application/x-www-form-urlencoded"
        payload = json.loads(parse_qs(click.body.decode())["payload"][0])
        assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ALICE"
        assert payload["actions"][0]["action_id"] == "close"
        assert payload["actions"][0]["value"] == "conv-1"
        assert payload["container"]["message_ts"] == posted["ts"]

        # The button's response_url rewrites the message, as bolt's respond() does.
        async with http.post(
            payload["response_url"], json={"replace_original": True, "text": "Closed by Alice"}
        ) as r:
            assert (await r.json())["ok"]
    history = await client(base).conversations_history(channel="C0STAFF")
    assert history["messages"][0]["text"] == "Closed by Alice"


async def test_staff_page_lists_threads(slack: Any) -> None:
    base, _ = slack
    bot = client(base)
    parent = await bot.chat_postMessage(channel="C0STAFF", text="a &lt;b&gt; c")
    await client(base, "xoxp-U0BOB").chat_postMessage(
        channel="C0STAFF", thread_ts=parent["ts"], text="on it"
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as resp:
            page = await resp.text()
            assert resp.content_type == "text/html"
        async with http.get(f"{base}/_test/threads") as resp:
            threads = await resp.json()
    assert "<script" in page and "src=" not in page  # no external assets
    assert threads["channel"] == {"id": "C0STAFF", "name": "support"}
    assert [(s["id"], s["name"]) for s in threads["staff"]] == [
        ("U0ALICE", "Alice"),
        ("U0BOB", "Bob"),
        ("U0GUEST", "Gita (guest)"),
        ("U0PARTNER", "Omar (Acme Logistics)"),
    ]
    (thread,) = threads["threads"]
    assert thread["parent"]["text"] == "a &lt;b&gt; c"
    assert [r["text"] for r in thread["replies"]] == ["on it"]


async def test_users_show_who_is_a_guest_or_from_another_organisation(slack: Any) -> None:
    base, _ = slack
    bot = client(base)

    async def user(user_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await bot.users_info(user=user_id))["user"]
        return found

    def flags(u: dict[str, Any]) -> tuple[Any, ...]:
        return (u["team_id"], u["is_restricted"], u["is_ultra_restricted"], u["is_bot"])

    assert flags(await user("U0ALICE")) == ("T0LOCAL", False, False, False)
    assert flags(await user("U0GUEST")) == ("T0LOCAL", True, False, False)
    partner = await user("U0PARTNER")
    assert flags(partner) == ("T0PARTNER", False, False, False)
    assert partner["profile"]["team"] == "T0PARTNER" and not partner["deleted"]
    assert flags(await user("U0BOT")) == ("T0LOCAL", False, False, True)
    with pytest.raises(SlackApiError) as exc:
        await user("U0NOBODY")
    assert exc.value.response["error"] == "user_not_found"

    # A member of the partner organisation posts with their own team on the message.
    posted = await client(base, "xoxp-U0PARTNER").chat_postMessage(channel="C0STAFF", text="hi")
    assert (posted["message"]["team"], posted["message"]["user_team"]) == ("T0PARTNER",) * 2

    assert (await bot.usergroups_users_list(usergroup="S0SUPPORT"))["users"] == ["U0ALICE"]
    for group, error in (("S0NONE", "no_such_subteam"), ("", "invalid_arguments")):
        with pytest.raises(SlackApiError) as exc:
            await bot.usergroups_users_list(usergroup=group)
        assert exc.value.response["error"] == error


async def test_ephemeral_messages_reach_only_their_user_and_no_history(slack: Any) -> None:
    base, rec = slack
    bot = client(base)
    parent = await bot.chat_postMessage(channel="C0STAFF", text="a thread")
    await rec.wait_for(1)
    shown = await bot.chat_postEphemeral(
        channel="C0STAFF", user="U0GUEST", text="only for you", thread_ts=parent["ts"]
    )
    assert shown["message_ts"]
    for kwargs, error in (
        ({"channel": "C0MISSING", "user": "U0GUEST", "text": "x"}, "channel_not_found"),
        ({"channel": "C0STAFF", "user": "U0NOBODY", "text": "x"}, "user_not_in_channel"),
        ({"channel": "C0STAFF", "user": "U0GUEST", "text": ""}, "no_text"),
        ({"channel": "C0STAFF", "user": "U0GUEST", "text": "x" * 40_001}, "msg_too_long"),
    ):
        with pytest.raises(SlackApiError) as exc:
            await bot.chat_postEphemeral(**kwargs)
        assert exc.value.response["error"] == error, kwargs

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/_test/ephemeral", params={"user": "U0GUEST"}) as resp:
            guest = (await resp.json())["messages"]
        async with http.get(f"{base}/_test/ephemeral", params={"user": "U0ALICE"}) as resp:
            alice = (await resp.json())["messages"]
    assert [(m["text"], m["thread_ts"], m["bot_id"]) for m in guest] == [
        ("only for you", parent["ts"], "B0LOCAL")
    ]
    assert alice == []
    # Never in the channel's history or thread, and no event for it.
    replies = await bot.conversations_replies(channel="C0STAFF", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["a thread"]
    assert len(rec.requests) == 1
