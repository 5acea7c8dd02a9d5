"""Runs each row as the first message of a fresh conversation through the real assistant.

The trained model and policies run in-process (rasa Agent); custom actions run in a real
action server on a loopback port with a throw-away copy of the demo backend, so the outcome
is the decision the running system makes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.handoff import FALLBACK_INTENT

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 16


@dataclass
class Result:
    text: str
    expected: str
    intent: str
    confidence: float
    outcome: str  # answer | handoff | fallback
    reason: str | None  # handoff reason, if any

    def row(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "expected": self.expected,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "outcome": self.outcome,
            "handoff_reason": self.reason,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def action_server(timeout: float = 60.0) -> Iterator[str]:
    """Start `rasa_sdk` on a free loopback port; yield its webhook URL."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SANIC_HOST": "127.0.0.1", "COMMERCE_DB": str(Path(tmp) / "eval.sqlite3")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/health", proc, timeout)
            yield f"http://127.0.0.1:{port}/webhook"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("action server exited during start-up")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"action server not healthy after {timeout:.0f}s")


def _classifier_guess(parse: dict[str, Any]) -> tuple[str, float]:
    """Top intent before FallbackClassifier, so low-confidence rows still show the guess."""
    for ranked in parse.get("intent_ranking") or [parse.get("intent") or {}]:
        if ranked.get("name") != FALLBACK_INTENT:
            return ranked.get("name") or "", float(ranked.get("confidence") or 0.0)
    return "", 0.0


async def _run_one(agent: Any, text: str, expected: str) -> Result:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sender = f"eval-{uuid.uuid4().hex}"
    await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
    tracker = await agent.tracker_store.retrieve(sender)
    intent, confidence = _classifier_guess(tracker.latest_message.parse_data)
    handoffs = _handoffs(tracker)
    if handoffs:
        outcome, reason = "handoff", handoffs[0].get("reason")
    elif (tracker.get_slot("misses") or 0) > 0:
        outcome, reason = "fallback", None
    else:
        outcome, reason = "answer", None
    return Result(text, expected, intent, confidence, outcome, reason)


def _handoffs(tracker: Any) -> list[dict[str, Any]]:
    """Handoff payloads the bot emitted, read from its utterances as the bridge would."""
    from rasa.shared.core.events import BotUttered

    found = []
    for event in tracker.events:
        if isinstance(event, BotUttered):
            custom = (event.data or {}).get("custom")
            if isinstance(custom, dict) and "handoff" in custom:
                found.append(custom["handoff"])
    return found


@dataclass
class Run:
    results: list[Result]
    seconds: float  # wall time of the concurrent pass over all rows
    parse_seconds: list[float]  # sequential NLU parse times of a sample


def _cache_action_response_validator() -> None:
    """Same validation, ~100x faster: rasa re-checks the whole JSON schema on every action
    call (jsonschema.validate, ~24 ms), which alone would cap the evaluation below 50 rows/s."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator = validator_for(schema)(schema)

    def validate(self: RemoteAction, result: dict[str, Any]) -> bool:
        validator.validate(result)
        return True

    RemoteAction._validate_action_result = validate


async def run(model: Path, rows: list[tuple[str, str]], parse_sample: int = 300) -> Run:
    """Evaluate `rows` of (text, expected intent) against `model`, in input order."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    _cache_action_response_validator()
    with action_server() as webhook:
        agent = Agent.load(str(model), action_endpoint=EndpointConfig(url=webhook))
        limit = asyncio.Semaphore(CONCURRENCY)

        async def bounded(text: str, expected: str) -> Result:
            async with limit:
                return await _run_one(agent, text, expected)

        started = time.perf_counter()
        results = list(await asyncio.gather(*(bounded(t, e) for t, e in rows)))
        seconds = time.perf_counter() - started

        parse_seconds = []
        for text, _ in rows[:parse_sample]:
            t0 = time.perf_counter()
            await agent.parse_message(text)
            parse_seconds.append(time.perf_counter() - t0)
    return Run(results, seconds, parse_seconds)
