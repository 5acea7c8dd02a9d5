"""Evaluate the trained assistant on a CSV of first messages (issue 3, item 4).

    python -m tools.evaluate --data FILE.csv --out report.json [--model models/current.tar.gz]
                             [--split dev] [--gate]

FILE.csv needs `text` and `intent` columns; with --split, only rows whose `split` column
matches are used (the shared Bitext file holds train/dev/test together). --gate exits 1 when
a target of issue 3 is missed.
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

from actions import routing  # noqa: E402
from tools.evaluation import metrics, report, runner  # noqa: E402


def read_rows(path: Path, split: str | None) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (row["text"], row["intent"])
            for row in csv.DictReader(fh)
            if split is None or row.get("split") == split
        ]


def _quiet_rasa() -> None:
    # Rasa's structlog defaults to DEBUG: one line per message would swamp the summary.
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING)
    configure_structlog(logging.WARNING)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=Path("models/current.tar.gz"))
    parser.add_argument("--split", help="keep only rows whose `split` column equals this")
    parser.add_argument("--gate", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    _quiet_rasa()

    rows = read_rows(args.data, args.split)
    if not rows:
        parser.error(f"no rows in {args.data}" + (f" with split={args.split}" if args.split else ""))
    run = asyncio.run(runner.run(args.model, rows))
    result_rows = [r.row() for r in run.results]
    summary = metrics.summarise(result_rows, len(rows) / run.seconds, run.parse_seconds)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"routing": routing.load().table(), "rows": result_rows, "summary": summary}, indent=2),
        encoding="utf-8",
    )
    print(report.render(summary))
    print(f"\nwritten: {args.out}")

    failures = metrics.gate_failures(summary)
    if args.gate and failures:
        print("\nGATE FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
