"""Which held-out rows also appear, word for word, in the training data?

    python -m tools.heldout_overlap FILE.csv [FILE2.csv ...] [--write-novel DIR]

Texts are compared after lower-casing and dropping punctuation. A row found in data/nlu/ is a
memorisation check, not a generalisation check; --write-novel writes each file's other rows to
DIR/<name>.novel.csv so they can be evaluated on their own (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import yaml

NLU = Path(__file__).resolve().parents[1] / "data" / "nlu"


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed; letters of every script kept (an
    ASCII-only filter would make every Chinese or Russian row equal to every other)."""
    return re.sub(r"[^\w ]|_", "", re.sub(r"\s+", " ", text.casefold())).strip()


def training_texts(folder: Path = NLU) -> dict[str, str]:
    """Normalised training example -> its intent."""
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(item.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found[normalise(line[2:])] = item.get("intent", "")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--write-novel", type=Path, metavar="DIR")
    args = parser.parse_args()
    train = training_texts()
    for path in args.files:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        seen = [r for r in rows if normalise(r["text"]) in train]
        print(f"{path}: {len(seen)} of {len(rows)} rows are in the training data")
        for r in seen:
            print(f"  {r['intent']:<26} {r['text']}")
        if args.write_novel:
            args.write_novel.mkdir(parents=True, exist_ok=True)
            out = args.write_novel / f"{path.stem}.novel.csv"
            with out.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=["text", "intent"], extrasaction="ignore")
                writer.writeheader()
                writer.writerows(r for r in rows if normalise(r["text"]) not in train)
            print(f"  novel rows written to {out}")


if __name__ == "__main__":
    main()
