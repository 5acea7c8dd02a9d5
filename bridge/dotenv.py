"""Reads a `.env` file with python-dotenv: `NAME=value` lines, `#` comments, `export `, quotes.

Values are taken as written (no `${VAR}` interpolation), and a line python-dotenv cannot read
is an error naming the line, where python-dotenv itself would only warn and skip it: a
mistyped setting should stop the bridge, not be silently left out.
"""

from __future__ import annotations

import io
from pathlib import Path

from dotenv.parser import parse_stream


def parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        raw = binding.original.string
        # A binding's text starts with the blank lines before it; the line is the first word's.
        number = binding.original.line + len(raw) - len(raw.lstrip("\n"))
        if binding.error:
            line = raw.strip().splitlines()[0] if raw.strip() else raw
            raise ValueError(f"line {number}: expected NAME=value, got {line!r}")
        if binding.key is None:
            continue  # a comment or a blank line
        if binding.value is None:
            raise ValueError(f"line {number}: {binding.key} has no `=value`")
        values[binding.key] = binding.value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    try:
        return parse_env(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
