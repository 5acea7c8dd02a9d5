"""Figures and targets of issue 3, computed from per-row results (pure functions)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

HUMAN_REQUEST = "contact_human_agent"
OUT_OF_SCOPE = "out_of_scope"
EXPLICIT_REQUEST = "explicit_request"


@dataclass(frozen=True)
class Target:
    metric: str
    op: str  # ">=" or "<="
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound


# Quality targets of issue 3: these are gated. Timings (parse p50 <= 30 ms, rows/s) depend on
# what else the machine is doing, so they are reported but never fail a run.
TARGETS = (
    Target("human_request_recall", ">=", 0.99),
    Target("answer_precision", ">=", 0.97),
    Target("answered_in_scope", ">=", 0.85),
    Target("out_of_scope_answered", "<=", 0.05),
)


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarise(rows: list[dict], rows_per_second: float, parse_seconds: Iterable[float]) -> dict:
    in_scope = [r for r in rows if r["expected"] != OUT_OF_SCOPE]
    oos = [r for r in rows if r["expected"] == OUT_OF_SCOPE]
    human = [r for r in rows if r["expected"] == HUMAN_REQUEST]
    # "When it answers, the intent is right": rows the bot resolved itself (not handed over).
    answered = [r for r in in_scope if r["outcome"] == "answer"]
    not_abstained = [r for r in in_scope if r["outcome"] != "fallback"]
    parse_ms = [s * 1000 for s in parse_seconds]

    figures = {
        "rows": len(rows),
        # Strict: a person must be handed the conversation *because* they were asked for.
        "human_request_recall": _ratio(
            sum(r["handoff_reason"] == EXPLICIT_REQUEST for r in human), len(human)
        ),
        "answer_precision": _ratio(
            sum(r["intent"] == r["expected"] for r in answered), len(answered)
        ),
        "answered_in_scope": _ratio(len(not_abstained), len(in_scope)),
        "intent_accuracy_in_scope": _ratio(
            sum(r["intent"] == r["expected"] for r in in_scope), len(in_scope)
        ),
        "out_of_scope_answered": _ratio(sum(r["outcome"] != "fallback" for r in oos), len(oos)),
        "parse_p50_ms": round(statistics.median(parse_ms), 2) if parse_ms else None,
        "rows_per_second": round(rows_per_second, 1),
        "outcomes": dict(Counter(r["outcome"] for r in rows)),
    }
    return {
        **figures,
        "targets": _check(figures),
        "per_intent": per_intent(rows),
        "confusions": confusions(rows),
    }


def _check(figures: dict) -> dict:
    """Each target with its measured value; a metric with no rows to measure is skipped."""
    checked = {}
    for target in TARGETS:
        value = figures.get(target.metric)
        if value is not None:
            checked[target.metric] = {
                "target": f"{target.op} {target.bound}",
                "value": value,
                "met": target.met(value),
            }
    return checked


def per_intent(rows: list[dict]) -> dict[str, dict]:
    by_intent: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_intent[r["expected"]].append(r)
    predicted = Counter(r["intent"] for r in rows if r["outcome"] != "fallback")
    table = {}
    for intent, group in sorted(by_intent.items()):
        correct = sum(r["intent"] == intent for r in group)
        true_positive = sum(r["intent"] == intent and r["outcome"] != "fallback" for r in group)
        table[intent] = {
            "n": len(group),
            "recall": _ratio(correct, len(group)),
            "precision": _ratio(true_positive, predicted[intent]),
            "outcomes": dict(Counter(r["outcome"] for r in group)),
        }
    return table


def confusions(rows: list[dict], top: int = 15) -> list[dict]:
    pairs = Counter((r["expected"], r["intent"]) for r in rows if r["intent"] != r["expected"])
    return [{"expected": e, "predicted": p, "count": n} for (e, p), n in pairs.most_common(top)]


def gate_failures(summary: dict) -> list[str]:
    return [
        f"{m}: {c['value']} (target {c['target']})"
        for m, c in summary["targets"].items()
        if not c["met"]
    ]
