"""Human-readable summary of an evaluation run."""

from __future__ import annotations


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def render(summary: dict) -> str:
    lines = [
        f"rows: {summary['rows']}   outcomes: {summary['outcomes']}   "
        f"speed: {summary['rows_per_second']} rows/s   parse p50: {summary['parse_p50_ms']} ms "
        "(timings: reported, not gated)",
    ]
    if summary.get("batch_parse_mismatches"):
        lines.append(
            f"WARNING: batched NLU differs from single parses on "
            f"{summary['batch_parse_mismatches']} sample rows"
        )
    lines += ["", "targets:"]
    for metric, check in summary["targets"].items():
        mark = "ok  " if check["met"] else "MISS"
        lines.append(f"  [{mark}] {metric:<24} {check['value']:<8} target {check['target']}")
    lines += [
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
    return "\n".join(lines)
