"""Evaluate the trained assistant on CSV files of first messages (issue 3, item 4) and on short
conversations (issue 15).

    python -m tools.evaluate [--data FILE.csv[:SPLIT] ...] [--dialogues FILE.yml ...]
                             --out report.json [--model models/current.tar.gz]
                             [--split dev] [--gate] [--http-actions]

Each FILE.csv needs `text` and `intent` columns, and may have a `lang` column (the row's
language code; rows without one are English): then the report has per-language figures, and
the English figures are computed over the English rows only. `--data` may be repeated; all
files are evaluated together in one report (e.g. the Bitext dev split plus CLINC out-of-scope
rows, so that a single gate covers every target). `FILE.csv:SPLIT` keeps only that file's rows
whose `split` column equals SPLIT; `--split` is the default for files given without one.
`--dialogues FILE.yml` (repeatable; with or without `--data`) runs multi-turn dialogues with
the expected outcome of each turn (tools/evaluation/dialogues.py). --gate exits 1 when a
quality target is missed (timings are reported, never gated).
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
from typing import Any, NamedTuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from actions import routing
from tools import heldout_overlap
from tools.evaluation import dialogues, metrics, report, runner
from tools.evaluation.signals import normalise_lang


class Row(NamedTuple):
    text: str
    intent: str
    lang: str = ""  # the `lang` column, normalised ("" when the file has none)


def read_rows(path: Path, split: str | None) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Row(row["text"], row["intent"], normalise_lang(row.get("lang")))
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


async def _evaluate(
    model: Path, rows: list[Row], conversations: list[dialogues.Dialogue], http_actions: bool
) -> tuple[runner.Run | None, dialogues.Run | None]:
    """The rows, then the dialogues (each with its own agent and a fresh demo backend, so that
    what the rows' actions changed in the backend cannot change a dialogue's answers)."""
    run = await runner.run(model, rows, http_actions=http_actions) if rows else None
    talked = (
        await dialogues.run(model, conversations, http_actions=http_actions)
        if conversations
        else None
    )
    return run, talked


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="FILE.csv[:SPLIT]",
        help="rows to evaluate; repeat to evaluate several files together",
    )
    parser.add_argument(
        "--dialogues",
        action="append",
        default=[],
        type=Path,
        metavar="FILE.yml",
        help="multi-turn dialogues with the expected outcome of each turn; repeatable",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=Path("models/current.tar.gz"))
    parser.add_argument("--split", help="default split for --data files given without one")
    parser.add_argument("--gate", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--unseen-only",
        action="store_true",
        help="leave out rows whose text is in data/nlu/ word for word (tools.heldout_overlap): "
        "the figures are then on wording the model never trained on",
    )
    parser.add_argument(
        "--http-actions",
        action="store_true",
        help="run custom actions in a real action server over HTTP (slower; "
        "for checking that the in-process path gives the same outcomes)",
    )
    args = parser.parse_args()
    if not args.data and not args.dialogues:
        parser.error("give --data FILE.csv and/or --dialogues FILE.yml")

    # Read and check every input before the (slow) model load.
    rows: list[Row] = []
    for spec in args.data:
        path, split = parse_source(spec, args.split)
        found = read_rows(path, split)
        if not found:
            parser.error(f"no rows in {path}" + (f" with split={split}" if split else ""))
        rows += found
    if args.unseen_only:
        trained = heldout_overlap.training_texts()
        kept = [r for r in rows if heldout_overlap.normalise(r.text) not in trained]
        print(f"left out {len(rows) - len(kept)} of {len(rows)} rows found in the training data")
        rows = kept
    conversations: list[dialogues.Dialogue] = []
    for path in args.dialogues:
        try:
            conversations += dialogues.load(path)
        except (OSError, ValueError) as e:
            parser.error(str(e))
    _quiet_rasa()

    run, talked = asyncio.run(_evaluate(args.model, rows, conversations, args.http_actions))
    summary: dict[str, Any] = {"rows": 0}
    result_rows: list[dict[str, Any]] = []
    batch_mismatches = 0
    if run is not None:
        result_rows = [r.row() for r in run.results]
        summary = metrics.summarise(result_rows, len(rows) / run.seconds, run.parse_seconds)
        summary["model_load_seconds"] = round(run.load_seconds, 1)
        summary["batch_parse_mismatches"] = batch_mismatches = run.batch_mismatches
    dialogue_rows: list[dict[str, Any]] = []
    if talked is not None:
        summary["dialogues"] = dialogues.summarise(talked.results)
        summary["dialogues"]["seconds"] = round(talked.seconds, 1)
        dialogue_rows = [d.row() for d in talked.results]
    summary["targets"] = metrics.check(summary)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    table = routing.load().table()
    report_json: dict[str, Any] = {"routing": table, "rows": result_rows, "summary": summary}
    if conversations:
        report_json["dialogues"] = dialogue_rows
    args.out.write_text(json.dumps(report_json, indent=2), encoding="utf-8")
    print(report.render(summary))
    print(f"\nwritten: {args.out}")

    failures = metrics.gate_failures(summary)
    if batch_mismatches:
        failures.append(
            f"batched NLU differs from one-at-a-time parsing on "
            f"{batch_mismatches} sample rows: the report is not trustworthy"
        )
    if args.gate and failures:
        print("\nGATE FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
