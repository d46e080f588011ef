"""The plain-text table ``tracker metrics`` prints (the JSON and CSV outputs carry every key)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.metrics.declarations import PEER_MEASURES
from tracker.metrics.index import DEGENERATE, DEGENERATE_NOTE, index_interval_is_degenerate

NO_DATA = "no data"  # how tables print coverage "none"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the headline figures (the JSON/CSV outputs carry every key)."""
    header = ("leader", "platform", "coverage", "posts", "answers", "answered", "debates", "progress",
              "weeks", "index", "index 95%")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    def num(value: Any) -> str:
        return "-" if value is None else str(value)

    table = []
    for row in rows:
        # Same precision as the index, so the printed index always lies inside its printed interval.
        interval = ("-" if row["openness_index"] is None else
                    DEGENERATE if index_interval_is_degenerate(row) else
                    f"{row['openness_index_low']:.1f}-{row['openness_index_high']:.1f}")
        flag = "*" if row["low_sample"] and row["coverage"] != "none" else ""
        coverage = NO_DATA if row["coverage"] == "none" else row["coverage"]
        table.append((row["leader_id"], row["platform"], coverage, num(row["posts"]), num(row["answers"]),
                      pct(row["questions_answered_share"]), num(row["debates"]), pct(row["progress_share"]),
                      num(row["active_weeks"]), num(row["openness_index"]) + flag, interval))
    widths = [max(len(header[i]), *(len(line[i]) for line in table)) if table else len(header[i])
              for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, *table]]
    lines.append("* low sample (fewer than 10 posts, or fewer than 5 replies to questions): read with care")
    lines.append("answered: share of the questions received that got an answer; progress: share of own posts "
                 "(reposts excluded)")
    if any(row["openness_index"] is not None and index_interval_is_degenerate(row) for row in rows):
        lines.append(f"{DEGENERATE}: {DEGENERATE_NOTE}")
    if any(row["coverage"] == "none" for row in rows):
        lines.append(f"{NO_DATA}: the month is outside what was collected (before the history an account's "
                     "collection can vouch for, see `tracker status`, or not collected since): no figures, not zeros")
    if any(row["coverage"] == "partial" for row in rows):
        lines.append("partial: only part of the month was collected (it begins before the collected history, "
                     "or is still in progress)")
    peer_lines = format_peer_table(rows)
    if peer_lines:
        lines += ["", *peer_lines]
    return "\n".join(lines)


def format_peer_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Each leader's percentile against the peer cohort, under the cohort's median and quartiles."""
    measures = PEER_MEASURES
    placed = [row for row in rows if row.get("peer_count")]
    if not placed:
        return []

    def pct(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = ["Against the peer cohort: percentile of each leader among the peers (0 = below every peer, "
             "100 = above every peer; a peer is compared with the other peers)"]
    cohorts: dict[str, dict[str, Any]] = {}
    for row in placed:  # the whole cohort: the row compared with the most peers
        if row["peer_count"] > cohorts.get(row["platform"], {}).get("peer_count", 0):
            cohorts[row["platform"]] = row
    for platform, row in cohorts.items():
        count = row["peer_count"]
        spans = "; ".join(f"{measure} {row[f'peer_{measure}_median']} ({row[f'peer_{measure}_q1']}-"
                          f"{row[f'peer_{measure}_q3']})" for measure in measures
                          if row[f"peer_{measure}_median"] is not None)
        lines.append(f"  {platform}, {count} peers: median (quartiles) {spans}")
    header = ("leader", "organisation", "platform", *measures)
    table = [(row["leader_id"], str(row.get("organisation") or ""), row["platform"],
              *(pct(row[f"peer_{measure}_percentile"]) for measure in measures)) for row in placed]
    widths = [max(len(header[i]), *(len(line[i]) for line in table)) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
              for line in [header, *table]]
    return lines
