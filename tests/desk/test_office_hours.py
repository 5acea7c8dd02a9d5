"""Office hours: when the team is in, and what the customer is told otherwise (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.office_hours import OfficeHours, describe_moment


def test_weekday_hours_in_the_teams_own_time_zone() -> None:
    hours = OfficeHours.parse("Europe/Berlin", "mon-fri", "09:00-17:00")
    assert hours is not None
    # Monday 2026-11-23, 07:30 UTC is 08:30 in Berlin: not yet open.
    assert not hours.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))  # 17:00 Berlin
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert describe_moment(hours.next_open(friday_evening)) == "Monday 09:00 (Europe/Berlin time)"
    assert hours.describe() == "Mon-Fri 09:00-17:00 (Europe/Berlin time)"


def test_wrapping_day_ranges_and_midnight() -> None:
    hours = OfficeHours.parse("UTC", "sat-mon", "18:00-24:00")
    assert hours is not None and hours.days == {5, 6, 0}
    assert hours.is_open(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))  # Sunday
    assert not hours.is_open(datetime(2026, 11, 24, 19, 0, tzinfo=UTC))  # Tuesday


def test_no_days_means_always_available() -> None:
    assert OfficeHours.parse("UTC", "", "09:00-17:00") is None


@pytest.mark.parametrize(
    ("zone", "days", "hours"),
    [
        ("Mars/Olympus", "mon", "09:00-17:00"),
        ("UTC", "monday", "09:00-17:00"),
        ("UTC", "mon", "9-5"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(zone: str, days: str, hours: str) -> None:
    with pytest.raises(ValueError, match=r"time zone|days|hours"):
        OfficeHours.parse(zone, days, hours)
