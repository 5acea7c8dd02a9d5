"""When the support team works: parsed once from settings, asked at every handoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OfficeHours:
    zone: ZoneInfo
    days: frozenset[int]  # 0 = Monday
    opens: clock
    closes: clock  # 00:00 means midnight at the end of the day; before `opens`: overnight

    @classmethod
    def parse(cls, timezone: str, days: str, hours: str) -> OfficeHours | None:
        """None when `days` is empty: the team is always available. ValueError says what's wrong."""
        if not days.strip():
            return None
        try:
            zone = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (use e.g. Europe/Berlin)") from None
        opens, _, closes = hours.partition("-")
        hours_ = cls(zone, _parse_days(days), _parse_clock(opens), _parse_clock(closes))
        if hours_.opens == hours_.closes and hours_.closes != clock(0):
            raise ValueError(f"hours open and close at the same time: {hours!r}")
        return hours_

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        today = local.weekday() in self.days
        now = local.time()
        if self.closes != clock(0) and self.closes < self.opens:
            # Overnight (22:00-06:00): from `opens` on a working day until `closes` the morning
            # after it.
            yesterday = (local.weekday() - 1) % 7
            return (today and now >= self.opens) or (yesterday in self.days and now < self.closes)
        return today and self.opens <= now and (self.closes == clock(0) or now < self.closes)

    def next_open(self, at: datetime) -> datetime:
        """The next time the team starts work after `at` (when closed now)."""
        local = at.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            start = datetime.combine(day, self.opens, tzinfo=self.zone)
            if day.weekday() in self.days and start > local:
                return start
        return local  # no working day at all: cannot happen once parsed

    def describe(self) -> str:
        """E.g. "Mon-Fri 09:00-17:00 (Europe/Berlin time)"."""
        closes = "24:00" if self.closes == clock(0) else self.closes.strftime("%H:%M")
        return f"{_describe_days(self.days)} {self.opens:%H:%M}-{closes} ({self.zone.key} time)"


def describe_moment(moment: datetime) -> str:
    """E.g. "Monday 09:00 (Europe/Berlin time)"."""
    zone = getattr(moment.tzinfo, "key", "UTC")
    return f"{moment:%A %H:%M} ({zone} time)"


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"days must look like mon-fri or mon,wed,sat; got {text!r}")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
        days.update(span)
    return frozenset(days)


def _parse_clock(text: str) -> clock:
    text = text.strip()
    if text == "24:00":
        return clock(0)
    try:
        hour, minute = (int(p) for p in text.split(":"))
        return clock(hour, minute)
    except ValueError:
        raise ValueError(f"hours must look like 09:00-17:00; got {text!r}") from None


def _describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]].title()}-{DAY_NAMES[ordered[-1]].title()}"
    return ", ".join(DAY_NAMES[d].title() for d in ordered)


@dataclass(frozen=True)
class Availability:
    """When staff answer: office hours (None: always) and how long a handoff may stay unclaimed."""

    hours: OfficeHours | None = None
    claim_timeout_s: int = 600

    @classmethod
    def from_settings(
        cls, timezone: str, days: str, hours: str, claim_timeout_s: int
    ) -> Availability:
        return cls(OfficeHours.parse(timezone, days, hours), claim_timeout_s)
