"""The long-lived objects a request handler needs, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from bridge.observability.timeline import Timeline
from bridge.outbox import Outbox
from bridge.rate_limits import CustomerQuota
from bridge.router import Router
from bridge.settings import Settings
from bridge.store import ConversationStore
from bridge.tokens import SessionTokens
from bridge.widget_hub import WidgetHub


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: ConversationStore
    outbox: Outbox
    router: Router
    tokens: SessionTokens
    widget_hub: WidgetHub
    # Call `timeline.closed(id)` when a conversation closes (metrics; see docs/operations.md).
    timeline: Timeline
    # Per-customer inbound quotas (bridge/rate_limits.py); None: no limit.
    widget_quota: CustomerQuota | None = None
    telegram_quota: CustomerQuota | None = None


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
