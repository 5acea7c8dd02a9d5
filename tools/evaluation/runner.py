"""Runs each row as the first message of a fresh conversation through the real assistant.

The trained model and policies run in-process (rasa Agent). Two things make this fast without
changing any decision (docs/evaluation.md, "Why the fast path makes the same decision"):

* NLU is run once over all rows as one batch through the model's own NLU graph (the same
  trained tokenizer, featurizers, classifier and FallbackClassifier; every one of them
  processes a list of messages, and none looks at the other messages). The parse result is
  handed to `Agent.handle_message`, which then runs the RulePolicy and the action exactly as
  for a live message. A sample of rows is also parsed one at a time (this gives parse p50)
  and compared with the batch result; any difference is reported.
* Custom actions run through `rasa_sdk`'s ActionExecutor with the `actions` package, the very
  object the action server's webhook calls, in this process instead of behind HTTP. The
  request and the response still go through a JSON round trip and the response schema check.
  `--http-actions` starts the real action server instead, to check the two agree.

Actions run against a throw-away copy of the demo backend in both cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.handoff import FALLBACK_INTENT
from tools.evaluation import signals

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 16
NLU_BATCH = 256


@dataclass
class Result:
    text: str
    expected: str
    intent: str
    confidence: float
    outcome: str  # answer | handoff | fallback
    reason: str | None  # handoff reason, if any
    lang: str = ""  # the row's `lang` column ("" when the file has none)
    person_score: float = 0.0  # the person-request detector's score (0 on older models)
    person_phrase: str | None = None  # the lexicon phrase that matched, if any
    language: str | None = None  # the language code the model detected, if it detects any

    def row(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "expected": self.expected,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "outcome": self.outcome,
            "handoff_reason": self.reason,
            "lang": self.lang,
            "person_score": round(self.person_score, 4),
            "person_phrase": self.person_phrase,
            "language": self.language,
        }


def _row_fields(row: Sequence[str]) -> tuple[str, str, str]:
    """(text, expected intent, lang) of a `(text, intent)` or `(text, intent, lang)` row."""
    return row[0], row[1], (row[2] if len(row) > 2 else "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _throwaway_db() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield {"COMMERCE_DB": str(Path(tmp) / "eval.sqlite3")}


@contextmanager
def action_server(timeout: float = 60.0) -> Iterator[Any]:
    """Start `rasa_sdk` on a free loopback port; yield an endpoint for its webhook."""
    from rasa.utils.endpoints import EndpointConfig

    port = _free_port()
    with _throwaway_db() as db:
        env = {**os.environ, "SANIC_HOST": "127.0.0.1", **db}
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/health", proc, timeout)
            yield EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def in_process_actions() -> Iterator[Any]:
    """An action endpoint that hands the request to the action server's own executor."""
    from actions.backend import get_backend

    saved = os.environ.get("COMMERCE_DB")
    with _throwaway_db() as db:
        os.environ.update(db)
        get_backend.cache_clear()
        try:
            yield _executor_endpoint()
        finally:
            if saved is None:
                os.environ.pop("COMMERCE_DB", None)
            else:
                os.environ["COMMERCE_DB"] = saved
            get_backend.cache_clear()


def _executor_endpoint() -> Any:
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig
    from rasa_sdk import utils
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    executor = ActionExecutor()
    executor.register_package("actions")  # what `python -m rasa_sdk --actions actions` does

    class ExecutorEndpoint(EndpointConfig):
        """Mirrors rasa_sdk.endpoint.webhook, including its error statuses."""

        async def request(
            self,
            method: str = "post",
            subpath: str | None = None,
            content_type: str | None = "application/json",
            compress: bool = False,
            **kwargs: Any,
        ) -> Any:
            action_call = json.loads(json.dumps(kwargs["json"]))  # what crosses the wire
            utils.check_version_compatibility(action_call.get("version"))
            try:
                result = await executor.run(action_call)
            except ActionExecutionRejection as e:
                body = {"error": e.message, "action_name": e.action_name}
                raise ClientResponseError(400, "Bad Request", json.dumps(body)) from e
            except ActionNotFoundException as e:
                body = {"error": e.message, "action_name": e.action_name}
                raise ClientResponseError(404, "Not Found", json.dumps(body)) from e
            return json.loads(json.dumps(result))

    return ExecutorEndpoint(url="in-process://actions")


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


