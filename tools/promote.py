"""Make a candidate model the current one and load it into the running Rasa server.

    python -m tools.promote [--candidate models/candidate/candidate.tar.gz]
                            [--current models/current.tar.gz]
                            [--previous models/previous/previous.tar.gz]
                            [--report .run/compare/report.json] [--rasa-url URL] [--force]

Refuses (unless --force) when the last `make evaluate` (tools.compare, its report.json):

* is not about this candidate file (its sha256 differs: a stale evaluate never lets a newer
  candidate through), or was made against a current model that has changed since;
* found the candidate below an issue-3 target on the dev split;
* found it significantly worse than the current model on a target metric (the paired
  bootstrap's 95 % interval of the difference leaves out 0: tools/evaluation/paired.py), even
  when it is above the targets.

It keeps the model it replaces as models/previous/previous.tar.gz (a directory of its own, so
that plain `rasa` commands, which pick the newest archive in models/, never load it; `make
rollback` restores it), replaces both files by writing a copy and renaming it, records what
is current in models/current.json (`make status` prints it), and has the running server load
the new model through its HTTP API (PUT /model); conversations live in Rasa's Redis tracker
store, so ongoing ones continue with the new model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.compare import ROOT, sha256, verdict

CURRENT = ROOT / "models" / "current.tar.gz"
CANDIDATE = ROOT / "models" / "candidate" / "candidate.tar.gz"


def previous_of(current: Path) -> Path:
    """Where the model replaced by a promotion is kept: previous/previous.tar.gz beside it."""
    return current.parent / "previous" / "previous.tar.gz"


def manifest_of(current: Path) -> Path:
    """models/current.json for models/current.tar.gz."""
    return current.with_name(current.name.removesuffix(".tar.gz") + ".json")


def gate(candidate: Path, report: Path, current: Path | None = None) -> str:
    """Why the candidate may not be promoted ("" if it may)."""
    if not report.exists():
        return f"no comparison at {report}: run `make evaluate` first"
    data = json.loads(report.read_text(encoding="utf-8"))
    if data.get("candidate_sha256") != sha256(candidate):
        return (
            f"{report} was made for another candidate file (sha256 "
            f"{str(data.get('candidate_sha256'))[:12]}…, {candidate} is "
            f"{sha256(candidate)[:12]}…): run `make evaluate` again"
        )
    was = data.get("current_sha256")
    if was and current is not None and current.exists() and was != sha256(current):
        return f"the current model changed since {report}: run `make evaluate` again"
    missed, worse = verdict(data)
    reasons = []
    if missed:
        reasons.append("below the targets: " + "; ".join(missed))
    if "paired" not in data:
        reasons.append(f"{report} does not compare it with the current model (made before that)")
    if worse:
        reasons.append("significantly worse than the current model: " + "; ".join(worse))
    return "; and ".join(reasons)


def archive_metadata(model: Path) -> dict[str, Any]:
    """model_id, trained_at (UTC) and Rasa version from a Rasa 3 model archive's
    metadata.json; {} when the file is not one."""
    try:
        with tarfile.open(model, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("./") == "metadata.json":
                    found = archive.extractfile(member)
                    data = json.load(found) if found else {}
                    break
            else:
                return {}
    except (OSError, tarfile.TarError, ValueError):
        return {}
    return {
        "model_id": data.get("model_id"),
        "trained_at": data.get("trained_at"),
        "rasa_version": data.get("rasa_open_source_version"),
    }


def when(timestamp: str | None) -> str:
    """`2026-12-01T17:59:53.775055` (Rasa's trained_at, UTC) as `2026-12-01 17:59:53 UTC`."""
    return f"{timestamp[:19].replace('T', ' ')} UTC" if timestamp else "at an unknown time"


def describe_model(model: Path) -> dict[str, Any] | None:
    if not model.exists():
        return None
    return {"file": str(model), "sha256": sha256(model), **archive_metadata(model)}


def write_manifest(current: Path, previous: Path, how: str) -> dict[str, Any]:
    """models/current.json: which model is current, since when and how, and the previous."""
    manifest = {
        **(describe_model(current) or {}),
        "promoted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "how": how,
        "previous": describe_model(previous),
    }
    path = manifest_of(current)
    staging = path.with_name(f".{path.name}.writing")
    staging.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, path)
    return manifest


