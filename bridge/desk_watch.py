"""Tells customers whose handoff nobody claimed in time (see docs/staff-desk.md)."""

from __future__ import annotations

import asyncio
import logging

from bridge.clock import now_ms
from bridge.router.staff import StaffSide
from bridge.store.conversations import Conversations

log = logging.getLogger(__name__)

# Deadlines are minutes apart; a one-second look costs one Redis call.
POLL_S = 1.0


async def watch_unclaimed(conversations: Conversations, staff: StaffSide) -> None:
    """Every replica runs this; `due_unclaimed` hands each deadline to exactly one of them."""
    while True:
        try:
            for conversation_id in await conversations.due_unclaimed(now_ms()):
                await staff.remind_unclaimed(conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a Redis blip must not stop the reminders for good
            log.exception("unclaimed-handoff watch failed; retrying")
        await asyncio.sleep(POLL_S)
