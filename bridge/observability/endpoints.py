"""/healthz (the process is alive), /readyz (its dependencies answer) and /metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.asyncio import Redis

from bridge.observability import metrics
from bridge.observability.probes import ProbeFailed

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[str]]
# Filled by the cleanup contexts as they create each client: name -> check.
PROBES = web.AppKey("probes", dict[str, Probe])
METRICS_REDIS = web.AppKey("metrics_redis", Redis)


def add_routes(app: web.Application) -> None:
    app[PROBES] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    probes = request.app[PROBES]
    names = sorted(probes)
    results = await asyncio.gather(*(_run(probes[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if not result["ok"]]
    if failed:
        log.warning("not ready: %s", "; ".join(f"{n}: {checks[n]['detail']}" for n in failed))
    body = {"ready": not failed, "failed": failed, "checks": checks}
    return web.json_response(body, status=503 if failed else 200)


async def _run(probe: Probe) -> dict[str, object]:
    try:
        return {"ok": True, "detail": await probe()}
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
