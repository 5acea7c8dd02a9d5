"""The bridge's log as an operator reads it: JSON lines, tagged, without secrets or bodies."""

from __future__ import annotations

import io
import json
import logging

from bridge.observability.logs import JsonFormatter, Redactor, conversation_context
from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, Stack
from tests.support import StaffDesk, telegram_handoff


async def test_log_is_json_tagged_and_free_of_secrets_and_bodies(
    stack: Stack, chat_id: int
) -> None:
    bridge = stack.services["bridge"]
    # A fresh process, so its start-up (where tokens travel in URLs) is in the log we read.
    bridge.stop()
    assert bridge.process is not None and bridge.process.returncode == 0, bridge.tail()
    offset = bridge.log_path.stat().st_size
    bridge.start()

    desk = StaffDesk(stack.slack_url)
    customer, thread_ts = await telegram_handoff(
        stack.telegram_url,
        desk,
        chat_id,
        "Noor",
        "I want to talk to a person about zebra-umbrella-7",
    )
    await desk.reply(thread_ts, "Hello Noor, quokka-lantern-3 here")
    await customer.wait_for(lambda t: "quokka-lantern-3" in t, "the staff reply")

    with bridge.log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "the bridge wrote no log lines"
    for secret in (*LOCAL_SLACK.values(), *LOCAL_TELEGRAM.values()):
        if secret != LOCAL_SLACK["SLACK_CHANNEL_ID"]:
            assert secret not in text, f"{secret!r} is in the log"
    assert "zebra-umbrella-7" not in text and "quokka-lantern-3" not in text
    about_it = [line for line in lines if f"tg-{chat_id}" in json.dumps(line)]
    assert any("handed over" in line["msg"] for line in about_it), about_it
    assert all(line.get("conversation_id") == f"tg-{chat_id}" for line in about_it), about_it


def _format(level: str, with_bodies: bool, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(["s3cret-value"]), with_bodies=with_bodies))
    logger = logging.getLogger(f"test.logs.{level}.{with_bodies}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        raise RuntimeError("boom with s3cret-value")
    except RuntimeError:
        with conversation_context("w-123"):
            logger.log(
                getattr(logging, level.upper()),
                "token xoxb-1234-abcdef and s3cret-value at https://x/bot123456:AAAAAAAAAAAAAAAAAAAAAAAA/getMe",
                exc_info=True,
                extra=extra,
            )
    line: dict[str, object] = json.loads(stream.getvalue())
    return line


def test_secrets_and_token_shapes_are_redacted_everywhere() -> None:
    line = _format("info", with_bodies=False)
    raw = json.dumps(line)
    assert "s3cret-value" not in raw and "xoxb-1234" not in raw and "AAAAAAAA" not in raw
    assert line["conversation_id"] == "w-123"
    assert "boom with [redacted]" in str(line["exc"])


def test_bodies_only_at_debug() -> None:
    assert "body" not in _format("debug", with_bodies=False, body="hello there")
    assert _format("debug", with_bodies=True, body="hello there")["body"] == "hello there"
