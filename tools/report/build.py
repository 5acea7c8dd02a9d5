"""One report, from Redis to the files: what `make report` and the digest share."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bridge.office_hours import OfficeHours
from tools.learning_cli import setting
from tools.report import charts, page
from tools.report.collect import collect
from tools.report.figures import Figures, compute

_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNIT_S = {"h": 3600, "d": 86400, "w": 7 * 86400}


def since_ms(text: str, now_ms: int) -> int:
    """`7d`, `24h`, `2w`, or a date / time (ISO 8601, UTC unless it says otherwise)."""
    match = _SPAN.match(text)
    if match:
        return now_ms - int(match[1]) * _UNIT_S[match[2]] * 1000
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"SINCE must look like 7d, 24h, 2w or 2026-11-01, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Report:
    figures: Figures
    charts: dict[str, bytes]
    html: str


def office_hours(env: dict[str, str]) -> tuple[OfficeHours | None, str]:
    timezone = setting(env, "office_timezone") or "UTC"
    hours = OfficeHours.parse(timezone, setting(env, "office_days"), setting(env, "office_hours"))
    return hours, timezone


async def build(
    redis: Redis, env: dict[str, str], since: str = "7d", now_ms: int | None = None
) -> Report:
    until = int(time.time() * 1000) if now_ms is None else now_ms
    snapshot = await collect(redis, since_ms(since, until), until)
    hours, timezone = office_hours(env)
    figures = compute(snapshot, hours, timezone)
    drawn = charts.draw_all(figures)
    retention_s = int(setting(env, "retention_s") or 0)
    return Report(figures, drawn, page.render(figures, drawn, retention_s))


def write(report: Report, out: Path) -> Path:
    """index.html, the PNGs beside it and figures.json; returns the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    for name, png in report.charts.items():
        (out / name).write_bytes(png)
    (out / "figures.json").write_text(json.dumps(report.figures.as_dict(), indent=2) + "\n")
    index = out / "index.html"
    index.write_text(report.html, encoding="utf-8")
    return index
