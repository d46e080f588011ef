"""Each leader's position against the peer cohort: the ``[[peers]]`` of the config.

Peers are leaders of other organisations (a competitor's CEO and CTO), collected like the
organisation's own and measured the same way, but never ranked among them. For every
metrics row this adds the cohort's quartiles and median and the leader's percentile, for
the openness index and each of its four components (pure: rows in, rows out).

The cohort of a row is the peers with data (coverage full or partial) for the same month
and platform. A peer is compared with the other peers, never with itself. A peer with few
posts stays in the cohort: leaving the quiet ones out would flatter the benchmark.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from tracker.metrics.declarations import PEER_MEASURES
from tracker.metrics.declarations import PEER_STATS as STATS
# The metrics row key each measure reads.
SOURCE_KEYS = {"index": "openness_index", "answer": "component_answer", "debate": "component_debate",
               "progress": "component_progress", "presence": "component_presence"}


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile), interpolated between the values (numpy's
    default "linear" method, ``statistics.quantiles(method="inclusive")``)."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def percentile_rank(value: float, cohort: Iterable[float]) -> float:
    """The share of the cohort below ``value``, ties counting half, from 0 to 100.

    A leader above every peer is at 100, below every peer at 0, level with the median at 50.
    """
    values = list(cohort)
    if not values:
        raise ValueError("an empty cohort")
    below = sum(1 for other in values if other < value)
    equal = sum(1 for other in values if other == value)
    return 100.0 * (below + 0.5 * equal) / len(values)


def _has_data(row: dict[str, Any]) -> bool:
    return row.get("coverage") != "none" and row.get("openness_index") is not None


def add_peer_positions(rows: list[dict[str, Any]], peer_ids: Collection[str]) -> list[dict[str, Any]]:
    """Fill ``declarations.PEER_KEYS`` (except ``organisation``) of every row from the peers' rows among ``rows``.

    Rows without data get a null percentile (there is nothing to place) but the cohort's
    figures all the same. Returns ``rows``, changed in place.
    """
    cohorts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["leader_id"] in peer_ids and _has_data(row):
            cohorts.setdefault((row["month"], row["platform"]), []).append(row)
    for row in rows:
        cohort = [peer for peer in cohorts.get((row["month"], row["platform"]), [])
                  if peer["leader_id"] != row["leader_id"]]
        row["peer_count"] = len(cohort)
        for measure in PEER_MEASURES:
            key = SOURCE_KEYS[measure]
            values = sorted(float(peer[key]) for peer in cohort if peer.get(key) is not None)
            stats: dict[str, float | None] = dict.fromkeys(STATS)
            if values:
                q1, median, q3 = quartiles(values)
                stats.update(q1=round(q1, 1), median=round(median, 1), q3=round(q3, 1))
                if _has_data(row) and row.get(key) is not None:
                    stats["percentile"] = round(percentile_rank(float(row[key]), values), 1)
            for stat, value in stats.items():
                row[f"peer_{measure}_{stat}"] = value
    return rows
