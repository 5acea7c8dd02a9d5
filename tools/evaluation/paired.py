"""Candidate against current on the same rows: each metric's difference with a 95 % confidence
interval from a paired bootstrap over rows (pure functions; docs/learning.md, "An honest
comparison").

Why a paired bootstrap. Both models answer the very same rows, so their results are paired:
most rows are right (or wrong) for both, and only the rows on which they disagree carry the
difference. Treating the two figures as independent samples would ignore that and give far too
wide an interval. For a metric whose rows are fixed (recall over the "talk to a person" rows,
answered over the in-scope rows, answered over the out-of-scope rows) McNemar's test or
Newcombe's interval would do; but answer_precision is a ratio over the rows each model chose
to answer, which differ between the two models, and no closed form covers that. The bootstrap
covers every metric the same way:

  1. draw the rows again, n out of n with replacement; each drawn row brings *both* models'
     results (that is what makes it paired);
  2. compute every metric for each model on the drawn rows, and the difference
     candidate - current;
  3. repeat RESAMPLES times (seeded: the same report gives the same interval); the 2.5th and
     97.5th percentiles of the differences are the 95 % interval (the percentile method).

A difference is *significant* when the interval leaves out 0. A drawing with no row for a
metric's denominator (e.g. no out-of-scope row at all) says nothing about it and is skipped.
Known limits: with only a handful of rows on which the models disagree the percentile interval
is somewhat narrower than an exact test would give (with no disagreement at all it is exactly
[0, 0]); on the dev split of 910 rows that is rarely an issue, and for a promotion gate it errs
on the side of refusing. The drawing is done per distinct pattern of results (the rows fall
into a few dozen), which keeps 2,000 drawings of 910 rows to about a second in pure Python.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tools.evaluation.metrics import EXPLICIT_REQUEST, HUMAN_REQUEST, OUT_OF_SCOPE, is_english

RESAMPLES = 2000
SEED = 17
CONFIDENCE = 0.95

Row = dict[str, Any]
# A metric per row: (counts in the denominator, counts in the numerator), as 0/1 each.
PerRow = Callable[[Row], tuple[bool, bool]]


def _human_request_recall(r: Row) -> tuple[bool, bool]:
    den = is_english(r) and r["expected"] == HUMAN_REQUEST
    return den, den and r.get("handoff_reason") == EXPLICIT_REQUEST


def _human_request_recall_languages(r: Row) -> tuple[bool, bool]:
    den = not is_english(r) and r["expected"] == HUMAN_REQUEST
    return den, den and r["outcome"] == "handoff"


def _answer_precision(r: Row) -> tuple[bool, bool]:
    den = is_english(r) and r["expected"] != OUT_OF_SCOPE and r["outcome"] == "answer"
    return den, den and r["intent"] == r["expected"]


def _answered_in_scope(r: Row) -> tuple[bool, bool]:
    den = is_english(r) and r["expected"] != OUT_OF_SCOPE
    return den, den and r["outcome"] != "fallback"


def _out_of_scope_answered(r: Row) -> tuple[bool, bool]:
    den = is_english(r) and r["expected"] == OUT_OF_SCOPE
    return den, den and r["outcome"] != "fallback"


def _intent_accuracy_in_scope(r: Row) -> tuple[bool, bool]:
    den = is_english(r) and r["expected"] != OUT_OF_SCOPE
    return den, den and r["intent"] == r["expected"]


def _right(r: Row) -> tuple[bool, bool]:
    """What a customer would call right (tools.compare.is_right), over every row."""
    if r["expected"] == OUT_OF_SCOPE:
        ok = r["outcome"] == "fallback"
    elif r["expected"] == HUMAN_REQUEST:
        ok = r.get("handoff_reason") == EXPLICIT_REQUEST
    else:
        ok = r["intent"] == r["expected"] and r["outcome"] != "fallback"
    return True, ok


# The same definitions as tools.evaluation.metrics.summarise, one row at a time.
PER_ROW: dict[str, PerRow] = {
    "right": _right,
    "human_request_recall": _human_request_recall,
    "human_request_recall_languages": _human_request_recall_languages,
    "answer_precision": _answer_precision,
    "answered_in_scope": _answered_in_scope,
    "out_of_scope_answered": _out_of_scope_answered,
    "intent_accuracy_in_scope": _intent_accuracy_in_scope,
}
LOWER_IS_BETTER = frozenset({"out_of_scope_answered"})


@dataclass(frozen=True)
class Difference:
    """One metric, current -> candidate on the same rows."""

    metric: str
    before: float  # the current model's value
    after: float  # the candidate's
    difference: float  # after - before
    low: float  # the confidence interval of the difference
    high: float
    significant: bool  # the interval leaves out 0
    verdict: str  # "same" (no row changed), "better", "worse" (the metric's own direction)
    rows: int  # rows in the metric's denominator (the candidate's)
    changed: int  # rows counted differently by the two models, for this metric
    resamples: int  # drawings used (those with rows for the metric in both models)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    at = (len(sorted_values) - 1) * q
    low, high = math.floor(at), math.ceil(at)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (at - low)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def compare(
    before: Sequence[Row],
    after: Sequence[Row],
    metrics: Sequence[str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, Difference]:
    """Each metric (default: all of PER_ROW) that both models can be measured on, current
    (`before`) against candidate (`after`); row i of one is row i of the other."""
    if len(before) != len(after):
        raise ValueError(f"not the same rows: {len(before)} and {len(after)}")
    for was, now in zip(before, after, strict=True):
        if was["text"] != now["text"] or was["expected"] != now["expected"]:
            raise ValueError(f"not the same rows: {was['text']!r} and {now['text']!r}")
    names = [m for m in (metrics or PER_ROW) if m in PER_ROW]
    # Each row as its (den, num) for every metric and both models; equal rows are one pattern.
    patterns = Counter(
        tuple(int(flag) for name in names for flag in (*PER_ROW[name](was), *PER_ROW[name](now)))
        for was, now in zip(before, after, strict=True)
    )
    kinds = list(patterns)
    n = sum(patterns.values())

    def totals(counts: Sequence[int]) -> list[int]:
        sums = [0] * (4 * len(names))
        for kind, count in zip(kinds, counts, strict=True):
            if count:
                for j, flag in enumerate(kind):
                    sums[j] += flag * count
        return sums

    full = totals([patterns[k] for k in kinds])
    rng = random.Random(seed)
    cumulative = _accumulate([patterns[k] for k in kinds])
    population = range(len(kinds))
    drawn: list[list[float]] = [[] for _ in names]
    for _ in range(resamples if n else 0):
        picks = Counter(rng.choices(population, cum_weights=cumulative, k=n))
        sums = totals([picks.get(i, 0) for i in range(len(kinds))])
        for m in range(len(names)):
            den_a, num_a, den_b, num_b = sums[4 * m : 4 * m + 4]
            a, b = _ratio(num_a, den_a), _ratio(num_b, den_b)
            if a is not None and b is not None:
                drawn[m].append(b - a)

    found: dict[str, Difference] = {}
    tail = (1 - confidence) / 2
    for m, name in enumerate(names):
        den_a, num_a, den_b, num_b = full[4 * m : 4 * m + 4]
        a, b = _ratio(num_a, den_a), _ratio(num_b, den_b)
        if a is None or b is None:
            continue
        per_row = PER_ROW[name]
        changed = sum(per_row(was) != per_row(now) for was, now in zip(before, after, strict=True))
        diffs = sorted(drawn[m]) or [b - a]
        low, high = quantile(diffs, tail), quantile(diffs, 1 - tail)
        significant = low > 0 or high < 0
        if not changed or b == a:
            verdict = "same"
        else:
            verdict = "better" if (b > a) != (name in LOWER_IS_BETTER) else "worse"
        found[name] = Difference(
            metric=name,
            before=round(a, 4),
            after=round(b, 4),
            difference=round(b - a, 4),
            low=round(low, 4),
            high=round(high, 4),
            significant=significant and verdict != "same",
            verdict=verdict,
            rows=den_b,
            changed=changed,
            resamples=len(drawn[m]),
        )
    return found


def _accumulate(counts: Sequence[int]) -> list[int]:
    total, out = 0, []
    for count in counts:
        total += count
        out.append(total)
    return out


def significantly_worse(differences: dict[str, Any], gated: Sequence[str]) -> list[str]:
    """The gated metrics (names) on which the candidate is significantly worse, described:
    `out_of_scope_answered 2.0% -> 6.0% (+4.0 points, 95% CI +1.0 to +7.0)`. Accepts
    Difference objects or their dicts (as report.json holds them)."""
    found = []
    for name in gated:
        d = differences.get(name)
        if d is None:
            continue
        d = d if isinstance(d, dict) else d.as_dict()
        if d["significant"] and d["verdict"] == "worse":
            found.append(f"{name} {describe(d)}")
    return found


def describe(d: dict[str, Any]) -> str:
    """`2.0% -> 6.0% (+4.0 points, 95% CI +1.0 to +7.0)`."""
    return (
        f"{d['before'] * 100:.1f}% -> {d['after'] * 100:.1f}% "
        f"({points(d['difference'])} points, 95% CI {points(d['low'])} to {points(d['high'])})"
    )


def points(share: float) -> str:
    """A difference of shares in percentage points, signed: +4.0, -0.5, 0.0."""
    value = round(share * 100, 1)
    return "0.0" if value == 0 else f"{value:+.1f}"
