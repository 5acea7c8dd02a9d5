"""Compare a newly trained model with the current one before promoting it (docs/learning.md).

    python -m tools.compare [--candidate models/candidate/candidate.tar.gz]
                            [--current models/current.tar.gz]
                            [--data FILE.csv[:SPLIT] ...] [--reviewed FILE.yml ...]
                            [--out .run/compare]

`make evaluate` runs this. Both models go through the evaluator's runner (tools.evaluation, the
same code as `make evaluate-gate`), one after the other in this process, on the same rows:

* the dev split (the main comparison: no model trains on it): by default the rows of the CI
  gate, the Bitext dev split and the CLINC out-of-scope validation rows (`--data` replaces
  them; FILE.csv:SPLIT keeps one split);
* the reviewed examples: those a maintainer checked and moved into the training data,
  `data/nlu/reviewed.yml` (`--reviewed` replaces it), filed under an intent the domain has.
  The unchecked suggestions of `make review` (review/candidates.yml: the classifier's own
  guesses) are never taken as right answers, and a file under review/ is refused. The
  candidate has trained on the reviewed examples: their score is a training-set score (the
  fix took), not how well it generalises.

It prints, per data set, each metric before and after; on the dev split also the difference
with its 95 % confidence interval from a paired bootstrap over the rows
(tools/evaluation/paired.py) and whether it is significant; the intents and examples that
got better or worse; whether the candidate meets the issue-3 targets. It writes
<out>/report.json, which `make promote` reads: a candidate below the targets, or significantly
worse than the current model on a target metric, is not promoted unless forced.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from tools.evaluation import metrics as metrics_mod
from tools.evaluation import paired as paired_mod

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
DEV = SHARED / "bitext_customer_support.csv"
# The rows `make evaluate-gate` (the CI gate) uses: never trained on.
GATE_ROWS = (f"{DEV}:dev", f"{SHARED / 'clinc150_out_of_scope_dev.csv'}:val")
# Reviewed examples are those a maintainer moved into the training data; review/ holds the
# unchecked suggestions of `make review`, which are never taken as right answers.
REVIEWED = (ROOT / "data" / "nlu" / "reviewed.yml",)
UNCHECKED = ROOT / "review"
HUMAN_REQUEST, OUT_OF_SCOPE, EXPLICIT = "contact_human_agent", "out_of_scope", "explicit_request"
SHOWN = 20

# (metric, label, kind): kind "share" is a 0..1 figure, "ms" and "rate" are timings.
METRICS = (
    ("right", "right (as the customer sees it)", "share"),
    ("human_request_recall", "human_request_recall", "share"),
    ("answer_precision", "answer_precision", "share"),
    ("answered_in_scope", "answered_in_scope", "share"),
    ("out_of_scope_answered", "out_of_scope_answered", "share"),
    ("intent_accuracy_in_scope", "intent_accuracy_in_scope", "share"),
    ("parse_p50_ms", "parse p50 ms (not gated)", "ms"),
    ("rows_per_second", "rows/s (not gated)", "rate"),
)
LOWER_IS_BETTER = {"out_of_scope_answered"}
# The metrics with a target (tools.evaluation.metrics.TARGETS): significantly worse on any of
# them and `make promote` refuses the candidate.
GATED = tuple(t.metric for t in metrics_mod.TARGETS if t.metric in paired_mod.PER_ROW)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_right(row: dict[str, Any]) -> bool:
    """What a customer would call right: a person when asked, "can't help" when out of scope,
    otherwise the right intent and no abstention."""
    if row["expected"] == OUT_OF_SCOPE:
        return row["outcome"] == "fallback"
    if row["expected"] == HUMAN_REQUEST:
        return row.get("handoff_reason") == EXPLICIT
    return row["intent"] == row["expected"] and row["outcome"] != "fallback"


_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _examples(block: dict[str, Any]) -> list[str]:
    """The texts of one NLU block, in the list form (`- text: …`, what `make review` writes)
    or the block form (`examples: |` with `- …` lines); entity annotations removed."""
    examples = block.get("examples") or []
    if isinstance(examples, str):
        found = [line.strip()[2:] for line in examples.splitlines() if line.strip()[:2] == "- "]
    else:
        found = [str(e.get("text") or "") for e in examples if isinstance(e, dict)]
    return [t for t in (_ANNOTATION.sub(r"\1", text).strip() for text in found) if t]


def reviewed_rows(files: list[Path], known: set[str]) -> tuple[list[tuple[str, str]], int]:
    """(text, intent) of the review files' examples under intents the domain has (a later file
    wins for a text in two), and how many examples were left out (new topics, new intents)."""
    import yaml

    chosen: dict[str, tuple[str, str]] = {}
    skipped = 0
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent") if isinstance(block, dict) else None
            texts = _examples(block) if intent else []
            if intent not in known:
                skipped += len(texts)
                continue
            for text in texts:
                chosen[" ".join(text.lower().split())] = (text, intent)
    return list(chosen.values()), skipped


def domain_intents() -> set[str]:
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []}


def dev_rows(specs: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """The rows of `FILE.csv[:SPLIT]` specs (as tools.evaluate reads them), and their name."""
    from tools.evaluate import parse_source, read_rows

    rows: list[tuple[str, str]] = []
    names = []
    for spec in specs:
        path, split = parse_source(spec, None)
        if not path.exists():
            raise SystemExit(f"no data at {path}")
        found = read_rows(path, split)
        if not found:
            raise SystemExit(f"no rows in {path}" + (f" with split={split}" if split else ""))
        rows += found
        names.append(path.name + (f" ({split})" if split else ""))
    return " + ".join(names), rows


def evaluate(
    label: str, model: Path, sets: list[list[tuple[str, str]]]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """One model on every data set in one pass (one model load); a summary per set."""
    rows = [row for data in sets for row in data]
    print(f"== {label}: {model} ({len(rows)} rows)", flush=True)
    started = time.perf_counter()
    with warnings.catch_warnings():  # Rasa's dependencies' deprecation notices: not for us
        warnings.simplefilter("ignore")
        from tools.evaluate import _quiet_rasa
        from tools.evaluation import metrics, runner

        _quiet_rasa()
        run = asyncio.run(runner.run(model, rows))
    took = time.perf_counter() - started
    if run.batch_mismatches:
        print(
            f"WARNING: batched NLU differs from single parses on {run.batch_mismatches} rows",
            flush=True,
        )
    summaries, at = [], 0
    for data in sets:
        results = [r.row() for r in run.results[at : at + len(data)]]
        at += len(data)
        summary = metrics.summarise(results, len(rows) / run.seconds, run.parse_seconds)
        if summaries:  # timings are of the whole run: shown with the dev split only
            summary["parse_p50_ms"] = summary["rows_per_second"] = None
        summary["right"] = _right_share(results)
        summary["results"] = results
        summaries.append(summary)
    timing = {
        "load_s": round(run.load_seconds, 1),
        "rows_s": round(run.seconds, 1),
        "total_s": round(took, 1),
    }
    print(
        f"   loaded in {timing['load_s']} s, {len(rows)} rows in {timing['rows_s']} s "
        f"({len(rows) / run.seconds:.0f} rows/s)",
        flush=True,
    )
    return summaries, timing


def diff(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per metric, per intent (right share) and per example (right before / after)."""
    better, worse = [], []
    for was, row in zip(old["results"], new["results"], strict=True):
        if is_right(was) == is_right(row):
            continue
        change = {
            "text": row["text"],
            "expected": row["expected"],
            "before": _said(was),
            "after": _said(row),
        }
        (better if is_right(row) else worse).append(change)
    intents = []
    for intent in sorted({r["expected"] for r in new["results"]}):
        a = _right_share([r for r in old["results"] if r["expected"] == intent])
        b = _right_share([r for r in new["results"] if r["expected"] == intent])
        if a != b:
            intents.append({"intent": intent, "before": a, "after": b})
    return {
        "data": name,
        "rows": len(new["results"]),
        "metrics": {m: {"before": old.get(m), "after": new.get(m)} for m, _, _ in METRICS},
        "right_before": old["right"],
        "right_after": new["right"],
        "intents": intents,
        "better": better,
        "worse": worse,
    }


