"""The contract between the outbox's drain and a platform's sender: what a sender is handed,
what it may answer, and how it says a delivery failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.outbox.jobs import Job


class RetryLater(Exception):
    """The platform may accept the message later (rate limit, 5xx, timeout).

    `outcome_unknown`: the platform may have carried the call out anyway (no answer came, or
    part of a multi-step delivery went through); the next attempt is told so
    (`Delivery.unsure`) and must look before it sends again.
    """

    def __init__(
        self, reason: str, retry_after_s: float | None = None, outcome_unknown: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.outcome_unknown = outcome_unknown


class Undeliverable(Exception):
    """The platform refused the message for good (blocked bot, unknown channel…)."""


@dataclass(frozen=True)
class Delivery:
    """The stream entries one delivery carries (several when jobs were joined), and whether an
    earlier attempt may already have reached the platform: it timed out, or it was in progress
    in a process that died."""

    stream: str
    entries: tuple[str, ...]
    unsure: bool = False

    @property
    def names(self) -> list[str]:
        """`<stream>/<entry id>` of each entry, in queue order: a name the platform can be
        asked about later (Slack message metadata)."""
        return [f"{self.stream}/{entry}" for entry in self.entries]


@dataclass(frozen=True)
class Joined:
    """A run of queued jobs of one conversation delivered as one (several quick lines, one
    post); made by a sender's Coalescer."""

    jobs: tuple[Job, ...]


# A Redis write a sender needs kept with the delivery (the thread a card opened, the ids a
# platform gave a message): the outbox runs it in the transaction that acknowledges the entries.
Step = Callable[[Any], None]  # takes a redis-py pipeline


@dataclass(frozen=True)
class Delivered:
    steps: tuple[Step, ...] = ()


class Sender(Protocol):
    """Delivers one job, or a joined run; None means nothing needs recording."""

    async def __call__(self, job: Job | Joined, delivery: Delivery) -> Delivered | None: ...


class Coalescer(Protocol):
    """Joins a run of queued jobs into one delivery."""

    def joinable(self, job: Job) -> bool: ...

    def fits(self, run: list[Job], job: Job) -> bool: ...

    async def ready(self, job: Job) -> None:
        """Wait until `job` could go out; whatever queues meanwhile joins it."""
