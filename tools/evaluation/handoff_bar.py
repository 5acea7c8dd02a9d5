"""The handoff bar's precision/recall trade-off (issue 15), drawn from evaluation reports.

    python -m tools.evaluation.handoff_bar --eval .run/x.json [--eval ...]
                                           --out docs/img/handoff-bar.png [--threshold 0.3]

Reads the rows of `python -m tools.evaluate` JSON reports (`person_score`, `person_phrase`,
`expected`, `lang`) and, for bars 0.02..0.98, over the English rows (lang "" or "en"):

* recall: the share of `contact_human_agent` rows flagged (score >= bar, or a lexicon phrase
  matched, which counts as a request whatever the score);
* precision: the share of flagged rows that ask for a person (`contact_human_agent`, or
  `contact_customer_service`: asking for customer service is asking for a person too);
* out of scope flagged: the share of `out_of_scope` rows flagged (needless handoffs).

The chosen point is `--threshold`, or else the `threshold` of config.yml's pipeline component
whose name ends in `PersonRequestDetector`. Writes the chart (PNG) and, beside it, the same
figures as JSON; prints a short table. Everything but `draw` is pure (no matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools.evaluation.metrics import HUMAN_REQUEST, OUT_OF_SCOPE, is_english

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_SERVICE = "contact_customer_service"
ASKS_FOR_PERSON = frozenset({HUMAN_REQUEST, CUSTOMER_SERVICE})
BARS = tuple(round(0.02 * i, 2) for i in range(1, 50))  # 0.02, 0.04, ..., 0.98
# Bars printed to stdout (the JSON has every bar).
PRINTED = (0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.98)
DETECTOR_SUFFIX = "PersonRequestDetector"


def flagged(row: dict[str, Any], bar: float) -> bool:
    """The detector calls this row a request for a person at this bar."""
    return bool(row.get("person_phrase")) or float(row.get("person_score") or 0.0) >= bar


def point(rows: list[dict[str, Any]], bar: float) -> dict[str, Any]:
    """Recall, precision and out-of-scope share flagged at one bar, over the English rows."""
    english = [r for r in rows if is_english(r)]
    human = [r for r in english if r.get("expected") == HUMAN_REQUEST]
    oos = [r for r in english if r.get("expected") == OUT_OF_SCOPE]
    hits = [r for r in english if flagged(r, bar)]
    return {
        "bar": round(bar, 4),
        "recall": _ratio(sum(flagged(r, bar) for r in human), len(human)),
        "precision": _ratio(sum(r.get("expected") in ASKS_FOR_PERSON for r in hits), len(hits)),
        "oos_flagged": _ratio(sum(flagged(r, bar) for r in oos), len(oos)),
        "flagged": len(hits),
        "human": len(human),
        "oos": len(oos),
    }


def curve(rows: list[dict[str, Any]], bars: Iterable[float] = BARS) -> list[dict[str, Any]]:
    return [point(rows, bar) for bar in bars]


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def load_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows += json.loads(path.read_text(encoding="utf-8")).get("rows") or []
    return rows


def configured_threshold(config: dict[str, Any]) -> float | None:
    """The `threshold` of the pipeline component whose name ends in PersonRequestDetector."""
    for component in config.get("pipeline") or []:
        if isinstance(component, dict) and str(component.get("name", "")).endswith(DETECTOR_SUFFIX):
            value = component.get("threshold")
            return float(value) if value is not None else None
    return None


def _config_threshold(path: Path) -> float | None:
    import yaml

    if not path.exists():
        return None
    return configured_threshold(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def table(points: list[dict[str, Any]], chosen: dict[str, Any] | None) -> str:
    def pct(value: float | None) -> str:
        return "    n/a" if value is None else f"{value * 100:6.1f}%"

    shown = [p for p in points if p["bar"] in PRINTED]
    if chosen is not None:
        shown = sorted([*(p for p in shown if p["bar"] != chosen["bar"]), chosen], key=_bar)
    lines = [f"{'bar':>6} {'recall':>7} {'precision':>9} {'oos flagged':>11}"]
    for p in shown:
        mark = "  <- chosen" if chosen is not None and p is chosen else ""
        lines.append(
            f"{p['bar']:>6.2f} {pct(p['recall'])} {pct(p['precision']):>9} "
            f"{pct(p['oos_flagged']):>11}{mark}"
        )
    return "\n".join(lines)


def _bar(p: dict[str, Any]) -> float:
    return float(p["bar"])


def draw(points: list[dict[str, Any]], chosen: dict[str, Any] | None, out: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(key: str) -> list[float]:
        return [float("nan") if p[key] is None else p[key] * 100 for p in points]

    bars = [p["bar"] for p in points]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    ax.plot(bars, series("recall"), label="recall (person requests flagged)", color="tab:blue")
    ax.plot(
        bars,
        series("precision"),
        label="precision (flagged rows that ask for a person)",
        color="tab:orange",
    )
    ax.plot(
        bars,
        series("oos_flagged"),
        label="out-of-scope rows flagged",
        color="tab:gray",
        linestyle=":",
    )
    if chosen is not None:
        ax.axvline(chosen["bar"], color="tab:red", linestyle="--", linewidth=1)
        text = [f"chosen bar {chosen['bar']:.2f}"]
        for key, name in (("recall", "recall"), ("precision", "precision")):
            if chosen[key] is not None:
                ax.plot(chosen["bar"], chosen[key] * 100, "o", color="tab:red")
                text.append(f"{name} {chosen[key] * 100:.1f} %")
        ax.annotate(
            "\n".join(text),
            xy=(chosen["bar"], 50),
            xytext=(12, 0),
            textcoords="offset points",
            color="tab:red",
            va="center",
            bbox={"boxstyle": "round", "fc": "white", "ec": "tab:red"},
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("handoff bar (person-request score)")
    ax.set_ylabel("%")
    ax.set_title("Person-request detector: precision and recall against the bar")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False)
    fig.text(0.01, 0.01, note, fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", action="append", required=True, type=Path, metavar="REPORT")
    parser.add_argument("--out", type=Path, required=True, metavar="PNG")
    parser.add_argument("--threshold", type=float, help="default: config.yml's detector bar")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    args = parser.parse_args(argv)

    rows = load_rows(args.eval)
    threshold = args.threshold if args.threshold is not None else _config_threshold(args.config)
    points = curve(rows)
    chosen = point(rows, threshold) if threshold is not None else None
    english = sum(is_english(r) for r in rows)
    scored = sum(bool(r.get("person_score") or r.get("person_phrase")) for r in rows)
    note = (
        f"{english} English rows of {', '.join(p.name for p in args.eval)}; "
        f"{points[0]['human']} ask for a person, {points[0]['oos']} out of scope"
    )
    if threshold is None:
        print(
            f"no --threshold and no {DETECTOR_SUFFIX} threshold in {args.config}: "
            "no chosen point marked",
            file=sys.stderr,
        )
    if not scored:
        print("warning: no row has a person_score or person_phrase", file=sys.stderr)

    draw(points, chosen, args.out, note)
    figures = {
        "sources": [str(p) for p in args.eval],
        "english_rows": english,
        "threshold": threshold,
        "chosen": chosen,
        "points": points,
    }
    beside = args.out.with_suffix(".json")
    beside.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(table(points, chosen))
    print(f"\nwritten: {args.out}, {beside}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
