"""6. Rasa: training time (`rasa train --force` into a temp dir) and cold start (process start
until /status names the model). Run while nothing else runs, one after another."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from devstack.processes import RASA_BIN, ROOT, free_port
from devstack.stack import rasa_server

from .stats import median


def training_time_s(log_dir: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-train-") as out:
        argv = [
            str(RASA_BIN / "rasa"),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data/nlu",
            "data/rules.yml",
            "--out",
            out,
            "--fixed-model-name",
            "bench",
            "--force",
        ]
        with (log_dir / "rasa-train.log").open("ab") as log:
            started = time.monotonic()
            subprocess.run(
                argv,
                cwd=ROOT,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                # An empty cache: the time a fresh checkout (or changed pipeline) pays.
                env={**_env(), "RASA_CACHE_DIRECTORY": str(Path(out) / "cache")},
                timeout=600,
            )
            elapsed = time.monotonic() - started
        if not (Path(out) / "bench.tar.gz").exists():
            raise RuntimeError("rasa train produced no model")
    return elapsed


def cold_start_s(log_dir: Path) -> float:
    port = free_port()
    endpoints = log_dir / "rasa-cold-endpoints.yml"
    # No action server: readiness does not need one, and nothing is asked of the bot here.
    endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:{free_port()}/webhook\n")
    service = rasa_server("rasa-cold", endpoints, port, log_dir)
    started = time.monotonic()
    try:
        service.start()
        return time.monotonic() - started
    finally:
        service.stop()


def run(log_dir: Path, train_repeats: int, start_repeats: int) -> dict[str, Any]:
    trains = [round(training_time_s(log_dir), 2) for _ in range(train_repeats)]
    starts = [round(cold_start_s(log_dir), 2) for _ in range(start_repeats)]
    return {
        "training_s": {"repeats": trains, "median": round(median(trains), 2)},
        "cold_start_s": {"repeats": starts, "median": round(median(starts), 2)},
        "how": "wall time of `rasa train --force` into a temp dir with an empty cache; "
        "`rasa run` start until /status names the model (polled every 0.1 s); nothing else "
        "running",
    }


def _env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
