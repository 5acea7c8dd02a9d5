"""Acting as the shop: signing its customers' identities, and looking into its database."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from actions.backend.demo import reset
from devstack.stack import LOCAL_SHOP_IDENTITY_SECRET, Stack
from standins.telegram.state import BOT_USERNAME
from tests.support import TelegramCustomer, eventually

ANA = {"sub": "c-ana", "email": "ana@example.com", "name": "Ana García"}
TOM = {"sub": "c-tom", "email": "tom@example.com", "name": "Tom Becker"}


def sign(
    customer: dict[str, str],
    audience: str = "support-widget",
    lifetime_s: int = 600,
    issued: float | None = None,
    jti: str | None = "",
    secret: str = LOCAL_SHOP_IDENTITY_SECRET,
) -> str:
    """What the shop's server puts on its page for a signed-in customer (docs/identity.md)."""
    now = time.time() if issued is None else issued
    claims: dict[str, Any] = {**customer, "aud": audience, "iat": int(now)}
    claims["exp"] = int(now) + lifetime_s
    if jti is not None:
        claims["jti"] = jti or uuid.uuid4().hex
    return jwt.encode(claims, secret, algorithm="HS256")


class Shop:
    """The demo shop's database, as the action server uses it."""

    def __init__(self, stack: Stack) -> None:
        self.path: Path = stack.commerce_db

    def reset(self) -> None:
        reset(self.path)

    def _rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as db:
            return [tuple(row) for row in db.execute(sql, args)]

    def orders(self) -> list[tuple[Any, ...]]:
        return self._rows("SELECT * FROM orders ORDER BY number")

    def refunds(self) -> list[tuple[Any, ...]]:
        return self._rows("SELECT * FROM refunds ORDER BY order_number")

    def status(self, number: str) -> str:
        return str(self._rows("SELECT status FROM orders WHERE number = ?", number)[0][0])

    def subscribed(self, email: str) -> bool:
        return bool(self._rows("SELECT newsletter FROM customers WHERE email = ?", email)[0][0])

    def emails_to(self, recipient: str) -> list[str]:
        rows = self._rows(
            "SELECT subject, body FROM emails WHERE recipient = ? ORDER BY id", recipient
        )
        return [f"{subject}: {body}" for subject, body in rows]

    def state(self) -> tuple[object, ...]:
        """Everything a customer could change."""
        return (
            self.orders(),
            self.refunds(),
            self._rows("SELECT email, newsletter FROM customers ORDER BY email"),
        )


def tampered(signed: str) -> str:
    """The same identity with another customer's id in it, under the original signature."""
    header, _, signature = signed.split(".")
    claims = jwt.decode(signed, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "c-tom"}, "x" * 32, "HS256").split(".")[1]
    return f"{header}.{forged}.{signature}"


async def shop_calls(stack: Stack, path: str, customer: dict[str, str], token: str = "") -> Any:
    """The shop's server calling the bridge, signed with the shared secret."""
    bearer = token or sign(customer, audience="support-shop", lifetime_s=60)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.bridge_url}{path}", headers={"Authorization": f"Bearer {bearer}"}) as r,
    ):
        return r.status, await r.json()


async def link_code(stack: Stack, customer: dict[str, str]) -> str:
    status, body = await shop_calls(stack, "/identity/telegram-links", customer)
    assert status == 201, body
    assert body["url"] == f"https://t.me/{BOT_USERNAME}?start={body['code']}"
    assert len(body["code"]) <= 64  # Telegram's limit for a start parameter
    return str(body["code"])


async def answer_to(customer: TelegramCustomer, text: str) -> str:
    before = len(await customer.texts())
    await customer.say(text)
    texts = await eventually(
        customer.texts, lambda ts: len(ts) > before, what=f"an answer to {text!r}"
    )
    return texts[before]
