"""Candidate against current on the same rows (tools/evaluation/paired.py), on known numbers."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from tools.evaluation import metrics, paired

Row = dict[str, Any]


def row(text: str, expected: str, intent: str, outcome: str = "answer", **extra: Any) -> Row:
    return {
        "text": text,
        "expected": expected,
        "intent": intent,
        "outcome": outcome,
        "handoff_reason": extra.pop("handoff_reason", None),
        "confidence": 0.9,
        **extra,
    }


def right(i: int) -> Row:
    return row(f"r{i}", "track_order", "track_order")


def wrong(i: int) -> Row:
    return row(f"r{i}", "track_order", "get_refund")


def test_quantile_interpolates_between_order_statistics() -> None:
    # numpy.quantile([1, 2, 3, 4], q) with its default (linear) method
    assert paired.quantile([1, 2, 3, 4], 0.25) == 1.75
    assert paired.quantile([1, 2, 3, 4], 0.5) == 2.5
    assert paired.quantile([1, 2, 3, 4], 0.975) == pytest.approx(3.925)
    assert paired.quantile([7], 0.025) == 7


def test_the_same_decisions_are_the_same_with_a_zero_interval() -> None:
    rows = [right(i) for i in range(50)] + [wrong(i) for i in range(50, 60)]
    found = paired.compare(rows, [dict(r) for r in rows])["intent_accuracy_in_scope"]
    assert found.before == found.after == round(50 / 60, 4) and found.difference == 0.0
    assert (found.low, found.high) == (0.0, 0.0)
    assert found.verdict == "same" and not found.significant and found.changed == 0


def test_the_interval_matches_the_normal_approximation_for_paired_proportions() -> None:
    """1,000 rows, 60 right -> wrong and 20 wrong -> right: the difference is -0.04 and its
    standard error for paired proportions is sqrt(((b + c) / n - ((c - b) / n) ** 2) / n)
    = 0.008854, so the 95 % interval is about -0.04 +- 1.96 * 0.008854 = [-0.0574, -0.0226]."""
    before = [right(i) for i in range(900)] + [wrong(i) for i in range(900, 1000)]
    after = (
        [wrong(i) for i in range(60)]  # 60 got worse
        + [right(i) for i in range(60, 900)]
        + [right(i) for i in range(900, 920)]  # 20 got better
        + [wrong(i) for i in range(920, 1000)]
    )
    found = paired.compare(before, after)["intent_accuracy_in_scope"]
    assert (found.before, found.after, found.difference) == (0.9, 0.86, -0.04)
    se = math.sqrt(((60 + 20) / 1000 - ((20 - 60) / 1000) ** 2) / 1000)
    assert se == pytest.approx(0.008854, abs=1e-6)
    assert found.low == pytest.approx(-0.04 - 1.96 * se, abs=0.003)
    assert found.high == pytest.approx(-0.04 + 1.96 * se, abs=0.003)
    assert found.significant and found.verdict == "worse" and found.changed == 80
    assert found.resamples == paired.RESAMPLES


def test_an_interval_that_includes_zero_is_not_significant() -> None:
    # 3 worse, 1 better out of 1,000: the drawings often leave the worse rows out.
    before = [right(i) for i in range(1000)]
    after = [wrong(i) for i in range(3)] + [right(i) for i in range(3, 1000)]
    before[999] = wrong(999)
    found = paired.compare(before, after)["intent_accuracy_in_scope"]
    assert found.difference == -0.002 and found.verdict == "worse"
    assert found.low < 0 <= found.high and not found.significant


def test_seeded_the_same_rows_give_the_same_interval() -> None:
    rnd = random.Random(5)
    before = [right(i) if rnd.random() < 0.9 else wrong(i) for i in range(300)]
    after = [right(i) if rnd.random() < 0.85 else wrong(i) for i in range(300)]
    first = paired.compare(before, after)
    assert first == paired.compare(before, after)
    other = paired.compare(before, after, seed=paired.SEED + 1)["right"]
    assert other.difference == first["right"].difference
    assert abs(other.low - first["right"].low) < 0.02


def test_out_of_scope_answered_more_often_is_worse() -> None:
    """The issue's case: out of scope answered 2 % -> 6 % of 100 rows."""
    oos = lambda i, answered: row(  # noqa: E731
        f"o{i}", "out_of_scope", "track_order", "answer" if answered else "fallback"
    )
    before = [oos(i, i < 2) for i in range(100)]
    after = [oos(i, i < 6) for i in range(100)]
    found = paired.compare(before, after)["out_of_scope_answered"]
    assert (found.before, found.after) == (0.02, 0.06)
    assert found.verdict == "worse" and found.significant and found.low > 0
    assert paired.significantly_worse({"out_of_scope_answered": found}, ["answer_precision"]) == []
    [said] = paired.significantly_worse(
        {"out_of_scope_answered": found.as_dict()}, ["out_of_scope_answered"]
    )
    assert said.startswith("out_of_scope_answered 2.0% -> 6.0% (+4.0 points, 95% CI +")
    # Only 2 rows more (2 % -> 4 %): within chance.
    after = [oos(i, i < 4) for i in range(100)]
    assert not paired.compare(before, after)["out_of_scope_answered"].significant


