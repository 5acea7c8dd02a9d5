"""A run directory that no other live test session is using.

A stack writes its logs, Redis files, demo database and Rasa endpoints file into its run
directory; two test sessions sharing one would point each other's Rasa at the wrong action
server. Each session takes `base` if free, else `base-2`, `base-3`…, held by an flock that the
kernel releases when the process ends (also on SIGKILL), so a crashed run never blocks the next.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_run_dir(base: Path) -> Iterator[Path]:
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 100):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        lock = path.with_name(path.name + ".lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield path
        finally:
            lock.close()
        return
    raise RuntimeError(f"no free run directory next to {base}")