def _staged_copy(source: Path, target: Path, why: str) -> Path:
    """A copy of `source` in `target`'s directory, ready to be renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{why}")
    shutil.copy2(source, staging)
    return staging


def install(candidate: Path, current: Path, previous: Path | None = None) -> None:
    """Make `candidate` current, keeping the replaced model as `previous`. Each file is
    written beside its place and renamed over it (a rename is atomic): previous first, so
    that an interruption leaves the old current model in place and a copy of it kept."""
    previous = previous or previous_of(current)
    incoming = _staged_copy(candidate, current, "promoting")
    if current.exists():
        os.replace(_staged_copy(current, previous, "keeping"), previous)
    os.replace(incoming, current)
    os.utime(current)  # newer than the training data, so `make model` keeps it


def swap_back(current: Path, previous: Path) -> None:
    """`make rollback`: previous becomes current and current previous (a second rollback
    undoes the first). Both copies are written first, then renamed: current first (the
    model that is served), then previous."""
    restoring = _staged_copy(previous, current, "rolling-back")
    keeping = _staged_copy(current, previous, "rolling-back")
    os.replace(restoring, current)
    os.replace(keeping, previous)
    os.utime(current)


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


def served(rasa_url: str) -> dict[str, Any] | str:
    """Rasa's GET /status ({model_file, model_id, …}), or why there is none."""
    try:
        with urllib.request.urlopen(f"{rasa_url.rstrip('/')}/status", timeout=10) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return f"the Rasa at {rasa_url} has no model loaded"
        return f"Rasa at {rasa_url} answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"no running Rasa at {rasa_url} ({exc})"


def load_and_report(rasa_urls: str, current: Path) -> int:
    """PUT /model into every Rasa of RASA_URL (comma-separated: several servers share the
    trackers), then what each says it serves; exit status (non-zero if any failed)."""
    urls = [url.strip() for url in rasa_urls.split(",") if url.strip()]
    return max(_load_one(url, current) for url in urls)


def _load_one(rasa_url: str, current: Path) -> int:
    problem = load_into_rasa(rasa_url, current)
    if problem:
        print(problem)
        return 0 if "no running Rasa" in problem else 1
    status = served(rasa_url)
    if isinstance(status, str):
        print(status)
        return 1
    loaded = archive_metadata(current).get("model_id")
    if loaded and status.get("model_id") != loaded:
        print(f"Rasa at {rasa_url} still serves model {status.get('model_id')}, not {loaded}")
        return 1
    print(
        f"the running Rasa at {rasa_url} now serves {current} "
        f"(model {status.get('model_id')}, {status.get('model_file')})"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidate", type=Path, default=CANDIDATE)
    parser.add_argument("--current", type=Path, default=CURRENT)
    parser.add_argument(
        "--previous", type=Path, help="default: previous/previous.tar.gz beside --current"
    )
    parser.add_argument("--report", type=Path, default=ROOT / ".run" / "compare" / "report.json")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument(
        "--force", action="store_true", help="promote even when `make evaluate` found it worse"
    )
    args = parser.parse_args()
    previous = args.previous or previous_of(args.current)
    if not args.candidate.exists():
        parser.error(f"no candidate model at {args.candidate} (`make train` trains one)")
    refusal = gate(args.candidate, args.report, args.current)
    if refusal and not args.force:
        print(f"NOT PROMOTED: {refusal}. Use FORCE=1 to promote anyway.", file=sys.stderr)
        return 1
    if refusal:
        print(f"promoting despite: {refusal} (forced)")
    had_current = args.current.exists()
    install(args.candidate, args.current, previous)
    manifest = write_manifest(args.current, previous, "promote (forced)" if refusal else "promote")
    kept = f" (the replaced one kept as {previous}; `make rollback` restores it)"
    print(f"promoted {args.candidate} -> {args.current}" + (kept if had_current else ""))
    print(
        f"model {manifest.get('model_id')}, trained {when(manifest.get('trained_at'))}; "
        f"recorded in {manifest_of(args.current)}"
    )
    return load_and_report(args.rasa_url, args.current)


if __name__ == "__main__":
    sys.exit(main())
