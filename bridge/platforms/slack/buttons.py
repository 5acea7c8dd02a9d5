"""The handoff card's buttons (signed `block_actions` payloads): Claim, Close, Hand back."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bridge.platforms.slack.card import ACTIONS
from bridge.platforms.slack.names import StaffNames
from bridge.ports import StaffDoor

log = logging.getLogger(__name__)


def register(bolt: AsyncApp, desk: StaffDoor, names: StaffNames, staff_channel: str) -> None:
    @bolt.action(re.compile(r"^desk_"))
    async def on_desk_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        # With process_before_response the HTTP answer still waits for the router below, so
        # a click is acknowledged only once its effect is stored.
        await ack()
        container = body.get("container") or {}
        channel, card_ts = container.get("channel_id"), container.get("message_ts")
        kind = ACTIONS.get(str(action.get("action_id")))
        user = body.get("user") or {}
        if kind is None or channel != staff_channel or not card_ts or not user.get("id"):
            return
        name = await names.display_name(user["id"]) or str(user.get("name") or "")
        outcome = await desk.desk_action(kind, channel, card_ts, user["id"], name)
        log.info("desk %s on %s by %s: %s", kind, card_ts, user["id"], outcome)
