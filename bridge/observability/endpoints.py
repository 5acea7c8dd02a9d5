"""/healthz (the process is alive), /readyz (its dependencies answer) and /metrics.

/healthz is public and touches nothing. The others are for operators: they answer a request
with `Authorization: Bearer <BRIDGE_OPS_TOKEN>`, or one from a loopback peer that no proxy
relayed (docs/operations.md). /readyz runs its probes at most once per READY_CACHE_S, however
many ask, so nobody can turn it into a stream of calls to Slack and Telegram.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from redis.asyncio import Redis

from bridge.observability import metrics
from bridge.observability.probes import ProbeFailed

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[str]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Checks = dict[str, dict[str, object]]
# Filled by the cleanup contexts as they create each client: name -> check.
PROBES = web.AppKey("probes", dict[str, Probe])
METRICS_REDIS = web.AppKey("metrics_redis", Redis)

# How long one run of the probes answers /readyz.
READY_CACHE_S = 5.0
# Headers a proxy adds when it relays a request: with any of them, a loopback peer is only the
# proxy, and the client is somewhere else.
FORWARDING_HEADERS = (
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Real-IP",
    "Via",
)


@dataclass(frozen=True)
class OpsAccess:
    """Who may read the ops endpoints: the holder of the token, or the host itself."""

    token: str = ""
    client_address_header: str = ""

    def refusal(self, request: web.Request) -> web.Response | None:
        """None when the request may be answered, else the 401/403 to send instead."""
        presented = _bearer(request)
        if self.token and presented is not None:
            if hmac.compare_digest(presented.encode(), self.token.encode()):
                return None
        if self._direct_from_loopback(request):
            return None
        return self._refuse(presented)

    def _direct_from_loopback(self, request: web.Request) -> bool:
        headers = (*FORWARDING_HEADERS, self.client_address_header)
        if any(name and name in request.headers for name in headers):
            return False
        # The TCP peer itself, not request.remote: a middleware may have replaced that with
        # an address a header claimed.
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not isinstance(peer, tuple) or not peer:
            return False
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_loopback

    def _refuse(self, presented: str | None) -> web.Response:
        if not self.token:
            return _error(
                403,
                "forbidden",
                "This endpoint answers only requests made on the bridge's own host (loopback, "
                "through no proxy). To reach it from elsewhere, set BRIDGE_OPS_TOKEN and send "
                "'Authorization: Bearer <BRIDGE_OPS_TOKEN>'.",
            )
        if presented is None:
            return _error(
                401,
                "unauthorized",
                "Send 'Authorization: Bearer <BRIDGE_OPS_TOKEN>', or call from the bridge's own "
                "host (loopback, through no proxy).",
                {"WWW-Authenticate": 'Bearer realm="bridge-ops"'},
            )
        return _error(
            403,
            "forbidden",
            "The bearer token is not BRIDGE_OPS_TOKEN. Send "
            "'Authorization: Bearer <BRIDGE_OPS_TOKEN>'.",
        )


OPS_ACCESS = web.AppKey("ops_access", OpsAccess)


def _bearer(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


def ops_only(handler: Handler) -> Handler:
    """Wraps an ops endpoint's handler in the access check (OPS_ACCESS)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = request.app[OPS_ACCESS].refusal(request)
        if refusal is not None:
            return refusal
        return await handler(request)

    return guarded


@dataclass
class Readiness:
    """The last run of the probes, kept READY_CACHE_S; callers in the meantime share it."""

    ttl_s: float = READY_CACHE_S
    _checks: Checks | None = None
    _checked_at: float = 0.0
    _run: asyncio.Task[Checks] | None = field(default=None, repr=False)

    async def checks(self, probes: dict[str, Probe]) -> tuple[Checks, float]:
        """The probes' results and their age in seconds."""
        now = time.monotonic()
        if self._checks is not None and now - self._checked_at < self.ttl_s:
            return self._checks, now - self._checked_at
        if self._run is None:
            self._run = asyncio.create_task(self._probe(dict(probes)))
        # Shielded: a caller that hangs up does not cancel the run the others wait for.
        checks = await asyncio.shield(self._run)
        return checks, time.monotonic() - self._checked_at

    async def _probe(self, probes: dict[str, Probe]) -> Checks:
        try:
            names = sorted(probes)
            results = await asyncio.gather(*(_run(probes[name]) for name in names))
            checks = dict(zip(names, results, strict=True))
            failed = [name for name, result in checks.items() if not result["ok"]]
            if failed:
                details = "; ".join(f"{n}: {checks[n]['detail']}" for n in failed)
                log.warning("not ready: %s", details)
            self._checks, self._checked_at = checks, time.monotonic()
            return checks
        finally:
            self._run = None


READINESS = web.AppKey("readiness", Readiness)


def add_routes(app: web.Application, ops_token: str = "", client_address_header: str = "") -> None:
    app[PROBES] = {}
    app[OPS_ACCESS] = OpsAccess(ops_token, client_address_header)
    app[READINESS] = Readiness()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", ops_only(readyz))
    app.router.add_get("/metrics", ops_only(metrics_page))


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    checks, age_s = await request.app[READINESS].checks(request.app[PROBES])
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"ready": not failed, "failed": failed, "checks": checks}
    return web.json_response(
        body,
        status=503 if failed else 200,
        headers={"Age": str(int(age_s)), "Cache-Control": "no-store"},
    )


async def _run(probe: Probe) -> dict[str, object]:
    try:
        detail = await probe()
        # A probe may report facts beside its line (the rasa probe: the model it serves).
        return {"ok": True, "detail": str(detail), **getattr(detail, "fields", {})}
    except ProbeFailed as exc:
        return {"ok": False, "detail": str(exc)}
    except Exception as exc:  # an unexpected failure is still an answer, not a 500
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}


async def metrics_page(request: web.Request) -> web.Response:
    redis = request.app.get(METRICS_REDIS)
    if redis is not None:
        try:
            await metrics.refresh_queue_depths(redis)
        except Exception as exc:  # still serve the counters this process holds
            log.warning("queue depths unavailable: %s", exc)
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})
