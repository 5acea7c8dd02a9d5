"""Loads bot/routing.yml, the single declaration of answer / handoff / abstain per intent."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "bot" / "routing.yml"


@dataclass(frozen=True)
class Routing:
    answer: frozenset[str]
    handoff: dict[str, str]  # intent -> handoff reason
    abstain: frozenset[str]
    # intent -> what answers it: `utter_<name>`, `policy <topic>` or `code` (actions/answers.py)
    answers: dict[str, str] = field(default_factory=dict)

    def outcome(self, intent: str) -> str:
        """'answer', 'handoff' or 'abstain'; unknown intents abstain rather than guess."""
        if intent in self.handoff:
            return "handoff"
        if intent in self.answer:
            return "answer"
        return "abstain"

    def table(self) -> dict[str, str]:
        """intent -> 'answer' | 'handoff', the shape the evaluation report publishes."""
        return {
            **{i: "answer" for i in sorted(self.answer)},
            **{i: "handoff" for i in sorted(self.handoff)},
        }


def parse(data: dict) -> Routing:
    answers = data.get("answer") or {}
    if not isinstance(answers, dict):  # the older form, names only: all coded
        answers = {intent: "code" for intent in answers}
    routing = Routing(
        answer=frozenset(answers),
        handoff=dict(data.get("handoff") or {}),
        abstain=frozenset(data.get("abstain") or ()),
        answers={str(k): str(v or "").strip() for k, v in answers.items()},
    )
    clash = (routing.answer & set(routing.handoff)) | (
        routing.abstain & (routing.answer | set(routing.handoff))
    )
    if clash:
        raise ValueError(f"intents routed twice in routing.yml: {sorted(clash)}")
    return routing


@lru_cache(maxsize=1)
def load(path: str | None = None) -> Routing:
    path = path or os.environ.get("ROUTING_FILE") or str(DEFAULT_PATH)
    with open(path, encoding="utf-8") as fh:
        return parse(yaml.safe_load(fh))
