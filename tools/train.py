"""`make train`: `rasa train`, showing its progress step by step (docs/learning.md).

    python -m tools.train --out models/candidate/candidate.tar.gz [--data PATH ...]
                          [--config config.yml] [--log .run/logs/train.log]

--data defaults to data/, as for `rasa train` (review/, which is unchecked, is outside it).

Runs Rasa's own `rasa train --force` in this process, and prints one line per step of the
training graph (tokenising, featurising, training each component) with the time since the
start, plus a "still running" line every 15 seconds during a long step, so a maintainer sees
where the one to two minutes go. Real problems in the training data (what Rasa's validation
finds) and errors are shown; library warnings, Rasa's own log lines, progress bars and the
expected "utterance not used in any story" notices (action_route sends the responses) go to
the log file (tools/quiet.py), which the last line names.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from tools.quiet import LOG_DIR, Quiet

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

HEARTBEAT_S = 15.0
# Graph nodes that only move data around: not worth a line.
QUIET_NODES = ("schema_validator", "finetuning_validator", "provider", "provide_")


class Progress:
    """Prints the steps of the training graph as Rasa runs them (one after the other)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.step = ""
        self.step_started = self.started
        self.done = 0
        self.total = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def say(self, text: str) -> None:
        print(f"  [{time.monotonic() - self.started:5.0f} s] {text}", flush=True)

    def begin(self, node_name: str, node: Any, total: int) -> None:
        with self._lock:
            self.total = total
            self.done += 1
            self.step = describe(node_name, node)
            self.step_started = time.monotonic()
        self.say(f"step {self.done}/{total}: {self.step}")

    def end(self) -> None:
        with self._lock:
            took = time.monotonic() - self.step_started
            step, self.step = self.step, ""
        if took >= 5:
            self.say(f"  done in {took:.0f} s: {step}")

    def heartbeat(self) -> None:
        said: tuple[float, int] = (0.0, 0)  # the step (by its start) and the period reported
        while not self._stop.wait(1.0):
            with self._lock:
                step, started = self.step, self.step_started
            since = time.monotonic() - started
            period = int(since // HEARTBEAT_S)
            if step and period >= 1 and said != (started, period):
                said = (started, period)
                self.say(f"  … still {step} ({since:.0f} s)")

    def stop(self) -> None:
        self._stop.set()


def describe(node_name: str, node: Any) -> str:
    name = getattr(node.uses, "__name__", str(node.uses))
    if node_name.startswith("train_"):
        return f"training {name}"
    if node_name.startswith("run_"):
        return f"running {name} over the training data"
    return f"{name} ({node_name})"


def shown(node_name: str, node: Any) -> bool:
    cached = getattr(node.uses, "__name__", "") == "PrecomputedValueProvider"
    return not cached and not any(q in node_name for q in QUIET_NODES)


def install(progress: Progress) -> None:
    """Hooks the progress lines into Rasa's training graph."""
    from rasa.engine.training import hooks

    before, after = hooks.LoggingHook.on_before_node, hooks.LoggingHook.on_after_node

    def on_before_node(self: Any, node_name: str, *args: Any, **kwargs: Any) -> Any:
        nodes = self._pruned_schema.nodes
        if shown(node_name, nodes[node_name]):
            total = sum(shown(name, node) for name, node in nodes.items())
            progress.begin(node_name, nodes[node_name], total)
        return before(self, node_name, *args, **kwargs)

    def on_after_node(self: Any, node_name: str, *args: Any, **kwargs: Any) -> None:
        if shown(node_name, self._pruned_schema.nodes[node_name]):
            progress.end()
        after(self, node_name, *args, **kwargs)

    hooks.LoggingHook.on_before_node = on_before_node  # type: ignore[method-assign]
    hooks.LoggingHook.on_after_node = on_after_node  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the model file to write")
    parser.add_argument("--data", nargs="+", default=["data"])
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--domain", default="domain.yml")
    parser.add_argument("--log", type=Path, default=LOG_DIR / "train.log")
    args = parser.parse_args()
    progress = Progress()
    name = args.out.name.removesuffix(".tar.gz")
    print(
        f"== training {args.out} from {' '.join(args.data)} with {args.config} (progress below)",
        flush=True,
    )
    sys.argv = [
        "rasa",
        "train",
        "--config",
        args.config,
        "--domain",
        args.domain,
        "--data",
        *args.data,
        "--out",
        str(args.out.parent),
        "--fixed-model-name",
        name,
        "--force",
    ]
    before = args.out.stat().st_mtime if args.out.exists() else None
    failed = False
    with Quiet(args.log) as quiet:
        progress.say("loading Rasa and checking the training data")
        from rasa.__main__ import main as rasa_main

        install(progress)
        ticker = threading.Thread(target=progress.heartbeat, daemon=True)
        ticker.start()
        try:
            rasa_main()
        except SystemExit as exc:  # Rasa has printed why (on stdout)
            failed = exc.code not in (None, 0)
        except Exception as exc:
            traceback.print_exc()  # into the log
            quiet.error(f"{type(exc).__name__}: {exc}")
            failed = True
        finally:
            progress.stop()
    if quiet.problems:
        print(f"{len(quiet.problems)} problem(s) in the training data: see above", flush=True)
    if failed or not args.out.exists() or args.out.stat().st_mtime == before:
        print(f"training failed: no new model at {args.out}", file=sys.stderr, flush=True)
        print(quiet.summary(), file=sys.stderr, flush=True)
        return 1
    took = time.monotonic() - progress.started
    size = args.out.stat().st_size / 1e6
    print(f"== trained {args.out} ({size:.1f} MB) in {took:.0f} s", flush=True)
    print(quiet.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