def parse_batch(agent: Any, messages: list[Any]) -> list[dict[str, Any]]:
    """`MessageProcessor.parse_message` for many first messages in one pass of the NLU graph."""
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import (
        ENTITIES,
        INTENT,
        INTENT_NAME_KEY,
        PREDICTED_CONFIDENCE_KEY,
        TEXT,
    )

    processor = agent.processor
    target = processor.model_metadata.nlu_target
    parsed: list[dict[str, Any]] = []
    for start in range(0, len(messages), NLU_BATCH):
        chunk = messages[start : start + NLU_BATCH]
        # Every row is the first message of a fresh conversation: an empty tracker, as
        # parse_message builds when it is given none.
        tracker = DialogueStateTracker.from_events(chunk[0].sender_id, [])
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: chunk, PLACEHOLDER_TRACKER: tracker}, targets=[target]
        )
        for message in results[target]:
            data = {
                TEXT: "",
                INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
                ENTITIES: [],
            }
            data.update(message.as_dict(only_output_properties=True))
            processor._update_full_retrieval_intent(data)
            parsed.append(data)
    return parsed


async def _run_one(agent: Any, message: Any, expected: str, lang: str = "") -> Result:
    await agent.handle_message(message)
    tracker = await agent.tracker_store.retrieve(message.sender_id)
    parse = tracker.latest_message.parse_data
    intent, confidence = _classifier_guess(parse)
    # A first message: misses start at 0, so "went up" is "> 0".
    outcome, reason = signals.turn_outcome(
        _handoffs(tracker), False, 0, int(tracker.get_slot("misses") or 0)
    )
    score, phrase = signals.person_request(parse)
    return Result(
        message.text,
        expected,
        intent,
        confidence,
        outcome,
        reason,
        lang=lang,
        person_score=score,
        person_phrase=phrase,
        language=signals.detected_language(parse),
    )


def _handoffs(tracker: Any) -> list[dict[str, Any]]:
    """Handoff payloads the bot emitted, read from its utterances as the bridge would."""
    from rasa.shared.core.events import BotUttered

    return signals.handoff_payloads(
        (event.data or {}).get("custom")
        for event in tracker.events
        if isinstance(event, BotUttered)
    )


@dataclass
class Run:
    results: list[Result]
    seconds: float  # wall time of NLU batch + the per-row dialogue pass (model already loaded)
    load_seconds: float  # loading the model (and starting the action server, if any)
    parse_seconds: list[float]  # sequential NLU parse times of a sample
    batch_mismatches: int  # sample rows whose one-at-a-time parse differs from the batch parse


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

    RemoteAction._validate_action_result = validate  # type: ignore[method-assign]


def _same_parse(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def key(p: dict[str, Any]) -> list[tuple[str, float]]:
        return [(r["name"], r["confidence"]) for r in p.get("intent_ranking") or []]

    return a["intent"] == b["intent"] and key(a) == key(b) and a["entities"] == b["entities"]


async def run(
    model: Path, rows: Sequence[Sequence[str]], parse_sample: int = 300, http_actions: bool = False
) -> Run:
    """Evaluate `rows` of (text, expected intent[, lang]) against `model`, in input order."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    _cache_action_response_validator()
    loading = time.perf_counter()
    with action_server() if http_actions else in_process_actions() as endpoint:
        agent = Agent.load(str(model), action_endpoint=endpoint)
        load_seconds = time.perf_counter() - loading

        started = time.perf_counter()
        fields = [_row_fields(row) for row in rows]
        messages = [
            UserMessage(t, CollectingOutputChannel(), f"eval-{uuid.uuid4().hex}")
            for t, _, _ in fields
        ]
        for message, data in zip(messages, parse_batch(agent, messages), strict=True):
            message.parse_data = data
        if http_actions:
            limit = asyncio.Semaphore(CONCURRENCY)

            async def bounded(message: Any, expected: str, lang: str) -> Result:
                async with limit:
                    return await _run_one(agent, message, expected, lang)

            results = list(
                await asyncio.gather(
                    *(bounded(m, e, g) for m, (_, e, g) in zip(messages, fields, strict=True))
                )
            )
        else:
            # Nothing waits on I/O in-process: one row after another is fastest.
            results = [
                await _run_one(agent, m, expected, lang)
                for m, (_, expected, lang) in zip(messages, fields, strict=True)
            ]
        seconds = time.perf_counter() - started

        parse_seconds, mismatches = [], 0
        for message in messages[:parse_sample]:
            t0 = time.perf_counter()
            single = await agent.parse_message(message.text)
            parse_seconds.append(time.perf_counter() - t0)
            mismatches += not _same_parse(single, message.parse_data)
    return Run(results, seconds, load_seconds, parse_seconds, mismatches)
