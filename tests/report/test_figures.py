"""The report's figures on known data (tools/report/figures.py), the page without JavaScript,
the build from a real Redis database, and the Grafana dashboard against the metrics registry."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.office_hours import OfficeHours
from bridge.texts import customers as texts
from tools.report import charts, page
from tools.report.collect import Event, Line, Record, Snapshot, SpikeTopic, Turn, parse_events
from tools.report.figures import compute, failing_topics, percentile

ROOT = Path(__file__).resolve().parents[2]
MIN = 60_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


# Monday 2026-11-23 and Tuesday 2026-11-24; office hours Mon-Fri 09:00-17:00 UTC.
SINCE, UNTIL = ms("2026-11-23T00:00"), ms("2026-11-25T00:00")
HOURS = OfficeHours.parse("UTC", "mon-fri", "09:00-17:00")


def say(at: int, role: str = "customer", text: str = "hi") -> Line:
    return Line(at, role, text)


def rated(at: int, payload: str) -> list[Line]:
    return [
        say(at, "system", texts.CSAT_QUESTION),
        say(at + 1000, "customer", texts.CSAT_ANSWERS[payload]),
        say(at + 2000, "system", texts.CSAT_THANKS),
    ]


def snapshot() -> Snapshot:
    t1, t2, t3 = ms("2026-11-23T10:00"), ms("2026-11-23T20:00"), ms("2026-11-24T11:00")
    return Snapshot(
        SINCE,
        UNTIL,
        (
            # Bot alone, widget, Monday.
            Record(
                "w-1",
                "widget",
                lines=(say(ms("2026-11-23T08:00")), say(ms("2026-11-23T08:01"), "bot")),
            ),
            # Asked for a person at 10:00 (open): reply after 2 min, closed after 10, rated great.
            Record(
                "w-2",
                "widget",
                lines=(say(t1), say(t1 + 2 * MIN, "staff"), *rated(t1 + 10 * MIN, "/csat_great")),
                events=(Event("handoff", t1, "explicit_request"), Event("closed", t1 + 10 * MIN)),
                turns=(
                    Turn(
                        t1,
                        "a person please",
                        "contact_human_agent",
                        0.99,
                        "handoff",
                        "explicit_request",
                    ),
                ),
            ),
            # A complaint at 20:00 (after hours): reply after 30 min, never closed.
            Record(
                "t-3",
                "telegram",
                lines=(say(t2, text="this is terrible"), say(t2 + 30 * MIN, "staff")),
                events=(Event("handoff", t2, "complaint"),),
                turns=(Turn(t2, "this is terrible", "complain", 0.9, "handoff", "complaint"),),
            ),
            # Tuesday, telegram: two abstentions on gift cards, then two misses; reply after 6 min,
            # closed after 20, rated poor.
            Record(
                "t-4",
                "telegram",
                lines=(
                    say(t3 - 2 * MIN, text="do you sell gift cards"),
                    say(t3 - MIN, text="gift card balance"),
                    say(t3 + 6 * MIN, "staff"),
                    *rated(t3 + 20 * MIN, "/csat_poor"),
                ),
                events=(Event("handoff", t3, "repeated_miss"), Event("closed", t3 + 20 * MIN)),
                turns=(
                    Turn(
                        t3 - 2 * MIN, "do you sell gift cards", "out_of_scope", 0.6, "abstain", ""
                    ),
                    Turn(
                        t3 - MIN,
                        "gift card balance",
                        "nlu_fallback",
                        0.3,
                        "handoff",
                        "repeated_miss",
                    ),
                ),
            ),
            # Wrote before the period only: not counted.
            Record("w-5", "widget", lines=(say(SINCE - 1000),)),
            # Older than the timeline's events: the record's handoff counts (bot unavailable).
            Record(
                "w-6",
                "widget",
                lines=(say(t3), say(t3 + 4 * MIN, "staff")),
                handoff_reason="bot_unavailable",
                handoff_at_ms=t3,
            ),
        ),
        (SpikeTopic("text:abc", 1, 2, ("gift card balance",), False),),
    )


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([4, 1, 3, 2], 50) == 2
    assert percentile([4, 1, 3, 2], 90) == 4
    assert percentile([7], 90) == 7
    assert percentile(list(range(1, 11)), 90) == 9


def test_counts_per_day_channel_and_reason() -> None:
    f = compute(snapshot(), HOURS, "UTC")
    assert f.conversations == 5
    assert f.by_channel == {"telegram": 2, "widget": 3}
    assert f.per_day == {
        "2026-11-23": {"telegram": 1, "widget": 2},
        "2026-11-24": {"telegram": 1, "widget": 1},
    }
    assert (f.by_bot, f.to_person) == (1, 4)
    assert f.reasons == {
        "explicit_request": 1,
        "complaint": 1,
        "repeated_miss": 1,
        "bot_unavailable": 1,
    }
    assert f.ratings == {"great": 1, "poor": 1}
    assert f.ratings_per_day == {"2026-11-23": {"great": 1}, "2026-11-24": {"poor": 1}}


def test_waits_overall_by_hour_and_against_office_hours() -> None:
    f = compute(snapshot(), HOURS, "UTC")
    assert sorted(h.first_reply_s for h in f.handoffs) == [120, 240, 360, 1800]
    assert (f.first_reply.p50, f.first_reply.p90) == (240, 1800)
    assert (f.close.count, f.close.p50, f.close.p90) == (2, 600, 1200)
    assert {h: s.p50 for h, s in f.first_reply_by_hour.items()} == {10: 120, 11: 240, 20: 1800}
    assert f.first_reply_office["office hours"].count == 3
    assert f.first_reply_office["after hours"].p50 == 1800
    assert f.unanswered == 0
    # In another time zone the hours move with it.
    berlin = compute(snapshot(), HOURS, "Europe/Berlin")
    assert set(berlin.first_reply_by_hour) == {11, 12, 21}


def test_failing_topics_leave_out_what_went_as_designed() -> None:
    f = compute(snapshot(), HOURS, "UTC")
    # The request for a person is not a failure; the complaint's intent is confident.
    assert [(t.name, t.count) for t in f.failing] == [("card, gift, balance", 2), ("complain", 1)]
    assert f.failing[0].examples == ("do you sell gift cards", "gift card balance")
    grouped = failing_topics(
        [
            ("a", "can I pay in bitcoin", "out_of_scope", 0.4),
            ("b", "bitcoin accepted?", "out_of_scope", 0.4),
            ("c", "??", "nlu_fallback", 0.2),
        ]
    )
    assert [(t.name, t.count, t.conversations) for t in grouped] == [
        ("bitcoin, accepted, pay", 2, 2),
        ("(no words)", 1, 1),
    ]


def test_timeline_events_parse_and_tolerate_junk() -> None:
    raw = json.dumps(
        [{"e": "handoff", "at": 5, "reason": "complaint"}, {"e": "x"}, {"e": "closed", "at": 9}]
    )
    assert parse_events(raw) == (Event("handoff", 5, "complaint"), Event("closed", 9))
    assert parse_events("not json") == ()
    assert parse_events(None) == ()


def test_page_is_self_contained_without_javascript() -> None:
    f = compute(snapshot(), HOURS, "UTC")
    drawn = charts.draw_all(f)
    assert all(png.startswith(b"\x89PNG") for png in drawn.values())
    html = page.render(f, drawn, 30 * 86400)
    assert "<script" not in html.lower() and " on" not in re.sub(r"<[^>]*>", "", "")
    assert not re.search(r"\son[a-z]+=", html)  # no inline handlers
    assert html.count('src="data:image/png;base64,') == len(charts.CHARTS)
    assert "30 days after its last message" in html
    assert "review/candidates.yml" in html
    assert "two misses in a row" in html and "card, gift, balance" in html
    # No external resources: everything is inline.
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_since_accepts_spans_and_dates() -> None:
    from tools.report.build import since_ms

    now = ms("2026-12-01T00:00")
    assert since_ms("7d", now) == ms("2026-11-24T00:00")
    assert since_ms("24h", now) == ms("2026-11-30T00:00")
    assert since_ms("2026-11-01", now) == ms("2026-11-01T00:00")
    with pytest.raises(ValueError, match="SINCE"):
        since_ms("last week", now)


def _dashboard_metric_names() -> set[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert exprs, "the dashboard has no queries"
    names = set()
    for expr in exprs:
        without_labels = re.sub(r"\{[^}]*\}", "", expr)
        without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
        names |= {
            w
            for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges)
            if w.startswith("bridge_")
        }
    return names


def test_the_dashboard_names_only_metrics_the_bridge_exports() -> None:
    from prometheus_client import REGISTRY

    import bridge.observability.metrics  # noqa: F401  (registers the bridge's metrics)

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    exported = {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("bridge_")
        for suffix in suffixes.get(family.type, ("",))
    }
    used = _dashboard_metric_names()
    assert used, "no bridge metric in the dashboard"
    assert used <= exported, sorted(used - exported)
