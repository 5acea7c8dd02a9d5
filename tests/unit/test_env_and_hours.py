"""What an operator writes in `.env` is what the bridge gets, and a night shift is a night shift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.dotenv import parse_env
from bridge.office_hours import OfficeHours


def test_quotes_and_inline_comments_are_not_part_of_a_value() -> None:
    env = parse_env(
        'SLACK_CHANNEL_ID="C0123"  # staff\n'
        "TOKEN='xoxb-1 # not a comment'\n"
        "PLAIN=abc # a comment\n"
        "TABBED=abc\t# a comment\n"
        "EMPTY=  # nothing\n"
        "HASH=a#b\n"
    )
    assert env == {
        "SLACK_CHANNEL_ID": "C0123",
        "TOKEN": "xoxb-1 # not a comment",
        "PLAIN": "abc",
        "TABBED": "abc",
        "EMPTY": "",
        "HASH": "a#b",
    }


@pytest.mark.parametrize("line", ['A="unclosed', 'A="x" y'])
def test_a_malformed_quoted_value_is_refused_with_its_line(line: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_env(line)


def test_a_night_shift_is_open_through_the_night() -> None:
    hours = OfficeHours.parse("UTC", "mon-fri", "22:00-06:00")
    assert hours is not None
    assert hours.is_open(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # Tuesday night
    assert hours.is_open(datetime(2026, 12, 2, 5, 59, tzinfo=UTC))  # Wednesday, before six
    assert not hours.is_open(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))  # midday
    assert hours.is_open(datetime(2026, 12, 5, 3, 0, tzinfo=UTC))  # Saturday: Friday's night
    assert not hours.is_open(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))  # Sunday night: off
    assert hours.next_open(datetime(2026, 12, 2, 12, 0, tzinfo=UTC)).hour == 22


def test_hours_that_open_and_close_at_once_are_refused() -> None:
    with pytest.raises(ValueError, match="same time"):
        OfficeHours.parse("UTC", "mon-fri", "09:00-09:00")


def test_a_value_is_taken_as_written_and_a_bare_name_is_refused() -> None:
    assert parse_env("export URL=redis://h/0\nREF=${URL}\n") == {
        "URL": "redis://h/0",
        "REF": "${URL}",  # no interpolation: what the file says is what the bridge gets
    }
    with pytest.raises(ValueError, match="line 3: SLACK_BOT_TOKEN has no `=value`"):
        parse_env("A=1\n\nSLACK_BOT_TOKEN\n")
