"""Demo backend: a SQLite file seeded with Northwind Store data (reset: python -m actions.backend.reset)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actions.backend import seed
from actions.backend.base import BackendError

SCHEMA = """
CREATE TABLE policies (topic TEXT PRIMARY KEY, text TEXT NOT NULL);
"""


def reset(path: Path) -> None:
    """Recreate the database from the seed data, discarding every change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO policies VALUES (?, ?)", seed.POLICIES.items())


class DemoBackend:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            reset(path)
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path)
        db.row_factory = sqlite3.Row
        return db

    def policy(self, topic: str) -> str:
        with self._connect() as db:
            row = db.execute("SELECT text FROM policies WHERE topic = ?", (topic,)).fetchone()
        if row is None:
            raise BackendError(f"no policy {topic!r}")
        return row["text"]
