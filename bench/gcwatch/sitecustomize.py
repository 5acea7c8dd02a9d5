"""Loaded by the bridge process under `make bench` only (PYTHONPATH): logs the cyclic GC's
pauses longer than 5 ms to $BENCH_GC_LOG as "<monotonic end> <generation> <ms>" lines."""

import gc
import os
import time

_LOG = os.environ.get("BENCH_GC_LOG", "")
_started = [0.0]


def _watch(phase: str, info: dict[str, int]) -> None:
    now = time.monotonic()
    if phase == "start":
        _started[0] = now
    elif now - _started[0] > 0.005:
        with open(_LOG, "a") as log:
            log.write(f"{now:.3f} {info['generation']} {(now - _started[0]) * 1000:.1f}\n")


if _LOG:
    gc.callbacks.append(_watch)
