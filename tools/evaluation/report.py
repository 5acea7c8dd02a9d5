"""Human-readable summary of an evaluation run."""

from __future__ import annotations

# Failed dialogue turns printed in full; the JSON report has them all.
SHOWN_FAILURES = 20


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def render(summary: dict) -> str:
    lines: list[str] = []
    if summary.get("rows"):
        lines += _rows_header(summary)
    lines += ["", "targets:"] if lines else ["targets:"]
    for metric, check in summary["targets"].items():
        mark = "ok  " if check["met"] else "MISS"
        lines.append(f"  [{mark}] {metric:<30} {check['value']:<8} target {check['target']}")
    if summary.get("rows"):
        lines += _rows_detail(summary)
    if summary.get("per_language"):
        lines += _languages(summary["per_language"])
    if summary.get("dialogues"):
        lines += _dialogues(summary["dialogues"])
    return "\n".join(lines)


def _rows_header(summary: dict) -> list[str]:
    lines = [
        f"rows: {summary['rows']}   outcomes: {summary['outcomes']}   "
        f"speed: {summary['rows_per_second']} rows/s   parse p50: {summary['parse_p50_ms']} ms "
        "(timings: reported, not gated)",
    ]
    if summary.get("per_language"):
        lines.append(
            f"English rows (lang '' or 'en'): {summary['rows_english']}; the targets other "
            "than the language recall and the per-intent table are over these only"
        )
    if summary.get("batch_parse_mismatches"):
        lines.append(
            f"WARNING: batched NLU differs from single parses on "
            f"{summary['batch_parse_mismatches']} sample rows"
        )
    return lines


def _rows_detail(summary: dict) -> list[str]:
    lines = [
        "",
        f"  intent accuracy (in scope): {_pct(summary['intent_accuracy_in_scope'])}",
        "",
        f"{'intent':<26}{'n':>5}{'recall':>8}{'prec.':>8}  outcomes",
    ]
    for intent, row in summary["per_intent"].items():
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(row["outcomes"].items()))
        figures = f"{row['n']:>5}{_pct(row['recall']):>8}{_pct(row['precision']):>8}"
        lines.append(f"{intent:<26}{figures}  {outcomes}")
    if summary["confusions"]:
        lines += ["", "most common confusions (expected -> predicted):"]
        lines += [
            f"  {c['count']:>4}  {c['expected']} -> {c['predicted']}" for c in summary["confusions"]
        ]
    return lines


def _languages(table: dict) -> list[str]:
    lines = [
        "",
        "per language (human requests: handed over for any reason / recognised as a request; "
        "all rows handed over; detected language right):",
        f"{'lang':<6}{'n':>6}{'human':>7}{'any':>8}{'request':>9}{'handed':>8}{'detect':>8}"
        "  handoff reasons",
    ]
    for lang, row in table.items():
        reasons = " ".join(f"{k}={v}" for k, v in sorted(row["handoff_reasons"].items()))
        handed = _pct(row["handed_over"]) if "handed_over" in row else "     -"
        lines.append(
            f"{lang:<6}{row['n']:>6}{row['human_requests']:>7}"
            f"{_pct(row['human_request_recall_any']):>8}"
            f"{_pct(row['human_request_recall_explicit']):>9}"
            f"{handed:>8}{_pct(row['language_accuracy']):>8}  {reasons}"
        )
    return lines


def _dialogues(found: dict) -> list[str]:
    lines = [
        "",
        f"dialogues: {found['dialogues_right']}/{found['dialogues']} right; "
        f"turns: {found['turns_right']}/{found['turns']} right ({_pct(found['turn_accuracy'])})",
    ]
    for failure in found["failures"][:SHOWN_FAILURES]:
        got = failure["got"]
        said = " | ".join(got["replies"])
        lines += [
            f"  {failure['name']!r} turn {failure['turn']}: {failure['say']!r}",
            f"      expected {failure['expected']}",
            f"      got {got['outcome']}"
            + (f" ({got['reason']})" if got.get("reason") else "")
            + (f", intent {got['intent']}" if got.get("intent") else "")
            + (f", said {said[:200]!r}" if said else "")
            + (
                f"; {'; '.join(failure['problems'])}"
                if failure.get("problems") and got["outcome"] != "not reached"
                else ""
            ),
        ]
    if len(found["failures"]) > SHOWN_FAILURES:
        lines.append(f"  … and {len(found['failures']) - SHOWN_FAILURES} more (see the JSON)")
    return lines
