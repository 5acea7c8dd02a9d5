"""The report page: one self-contained HTML file (charts inline as data: URIs, no JavaScript),
with a table of the numbers beside every chart so that it reads without the images."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html import escape

from tools.report.charts import CHARTS
from tools.report.figures import RATINGS, REASONS, Figures

REVIEW_FILE = "review/candidates.yml"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
.headline { display: flex; flex-wrap: wrap; gap: 1em; padding: 0; list-style: none; }
.headline li { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1em; }
.headline b { display: block; font-size: 1.6em; }
.note { color: #555; font-size: 0.9em; }
"""


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()

    def cell(tag: str, i: int, text: str) -> str:
        css = ' class="n"' if i in numeric else ""
        return f"<{tag}{css}>{escape(text)}</{tag}>"

    lines = ["<table>", "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(head)) + "</tr>"]
    for row in rows:
        lines.append("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    if not rows:
        lines.append(f'<tr><td colspan="{len(head)}">none in this period</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _image(name: str, png: bytes | None) -> str:
    if not png:
        return ""
    title = CHARTS[name][0]
    data = base64.b64encode(png).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{escape(title)} (chart; {escape(name)})">'


def _spreads(label: str, groups: dict, key_name=str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [
        [label, key_name(k), str(s.count), duration(s.p50), duration(s.p90)]
        for k, s in groups.items()
    ]


def headline(figures: Figures) -> list[tuple[str, str]]:
    """(label, value) of the figures that open the page and the digest."""
    satisfied = figures.satisfied_share
    return [
        ("conversations", str(figures.conversations)),
        ("handled by the bot alone", share(figures.by_bot, figures.conversations)),
        ("handed to a person", str(figures.to_person)),
        ("first human reply, p50", duration(figures.first_reply.p50)),
        ("first human reply, p90", duration(figures.first_reply.p90)),
        ("time to close, p50", duration(figures.close.p50)),
        (
            "rated great",
            "–"
            if satisfied is None
            else f"{100 * satisfied:.0f}% of {sum(figures.ratings.values())}",
        ),
    ]


def render(figures: Figures, charts: dict[str, bytes], retention_s: int) -> str:
    f = figures
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Support report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Support report</h1>",
        f'<p class="note">From {when(f.since_ms)} to {when(f.until_ms)}. Hours of day are in '
        f"{escape(f.timezone)}. Computed from what Redis holds: "
        + (
            f"a conversation's data expires {retention_s // 86400} days after its last message "
            "(CONVERSATION_RETENTION_S), so a period reaching further back than that is "
            "incomplete."
            if retention_s
            else "conversations are kept until erased (CONVERSATION_RETENTION_S=0)."
        )
        + " How each figure is computed: docs/report.md.</p>",
        '<ul class="headline">'
        + "".join(f"<li><b>{escape(v)}</b>{escape(k)}</li>" for k, v in headline(f))
        + "</ul>",
        "<h2>Conversations per day</h2>",
        _image("conversations_per_day.png", charts.get("conversations_per_day.png")),
        _table(
            ["day (UTC)", *sorted(f.by_channel), "total"],
            [
                [day, *(str(c.get(ch, 0)) for ch in sorted(f.by_channel)), str(sum(c.values()))]
                for day, c in f.per_day.items()
            ]
            + [["all", *(str(n) for _, n in sorted(f.by_channel.items())), str(f.conversations)]],
            set(range(1, len(f.by_channel) + 2)),
        ),
        "<h2>Bot or person</h2>",
        _image("outcomes.png", charts.get("outcomes.png")),
        _table(
            ["outcome", "conversations", "share"],
            [["handled by the bot alone", str(f.by_bot), share(f.by_bot, f.conversations)]]
            + [
                [f"to a person: {REASONS.get(r, r)}", str(n), share(n, f.conversations)]
                for r, n in f.reasons.items()
            ],
            {1, 2},
        ),
        '<p class="note">"The bot alone" is an upper bound on what it resolved: a customer who '
        "gave up without asking for a person is counted there too. A conversation handed over "
        "more than once counts under its first reason in the period.</p>",
        "<h2>Waiting for a person</h2>",
        _image("waits.png", charts.get("waits.png")),
        _table(
            ["", "group", "handoffs", "p50", "p90"],
            [
                [
                    "first human reply",
                    "all",
                    str(f.first_reply.count),
                    duration(f.first_reply.p50),
                    duration(f.first_reply.p90),
                ],
                [
                    "time to close",
                    "all",
                    str(f.close.count),
                    duration(f.close.p50),
                    duration(f.close.p90),
                ],
                *_spreads("first human reply", f.first_reply_office),
                *_spreads("time to close", f.close_office),
                *_spreads("first human reply", f.first_reply_by_hour, lambda h: f"{h:02d}:00"),
                *_spreads("time to close", f.close_by_hour, lambda h: f"{h:02d}:00"),
            ],
            {2},
        ),
        f'<p class="note">{f.unanswered} of {len(f.handoffs)} handoffs have no human reply '
        "yet.</p>",
        "<h2>Satisfaction</h2>",
        _image("satisfaction.png", charts.get("satisfaction.png")),
        _table(
            ["day (UTC)", *(RATINGS[r] for r in RATINGS)],
            [[d, *(str(c.get(r, 0)) for r in RATINGS)] for d, c in f.ratings_per_day.items()]
            + [["all", *(str(f.ratings.get(r, 0)) for r in RATINGS)]],
            {1, 2, 3},
        ),
        "<h2>Topics the bot could not handle</h2>",
        _image("failing_topics.png", charts.get("failing_topics.png")),
        _table(
            ["topic", "messages", "conversations", "examples"],
            [
                [t.name, str(t.count), str(t.conversations), " · ".join(t.examples)]
                for t in f.failing
            ],
            {1, 2},
        ),
        f'<p class="note">To teach the bot these: <code>make review</code> writes every one of '
        f"them, grouped, to <code>{REVIEW_FILE}</code> (docs/learning.md).</p>",
        "<h2>Topic spikes</h2>",
        _table(
            ["topic", "last hour", "last 25 hours", "alert raised (last hour)", "examples"],
            [
                [
                    s.topic,
                    str(s.last_hour),
                    str(s.last_day),
                    "yes" if s.alerted else "no",
                    " · ".join(s.examples),
                ]
                for s in f.spikes
            ],
            {1, 2},
        ),
        '<p class="note">Redis keeps spike counts for 25 hours; earlier alerts are in the '
        "SPIKE_ALERT_CHANNEL.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)
