"""Commerce backend chosen by configuration.

COMMERCE_BACKEND=demo (default) uses the seeded SQLite file at COMMERCE_DB
(default .run/commerce.sqlite3); COMMERCE_BACKEND=http talks to COMMERCE_API_URL.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from actions.backend.base import BackendError, CommerceBackend, NotFound, Refused

__all__ = ["BackendError", "CommerceBackend", "NotFound", "Refused", "get_backend"]

DEFAULT_DB = Path(__file__).resolve().parents[2] / ".run" / "commerce.sqlite3"


def db_path() -> Path:
    return Path(os.environ.get("COMMERCE_DB") or DEFAULT_DB)


@lru_cache(maxsize=1)
def get_backend() -> CommerceBackend:
    kind = os.environ.get("COMMERCE_BACKEND", "demo")
    if kind == "demo":
        from actions.backend.demo import DemoBackend

        return DemoBackend(db_path())
    if kind == "http":
        from actions.backend.http import HttpBackend

        return HttpBackend(os.environ["COMMERCE_API_URL"], os.environ.get("COMMERCE_API_KEY", ""))
    raise ValueError(f"COMMERCE_BACKEND must be 'demo' or 'http', not {kind!r}")
