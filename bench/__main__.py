"""`python -m bench [--quick] [--out DIR] [--skip NAME | --only NAME]`: every measurement of
issues 6 and 14 in one run.

Rasa's training and cold start run first, on a quiet machine; then one stack (Redis, actions,
Rasa, local Slack, bridge) serves the other measurements in turn. The report (JSON, PNG chart,
markdown summary) goes to bench/report/ unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from devstack.processes import ROOT

from . import abuse, bot_turn, connections, handoff, rasa, relay, slack_limit
from .harness import BenchStack
from .report import write_report


@dataclass(frozen=True)
class Plan:
    repeats: int = 3
    warmup: int = 20
    # The bot turn is cheap to repeat and its ratio sits near the target: more, longer repeats.
    bot_turn_repeats: int = 5
    bot_turns: int = 100
    handoffs: int = 20
    relay_threads: int = 8
    relay_rate: float = 200.0
    relay_duration_s: float = 10.0
    relay_in_flight: int = 32
    relay_saturate_s: float = 5.0
    connections: int = 5000
    connection_repeats: int = 3
    slack_handoffs: int = 100
    abuse_repeats: int = 3
    abuse_customers: int = 20
    # As measurement 3: two posts per handoff at 1.05 s, plus a margin.
    abuse_spacing_s: float = 2.5
    abuse_guests: int = 2
    train_repeats: int = 3
    start_repeats: int = 3

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            repeats=2,
            warmup=2,
            bot_turn_repeats=2,
            bot_turns=10,
            handoffs=5,
            relay_threads=4,
            relay_duration_s=2.0,
            relay_saturate_s=2.0,
            connections=300,
            connection_repeats=1,
            slack_handoffs=5,
            abuse_repeats=1,
            abuse_customers=5,
            abuse_guests=1,
            train_repeats=0,
            start_repeats=1,
        )


MEASUREMENTS = ["rasa", "bot_turn", "handoff", "relay", "connections", "slack_limit", "abuse"]


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


async def _stack_measurements(plan: Plan, run_dir: Path, skip: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    bench = BenchStack(run_dir / "stack")
    _log("starting Redis, actions, Rasa, the local Slack and the bridge")
    await bench.start()
    try:
        if "bot_turn" not in skip:
            _log(f"1. bot turn: {plan.bot_turn_repeats} x {plan.bot_turns} turns per path")
            results["bot_turn"] = await bot_turn.run(
                bench, plan.bot_turn_repeats, plan.bot_turns, plan.warmup
            )
        if "handoff" not in skip:
            _log(f"3. handoff: {plan.repeats} x {plan.handoffs}")
            results["handoff"] = await handoff.run(bench, plan.repeats, plan.handoffs)
        handed: list[relay.Handed] = []
        async with aiohttp.ClientSession() as http:
            if not {"relay", "connections"} <= skip:
                _log(f"   handing {plan.relay_threads} conversations over for the relay")
                handed = await relay.hand_over_conversations(http, bench, plan.relay_threads)
            if "relay" not in skip:
                _log(f"2. human relay vs floor at {plan.relay_rate:.0f}/s and saturated")
                results["relay"] = await relay.run(
                    bench,
                    http,
                    handed,
                    run_dir,
                    plan.repeats,
                    plan.relay_rate,
                    plan.relay_duration_s,
                    plan.relay_in_flight,
                    plan.relay_saturate_s,
                )
        if "connections" not in skip:
            _log(f"4. {plan.connections} idle connections x {plan.connection_repeats}")
            results["connections"] = await connections.run(
                bench,
                handed,
                plan.connection_repeats,
                plan.connections,
                plan.relay_rate,
                plan.relay_duration_s,
            )
        if "slack_limit" not in skip:
            _log(f"5. {plan.slack_handoffs} simultaneous handoffs, local Slack at 1 post/s")
            results["slack_limit"] = await slack_limit.run(bench, plan.slack_handoffs)
        if "abuse" not in skip:
            # Last: it runs the bridge with the shipped abuse limits (the others turn the
            # per-address ones off, every simulated customer being 127.0.0.1).
            _log(
                f"7. abuse: {plan.abuse_repeats} x {plan.abuse_customers} signed-in handoffs "
                "without and with an attacker"
            )
            results["abuse"] = await abuse.run(
                bench,
                plan.abuse_repeats,
                plan.abuse_customers,
                plan.abuse_spacing_s,
                plan.abuse_guests,
                _log,
            )
    finally:
        _log("stopping the stack")
        await bench.stop()
    return results


def _environment() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        # Others may share the machine: a load average near the CPU count means they did.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for trying it out")
    parser.add_argument("--out", type=Path, help="report directory (default bench/report)")
    parser.add_argument(
        "--skip", action="append", default=[], choices=MEASUREMENTS, help="leave it out"
    )
    parser.add_argument(
        "--only", action="append", default=[], choices=MEASUREMENTS, help="run just these"
    )
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    out = args.out or (ROOT / ("bench/out" if args.quick else "bench/report"))
    run_dir = ROOT / ".run" / "bench"
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report: dict[str, Any] = {"environment": _environment(), "plan": asdict(plan)}
    skip = set(args.skip) | (set(MEASUREMENTS) - set(args.only) if args.only else set())
    if "rasa" not in skip:
        _log(f"6. Rasa: training x {plan.train_repeats}, cold start x {plan.start_repeats}")
        report["rasa"] = rasa.run(run_dir, plan.train_repeats, plan.start_repeats)
    report |= asyncio.run(_stack_measurements(plan, run_dir, skip))
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_report(report, out)
    _log(f"done in {report['duration_s']:.0f}s; report in {out}")
    json.dump({"summary": str(out / "summary.md")}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
