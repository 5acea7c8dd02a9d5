"""`make reset-shop` puts the demo shop's data back to its seed, while the stack uses it too."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from actions.backend import seed
from actions.backend.demo import DemoBackend
from devstack.processes import ROOT

Dump = dict[str, list[tuple[Any, ...]]]


def dump(db: sqlite3.Connection) -> Dump:
    """Every table's rows, AUTOINCREMENT counters included."""
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall()) for t in sorted(tables)}


def make_reset_shop(database: Path) -> str:
    """`make reset-shop` with the database named as the environment would; the bridge
    environment is used as it is (`-o`: never reinstalled from here)."""
    make = shutil.which("make")
    assert make, "make is needed: `make reset-shop` is the documented command"
    done = subprocess.run(
        [make, "-s", "reset-shop", "-o", ".venvs/bridge/.installed", f"BRIDGE_PY={sys.executable}"],
        cwd=ROOT,
        env={**os.environ, "COMMERCE_DB": str(database)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_reset_shop_restores_the_seed_in_place_while_the_file_is_open(tmp_path: Path) -> None:
    seeded = tmp_path / "seed.sqlite3"
    DemoBackend(seeded)  # a fresh demo shop is created from the seed
    with sqlite3.connect(seeded) as db:
        seed_state = dump(db)
    assert sorted(seed_state["orders"]) == sorted(seed.ORDERS)

    database = tmp_path / "commerce.sqlite3"
    DemoBackend(database)
    # The action server of a running stack keeps using the file.
    held = sqlite3.connect(database)
    try:
        number = seed.ORDERS[0][0]
        with held:
            held.execute("UPDATE orders SET status = 'cancelled' WHERE number = ?", (number,))
            held.execute("DELETE FROM refunds")
            held.execute("INSERT INTO failed_checks VALUES ('chat', 1.0)")
            held.execute(
                "INSERT INTO emails (recipient, subject, body, sent_at) VALUES (?,?,?,?)",
                ("ana@example.com", "Cancelled", "…", 1.0),
            )
            held.execute("CREATE TABLE leftovers (x)")  # as from an older schema
        assert dump(held) != seed_state
        inode = database.stat().st_ino

        out = make_reset_shop(database)

        assert str(database) in out
        assert database.stat().st_ino == inode  # reset in place, not replaced
        assert dump(held) == seed_state  # what the open connection now reads
        status = held.execute("SELECT status FROM orders WHERE number = ?", (number,))
        assert status.fetchone()[0] == next(o[2] for o in seed.ORDERS if o[0] == number)
    finally:
        held.close()


def test_reset_shop_creates_a_missing_database(tmp_path: Path) -> None:
    database = tmp_path / "not-yet" / "commerce.sqlite3"
    make_reset_shop(database)
    with sqlite3.connect(database) as db:
        assert sorted(db.execute("SELECT * FROM orders").fetchall()) == sorted(seed.ORDERS)
        assert db.execute("SELECT COUNT(*) FROM emails").fetchone()[0] == 0
