"""The choice of Rasa server for a turn, and reading a saved turn back from a tracker."""

from __future__ import annotations

from collections import Counter

import aiohttp
import pytest

from bridge.models import HandoffReason
from bridge.rasa_client import MESSAGE_ID, replies_to
from bridge.rasa_servers import RasaServers, parse_urls, rendezvous
from bridge.settings import Settings, SettingsError

A, B, C = "http://rasa-a:5005", "http://rasa-b:5005", "http://rasa-c:5005"
CONVERSATIONS = [f"tg-{n}" for n in range(2000)]
SLACK = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL_ID": "C0X"}


def test_rasa_url_takes_one_address_or_several() -> None:
    assert parse_urls("http://rasa:5005/") == ["http://rasa:5005"]
    assert parse_urls(f" {A}/ ,{B},, {A}") == [A, B]
    assert Settings.from_env({**SLACK, "RASA_URL": f"{A}/, {B}/"}).rasa_url == f"{A},{B}"
    assert Settings.from_env({**SLACK, "RASA_URL": f"{A}/"}).rasa_url == A
    with pytest.raises(SettingsError, match="RASA_URL must be an http"):
        Settings.from_env({**SLACK, "RASA_URL": f"{A},rasa-b:5005"})


def test_a_conversation_always_prefers_the_same_server() -> None:
    for conversation in CONVERSATIONS[:50]:
        first = rendezvous(conversation, [A, B, C])
        assert rendezvous(conversation, [C, A, B]) == first  # not the configured order's
        assert sorted(first) == [A, B, C]


def test_conversations_spread_evenly() -> None:
    firsts = Counter(rendezvous(c, [A, B])[0] for c in CONVERSATIONS)
    assert 0.45 < firsts[A] / len(CONVERSATIONS) < 0.55


def test_losing_a_server_moves_only_its_own_conversations() -> None:
    before = {c: rendezvous(c, [A, B, C])[0] for c in CONVERSATIONS}
    after = {c: rendezvous(c, [A, B])[0] for c in CONVERSATIONS}
    moved = [c for c in CONVERSATIONS if before[c] != after[c]]
    assert moved and all(before[c] == C for c in moved)
    # ... and they spread over the servers left, each going to its second choice.
    assert {after[c] for c in moved} == {A, B}
    assert all(after[c] == rendezvous(c, [A, B, C])[1] for c in moved)


async def test_a_server_marked_down_is_tried_last_until_it_is_up_again() -> None:
    async with aiohttp.ClientSession() as http:
        servers = RasaServers(http, [A, B])
        on_a = next(c for c in CONVERSATIONS if rendezvous(c, [A, B])[0] == A)
        assert servers.order(on_a) == [A, B]
        servers.mark_down(A, "connection refused")
        assert servers.order(on_a) == [B, A]
        assert servers.healthy() == [B]
        servers.mark_up(A)
        assert servers.order(on_a) == [A, B]


async def test_a_health_check_marks_an_unreachable_server_down() -> None:
    async with aiohttp.ClientSession() as http:
        nowhere = "http://127.0.0.1:9"
        servers = RasaServers(http, [nowhere])
        assert servers.is_up(nowhere)
        assert not await servers.check(nowhere)
        assert not servers.is_up(nowhere)
        assert await servers.refuses(nowhere)


def _user(message_id: str, text: str) -> dict[str, object]:
    return {
        "event": "user",
        "text": text,
        "metadata": {"customer": None, MESSAGE_ID: message_id, "model_id": "m1"},
    }


def _bot(text: str | None, **data: object) -> dict[str, object]:
    empty = dict.fromkeys(("elements", "quick_replies", "buttons", "attachment", "image"))
    return {"event": "bot", "text": text, "data": {**empty, "custom": None, **data}}


# The shape of a tracker Rasa 3.6 saved (GET /conversations/<id>/tracker), trimmed.
TRACKER = [
    {"event": "action", "name": "action_listen"},
    _user("1-0", "which payment methods can I use?"),
    {"event": "action", "name": "action_route"},
    _bot("We accept Visa and PayPal."),
    _bot(None, custom={"turn": {"intent": "check_payment_methods", "outcome": "answer"}}),
    {"event": "slot", "name": "misses", "value": 0},
    {"event": "action", "name": "action_listen"},
    _user("2-0", "let me talk to a person"),
    _bot("Sure.", buttons=[{"title": "Yes", "payload": "/affirm"}]),
    _bot(None, custom={"handoff": {"reason": "explicit_request"}}),
    {"event": "action", "name": "action_listen"},
]


def test_a_saved_turn_is_read_back_as_rasa_answered_it() -> None:
    first = replies_to(TRACKER, "1-0")
    assert first is not None
    assert [r.text for r in first.replies] == ["We accept Visa and PayPal."]
    assert first.decision is not None and first.decision.intent == "check_payment_methods"
    assert first.handoff is None
    second = replies_to(TRACKER, "2-0")
    assert second is not None
    assert [(r.text, [b.payload for b in r.buttons]) for r in second.replies] == [
        ("Sure.", ["/affirm"])
    ]
    assert second.handoff is HandoffReason.EXPLICIT_REQUEST


def test_a_turn_rasa_never_saved_is_not_found() -> None:
    assert replies_to(TRACKER, "3-0") is None
    assert replies_to([], "1-0") is None
    # A message id in a bot event's metadata does not count: only the customer's message.
    assert (
        replies_to([{"event": "bot", "text": "x", "metadata": {MESSAGE_ID: "3-0"}}], "3-0") is None
    )


async def test_the_readiness_probe_passes_while_one_server_of_several_answers() -> None:
    from aiohttp import web

    from bridge.observability import probes

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"model_file": "current.tar.gz", "model_id": "m1"})

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/status", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    live, dead = f"http://127.0.0.1:{port}", "http://127.0.0.1:9"
    try:
        async with aiohttp.ClientSession() as http:
            one = await probes.rasa(http, live)
            assert "model current.tar.gz (m1)" in one
            detail = await probes.rasa(http, f"{dead},{live}")
            assert str(detail).startswith("1 of 2 Rasa servers up")
            assert dead in detail
            fields = getattr(detail, "fields", {})
            assert fields["model"] == {"file": "current.tar.gz", "model_id": "m1"}
            assert [s["ok"] for s in fields["servers"].values()] == [False, True]
            with pytest.raises(probes.ProbeFailed, match="no Rasa server usable"):
                await probes.rasa(http, f"{dead},http://127.0.0.1:7")
    finally:
        await runner.cleanup()
