"""Reads a `.env` file: `NAME=value` lines, `#` comments, optional `export ` and quotes.

Deliberately small (no interpolation, no multi-line values), so what the file says is what the
bridge gets.
"""

from __future__ import annotations

from pathlib import Path


def parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "").isalnum():
            raise ValueError(f"line {number}: expected NAME=value, got {line!r}")
        values[name] = _value(value.strip(), number)
    return values


def _value(raw: str, number: int) -> str:
    """A value as written: inside its quotes if quoted, and never with a trailing comment
    (`SLACK_CHANNEL_ID="C0123"  # staff` is C0123)."""
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        if end == -1:
            raise ValueError(f"line {number}: the value's {raw[0]} is never closed")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ValueError(f"line {number}: unexpected {rest!r} after the quoted value")
        return raw[1:end]
    if raw.startswith("#"):
        return ""  # NAME=  # a comment: empty
    for mark in (" #", "\t#"):  # an unquoted value ends where a comment starts
        raw = raw.split(mark, 1)[0]
    return raw.rstrip()


def read_env_file(path: Path) -> dict[str, str]:
    try:
        return parse_env(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
