"""The fault-injection suite (`make faults`, docs/faults.md): a whole product of its own (Redis
with AOF, Rasa, actions, stand-ins, bridge), faults injected into it, and a figure per case."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import redis

from devstack.rundir import exclusive_run_dir
from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack
from tests.conftest import chat_id

__all__ = ["chat_id"]

HERE = Path(__file__).parent
# Logs and Redis data of the suite's processes (ignored by git with the other test artifacts).
ARTIFACTS = HERE.parent / "tests" / ".artifacts" / "faults"


@dataclass
class Figure:
    case: str
    sent: int
    delivered: int
    duplicates: int
    out_of_order: int
    note: str = ""

    @property
    def lost(self) -> int:
        return self.sent - self.delivered


def tally(case: str, marker: str, sent: int, observed: list[str], note: str = "") -> Figure:
    """Count `marker-NN` (NN = 1..sent) in what the receiver shows, in the order shown."""
    seen = [int(n) for text in observed for n in re.findall(rf"{re.escape(marker)}-(\d+)", text)]
    wanted = [n for n in seen if 1 <= n <= sent]
    first: list[int] = []
    for n in wanted:
        if n not in first:
            first.append(n)
    duplicates = len(wanted) - len(first)
    out_of_order = sum(1 for a, b in itertools.pairwise(first) if b < a)
    return Figure(case, sent, len(first), duplicates, out_of_order, note)


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def write(self, directory: Path) -> None:
        rows = [{**asdict(f), "lost": f.lost} for f in self.figures]
        (directory / "report.json").write_text(json.dumps(rows, indent=2) + "\n")
        lines = [
            "| case | sent | delivered | lost | duplicated | out of order | note |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        lines += [
            f"| {f.case} | {f.sent} | {f.delivered} | {f.lost} | {f.duplicates} | "
            f"{f.out_of_order} | {f.note} |"
            for f in self.figures
        ]
        (directory / "report.md").write_text("\n".join(lines) + "\n")


def assert_clean(figure: Figure) -> None:
    assert (figure.lost, figure.duplicates, figure.out_of_order) == (0, 0, 0), figure


@pytest.fixture(scope="session")
def report() -> Iterator[Report]:
    collected = Report()
    yield collected
    collected.write(HERE)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The product with Redis persistence on (AOF, fsync every second), as shipped."""
    with exclusive_run_dir(ARTIFACTS / "stack") as run_dir:
        run = Stack(run_dir, redis_persistent=True, bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS)
        try:
            # The append-only file outlives runs: start from an empty database every time.
            run.services["redis"].start()
            with redis.Redis.from_url(run.redis_url) as client:
                client.flushall()
            for name, service in run.services.items():
                if name != "redis":
                    service.start()
            yield run
        finally:
            run.stop()