def test_every_request_for_a_person_missed() -> None:
    asked = lambda i, handed: row(  # noqa: E731
        f"h{i}",
        "contact_human_agent",
        "contact_human_agent",
        "handoff" if handed else "answer",
        handoff_reason="explicit_request" if handed else None,
    )
    before, after = [asked(i, True) for i in range(20)], [asked(i, False) for i in range(20)]
    found = paired.compare(before, after)
    recall = found["human_request_recall"]
    assert (recall.before, recall.after, recall.low, recall.high) == (1.0, 0.0, -1.0, -1.0)
    assert recall.significant and recall.verdict == "worse"
    assert "answer_precision" not in found  # the current model answered none of them
    assert "out_of_scope_answered" not in found  # no out-of-scope row: nothing to say


def test_the_figures_are_those_of_the_evaluation_report() -> None:
    """Per-row definitions agree with tools.evaluation.metrics.summarise, also for
    answer_precision, whose rows (those each model answered) differ between the models."""
    rnd = random.Random(11)
    intents = ["track_order", "get_refund", "contact_human_agent", "out_of_scope"]

    def result(i: int, expected: str) -> Row:
        outcome = rnd.choice(["answer", "answer", "answer", "fallback", "handoff"])
        return row(
            f"t{i}",
            expected,
            rnd.choice(intents),
            outcome,
            handoff_reason="explicit_request" if outcome == "handoff" else None,
            lang=rnd.choice(["", "", "en", "de"]),
        )

    expected = [rnd.choice(intents) for _ in range(400)]
    before = [result(i, e) for i, e in enumerate(expected)]
    after = [result(i, e) for i, e in enumerate(expected)]
    found = paired.compare(before, after, resamples=50)
    for rows, side in ((before, "before"), (after, "after")):
        summary = metrics.summarise(rows, 1.0, [])
        for name in (
            "human_request_recall",
            "human_request_recall_languages",
            "answer_precision",
            "answered_in_scope",
            "out_of_scope_answered",
            "intent_accuracy_in_scope",
        ):
            assert getattr(found[name], side) == summary[name], (name, side)


def test_rows_must_be_the_same_rows() -> None:
    with pytest.raises(ValueError, match="not the same rows"):
        paired.compare([right(1)], [right(2)])
    with pytest.raises(ValueError, match="not the same rows"):
        paired.compare([right(1)], [])


def test_points() -> None:
    assert [paired.points(v) for v in (0.04, -0.0051, 0.0, 0.00001)] == [
        "+4.0",
        "-0.5",
        "0.0",
        "0.0",
    ]
