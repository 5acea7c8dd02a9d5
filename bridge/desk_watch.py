"""Tells customers whose handoff nobody claimed in time (see docs/staff-desk.md)."""

from __future__ import annotations

import asyncio
import logging

from bridge.router import Router
from bridge.store import ConversationStore, now_ms

log = logging.getLogger(__name__)

# Deadlines are minutes apart; a one-second look costs one Redis call.
POLL_S = 1.0


async def watch_unclaimed(store: ConversationStore, router: Router) -> None:
    """Every replica runs this; `due_unclaimed` hands each deadline to exactly one of them."""
    while True:
        try:
            for conversation_id in await store.due_unclaimed(now_ms()):
                await router.remind_unclaimed(conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a Redis blip must not stop the reminders for good
            log.exception("unclaimed-handoff watch failed; retrying")
        await asyncio.sleep(POLL_S)
