"""Who is on the other end of a widget request: the client's address (through a trusted
proxy's header when configured) and the page's origin, for the abuse limits."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

MAX_ORIGIN_CHARS = 200


@dataclass(frozen=True)
class Client:
    address: str
    origin: str

    @property
    def source(self) -> str:
        return f"web:{self.address}"

    @classmethod
    def of(cls, request: web.Request, address_header: str = "") -> Client:
        return cls(client_address(request, address_header), origin(request))


def client_address(request: web.Request, address_header: str = "") -> str:
    """The client's address. Behind a proxy, the last entry of `address_header`: the one the
    proxy itself added (earlier entries are whatever the client sent)."""
    if address_header:
        forwarded = request.headers.get(address_header, "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.remote or "unknown"


def origin(request: web.Request) -> str:
    """The page's origin as the browser sent it ("" for clients that send none)."""
    return request.headers.get("Origin", "")[:MAX_ORIGIN_CHARS]