def _said(row: dict[str, Any]) -> str:
    if row["outcome"] == "handoff":
        return f"handoff ({row.get('handoff_reason')}, {row['intent']})"
    if row["outcome"] == "fallback":
        return f"abstain ({row['intent']}? {row['confidence']:.2f})"
    return f"{row['intent']} {row['confidence']:.2f}"


def _right_share(rows: list[dict[str, Any]]) -> float | None:
    return round(sum(map(is_right, rows)) / len(rows), 4) if rows else None


def _figure(value: float | None, kind: str) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.1f}%" if kind == "share" else f"{value:g}"


def _change(metric: str, before: float | None, after: float | None) -> str:
    if metric in ("parse_p50_ms", "rows_per_second"):
        return ""  # the second model runs in a warmed-up process: not a fair comparison
    if before is None or after is None or before == after:
        return "same" if before == after else ""
    return "better" if (after > before) != (metric in LOWER_IS_BETTER) else "WORSE"


def _verdict(metric: str, before: float | None, after: float | None, paired: Any) -> str:
    """same / better / WORSE; with a paired difference also whether it is significant."""
    if paired is None:
        return _change(metric, before, after)
    if paired["verdict"] == "same":
        return "same"
    if paired["verdict"] == "worse":
        return "WORSE, significant" if paired["significant"] else "worse, not significant"
    return "better, significant" if paired["significant"] else "better, not significant"


