"""The handoff bar's precision/recall curve (issue 15): tools/evaluation/handoff_bar.py."""

from __future__ import annotations

from typing import Any

import pytest

from tools.evaluation import handoff_bar


def row(expected: str, score: float, phrase: str | None = None, lang: str = "") -> dict[str, Any]:
    return {"expected": expected, "person_score": score, "person_phrase": phrase, "lang": lang}


ROWS = [
    row("contact_human_agent", 0.9),
    row("contact_human_agent", 0.6),
    row("contact_human_agent", 0.2),
    row("contact_human_agent", 0.05, phrase="real person"),  # a phrase: flagged at any bar
    row("contact_customer_service", 0.7),  # asking for customer service: a request too
    row("track_order", 0.5),
    row("track_order", 0.1),
    row("out_of_scope", 0.4),
    row("out_of_scope", 0.0),
    # Other languages are left out of the curve.
    row("contact_human_agent", 0.0, lang="ru"),
    row("track_order", 0.99, lang="de"),
]


def test_points_of_the_curve() -> None:
    low = handoff_bar.point(ROWS, 0.1)
    assert low["recall"] == 1.0
    assert low["flagged"] == 8  # every English row with score >= 0.1, plus the phrase row
    assert low["precision"] == round(5 / 8, 4)
    assert low["oos_flagged"] == 0.5

    mid = handoff_bar.point(ROWS, 0.5)
    assert mid["recall"] == 0.75  # 0.9, 0.6 and the phrase row
    assert mid["precision"] == 0.8  # 4 of 5: the track_order row at 0.5 is a needless handoff
    assert mid["oos_flagged"] == 0.0

    high = handoff_bar.point(ROWS, 0.95)
    assert high["recall"] == 0.25  # only the phrase is left
    assert high["precision"] == 1.0
    assert (high["human"], high["oos"]) == (4, 2)


def test_phrase_counts_whatever_the_score() -> None:
    assert handoff_bar.flagged(row("contact_human_agent", 0.0, phrase="agent"), 0.98)
    assert not handoff_bar.flagged(row("contact_human_agent", 0.0), 0.02)
    assert handoff_bar.flagged(row("contact_human_agent", 0.3), 0.3)  # score >= bar


def test_curve_over_the_bars_and_missing_scores() -> None:
    points = handoff_bar.curve(ROWS)
    assert [p["bar"] for p in points][:3] == [0.02, 0.04, 0.06]
    assert points[-1]["bar"] == 0.98 and len(points) == 49
    recalls = [p["recall"] for p in points]
    assert recalls == sorted(recalls, reverse=True)

    # A report from a model without the detector: nothing flagged, precision undefined.
    old = [{"expected": "contact_human_agent"}, {"expected": "out_of_scope"}]
    assert handoff_bar.point(old, 0.3) | {} == {
        "bar": 0.3,
        "recall": 0.0,
        "precision": None,
        "oos_flagged": 0.0,
        "flagged": 0,
        "human": 1,
        "oos": 1,
    }


def test_threshold_from_the_config() -> None:
    config = {
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "bot.nlu.person.PersonRequestDetector", "threshold": 0.35},
        ]
    }
    assert handoff_bar.configured_threshold(config) == pytest.approx(0.35)
    assert handoff_bar.configured_threshold({"pipeline": [{"name": "X"}]}) is None


def test_table_marks_the_chosen_point() -> None:
    points = handoff_bar.curve(ROWS)
    chosen = handoff_bar.point(ROWS, 0.33)
    lines = handoff_bar.table(points, chosen).splitlines()
    marked = [line for line in lines if line.endswith("<- chosen")]
    assert len(marked) == 1 and marked[0].split()[:2] == ["0.33", "75.0%"]
    bars = [float(line.split()[0]) for line in lines[1:]]
    assert bars == sorted(bars) and 0.3 in bars and 0.4 in bars
