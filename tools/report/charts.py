"""The report's charts: matplotlib (Agg, no display), one PNG each, from Figures."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tools.report.figures import RATINGS, REASONS, Figures, Spread

COLOURS = {"widget": "#3b7dd8", "telegram": "#2aa0a4"}
NONE = Spread(0, None, None)
RATING_COLOURS = {"great": "#3a9e4f", "ok": "#d9a520", "poor": "#c8453c"}


def _png(fig: Figure, counts: bool = True) -> bytes:
    if counts:  # whole conversations, messages, answers: no 0.5 on the count axis
        for ax in fig.axes:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            if ax.get_xlabel() in ("conversations", "messages"):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _empty(ax, what: str) -> None:  # type: ignore[no-untyped-def]
    ax.text(0.5, 0.5, f"no {what} in this period", ha="center", va="center", color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def per_day(figures: Figures) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    days = list(figures.per_day)
    if not days:
        _empty(ax, "conversations")
    channels = sorted({c for counts in figures.per_day.values() for c in counts})
    bottom = [0] * len(days)
    for channel in channels:
        values = [figures.per_day[d].get(channel, 0) for d in days]
        ax.bar(days, values, bottom=bottom, label=channel, color=COLOURS.get(channel))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if channels:
        ax.legend()
        ax.tick_params(axis="x", rotation=45)
    ax.set_title("Conversations per day, by channel")
    return _png(fig)


def outcomes(figures: Figures) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    labels = ["bot alone"] + [REASONS.get(r, r) for r in figures.reasons]
    values = [figures.by_bot, *figures.reasons.values()]
    colours = ["#3a9e4f"] + ["#c8453c"] * len(figures.reasons)
    if figures.conversations:
        ax.barh(labels[::-1], values[::-1], color=colours[::-1])
        ax.set_xlabel("conversations")
    else:
        _empty(ax, "conversations")
    ax.set_title("Handled by the bot alone, or handed to a person (and why)")
    return _png(fig)


def _scale(figures: Figures) -> tuple[float, str]:
    """Seconds per unit of the wait charts, and the unit's name: the largest wait decides."""
    groups = [*figures.first_reply_by_hour.values(), *figures.close_by_hour.values()]
    longest = max((s.p90 or 0 for s in groups), default=0)
    if longest < 120:
        return 1, "seconds"
    if longest < 3 * 3600:
        return 60, "minutes"
    return 3600, "hours"


def _in(s: Spread, attr: str, unit: float) -> float:
    value = getattr(s, attr)
    return 0.0 if value is None else value / unit


def waits(figures: Figures) -> bytes:
    fig, (by_hour, office) = plt.subplots(1, 2, figsize=(10, 3.4), width_ratios=[3, 1])
    hours = list(range(24))
    unit, unit_name = _scale(figures)
    for name, groups, colour in (
        ("first reply", figures.first_reply_by_hour, "#3b7dd8"),
        ("close", figures.close_by_hour, "#7a4fb5"),
    ):
        present = [h for h in hours if h in groups]
        for attr, style in (("p50", "o-"), ("p90", "s--")):
            by_hour.plot(
                present,
                [_in(groups[h], attr, unit) for h in present],
                style,
                color=colour,
                label=f"{name} {attr}",
            )
    by_hour.set_xlim(-0.5, 23.5)
    by_hour.set_xlabel(f"hour of the handoff ({figures.timezone})")
    by_hour.set_ylabel(unit_name)
    office.set_ylabel(unit_name)
    by_hour.set_title("Time to first human reply and to close")
    if figures.first_reply_by_hour or figures.close_by_hour:
        by_hour.legend(fontsize=8)
    kinds = sorted(set(figures.first_reply_office) | set(figures.close_office))
    x = range(len(kinds))
    office.bar(
        [i - 0.2 for i in x],
        [_in(figures.first_reply_office.get(k, NONE), "p50", unit) for k in kinds],
        0.4,
        label="first reply p50",
        color="#3b7dd8",
    )
    office.bar(
        [i + 0.2 for i in x],
        [_in(figures.close_office.get(k, NONE), "p50", unit) for k in kinds],
        0.4,
        label="close p50",
        color="#7a4fb5",
    )
    office.set_xticks(list(x), kinds)
    office.set_title("Against office hours")
    if kinds:
        office.legend(fontsize=8)
    return _png(fig, counts=False)


def satisfaction(figures: Figures) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    days = list(figures.ratings_per_day)
    if not days:
        _empty(ax, "ratings")
    bottom = [0] * len(days)
    for rating, title in RATINGS.items():
        values = [figures.ratings_per_day[d].get(rating, 0) for d in days]
        if any(values):
            ax.bar(
                days,
                values,
                bottom=bottom,
                label=title.split(" ", 1)[-1],
                color=RATING_COLOURS.get(rating),
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if days:
        ax.legend()
    ax.set_title("Satisfaction answers per day")
    return _png(fig)


def failing(figures: Figures) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    shown = figures.failing[:10]
    if shown:
        ax.barh([t.name for t in shown][::-1], [t.count for t in shown][::-1], color="#c8453c")
        ax.set_xlabel("messages")
    else:
        _empty(ax, "failing topics")
    ax.set_title("Topics the bot could not handle")
    return _png(fig)


# File name -> (title, drawing function); the page shows them in this order.
CHARTS = {
    "conversations_per_day.png": ("Conversations per day", per_day),
    "outcomes.png": ("Bot or person", outcomes),
    "waits.png": ("Waiting for a person", waits),
    "satisfaction.png": ("Satisfaction", satisfaction),
    "failing_topics.png": ("Failing topics", failing),
}


def draw_all(figures: Figures) -> dict[str, bytes]:
    return {name: draw(figures) for name, (_, draw) in CHARTS.items()}
