"""Percentiles and medians over repeats: the only statistics the report uses."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def summary_ms(samples_s: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max in milliseconds of one repeat's latencies (given in seconds)."""
    return {
        "n": len(samples_s),
        "p50_ms": round(percentile(samples_s, 50) * 1000, 3),
        "p99_ms": round(percentile(samples_s, 99) * 1000, 3),
        "max_ms": round(max(samples_s) * 1000, 3) if samples_s else math.nan,
    }


def over_repeats(repeats: Sequence[dict[str, Any]], *fields: str) -> dict[str, float]:
    """The median across repeats of each named field."""
    return {name: round(median([float(r[name]) for r in repeats]), 3) for name in fields}


def ratio(value: float, reference: float) -> float:
    return round(value / reference, 3) if reference and not math.isnan(reference) else math.nan
