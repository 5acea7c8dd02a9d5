"""The shop API of docs/commerce-api.yaml, served over the demo shop (actions/backend/demo.py).

As strict as the contract: a wrong key is 401; an order call that names neither a customer nor
an order secret, a malformed number or body, is 400; another customer's order is 404.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from actions.backend.base import (
    Customer,
    NotFound,
    OrderProof,
    Refused,
    Requester,
    TooManyAttempts,
)
from actions.backend.demo import DemoBackend

NUMBER = re.compile(r"^[0-9]{4,15}$")
SHOP = web.AppKey("shop", DemoBackend)
KEY = web.AppKey("key", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(database: Path, api_key: str) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[SHOP] = DemoBackend(database)
    app[KEY] = api_key
    app.router.add_get("/policies/{topic}", policy)
    app.router.add_post("/orders/{number}/checks", check)
    app.router.add_get("/orders/{number}", order)
    app.router.add_post("/orders/{number}/cancel", cancel)
    app.router.add_put("/orders/{number}/shipping-address", change_address)
    app.router.add_get("/orders/{number}/refund", refund)
    app.router.add_post("/orders/{number}/refund", request_refund)
    app.router.add_get("/orders/{number}/invoice", invoice)
    app.router.add_post("/customers/{id}/newsletter/unsubscribe", unsubscribe)
    app.router.add_post("/newsletter/unsubscribe-links", unsubscribe_link)
    app.router.add_post("/password-resets", password_reset)
    return app


class _Bad(Exception):
    pass


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), request.app[KEY].encode()):
        return _error(401, "unauthorized")
    try:
        return await handler(request)
    except _Bad as exc:
        return _error(400, str(exc))
    except NotFound:
        return _error(404, "not_found")
    except TooManyAttempts:
        return _error(429, "too_many_attempts")
    except Refused as exc:
        return web.json_response({"reason": exc.reason}, status=409)


async def policy(request: web.Request) -> web.Response:
    return web.json_response({"text": request.app[SHOP].policy(request.match_info["topic"])})


async def check(request: web.Request) -> web.Response:
    body = await _body(request, "secret", "source")
    request.app[SHOP].prove_order(_number(request), body["secret"], body["source"])
    return web.json_response({})


async def order(request: web.Request) -> web.Response:
    found = request.app[SHOP].order(_number(request), _requester(request))
    return web.json_response(asdict(found))


async def cancel(request: web.Request) -> web.Response:
    done = request.app[SHOP].cancel_order(_number(request), _requester(request))
    return web.json_response(asdict(done))


async def change_address(request: web.Request) -> web.Response:
    body = await _body(request, "address")
    shop = request.app[SHOP]
    done = shop.change_address(_number(request), body["address"], _requester(request))
    return web.json_response(asdict(done))


async def refund(request: web.Request) -> web.Response:
    found = request.app[SHOP].refund(_number(request), _requester(request))
    return web.json_response(asdict(found))


async def request_refund(request: web.Request) -> web.Response:
    done = request.app[SHOP].request_refund(_number(request), _requester(request))
    return web.json_response(asdict(done))


async def invoice(request: web.Request) -> web.Response:
    url = request.app[SHOP].invoice_url(_number(request), _requester(request))
    return web.json_response({"url": url})


async def unsubscribe(request: web.Request) -> web.Response:
    requester = _requester(request)
    if not isinstance(requester, Customer) or requester.id != request.match_info["id"]:
        raise NotFound("only the customer's own address")
    request.app[SHOP].unsubscribe(requester)
    return web.Response(status=204)


async def unsubscribe_link(request: web.Request) -> web.Response:
    body = await _body(request, "email")
    request.app[SHOP].send_unsubscribe_link(body["email"])
    return web.Response(status=202)


async def password_reset(request: web.Request) -> web.Response:
    body = await _body(request, "email")
    request.app[SHOP].send_password_reset(body["email"])
    return web.Response(status=202)


def _number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not NUMBER.match(number):
        raise _Bad("number must be 4-15 digits")
    return number


def _requester(request: web.Request) -> Requester:
    customer = request.headers.get("X-Customer-Id", "")
    secret = request.headers.get("X-Order-Secret", "")
    if customer:
        # The shop would look the customer up; the demo needs only the id to check ownership.
        return Customer(customer, "")
    if secret:
        return OrderProof(request.match_info.get("number", ""), secret)
    raise _Bad("name the requester: X-Customer-Id or X-Order-Secret")


async def _body(request: web.Request, *required: str) -> dict[str, str]:
    try:
        body: Any = json.loads(await request.read())
    except ValueError:
        raise _Bad("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _Bad("the body must be a JSON object")
    for name in required:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            raise _Bad(f"`{name}` must be a non-empty string")
    return {name: str(body[name]) for name in required}


def _error(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)
