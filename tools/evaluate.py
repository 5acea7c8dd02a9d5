"""Evaluate the trained assistant on CSV files of first messages (issue 3, item 4).

    python -m tools.evaluate --data FILE.csv[:SPLIT] [--data FILE2.csv[:SPLIT] ...]
                             --out report.json [--model models/current.tar.gz]
                             [--split dev] [--gate] [--http-actions]

Each FILE.csv needs `text` and `intent` columns. `--data` may be repeated; all files are
evaluated together in one report (e.g. the Bitext dev split plus CLINC out-of-scope rows, so
that a single gate covers every target). `FILE.csv:SPLIT` keeps only that file's rows whose
`split` column equals SPLIT; `--split` is the default for files given without one. --gate
exits 1 when a quality target of issue 3 is missed (timings are reported, never gated).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from actions import routing
from tools.evaluation import metrics, report, runner


def read_rows(path: Path, split: str | None) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (row["text"], row["intent"])
            for row in csv.DictReader(fh)
            if split is None or row.get("split") == split
        ]


def parse_source(spec: str, default_split: str | None) -> tuple[Path, str | None]:
    """`FILE.csv` or `FILE.csv:SPLIT` (a path that exists as given wins over the suffix)."""
    path, sep, split = spec.rpartition(":")
    if sep and path and not Path(spec).exists() and "/" not in split:
        return Path(path), split or None
    return Path(spec), default_split


def _quiet_rasa() -> None:
    # Rasa's structlog defaults to DEBUG: one line per message would swamp the summary.
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING)
    configure_structlog(logging.WARNING)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="FILE.csv[:SPLIT]",
        help="rows to evaluate; repeat to evaluate several files together",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=Path("models/current.tar.gz"))
    parser.add_argument("--split", help="default split for --data files given without one")
    parser.add_argument("--gate", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--http-actions",
        action="store_true",
        help="run custom actions in a real action server over HTTP (slower; "
        "for checking that the in-process path gives the same outcomes)",
    )
    args = parser.parse_args()
    _quiet_rasa()

    rows: list[tuple[str, str]] = []
    for spec in args.data:
        path, split = parse_source(spec, args.split)
        found = read_rows(path, split)
        if not found:
            parser.error(f"no rows in {path}" + (f" with split={split}" if split else ""))
        rows += found
    run = asyncio.run(runner.run(args.model, rows, http_actions=args.http_actions))
    result_rows = [r.row() for r in run.results]
    summary = metrics.summarise(result_rows, len(rows) / run.seconds, run.parse_seconds)
    summary["model_load_seconds"] = round(run.load_seconds, 1)
    summary["batch_parse_mismatches"] = run.batch_mismatches

    args.out.parent.mkdir(parents=True, exist_ok=True)
    table = routing.load().table()
    args.out.write_text(
        json.dumps({"routing": table, "rows": result_rows, "summary": summary}, indent=2),
        encoding="utf-8",
    )
    print(report.render(summary))
    print(f"\nwritten: {args.out}")

    failures = metrics.gate_failures(summary)
    if run.batch_mismatches:
        failures.append(
            f"batched NLU differs from one-at-a-time parsing on "
            f"{run.batch_mismatches} sample rows: the report is not trustworthy"
        )
    if args.gate and failures:
        print("\nGATE FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
