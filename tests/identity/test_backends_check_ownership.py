"""Both commerce backends refuse another customer's order (issue 13): the demo one directly, and
the HTTP adapter against the local shop API that follows docs/commerce-api.yaml."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from actions.backend.base import (
    CommerceBackend,
    Customer,
    NotFound,
    OrderProof,
    Refused,
    TooManyAttempts,
)
from actions.backend.demo import DemoBackend
from actions.backend.http import HttpBackend
from devstack.processes import ROOT, free_port
from standins.shop.app import create_app

KEY = "assistant-key"
ANA = Customer("c-ana", "ana@example.com")
TOM = Customer("c-tom", "tom@example.com")


@pytest.fixture
async def shop_api(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    database = tmp_path / "shop.sqlite3"
    runner = web.AppRunner(create_app(database, KEY))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", database
    await runner.cleanup()


@pytest.fixture(params=["demo", "http"])
def backend(
    request: pytest.FixtureRequest, shop_api: tuple[str, Path]
) -> tuple[CommerceBackend, DemoBackend]:
    """The backend under test, and the demo database behind it (to look at what changed)."""
    url, database = shop_api
    behind = DemoBackend(database)
    if request.param == "demo":
        return behind, behind
    return HttpBackend(url, KEY), behind


async def call(function: Callable[..., Any], *args: Any) -> Any:
    # The HTTP adapter blocks (the action server runs it in a thread); the shop API is served
    # by this event loop.
    return await asyncio.to_thread(function, *args)


async def test_an_owner_sees_and_changes_their_order(
    backend: tuple[CommerceBackend, DemoBackend],
) -> None:
    shop, db = backend
    assert (await call(shop.order, "10234", ANA)).items == "2 × linen shirt"
    assert (await call(shop.cancel_order, "10234", ANA)).status == "cancelled"
    assert any("10234 is cancelled" in subject for subject, _ in db.sent_emails(ANA.email))


async def test_nobody_else_reaches_an_order(backend: tuple[CommerceBackend, DemoBackend]) -> None:
    shop, db = backend
    attempts: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (shop.order, ("10234", TOM)),
        (shop.cancel_order, ("10234", TOM)),
        (shop.change_address, ("10234", "1 Thief Lane", TOM)),
        (shop.refund, ("10236", TOM)),
        (shop.request_refund, ("10236", TOM)),
        (shop.invoice_url, ("10234", TOM)),
        (shop.order, ("10234", OrderProof("10234", "tom@example.com"))),
        (shop.order, ("10235", OrderProof("10234", "ana@example.com"))),  # proof of another
    ]
    for function, args in attempts:
        with pytest.raises(NotFound):
            await call(function, *args)
    assert (await call(db.order, "10234", ANA)).status == "processing"
    assert db.sent_emails(ANA.email) == []


async def test_a_visitor_proves_one_order_by_its_email_or_postcode(
    backend: tuple[CommerceBackend, DemoBackend],
) -> None:
    shop, _ = backend
    by_postcode = await call(shop.prove_order, "10234", " ls1 4ab ", "web:10.0.0.1")
    assert (await call(shop.order, "10234", by_postcode)).number == "10234"
    with pytest.raises(NotFound):  # a wrong secret and a missing order look the same
        await call(shop.prove_order, "10234", "tom@example.com", "web:10.0.0.1")
    with pytest.raises(NotFound):
        await call(shop.prove_order, "10299", "tom@example.com", "web:10.0.0.1")


async def test_failed_checks_run_out_per_source(
    backend: tuple[CommerceBackend, DemoBackend],
) -> None:
    shop, _ = backend
    for _ in range(5):
        with pytest.raises(NotFound):
            await call(shop.prove_order, "10235", "guess@example.com", "web:10.0.0.9")
    with pytest.raises(TooManyAttempts):  # even the right answer, from that source
        await call(shop.prove_order, "10235", "tom@example.com", "web:10.0.0.9")
    await call(shop.prove_order, "10235", "tom@example.com", "web:10.0.0.10")  # another source


async def test_refusals_and_emails_say_nothing_secret(
    backend: tuple[CommerceBackend, DemoBackend],
) -> None:
    shop, db = backend
    with pytest.raises(Refused, match="shipped"):
        await call(shop.cancel_order, "10235", TOM)
    assert await call(shop.send_password_reset, "ana@example.com") is None  # no link back
    await call(shop.send_password_reset, "nobody@example.com")
    assert [s for s, _ in db.sent_emails("ana@example.com")] == ["Reset your Northwind password"]
    assert db.sent_emails("nobody@example.com") == []


async def test_the_shop_api_is_as_strict_as_its_contract(shop_api: tuple[str, Path]) -> None:
    url, _ = shop_api
    async with aiohttp.ClientSession() as http:

        async def status(method: str, path: str, headers: dict[str, str], body: Any = None) -> int:
            async with http.request(method, url + path, headers=headers, json=body) as r:
                return r.status

        key = {"Authorization": f"Bearer {KEY}"}
        assert await status("GET", "/orders/10234", {"X-Customer-Id": "c-ana"}) == 401
        assert await status("GET", "/orders/10234", key) == 400  # who is asking?
        assert await status("GET", "/orders/1x2", {**key, "X-Customer-Id": "c-ana"}) == 400
        assert await status("GET", "/orders/10234", {**key, "X-Customer-Id": "c-tom"}) == 404
        assert await status("POST", "/orders/10234/checks", key, {"secret": ""}) == 400
        assert await status("GET", "/orders/10234", {**key, "X-Customer-Id": "c-ana"}) == 200


def test_the_local_shop_api_serves_exactly_the_documented_contract(tmp_path: Path) -> None:
    contract = yaml.safe_load((ROOT / "docs" / "commerce-api.yaml").read_text())
    documented = {
        (method.upper(), path)
        for path, operations in contract["paths"].items()
        for method in operations
    }
    app = create_app(tmp_path / "shop.sqlite3", KEY)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert served == documented
