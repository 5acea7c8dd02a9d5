"""`make rollback`: the model that the last `make promote` replaced becomes current again, live.

    python -m tools.rollback [--current models/current.tar.gz]
                             [--previous models/previous/previous.tar.gz] [--rasa-url URL]

Swaps models/current.tar.gz and models/previous/previous.tar.gz (each written beside its place,
then renamed), records it in models/current.json and has the running Rasa load the restored
model (PUT /model), as `make promote` does. The model rolled back from becomes the previous
one, so a second rollback undoes the first. Without a previous model it says so and fails.
No evaluation is needed: the previous model was the one in service.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.promote import (
    CURRENT,
    archive_metadata,
    load_and_report,
    manifest_of,
    previous_of,
    swap_back,
    when,
    write_manifest,
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--current", type=Path, default=CURRENT)
    parser.add_argument(
        "--previous", type=Path, help="default: previous/previous.tar.gz beside --current"
    )
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args()
    previous = args.previous or previous_of(args.current)
    if not previous.exists():
        print(
            f"NOT ROLLED BACK: there is no previous model at {previous} (`make promote` keeps "
            "the model it replaces there; nothing has been promoted over this one)",
            file=sys.stderr,
        )
        return 1
    if not args.current.exists():
        print(f"NOT ROLLED BACK: there is no current model at {args.current}", file=sys.stderr)
        return 1
    leaving = archive_metadata(args.current)
    swap_back(args.current, previous)
    manifest = write_manifest(args.current, previous, "rollback")
    print(
        f"rolled back: {args.current} is again model {manifest.get('model_id')}, trained "
        f"{when(manifest.get('trained_at'))}; the model rolled back from "
        f"({leaving.get('model_id')}) is kept as {previous}; recorded in "
        f"{manifest_of(args.current)}"
    )
    return load_and_report(args.rasa_url, args.current)


if __name__ == "__main__":
    sys.exit(main())
