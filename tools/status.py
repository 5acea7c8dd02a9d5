"""`make status`: which model the running Rasa serves, when it was trained and promoted.

    python -m tools.status [--current models/current.tar.gz]
                           [--previous models/previous/previous.tar.gz] [--rasa-url URL] [--json]

Rasa's GET /status names the loaded archive (`model_file`, only the file name: always
current.tar.gz after a promotion or a rollback) and its `model_id`, a random id Rasa gives
every model when it trains it. The training date is not served over HTTP; it is in the
archive's metadata.json. So this reads the archives on disk (current, previous) and names the
one whose model_id Rasa serves, with its training date, and what models/current.json
(written by `make promote` and `make rollback`) says about when and how it became current.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tools.promote import CURRENT, archive_metadata, manifest_of, previous_of, served, when


def status(current: Path, previous: Path, rasa_url: str) -> dict[str, Any]:
    models = {
        name: {"file": str(path), **archive_metadata(path)} if path.exists() else None
        for name, path in (("current", current), ("previous", previous))
    }
    manifest_path = manifest_of(current)
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    )
    rasa = served(rasa_url)
    loaded: dict[str, Any] = {"rasa_url": rasa_url}
    if isinstance(rasa, str):
        loaded["problem"] = rasa
    else:
        loaded |= {"model_file": rasa.get("model_file"), "model_id": rasa.get("model_id")}
        loaded["is"] = next(
            (
                name
                for name, model in models.items()
                if model and model.get("model_id") == rasa.get("model_id")
            ),
            None,
        )
        match = models.get(loaded["is"]) if loaded["is"] else None
        loaded["trained_at"] = match.get("trained_at") if match else None
    return {
        "serving": loaded,
        "models": models,
        "manifest": manifest,
        "manifest_file": str(manifest_path),
    }


def render(found: dict[str, Any]) -> str:
    serving, models, manifest = found["serving"], found["models"], found["manifest"]
    record = found["manifest_file"]
    lines = []
    if "problem" in serving:
        lines.append(f"Rasa: {serving['problem']}")
    else:
        which = serving["is"]
        lines.append(
            f"Rasa at {serving['rasa_url']} serves {serving['model_file']} "
            f"(model {serving['model_id']})"
            + (
                f": the {which} model, trained {when(serving['trained_at'])}"
                if which
                else ": neither the current nor the previous model on this disk"
            )
        )
    for name in ("current", "previous"):
        model = models[name]
        if model is None:
            lines.append(f"{name}: none")
            continue
        lines.append(
            f"{name}: {model['file']}: model {model.get('model_id')}, trained "
            f"{when(model.get('trained_at'))}"
        )
    if (
        manifest
        and models["current"]
        and manifest.get("model_id") != models["current"].get("model_id")
    ):
        lines.append(
            f"{record} names model {manifest.get('model_id')} (by "
            f"{manifest.get('how')}, {manifest.get('promoted_at')}), but the current archive "
            "has been replaced since, without `make promote` (retrained in place by "
            "`make model` or `make test`?)"
        )
    elif manifest:
        lines.append(
            f"made current {manifest.get('promoted_at')} by {manifest.get('how')} ({record})"
        )
    else:
        lines.append(f"no record of a promotion yet ({record} is written by `make promote`)")
    if models["previous"]:
        lines.append("`make rollback` makes the previous model current again")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--current", type=Path, default=CURRENT)
    parser.add_argument(
        "--previous", type=Path, help="default: previous/previous.tar.gz beside --current"
    )
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--json", action="store_true", help="print it as JSON")
    args = parser.parse_args()
    # RASA_URL may list several servers: each is asked what it serves.
    urls = [url.strip() for url in args.rasa_url.split(",") if url.strip()]
    previous = args.previous or previous_of(args.current)
    found = [status(args.current, previous, url) for url in urls]
    if args.json:
        print(json.dumps(found[0] if len(found) == 1 else found, indent=2))
    else:
        print("\n".join(render(one) for one in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
