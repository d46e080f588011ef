"""The report's charts, one function per chart, each drawing on axes it is given.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies), and
every series also has its own hatch, so that a greyscale print still tells them apart.
Months or leaders without data are marked "no data" rather than drawn as zero bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from tracker.report.data import LeaderReport, TrendPoint, WeekActivity
from tracker.report.text import printable, truncate

# Okabe & Ito (2008), "Color Universal Design": https://jfly.uni-koeln.de/color/
OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#BBBBBB",
}
EDGE = "#222222"
# (key, legend label, colour, hatch)
KIND_SERIES = (
    ("originals", "originals", OKABE_ITO["blue"], ""),
    ("replies", "replies", OKABE_ITO["orange"], "////"),
    ("threads", "threads", OKABE_ITO["sky"], "...."),
    ("quotes", "quotes", OKABE_ITO["purple"], "xxxx"),
    ("reposts", "reposts (context only)", OKABE_ITO["grey"], "----"),
)
BEHAVIOUR_SERIES = (
    ("answers", "answers", OKABE_ITO["blue"], "////"),
    ("debates", "debates", OKABE_ITO["vermillion"], "xxxx"),
    ("progress", "progress posts", OKABE_ITO["green"], "...."),
)
# Lighter hatching than the overview's: this chart is on every leader page, and Agg draws
# each hatch line (a tenth of a page's PNG time at the overview's density).
WEEK_SERIES = (
    ("posts", "all posts (reposts excluded)", OKABE_ITO["grey"], ""),
    ("answer", "answers", OKABE_ITO["blue"], "//"),
    ("debate", "debates", OKABE_ITO["vermillion"], "xx"),
    ("progress", "progress posts", OKABE_ITO["green"], ".."),
)
NAME_WIDTH_PT = 118.0
NO_DATA = "no data"


def _leader_label(leader: LeaderReport, size: float) -> str:
    return truncate(printable(leader.name), NAME_WIDTH_PT, size)


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)


def _legend_below(ax: Axes, ncol: int) -> None:
    # Anchored a fixed distance in inches under the axes, below the tick labels and the axis
    # label, whatever the height of the axes (it varies with the number of leaders).
    figure = ax.get_figure(root=True)
    assert figure is not None  # every chart is drawn on a page's figure
    offset = ScaledTranslation(0, -0.42, figure.dpi_scale_trans)
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0), bbox_transform=ax.transAxes + offset, ncol=ncol,
              fontsize=6.5, frameon=False, borderaxespad=0)


def _zero_safe_xlim(ax: Axes, largest: float) -> None:
    # Bars that are all zero (an empty month) leave matplotlib a zero data range, which it
    # widens to +-0.05 with fractional ticks; the "no data" labels at x = 0.3-0.5 then fall
    # outside the axes. A 0-1 range keeps them on the chart and the ticks whole numbers.
    if largest <= 0:
        ax.set_xlim(0, 1)


def plot_posts_by_kind(ax: Axes, leaders: Sequence[LeaderReport], month_label: str) -> None:
    """Stacked horizontal bars: each leader's posts of the month by kind."""
    _style(ax)
    positions = list(range(len(leaders)))[::-1]
    lefts = [0.0] * len(leaders)
    for key, label, colour, hatch in KIND_SERIES:
        values = [float((leader.metrics or {}).get(key) or 0) if leader.has_data else 0.0 for leader in leaders]
        ax.barh(positions, values, left=lefts, height=0.7, color=colour, hatch=hatch, edgecolor=EDGE,
                linewidth=0.4, label=label)
        lefts = [left + value for left, value in zip(lefts, values)]
    _zero_safe_xlim(ax, max(lefts, default=0.0))
    for position, leader in zip(positions, leaders):
        if not leader.has_data:
            ax.text(0.5, position, NO_DATA, va="center", ha="left", fontsize=6.5, style="italic", color="#444444")
    ax.set_yticks(positions, [_leader_label(leader, 7) for leader in leaders], fontsize=7)
    ax.set_ylim(-0.7, max(len(leaders), 1) - 0.3)
    ax.set_xlabel("posts in the month (count)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.5)
    ax.set_title(f"Posts by kind, {month_label}", loc="left", fontsize=9, fontweight="bold")
    _legend_below(ax, ncol=2)


def plot_behaviours(ax: Axes, leaders: Sequence[LeaderReport], month_label: str) -> None:
    """Grouped horizontal bars: answers, debates and progress posts per leader."""
    _style(ax)
    count = len(leaders)
    height = 0.26
    largest = 0.0
    for offset, (key, label, colour, hatch) in enumerate(BEHAVIOUR_SERIES):
        positions = [count - 1 - i + (1 - offset) * height for i in range(count)]
        values = [float((leader.metrics or {}).get(key) or 0) if leader.has_data else 0.0 for leader in leaders]
        ax.barh(positions, values, height=height, color=colour, hatch=hatch, edgecolor=EDGE, linewidth=0.4,
                label=label)
        largest = max([largest, *values])
    _zero_safe_xlim(ax, largest)
    for i, leader in enumerate(leaders):
        if not leader.has_data:
            ax.text(0.3, count - 1 - i, NO_DATA, va="center", ha="left", fontsize=6.5, style="italic", color="#444444")
    ax.set_yticks(range(count - 1, -1, -1), [""] * count)
    ax.set_ylim(-0.7, max(count, 1) - 0.3)
    ax.set_xlabel("posts with the behaviour (count)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.5)
    ax.set_title("Behaviours", loc="left", fontsize=9, fontweight="bold")
    _legend_below(ax, ncol=2)


def _month_tick(month: str) -> str:
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    number = int(month[5:7])
    return f"{names[number - 1]}\n{month[:4]}" if number == 1 else names[number - 1]


PEER_BAND = "#F3D9A4"  # the peer cohort's middle half: a light Okabe-Ito orange
PEER_MEDIAN = OKABE_ITO["orange"]


def plot_index_trend(ax: Axes, leader: LeaderReport, points: Sequence[TrendPoint], title_size: float = 7.5,
                     title: str | None = None, legend: bool = False) -> None:
    """One leader's openness index over the trend window: line, 95% band, gaps marked, and
    the peer cohort's middle half and median each month when there are peers."""
    _style(ax)
    xs = list(range(len(points)))
    peer_q1 = [p.peer_q1 if p.peer_q1 is not None else math.nan for p in points]
    peer_q3 = [p.peer_q3 if p.peer_q3 is not None else math.nan for p in points]
    if any(p.peer_median is not None for p in points):
        ax.fill_between(xs, peer_q1, peer_q3, color=PEER_BAND, linewidth=0, label="peers: middle half")
        ax.plot(xs, [p.peer_median if p.peer_median is not None else math.nan for p in points], color=PEER_MEDIAN,
                linestyle="--", linewidth=1.0, label="peers: median")
    values = [p.index if p.index is not None and p.coverage != "none" else math.nan for p in points]
    lows = [p.low if p.low is not None and p.coverage != "none" else math.nan for p in points]
    highs = [p.high if p.high is not None and p.coverage != "none" else math.nan for p in points]
    ax.fill_between(xs, lows, highs, color="#BBBBBB", alpha=0.6, linewidth=0, label="index: 95% interval")
    ax.plot(xs, values, color=OKABE_ITO["blue"], marker="o", markersize=2.5, linewidth=1.2, label="openness index")
    for x, point in zip(xs, points):
        if point.coverage in ("none", None):
            ax.axvspan(x - 0.45, x + 0.45, facecolor="none", edgecolor="#888888", hatch="////", linewidth=0)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 50, 100])
    ax.set_xlim(-0.6, len(points) - 0.4)
    ax.set_xticks([xs[0], xs[len(xs) // 2], xs[-1]] if len(xs) > 2 else xs,
                  [_month_tick(points[i].month) for i in ([0, len(xs) // 2, len(xs) - 1] if len(xs) > 2 else xs)],
                  fontsize=5.5)
    ax.tick_params(axis="y", labelsize=5.5)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.5)
    ax.set_title(title or _leader_label(leader, title_size), loc="left", fontsize=title_size, fontweight="bold")
    if legend:
        # A caption rather than a legend: the same words at a fraction of a legend's drawing
        # cost (this chart is on every leader page).
        figure = ax.get_figure(root=True)
        assert figure is not None
        offset = ScaledTranslation(0, -0.3, figure.dpi_scale_trans)
        lines = ["Blue line: the index; grey band: its 95% interval."]
        if any(p.peer_median is not None for p in points):
            lines.append("Orange band: the peers' middle half; dashed: their median.")
        if any(p.coverage in ("none", None) for p in points):
            lines.append("Hatched months: no data.")
        ax.text(0, 0, "\n".join(lines), transform=ax.transAxes + offset, ha="left", va="top", fontsize=6.5,
                color="#444444")


def plot_weekly_activity(ax: Axes, weeks: Sequence[WeekActivity], month_label: str, has_data: bool) -> None:
    """Grouped vertical bars per ISO week: all posts and each behaviour."""
    _style(ax)
    width = 0.2
    for offset, (key, label, colour, hatch) in enumerate(WEEK_SERIES):
        positions = [i + (offset - 1.5) * width for i in range(len(weeks))]
        ax.bar(positions, [getattr(week, key) for week in weeks], width=width, color=colour, hatch=hatch,
               edgecolor=EDGE, linewidth=0.4, label=label)
    labels = [f"{int(week.starts[8:10])} {_month_tick(week.starts[:7]).splitlines()[0]}" for week in weeks]
    ax.set_xticks(range(len(weeks)), labels, fontsize=6.5)
    ax.set_xlabel("weeks from Monday (days inside the month)", fontsize=6.5)
    ax.set_ylabel("posts per week (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_ylim(bottom=0, top=max([1.0] + [float(week.posts) for week in weeks]) * 1.15)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.5)
    ax.set_title(f"Posts per week, {month_label}",
                 loc="left", fontsize=9, fontweight="bold")
    _legend_below(ax, ncol=2)
    if not has_data:
        ax.text(0.5, 0.5, "no collection this month: no data", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, style="italic", color="#444444")


def plot_peer_comparison(ax: Axes, leaders: Sequence[LeaderReport], peers: Sequence[LeaderReport],
                         label_size: float = 7) -> None:
    """The openness index of each leader (dot, with its 95% interval where it has one) on a
    0-100 scale, over the peer cohort's middle half (band) and median (dashed line); the
    peers follow, in grey, under their own heading."""
    _style(ax)
    rows: list[tuple[LeaderReport | None, bool]] = [(leader, False) for leader in leaders]
    if peers:
        rows += [(None, True)] + [(peer, True) for peer in peers]
    count = len(rows)
    cohort = next((leader.metrics for leader in leaders if leader.metrics
                   and leader.metrics.get("peer_index_median") is not None), None)
    if cohort is not None:
        ax.axvspan(float(cohort["peer_index_q1"]), float(cohort["peer_index_q3"]), color=PEER_BAND, linewidth=0,
                   label="peers: middle half")
        ax.axvline(float(cohort["peer_index_median"]), color=PEER_MEDIAN, linestyle="--", linewidth=1.0,
                   label="peers: median")
    labels = []
    for i, (leader, is_peer) in enumerate(rows):
        y = count - 1 - i
        if leader is None:
            labels.append("Peers (not ranked)")
            continue
        if is_peer:  # the axes leave 2.3 in (165 pt) on their left for the labels
            labels.append(truncate(f"{printable(leader.name)} ({printable(leader.organisation)})", 158, label_size))
        else:
            labels.append(_leader_label(leader, label_size))
        row = leader.metrics or {}
        if not leader.has_data or row.get("openness_index") is None:
            ax.text(1, y, NO_DATA, va="center", ha="left", fontsize=6.5, style="italic", color="#444444")
            continue
        low, high = row.get("openness_index_low"), row.get("openness_index_high")
        colour = "#777777" if is_peer else OKABE_ITO["blue"]
        if low is not None and high is not None and high > low:
            ax.plot([low, high], [y, y], color=colour, linewidth=1.4, solid_capstyle="butt")
        ax.plot([row["openness_index"]], [y], marker="D" if is_peer else "o", markersize=4.5, color=colour,
                linestyle="none")
        if label_size >= 6:  # the value over the dot, when rows are tall enough for it
            ax.text(float(row["openness_index"]), y + 0.28, f"{float(row['openness_index']):.1f}", ha="center",
                    va="bottom", fontsize=5.5, color=colour)
    ax.set_yticks(range(count - 1, -1, -1), labels, fontsize=label_size)
    for tick, (leader, is_peer) in zip(ax.get_yticklabels(), rows):
        if leader is None:
            tick.set_fontweight("bold")
        elif is_peer:
            tick.set_color("#555555")
    ax.set_ylim(-0.7, max(count, 1) - 0.2)
    ax.set_xlim(0, 100)
    ax.set_xlabel("openness index (0-100); line: its 95% interval")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.5)
    ax.tick_params(axis="y", length=0)
    if cohort is not None:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=6.5, frameon=False,
                  borderaxespad=0.2)
