"""Loaded by the bridge process under `make bench` only (PYTHONPATH): logs the cyclic GC's
pauses longer than 5 ms to $BENCH_GC_LOG as "<monotonic end> <generation> <ms> <cpu ms>" lines.

`ms` is wall-clock time (what a message waiting on the event loop sees); `cpu ms` is the
thread's CPU time over the same span, so a pause stretched by other processes on a busy
machine can be told from a collection that really is long.
"""

import gc
import os
import time

_LOG = os.environ.get("BENCH_GC_LOG", "")
_started = [0.0, 0.0]


def _watch(phase: str, info: dict[str, int]) -> None:
    now = time.monotonic()
    if phase == "start":
        _started[0], _started[1] = now, time.thread_time()
    elif now - _started[0] > 0.005:
        cpu_ms = (time.thread_time() - _started[1]) * 1000
        with open(_LOG, "a") as log:
            wall_ms = (now - _started[0]) * 1000
            log.write(f"{now:.3f} {info['generation']} {wall_ms:.1f} {cpu_ms:.1f}\n")


if _LOG:
    gc.callbacks.append(_watch)
