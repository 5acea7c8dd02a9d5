"""`POST /identity/telegram-links` and `POST /identity/unlink`, for the shop's server.

Each request carries `Authorization: Bearer <token>`: a short-lived identity the shop signs with
SHOP_IDENTITY_SECRET and audience `support-shop`, naming the customer (docs/identity.md).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from aiohttp import web

from bridge.identity import SHOP_AUDIENCE, IdentityRefused, IdentityVerifier
from bridge.models import Customer, Verification
from bridge.ports import ShopDoor

LINKS_PATH = "/identity/telegram-links"
UNLINK_PATH = "/identity/unlink"


class ShopApi:
    def __init__(self, door: ShopDoor, verifier: IdentityVerifier, link_ttl_s: int) -> None:
        self._door = door
        self._verifier = verifier
        self._link_ttl_s = link_ttl_s
        # Set once the Telegram bot has said its name (bridge/app.py); "" while there is none.
        self.telegram_bot = ""

    async def create_link(self, request: web.Request) -> web.Response:
        """A one-time `https://t.me/<bot>?start=<code>` that signs the customer in to the chat
        that opens it. Telegram's start parameter holds 64 characters, too few for a signed
        token, so the bridge keeps the identity and the link carries a random code."""
        customer = self._caller(request)
        if not self.telegram_bot:
            return web.json_response({"error": "telegram_not_configured"}, status=503)
        code = await self._door.issue_link(customer)
        url = f"https://t.me/{quote(self.telegram_bot)}?start={code}"
        body = {"url": url, "code": code, "expires_in": self._link_ttl_s}
        return web.json_response(body, status=201)

    async def unlink(self, request: web.Request) -> web.Response:
        """Sign the customer out of every conversation they are signed in to (a linked chat
        stops acting for them at once)."""
        customer = self._caller(request)
        return web.json_response({"unlinked": await self._door.unlink_customer(customer.id)})

    def _caller(self, request: web.Request) -> Customer:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            identity = self._verifier.verify(token, SHOP_AUDIENCE, Verification.LINKED_CHAT)
        except IdentityRefused as exc:
            body = {"error": "bad_identity", "code": exc.code, "message": str(exc)}
            raise web.HTTPUnauthorized(
                text=json.dumps(body), content_type="application/json"
            ) from None
        return identity.customer


def add_routes(app: web.Application, key: web.AppKey[ShopApi]) -> None:
    async def create_link(request: web.Request) -> web.Response:
        return await request.app[key].create_link(request)

    async def unlink(request: web.Request) -> web.Response:
        return await request.app[key].unlink(request)

    app.router.add_post(LINKS_PATH, create_link)
    app.router.add_post(UNLINK_PATH, unlink)