def render(
    changes: dict[str, Any],
    targets: dict[str, Any] | None = None,
    paired: dict[str, Any] | None = None,
    training_set: bool = False,
) -> str:
    """One data set's table. With `paired` (the dev split) each share metric also shows the
    difference candidate - current in percentage points with its 95 % interval."""
    pct = lambda v: "n/a" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    lines = [
        f"\n### {changes['data']}: {changes['rows']} rows; right {pct(changes['right_before'])}"
        f" -> {pct(changes['right_after'])} ({len(changes['better'])} examples better, "
        f"{len(changes['worse'])} worse)",
    ]
    if training_set:
        lines += [
            "  TRAINING DATA: the candidate trained on these rows, so this is a training-set",
            "  score; it shows that the fix took, not how well the model generalises (the dev",
            "  split shows that)",
        ]
    header = f"  {'metric':<34}{'current':>9}{'candidate':>11}"
    header += f"  {'change [95% CI]':<26}{'':<24}" if paired is not None else f"  {'':<7}"
    lines.append((header + ("  target (candidate)" if targets else "")).rstrip())
    for metric, label, kind in METRICS:
        figures = changes["metrics"][metric]
        before, after = figures["before"], figures["after"]
        if before is None and after is None:
            continue
        line = f"  {label:<34}{_figure(before, kind):>9}{_figure(after, kind):>11}"
        found = (paired or {}).get("metrics", {}).get(metric)
        if paired is not None:
            interval = ""
            if found is not None:
                interval = (
                    f"{paired_mod.points(found['difference']):>6} "
                    f"[{paired_mod.points(found['low'])}, {paired_mod.points(found['high'])}]"
                )
            line += f"  {interval:<26}{_verdict(metric, before, after, found):<24}"
        else:
            line += f"  {_change(metric, before, after):<7}"
        if targets and metric in targets:
            check = targets[metric]
            line += f"  {check['target']:<8} {'met' if check['met'] else 'MISSED'}"
        lines.append(line.rstrip())
    if paired is not None:
        lines += [
            "  change: candidate - current in percentage points, [its 95% confidence interval]",
            f"  from a paired bootstrap over these rows ({paired['resamples']} drawings, seed "
            f"{paired['seed']}); significant: the interval leaves out 0",
        ]
    if changes["intents"]:
        lines.append("  intents that changed (right, current -> candidate):")
    for item in sorted(changes["intents"], key=lambda i: (i["after"] or 0) - (i["before"] or 0)):
        arrow = "better" if (item["after"] or 0) > (item["before"] or 0) else "WORSE "
        lines.append(
            f"    {arrow} {item['intent']:<28} {pct(item['before']):>7} -> {pct(item['after'])}"
        )
    for title, key in (("got worse", "worse"), ("got better", "better")):
        if changes[key]:
            lines.append(f"  examples that {title}:")
            for c in changes[key][:SHOWN]:
                lines.append(f"    [{c['expected']}] {c['text']!r}: {c['before']} -> {c['after']}")
            if len(changes[key]) > SHOWN:
                lines.append(f"    … and {len(changes[key]) - SHOWN} more in report.json")
    return "\n".join(lines)


