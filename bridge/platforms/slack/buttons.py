"""The handoff card's buttons (signed `block_actions` payloads): Claim, Close, Hand back.
Only staff (platforms/slack/staff.py) can use them; anyone else is told so, only them."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bridge.platforms.slack.card import ACTIONS
from bridge.platforms.slack.names import StaffNames
from bridge.platforms.slack.staff import Notices, StaffDirectory
from bridge.ports import StaffDoor
from bridge.texts import staff as texts

log = logging.getLogger(__name__)


def register(
    bolt: AsyncApp,
    desk: StaffDoor,
    names: StaffNames,
    staff_channel: str,
    directory: StaffDirectory,
    notices: Notices,
) -> None:
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
        refusal = await directory.refusal(str(user["id"]))
        if refusal is not None:
            log.info("desk %s on %s by %s refused: %s", kind, card_ts, user["id"], refusal)
            click = str(action.get("action_ts") or body.get("trigger_id") or "")
            await notices.tell(
                refusal, channel, str(user["id"]), texts.NOT_DONE_NOT_STAFF, once=f"click:{click}"
            )
            return
        name = await names.display_name(user["id"]) or str(user.get("name") or "")
        outcome = await desk.desk_action(kind, channel, card_ts, user["id"], name)
        log.info("desk %s on %s by %s: %s", kind, card_ts, user["id"], outcome)
