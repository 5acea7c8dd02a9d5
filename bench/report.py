"""Writes the report: report.json (everything), chart.png and summary.md (the headline figures).

`python -m bench.report DIR` rebuilds the chart and summary from DIR/report.json.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from devstack.processes import ROOT

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
    if _charted(report):
        chart(report, out / "chart.png")
    (out / "summary.md").write_text(summary(report, _docs_from(out)))


def _docs_from(out: Path) -> str:
    """docs/ relative to the report directory, for the summary's links."""
    return os.path.relpath(ROOT / "docs", out.resolve())


# What chart.png draws; a run of other measurements alone (e.g. `--only abuse`) gets none.
CHARTED = ("bot_turn", "relay", "handoff", "connections", "slack_limit", "rasa")


def _charted(report: dict[str, Any]) -> bool:
    return any(report.get(name) for name in CHARTED)


def _met(flag: Any) -> str:
    return "—" if flag is None else ("met" if flag else "**missed**")


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def summary(r: dict[str, Any], docs: str = "../../docs") -> str:
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
        "everything in [report.json](report.json)"
        + (", drawn in [chart.png](chart.png)" if _charted(r) else "")
        + f"; method in [docs/benchmarks.md]({docs}/benchmarks.md).",
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
    if a := r.get("abuse"):
        m, reps = a["median"], a["repeats"]
        attack = [x["attack"]["attacker"] or {} for x in reps]
        rate = median_of([float(x.get("conversations_per_s") or math.nan) for x in attack])
        lines.append(
            f"| 7 | Abuse: {a['customers_per_repeat']} signed-in customers hand over (one every "
            f"{a['spacing_s']:g} s) while one attacker (one address) opens conversations, asks "
            f"for a person and uploads as fast as it can (~{rate:.0f} `hello`s/s) | "
            f"handoff → thread p99 {_sec(m['attack_p99_ms'])} with the attacker, "
            f"{_sec(m['p99_ms'])} without (p50 {_sec(m['attack_p50_ms'])} / "
            f"{_sec(m['p50_ms'])}){_censored(a)}; Redis +{_mb(m['memory_growth_bytes'])} "
            f"during the attack ({_mb(m['attacker_memory_growth_bytes'])} more than without), "
            f"bound by the caps {_mb(m['memory_bound_bytes'])} | p99 within 2 s of the run "
            f"without; Redis growth within the caps' bound | p99 difference "
            f"{_sec(m['p99_difference_ms'])} (median of "
            f"{' / '.join(_sec(x['p99_difference_ms']) for x in reps)}) | "
            f"p99 {_met(a['met']['p99'])}, memory {_met(a['met']['memory'])} |"
        )
    if any("**missed**" in line for line in lines):
        lines += [
            "",
            "Missed targets are profiled in "
            f"[docs/benchmarks.md, Findings]({docs}/benchmarks.md#findings).",
        ]
    if a := r.get("abuse"):
        lines += ["", *_abuse_section(a)]
    lines += ["", *_notes(r), ""]
    return "\n".join(lines)


def median_of(values: Sequence[float]) -> float:
    clean = sorted(v for v in values if not math.isnan(v))
    if not clean:
        return math.nan
    mid = len(clean) // 2
    return clean[mid] if len(clean) % 2 else (clean[mid - 1] + clean[mid]) / 2


def _sec(ms: Any) -> str:
    return "n/a" if ms is None else f"{ms / 1000:.2f} s"


def _mb(value: Any) -> str:
    return "n/a" if value is None else f"{value / (1024 * 1024):.1f} MB"


def _censored(a: dict[str, Any]) -> str:
    missing = sum(x["attack"]["not_posted"] for x in a["repeats"])
    if not missing:
        return ""
    return (
        f" ({missing} threads never posted during the phase, counted at the time waited: the "
        "p99 is a lower bound)"
    )


def _accepted(counts: dict[str, int], what: str) -> str:
    accepted, refused = counts.get(f"{what}_accepted", 0), counts.get(f"{what}_refused", 0)
    return f"{accepted:,} / {accepted + refused:,}"


