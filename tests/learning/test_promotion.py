"""`make promote`: the running Rasa loads the new model; a conversation in progress goes on."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp

from devstack.stack import MODEL, Stack
from tests.learning.conftest import RASA_PYTHON, tool
from tests.support import TelegramCustomer


async def _served_model(stack: Stack) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.rasa_url}/status") as response:
        return str((await response.json())["model_file"])


async def test_conversation_continues_across_a_promotion(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Lena")
    await customer.say("where is my order?")
    await customer.wait_for(lambda t: "order number" in t, "the bot asking for the number")

    candidate, current = tmp_path / "candidate.tar.gz", tmp_path / "current.tar.gz"
    shutil.copy(MODEL, candidate)
    shutil.copy(MODEL, current)
    done = await asyncio.to_thread(
        tool,
        stack,
        "tools.promote",
        "--candidate",
        str(candidate),
        "--current",
        str(current),
        "--rasa-url",
        stack.rasa_url,
        "--force",
        python=RASA_PYTHON,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "now serves" in done.stdout
    assert await _served_model(stack) == current.name  # Rasa shows the file name only
    assert (tmp_path / "previous.tar.gz").exists()

    # The answer to the question asked before the promotion is understood after it (a guest
    # then proves the order with the email on it).
    await customer.say("10235")
    await customer.wait_for(lambda t: "check it's yours" in t, "the question for the email")
    await customer.say("tom@example.com")
    texts = await customer.wait_for(lambda t: "Order 10235 is on its way" in t, "the status")
    assert not any("can't help" in t for t in texts), texts


def test_a_model_below_the_targets_is_not_promoted(stack: Stack, tmp_path: Path) -> None:
    candidate, current = tmp_path / "candidate.tar.gz", tmp_path / "current.tar.gz"
    candidate.write_bytes(b"new model")
    current.write_bytes(b"old model")
    from tools.compare import sha256

    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "candidate_sha256": sha256(candidate),
                "targets": {
                    "answer_precision": {"target": ">= 0.97", "value": 0.91, "met": False},
                    "human_request_recall": {"target": ">= 0.99", "value": 1.0, "met": True},
                },
            }
        )
    )
    args = ["tools.promote", "--candidate", str(candidate), "--current", str(current)]
    args += ["--report", str(report), "--rasa-url", "http://127.0.0.1:9"]
    refused = tool(stack, *args, python=RASA_PYTHON)
    assert refused.returncode == 1
    assert "NOT PROMOTED" in refused.stderr and "answer_precision 0.91" in refused.stderr
    assert current.read_bytes() == b"old model"

    forced = tool(stack, *args, "--force", python=RASA_PYTHON)
    assert forced.returncode == 0, forced.stderr
    assert current.read_bytes() == b"new model"
    assert (tmp_path / "previous.tar.gz").read_bytes() == b"old model"
