"""Compare a newly trained model with the current one before promoting it (docs/learning.md).

    python -m tools.compare [--candidate models/candidate.tar.gz] [--current models/current.tar.gz]
                            [--data ../shared/datasets/bitext_customer_support.csv] [--split dev]
                            [--reviewed review/candidates.yml] [--out .run/compare]

Runs the evaluator (tools.evaluate) on both models, on the dev split and on the reviewed
examples (the review file's examples under intents the domain knows), then prints what got
better and what got worse, per intent and per example. Writes <out>/report.json, which
`make promote` reads: the candidate is promoted only if it meets the issue-3 targets on the
dev split (or with FORCE=1).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "datasets" / "bitext_customer_support.csv"
HUMAN_REQUEST, OUT_OF_SCOPE, EXPLICIT = "contact_human_agent", "out_of_scope", "explicit_request"
SHOWN = 20


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


def reviewed_rows(review_file: Path, known: set[str]) -> list[tuple[str, str]]:
    """(text, intent) of the review file's examples under intents the domain has."""
    import yaml

    data = yaml.safe_load(review_file.read_text(encoding="utf-8")) or {}
    rows = []
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if intent not in known:
            continue
        for example in block.get("examples") or []:
            text = example.get("text") if isinstance(example, dict) else None
            if text:
                rows.append((str(text).strip(), intent))
    return rows


def domain_intents() -> set[str]:
    import yaml

    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    return {i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []}


def evaluate(model: Path, data: Path, split: str | None, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "tools.evaluate",
        "--data",
        str(data),
        "--out",
        str(out),
        "--model",
        str(model),
    ]
    if split:
        command += ["--split", split]
    print(f"== evaluating {model.name} on {data.name}{f' ({split})' if split else ''}", flush=True)
    done = subprocess.run(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"the evaluator failed on {model}:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def diff(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per intent (recall) and per example (right before / after), for one data set."""
    before = {(r["text"], r["expected"]): r for r in old["rows"]}
    better, worse = [], []
    for row in new["rows"]:
        was = before.get((row["text"], row["expected"]))
        if was is None or is_right(was) == is_right(row):
            continue
        change = {
            "text": row["text"],
            "expected": row["expected"],
            "before": _said(was),
            "after": _said(row),
        }
        (better if is_right(row) else worse).append(change)
    intents = []
    old_intents, new_intents = old["summary"]["per_intent"], new["summary"]["per_intent"]
    for intent in sorted(set(old_intents) | set(new_intents)):
        a = _right_share([r for r in old["rows"] if r["expected"] == intent])
        b = _right_share([r for r in new["rows"] if r["expected"] == intent])
        if a != b:
            intents.append({"intent": intent, "before": a, "after": b})
    right = (_right_share(old["rows"]), _right_share(new["rows"]))
    return {
        "data": name,
        "right_before": right[0],
        "right_after": right[1],
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


def render(changes: dict[str, Any]) -> str:
    pct = lambda v: "n/a" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    lines = [
        f"\n### {changes['data']}: right {pct(changes['right_before'])} -> "
        f"{pct(changes['right_after'])}  ({len(changes['better'])} examples better, "
        f"{len(changes['worse'])} worse)"
    ]
    for item in sorted(changes["intents"], key=lambda i: (i["after"] or 0) - (i["before"] or 0)):
        arrow = "better" if (item["after"] or 0) > (item["before"] or 0) else "WORSE "
        lines.append(
            f"  {arrow} {item['intent']:<28} {pct(item['before']):>7} -> {pct(item['after'])}"
        )
    for title, key in (("got worse", "worse"), ("got better", "better")):
        if changes[key]:
            lines.append(f"  examples that {title}:")
            for c in changes[key][:SHOWN]:
                lines.append(f"    [{c['expected']}] {c['text']!r}: {c['before']} -> {c['after']}")
            if len(changes[key]) > SHOWN:
                lines.append(f"    … and {len(changes[key]) - SHOWN} more in report.json")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidate", type=Path, default=ROOT / "models" / "candidate.tar.gz")
    parser.add_argument("--current", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--data", type=Path, default=DEV)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--reviewed", type=Path, default=ROOT / "review" / "candidates.yml")
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "compare")
    args = parser.parse_args()
    for model in (args.candidate, args.current):
        if not model.exists():
            parser.error(f"no model at {model} (train one with `make candidate`)")
    args.out.mkdir(parents=True, exist_ok=True)

    sets: list[tuple[str, Path, str | None]] = [
        (args.data.name + (f" ({args.split})" if args.split else ""), args.data, args.split)
    ]
    if args.reviewed.exists():
        rows = reviewed_rows(args.reviewed, domain_intents())
        if rows:
            reviewed_csv = Path(tempfile.mkdtemp()) / "reviewed.csv"
            with reviewed_csv.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["text", "intent"])
                writer.writerows(rows)
            sets.append(
                (f"reviewed examples ({args.reviewed.name}, {len(rows)})", reviewed_csv, None)
            )

    report: dict[str, Any] = {
        "candidate": str(args.candidate),
        "candidate_sha256": sha256(args.candidate),
        "current": str(args.current),
        "data": [],
    }
    for n, (name, data, split) in enumerate(sets):
        old = evaluate(args.current, data, split, args.out / f"current-{n}.json")
        new = evaluate(args.candidate, data, split, args.out / f"candidate-{n}.json")
        changes = diff(name, old, new)
        if n == 0:  # the gate: the issue-3 targets on the dev split
            report["targets"] = new["summary"]["targets"]
            report["targets_current"] = old["summary"]["targets"]
        report["data"].append(changes)
        print(render(changes))

    missed = [
        f"{m}: {t['value']} (target {t['target']})"
        for m, t in report["targets"].items()
        if not t["met"]
    ]
    report["promotable"] = not missed
    (args.out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(
        "\ntargets (candidate, dev split): "
        + ("all met" if not missed else "MISSED " + "; ".join(missed))
    )
    print(f"written: {args.out / 'report.json'}")
    print(
        "next: `make promote`" + ("" if not missed else " refuses this model (FORCE=1 overrides)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