def _abuse_section(a: dict[str, Any]) -> list[str]:
    caps = a.get("caps") or {}
    lines = [
        "## 7. Abuse resistance, per repeat",
        "",
        "Handoff → thread: from a signed-in customer's request to its thread's opening post in "
        "the local Slack. Guest lines: customers already in a thread (guests) send a line every "
        f"{a['guest_line_every_s']:g} s; from the line to the thread post carrying it. p99 of "
        f"{a['customers_per_repeat']} is their maximum. The bridge stores a conversation at its "
        "first message, so a welcomed `hello` costs nothing yet.",
        "",
        "| Repeat (order) | Thread p99 without → with | Difference | Not posted | Guest lines "
        "p99 without → with | Redis during the attack (more than without) / bound | Keys "
        "(bridge, Rasa) before → peak | Attacker accepted / tried: hellos · first messages "
        "(each starts a conversation) · handoffs · uploads |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, x in enumerate(a["repeats"], 1):
        base, under = x["baseline"], x["attack"]
        counts = (under["attacker"] or {}).get("counts", {})
        kb, kr = under["memory"]["keys_bridge"], under["memory"]["keys_rasa"]
        handoffs = counts.get("handoffs_accepted", 0)
        asked = handoffs + counts.get("handoffs_refused", 0)
        silent = counts.get("handoffs_no_answer_in_time", 0)
        lines.append(
            f"| {i} ({' → '.join(x['order'])}) | {_sec(x['p99_ms'])} → "
            f"{_sec(x['attack_p99_ms'])} | {_sec(x['p99_difference_ms'])} | "
            f"{base['not_posted']} → {under['not_posted']} | "
            f"{_sec(x['guest_line_p99_ms'])} → {_sec(x['attack_guest_line_p99_ms'])} | "
            f"+{_mb(x['memory_growth_bytes'])} ({_mb(x['attacker_memory_growth_bytes'])}) / "
            f"{_mb(x['memory_bound']['bound_bytes'])} | {kb[0]:,}, {kr[0]:,} → {kb[1]:,}, "
            f"{kr[1]:,} | {_accepted(counts, 'hellos')} · "
            f"{_accepted(counts, 'messages')} · {handoffs:,} / {asked:,}"
            f"{f' (+{silent:,} no answer in 3 s)' if silent else ''} · "
            f"{_accepted(counts, 'uploads')} |"
        )
    first = a["repeats"][0]["memory_bound"] if a["repeats"] else {}
    refusals: dict[str, int] = {}
    for x in a["repeats"]:
        for reason, n in ((x["attack"]["attacker"] or {}).get("refusals") or {}).items():
            refusals[reason] = refusals.get(reason, 0) + n
    lines += [
        "",
        "Bound: the conversations one address may open during the attack "
        f"(LIMIT_SOURCE_CONVERSATIONS_PER_HOUR = {caps.get('LIMIT_SOURCE_CONVERSATIONS_PER_HOUR')}"
        f" at once, then evenly: {first.get('conversations_allowed')} in "
        f"{first.get('attack_s')} s) × what one handed-over conversation cost in the same "
        f"repeat's baseline ({(first.get('per_conversation_bytes') or 0) / 1024:.1f} KB in "
        "repeat 1), + the uploads it may make (LIMIT_SOURCE_UPLOADS_PER_HOUR = "
        f"{caps.get('LIMIT_SOURCE_UPLOADS_PER_HOUR')} files of "
        f"{a['attacker']['upload_bytes'] // 1024} KB, at most LIMIT_SOURCE_UPLOAD_MB_PER_HOUR = "
        f"{caps.get('LIMIT_SOURCE_UPLOAD_MB_PER_HOUR')} MB and FILES_MAX_MB = "
        f"{caps.get('FILES_MAX_MB')}), stored base64 (× 4/3), + "
        f"{_mb(first.get('redis_slack_bytes'))} for Redis's own buffers. Compared with the "
        "attack phase's growth minus the baseline's (used_memory, peak − before).",
        "",
        "Refusals the attacker got: "
        + (", ".join(f"{k} × {v:,}" for k, v in sorted(refusals.items())) or "none")
        + ".",
    ]
    return lines


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
    if _charted(data):
        chart(data, directory / "chart.png")
    (directory / "summary.md").write_text(summary(data, _docs_from(directory)))
