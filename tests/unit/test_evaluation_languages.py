"""Per-language figures of the evaluator (issue 15): tools/evaluation/metrics.py."""

from __future__ import annotations

from typing import Any

from tools.evaluation import metrics, report


def row(
    expected: str,
    outcome: str = "answer",
    reason: str | None = None,
    lang: str = "",
    intent: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    return {
        "text": "…",
        "expected": expected,
        "intent": expected if intent is None else intent,
        "confidence": 0.9,
        "outcome": outcome,
        "handoff_reason": reason,
        "lang": lang,
        "person_score": 0.0,
        "person_phrase": None,
        "language": language,
    }


def human(lang: str = "", reason: str | None = "explicit_request", **kw: Any) -> dict[str, Any]:
    outcome = "handoff" if reason else "answer"
    return row("contact_human_agent", outcome, reason, lang, **kw)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return metrics.summarise(rows, 100.0, [0.01])


def english_rows() -> list[dict[str, Any]]:
    return [
        *(human() for _ in range(9)),
        human(lang="en"),
        *(row("track_order") for _ in range(40)),
        row("track_order", intent="cancel_order"),
        row("track_order", "fallback"),
        *(row("out_of_scope", "fallback") for _ in range(20)),
    ]


def test_without_a_lang_column_nothing_changes() -> None:
    summary = summarise([{k: v for k, v in r.items() if k != "lang"} for r in english_rows()])
    assert "per_language" not in summary
    assert "human_request_recall_languages" not in summary
    assert summary["human_request_recall"] == 1.0
    assert summary["answer_precision"] == round(40 / 41, 4)
    assert summary["answered_in_scope"] == round(51 / 52, 4)
    assert summary["out_of_scope_answered"] == 0.0
    assert not metrics.gate_failures(summary)


def test_other_languages_do_not_distort_the_english_figures() -> None:
    english = summarise(english_rows())
    foreign = [
        # Handed over because of the language: not an English request recognised, not an answer.
        *(human("ru", "language") for _ in range(5)),
        *(row("track_order", "handoff", "language", "ru", intent="cancel_order") for _ in range(7)),
        *(row("out_of_scope", "answer", lang="de", intent="greet") for _ in range(4)),
        row("track_order", "answer", lang="de", intent="cancel_order"),
    ]
    mixed = summarise(english_rows() + foreign)
    for figure in (
        "human_request_recall",
        "answer_precision",
        "answered_in_scope",
        "out_of_scope_answered",
        "intent_accuracy_in_scope",
    ):
        assert mixed[figure] == english[figure], figure
    assert mixed["per_intent"] == english["per_intent"]
    assert mixed["confusions"] == english["confusions"]
    assert mixed["rows"] == len(english_rows()) + len(foreign)
    assert mixed["rows_english"] == len(english_rows())


def test_per_language_table() -> None:
    rows = [
        *english_rows(),
        human("ru", "language", language="ru"),
        human("ru", "explicit_request", language="ru"),
        human("ru", None, language="en"),
        row("track_order", "handoff", "language", "ru", language="ru"),
        row("track_order", "answer", lang="RU", language="en"),
        human("de", "language", language="de"),
    ]
    table = summarise(rows)["per_language"]
    assert list(table) == ["en", "de", "ru"]  # English first, then by code
    ru = table["ru"]
    assert ru["n"] == 5 and ru["human_requests"] == 3
    assert ru["human_request_recall_any"] == round(2 / 3, 4)
    assert ru["human_request_recall_explicit"] == round(1 / 3, 4)
    assert ru["handed_over"] == 0.6  # 3 of the 5 rows at once
    assert ru["language_accuracy"] == 0.6
    assert ru["handoff_reasons"] == {"language": 2, "explicit_request": 1}
    # Rows without a lang are English; detection is "unknown" when no row reports a language.
    assert table["en"]["n"] == len(english_rows())
    assert table["en"]["human_request_recall_explicit"] == 1.0
    assert table["en"]["language_accuracy"] is None
    assert "handed_over" not in table["en"]
    assert table["de"]["human_request_recall_any"] == 1.0


def test_language_recall_is_gated_at_95_percent() -> None:
    met = [*(human("ru", "language") for _ in range(19)), human("uk", "not_resolved")]
    summary = summarise(english_rows() + met)
    assert summary["human_request_recall_languages"] == 1.0
    assert summary["targets"]["human_request_recall_languages"]["met"]
    assert not metrics.gate_failures(summary)

    missed = [*(human("ru", "language") for _ in range(18)), human("ru", None), human("de", None)]
    summary = summarise(english_rows() + missed)
    assert summary["human_request_recall_languages"] == 0.9
    check = summary["targets"]["human_request_recall_languages"]
    assert check == {"target": ">= 0.95", "value": 0.9, "met": False}
    assert metrics.gate_failures(summary) == [
        "human_request_recall_languages: 0.9 (target >= 0.95)"
    ]
    assert "per language" in report.render(summary)


def test_english_recall_needs_the_explicit_reason_and_995() -> None:
    rows = [*(human() for _ in range(199)), human(reason="language")]  # 199/200 = 99.5 %
    assert summarise(rows)["targets"]["human_request_recall"]["met"]
    rows = [*(human() for _ in range(198)), human(reason="language"), human(reason=None)]
    check = summarise(rows)["targets"]["human_request_recall"]
    assert check == {"target": ">= 0.995", "value": 0.99, "met": False}


def test_answered_in_scope_target_is_90_percent() -> None:
    rows = [*(row("track_order") for _ in range(9)), row("track_order", "fallback")]
    assert summarise(rows)["targets"]["answered_in_scope"] == {
        "target": ">= 0.9",
        "value": 0.9,
        "met": True,
    }
    rows.append(row("track_order", "fallback"))
    assert not summarise(rows)["targets"]["answered_in_scope"]["met"]


def test_dialogue_target_from_the_summary() -> None:
    summary: dict[str, Any] = {"rows": 0, "dialogues": {"turn_accuracy": 0.94}}
    assert metrics.check(summary) == {
        "dialogue_turn_accuracy": {"target": ">= 0.95", "value": 0.94, "met": False}
    }
