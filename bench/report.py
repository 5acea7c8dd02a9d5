"""Writes the report: report.json (everything), chart.png and summary.md (the headline figures).

`python -m bench.report DIR` rebuilds the chart and summary from DIR/report.json.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BRIDGE, FLOOR, TARGET = "#1f77b4", "#999999", "#d62728"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = _clean(report)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    chart(report, out / "chart.png")
    (out / "summary.md").write_text(summary(report))


def _met(flag: Any) -> str:
    return "—" if flag is None else ("met" if flag else "**missed**")


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def summary(r: dict[str, Any]) -> str:
    env = r.get("environment", {})
    plan = r.get("plan", {})
    lines = [
        "# Benchmark summary",
        "",
        f"Run {env.get('date', '?')} on commit `{env.get('commit', '?')}`"
        + (" (with uncommitted changes)" if env.get("tree_dirty") else "")
        + f", {env.get('cpus', '?')} CPUs ({env.get('cpu', '?')}), Python {env.get('python')};"
        f" load average {env.get('load_average_at_start', ['?'])[0]} at the start and "
        f"{env.get('load_average_at_end', ['?'])[0]} at the end (other work shared the machine "
        "when it is well above 0);"
        f" `make bench` took {r.get('duration_s', 0) / 60:.1f} min. Figures are medians over "
        f"{plan.get('repeats')} repeats of each measurement's p50 / p99 unless noted; "
        "everything in [report.json](report.json), drawn in [chart.png](chart.png); "
        "method in [docs/benchmarks.md](../../docs/benchmarks.md).",
        "",
        "| # | Measurement | Result | Target | Ratio | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    if b := r.get("bot_turn"):
        m = b["median"]
        lines.append(
            f"| 1 | Bot turn, widget → bot reply ({len(b['repeats'])} repeats of "
            f"{b['turns_per_repeat']} fresh conversations) | bridge p50 "
            f"{m['bridge_p50_ms']:.1f} ms, p99 {m['bridge_p99_ms']:.1f} ms; Rasa REST direct "
            f"p50 {m['rasa_p50_ms']:.1f} ms, p99 "
            f"{m['rasa_p99_ms']:.1f} ms (each the median over repeats) | overhead ≤ 10 % at "
            f"p50 | overhead {_pct(m['overhead_p50'])} (median of the repeats' "
            f"{' / '.join(_pct(x['overhead_p50']) for x in b['repeats'])}) | {_met(b['met'])} |"
        )
    if h := r.get("relay"):
        lat, cap, ratios = h["at_rate"]["median"], h["saturated"]["median"], h["ratios"]
        bl, fl = lat["bridge"], lat["floor"]
        lines.append(
            f"| 2 | Human relay, signed Slack event → customer's WebSocket, "
            f"{h['rate_per_s']:.0f} msg/s open loop over {h['threads']} threads | bridge p50 "
            f"{bl['p50_ms']:.2f} ms, p99 {bl['p99_ms']:.2f} ms (lost {bl['lost']:.0f}); floor "
            f"p50 {fl['p50_ms']:.2f} ms, p99 {fl['p99_ms']:.2f} ms | p99 ≤ 10 ms | "
            f"{ratios['p99_vs_target']:.2f}× target, {ratios['p99_vs_floor']:.1f}× floor | "
            f"{_met(h['met']['p99'])} |"
        )
        lines.append(
            f"| 2 | Human relay, highest sustained rate ({h['in_flight']} in flight, "
            f"{h['saturate_s']:.0f} s) | bridge {cap['bridge']['throughput_per_s']:.0f} msg/s "
            f"(p50 {cap['bridge']['p50_ms']:.1f} ms); floor "
            f"{cap['floor']['throughput_per_s']:.0f} msg/s (p50 {cap['floor']['p50_ms']:.1f} ms)"
            f" | ≥ 50 % of floor | {_pct(ratios['throughput_vs_floor'])} | "
            f"{_met(h['met']['throughput'])} |"
        )
    if o := r.get("handoff"):
        m = o["median"]
        lines.append(
            f'| 3 | Handoff, "talk to a person" → thread posted in the local Slack '
            f"({o['handoffs_per_repeat']} per repeat, one every {o.get('spacing_s', 0):g} s) "
            f"| p50 {m['p50_ms']:.0f} ms, "
            f"p99 {m['p99_ms']:.0f} ms (customer told: p50 {m['notice_p50_ms']:.0f} ms, p99 "
            f"{m['notice_p99_ms']:.0f} ms) | — | — | — |"
        )
    if c := r.get("connections"):
        m = c["median"]
        lines.append(
            f"| 4 | {c['connections']:,} idle widget connections, one bridge process | "
            f"{m['bytes_per_connection'] / 1024:.1f} KB per connection (bridge RSS; Redis "
            f"+{m['redis_bytes_per_conversation'] / 1024:.1f} KB per conversation); relay at "
            f"{c['rate_per_s']:.0f} msg/s while held p50 {m['relay_p50_ms']:.2f} ms, p99 "
            f"{m['relay_p99_ms']:.2f} ms, longest bridge GC pause meanwhile "
            f"{m.get('longest_gc_pause_ms') or 0:.0f} ms; all held: "
            f"{'yes' if c['all_held'] else '**no**'} | "
            f"≤ 30 KB | {c['ratios']['memory_vs_target']:.2f}× target | {_met(c['met'])} |"
        )
    if s := r.get("slack_limit"):
        lines.append(
            f"| 5 | {s['handoffs']} simultaneous handoffs into one channel, local Slack at "
            f"{s['limit_per_s']:.0f} post/s | {s['threads_complete']}/{s['handoffs']} threads "
            f"complete, {s['lost']} lost, {s['dead_letters']} dead letters; "
            f"{s['throughput_per_s']:.2f} posts/s (median gap {s['median_gap_s']} s), last "
            f"thread after {s['last_thread_after_s']} s | 0 lost, ≥ 90 % of the limit | "
            f"{_pct(s['throughput_vs_limit'])} | {_met(s['met'])} |"
        )
    if q := r.get("rasa"):
        t, st = q["training_s"], q["cold_start_s"]
        lines.append(
            f"| 6 | Rasa: `rasa train --force` / cold start to `/status` ready | training "
            f"{_s(t['median'])} (runs {t['repeats']}); cold start {_s(st['median'])} (runs "
            f"{st['repeats']}) | — | — | — |"
        )
    if any("**missed**" in line for line in lines):
        lines += [
            "",
            "Missed targets are profiled in "
            "[docs/benchmarks.md, Findings](../../docs/benchmarks.md#findings).",
        ]
    lines += ["", *_notes(r), ""]
    return "\n".join(lines)


def _s(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _notes(r: dict[str, Any]) -> list[str]:
    notes = r.get("notes") or []
    return ["## Notes", "", *(f"- {n}" for n in notes)] if notes else []


def chart(r: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    fig.suptitle(
        f"make bench — {r.get('environment', {}).get('date', '')}, "
        f"{r.get('environment', {}).get('cpus', '?')} CPUs (medians over repeats)"
    )
    _bars(
        axes[0][0],
        "1. Bot turn (ms)",
        r.get("bot_turn", {}).get("median"),
        [("Rasa direct", "rasa", FLOOR), ("via bridge", "bridge", BRIDGE)],
    )
    relay = r.get("relay", {})
    lat = relay.get("at_rate", {}).get("median", {})
    held = r.get("connections", {}).get("median", {})
    ax = axes[0][1]
    groups = [("floor", lat.get("floor")), ("bridge", lat.get("bridge"))]
    if held:
        groups.append(
            (
                f"bridge +{r['connections']['connections']:,} idle",
                {"p50_ms": held["relay_p50_ms"], "p99_ms": held["relay_p99_ms"]},
            )
        )
    _grouped(ax, groups, f"2. Relay at {relay.get('rate_per_s', 200):.0f} msg/s (ms)")
    ax.axhline(10, color=TARGET, linestyle="--", linewidth=1, label="p99 target")
    ax.legend(fontsize=8)
    ax = axes[0][2]
    cap = relay.get("saturated", {}).get("median", {})
    if cap:
        values = [cap["floor"]["throughput_per_s"], cap["bridge"]["throughput_per_s"]]
        ax.bar(["floor", "bridge"], values, color=[FLOOR, BRIDGE])
        ax.axhline(values[0] / 2, color=TARGET, linestyle="--", linewidth=1, label="50 % of floor")
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.0f}", ha="center", va="bottom")
        ax.legend(fontsize=8)
    ax.set_title("2. Relay, highest sustained msg/s")
    handoff = r.get("handoff", {}).get("median")
    _grouped(
        axes[1][0],
        [
            ("thread posted", handoff),
            (
                "customer told",
                {"p50_ms": handoff["notice_p50_ms"], "p99_ms": handoff["notice_p99_ms"]}
                if handoff
                else None,
            ),
        ],
        "3. Handoff (ms)",
    )
    ax = axes[1][1]
    slack = r.get("slack_limit")
    if slack and slack.get("post_times_s"):
        times = slack["post_times_s"]
        ax.step(times, range(1, len(times) + 1), where="post", color=BRIDGE, label="posts accepted")
        start = times[0]
        ax.plot(
            [start, start + len(times) - 1],
            [1, len(times)],
            color=TARGET,
            linestyle="--",
            linewidth=1,
            label="1 post/s limit",
        )
        ax.set_xlabel("s after the handoffs")
        ax.legend(fontsize=8)
    ax.set_title(f"5. {slack['handoffs'] if slack else ''} handoffs, one channel at 1 post/s")
    ax = axes[1][2]
    # Two y axes: KB per connection (left, with its target) and Rasa seconds (right).
    if held:
        kb = held["bytes_per_connection"] / 1024
        ax.bar([0], [kb], color=BRIDGE)
        ax.text(0, kb, f"{kb:.1f} KB", ha="center", va="bottom")
        ax.plot([-0.4, 0.4], [30, 30], color=TARGET, linestyle="--", linewidth=1)
        ax.set_ylabel("KB per idle connection (target 30)")
        ax.set_ylim(0, max(32, kb * 1.15))
    rasa = r.get("rasa") or {}
    seconds = [
        (i, rasa[key]["median"])
        for i, key in ((1, "training_s"), (2, "cold_start_s"))
        if rasa.get(key, {}).get("median") is not None
    ]
    if seconds:
        right = ax.twinx()
        right.bar([i for i, _ in seconds], [v for _, v in seconds], color=FLOOR)
        for i, v in seconds:
            right.text(i, v, f"{v:.1f} s", ha="center", va="bottom")
        right.set_ylabel("Rasa, seconds")
        right.set_ylim(0, max(v for _, v in seconds) * 1.15)
    ax.set_xticks([0, 1, 2], ["memory per\nconnection", "Rasa\ntraining", "Rasa\ncold start"])
    ax.set_title("4. Memory · 6. Rasa")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _bars(
    ax: Any, title: str, medians: dict[str, Any] | None, series: list[tuple[str, str, str]]
) -> None:
    groups = (
        [
            (label, {"p50_ms": medians[f"{key}_p50_ms"], "p99_ms": medians[f"{key}_p99_ms"]})
            for label, key, _ in series
        ]
        if medians
        else []
    )
    _grouped(ax, groups, title)


def _grouped(ax: Any, groups: Sequence[tuple[str, dict[str, Any] | None]], title: str) -> None:
    present = [(label, g) for label, g in groups if g]
    ax.set_title(title)
    if not present:
        return
    width = 0.38
    for offset, key, color in ((-width / 2, "p50_ms", BRIDGE), (width / 2, "p99_ms", "#ff7f0e")):
        xs = [i + offset for i in range(len(present))]
        values = [float(g[key]) for _, g in present]
        ax.bar(xs, values, width, color=color, label=key.removesuffix("_ms"))
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(present)), [label for label, _ in present])
    ax.legend(fontsize=8)


if __name__ == "__main__":
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/report")
    data = json.loads((directory / "report.json").read_text())
    chart(data, directory / "chart.png")
    (directory / "summary.md").write_text(summary(data))
