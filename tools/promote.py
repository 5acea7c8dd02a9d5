"""Make a candidate model the current one and load it into the running Rasa server.

    python -m tools.promote [--candidate models/candidate.tar.gz] [--current models/current.tar.gz]
                            [--report .run/compare/report.json] [--rasa-url URL] [--force]

Refuses unless `make evaluate` (tools.compare) found the candidate meeting the issue-3 targets
on the dev split (--force overrides). Keeps the replaced model as models/previous.tar.gz. The
running server loads the model through its HTTP API (PUT /model); conversations live in Rasa's
Redis tracker store, so ongoing ones continue with the new model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tools.compare import ROOT, sha256


def gate(candidate: Path, report: Path, current: Path | None = None) -> str:
    """Why the candidate may not be promoted ("" if it may)."""
    if not report.exists():
        return f"no comparison at {report}: run `make evaluate` first"
    data = json.loads(report.read_text(encoding="utf-8"))
    if data.get("candidate_sha256") != sha256(candidate):
        return f"{report} is about another candidate: run `make evaluate` again"
    was = data.get("current_sha256")
    if was and current is not None and current.exists() and was != sha256(current):
        return f"the current model changed since {report}: run `make evaluate` again"
    missed = [
        f"{m} {t['value']} (target {t['target']})"
        for m, t in (data.get("targets") or {}).items()
        if not t["met"]
    ]
    return "below the targets: " + "; ".join(missed) if missed else ""


def install(candidate: Path, current: Path) -> None:
    """Replace `current` atomically, keeping the old one as previous.tar.gz beside it."""
    if current.exists():
        shutil.copy2(current, current.with_name("previous.tar.gz"))
    staging = current.with_name(f".{current.name}.promoting")
    shutil.copy2(candidate, staging)
    os.replace(staging, current)
    os.utime(current)  # newer than the training data, so `make model` keeps it


def load_into_rasa(rasa_url: str, model: Path) -> str:
    body = json.dumps({"model_file": str(model.resolve())}).encode()
    request = urllib.request.Request(
        f"{rasa_url.rstrip('/')}/model",
        data=body,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            if response.status not in (200, 204):
                return f"Rasa answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return (
            f"Rasa refused the model: HTTP {exc.code} {exc.read().decode(errors='replace')[:500]}"
        )
    except OSError as exc:
        return f"no running Rasa at {rasa_url} ({exc}); it loads the new model when it starts"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidate", type=Path, default=ROOT / "models" / "candidate.tar.gz")
    parser.add_argument("--current", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--report", type=Path, default=ROOT / ".run" / "compare" / "report.json")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--force", action="store_true", help="promote even below the targets")
    args = parser.parse_args()
    if not args.candidate.exists():
        parser.error(f"no candidate model at {args.candidate} (`make train` trains one)")
    refusal = gate(args.candidate, args.report, args.current)
    if refusal and not args.force:
        print(f"NOT PROMOTED: {refusal}. Use FORCE=1 to promote anyway.", file=sys.stderr)
        return 1
    if refusal:
        print(f"promoting despite: {refusal} (forced)")
    install(args.candidate, args.current)
    print(f"promoted {args.candidate} -> {args.current} (previous kept as previous.tar.gz)")
    problem = load_into_rasa(args.rasa_url, args.current)
    if problem:
        print(problem)
        return 0 if "no running Rasa" in problem else 1
    print(f"the running Rasa at {args.rasa_url} now serves {args.current}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