def paired_comparison(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The paired differences on one data set, as report.json keeps them."""
    found = paired_mod.compare(old["results"], new["results"])
    return {
        "method": "paired bootstrap over rows, percentile interval",
        "confidence": paired_mod.CONFIDENCE,
        "resamples": paired_mod.RESAMPLES,
        "seed": paired_mod.SEED,
        "gated": list(GATED),
        "metrics": {name: d.as_dict() for name, d in found.items()},
    }


def verdict(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(targets missed, target metrics significantly worse than the current model), as
    sentences; `make promote` refuses the candidate if either is not empty."""
    missed = [
        f"{m} {t['value']} (target {t['target']})"
        for m, t in (report.get("targets") or {}).items()
        if not t["met"]
    ]
    paired = report.get("paired") or {}
    worse = paired_mod.significantly_worse(paired.get("metrics") or {}, paired.get("gated") or ())
    return missed, worse


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--candidate", type=Path, default=ROOT / "models" / "candidate" / "candidate.tar.gz"
    )
    parser.add_argument("--current", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument(
        "--data",
        action="append",
        metavar="FILE.csv[:SPLIT]",
        help="the dev rows (repeat for several files); default: the CI gate's rows",
    )
    parser.add_argument(
        "--reviewed",
        action="append",
        type=Path,
        metavar="FILE.yml",
        help="checked examples in the training data (repeat); default: data/nlu/reviewed.yml",
    )
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "compare")
    args = parser.parse_args()
    if not args.current.exists():
        parser.error(f"no current model at {args.current}: `make train` trains the first one")
    if not args.candidate.exists():
        parser.error(f"no candidate model at {args.candidate}: `make train` trains one")
    for path in args.reviewed or ():
        if path.resolve().is_relative_to(UNCHECKED.resolve()):
            parser.error(
                f"{path} holds unchecked suggestions (the classifier's own guesses), not right "
                "answers: check them and move them into data/nlu/reviewed.yml"
            )
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    # Taken first: the report must be about the files that were evaluated.
    checksums = {"candidate_sha256": sha256(args.candidate), "current_sha256": sha256(args.current)}

    name, dev = dev_rows(args.data or list(GATE_ROWS))
    sets: list[tuple[str, list[tuple[str, str]]]] = [(f"dev split: {name}", dev)]
    review_files = [p for p in (args.reviewed or REVIEWED) if p.exists()]
    reviewed, skipped = reviewed_rows(review_files, domain_intents())
    if reviewed:
        files = ", ".join(p.name for p in review_files)
        sets.append((f"reviewed examples ({files})", reviewed))
    note = f"; {skipped} under new topics or intents the domain lacks are not compared"
    print(
        f"reviewed examples: {len(reviewed)} from "
        + (
            ", ".join(str(p) for p in review_files)
            or "no data/nlu/reviewed.yml yet (move checked examples of `make review` into it)"
        )
        + (note if skipped else ""),
        flush=True,
    )

    old, old_time = evaluate("current model", args.current, [rows for _, rows in sets])
    new, new_time = evaluate("candidate", args.candidate, [rows for _, rows in sets])
    targets, targets_current = new[0]["targets"], old[0]["targets"]
    report: dict[str, Any] = {
        "candidate": str(args.candidate),
        "current": str(args.current),
        **checksums,
        "targets": targets,  # the candidate's, on the dev split: what `make promote` checks
        "targets_current": targets_current,
        # Candidate against current on the dev split's rows: what `make promote` also checks.
        "paired": paired_comparison(old[0], new[0]),
        "timings": {"current": old_time, "candidate": new_time},
        "data": [],
    }
    for n, (name, _) in enumerate(sets):
        changes = diff(name, old[n], new[n])
        report["data"].append(changes)
        if n == 0:
            print(render(changes, targets, report["paired"]))
        else:
            print(render(changes, training_set=True))

    missed, worse = verdict(report)
    report["promotable"] = not missed and not worse
    report["seconds"] = round(time.perf_counter() - started, 1)
    _write_atomically(args.out / "report.json", json.dumps(report, indent=2))
    print(f"\ncompared in {report['seconds']:.0f} s; written: {args.out / 'report.json'}")
    if missed:
        print("the candidate is BELOW THE TARGETS on the dev split: " + "; ".join(missed))
    if worse:
        print(
            "the candidate is SIGNIFICANTLY WORSE than the current model on the dev split: "
            + "; ".join(worse)
        )
    if missed or worse:
        print("`make promote` refuses it (FORCE=1 promotes it anyway)")
        return 0
    dev_changes = report["data"][0]
    print(
        "the candidate meets every target on the dev split and is significantly worse on "
        "none: `make promote` makes it current"
    )
    if dev_changes["worse"] and not dev_changes["better"]:
        print(
            f"note: it is better on no example of the dev split and worse on "
            f"{len(dev_changes['worse'])}; the differences are within chance, but promoting it "
            "gains nothing"
        )
    return 0


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.writing")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


if __name__ == "__main__":
    sys.exit(main())
