"""Render a month's ``ReportData`` as an A4 PDF, a PNG per chart and a CSV (issue 4).

Rendering never touches the database: ``tracker.reportdata.build_report_data`` reads it.
Pages are built with the ``Figure`` API and no pyplot (pyplot keeps global references to
figures: matplotlib's "web application server" example), inside a local ``rc_context``
rather than a global style. Text and charts are placed at fixed positions in inches: the
pages mix free text and charts, and fixed positions keep every page's layout identical
from month to month (and cost less than a layout engine on sixty pages).

The same database gives the same bytes: PDF and PNG carry no creation time, pages and
rows come in a fixed order, and the footer shows the time of the newest data, not the
wall clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from tracker import __version__, atomicfile
from tracker.csvout import metrics_to_csv
from tracker.metrics import index_interval_is_degenerate
from tracker.reportcharts import (OKABE_ITO, plot_behaviours, plot_index_trend, plot_posts_by_kind,
                                  plot_weekly_activity)
from tracker.reportdata import BEHAVIOURS, LeaderReport, ReportData, shift_month
from tracker.reporttext import FONT_FAMILY, plain_line, printable, text_width, truncate, wrap

FORMATS = ("pdf", "png", "csv")
A4 = (8.27, 11.69)  # inches, portrait
MARGIN = 0.6
CONTENT_WIDTH = A4[0] - 2 * MARGIN
PNG_DPI = 150
LEADERBOARD_ROWS = 38
OVERVIEW_LEADERS = 30
TREND_PANELS = 24
METHOD_DOC = "docs/methodology.md"
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 8,
    # Post text is printed as written: "$x$" must not become mathtext (issue 4, point 4).
    "text.parse_math": False,
    "text.usetex": False,
    # TrueType (Type 42) fonts keep a text layer that can be searched and extracted.
    "pdf.fonttype": 42,
    # Only SVG uses the salt; fixed anyway so that any output format is reproducible.
    "svg.hashsalt": "tracker-report",
    "hatch.linewidth": 0.5,
    "axes.titlepad": 4,
    # A fixed title height. With the default (None) matplotlib measures every tick label of the
    # axes on each draw to lift the title over top-side ticks (Axes._update_title_position);
    # our charts have none at the top, so the title lands at 1.0 either way (checked: same
    # PDF and PNG bytes) and the measuring is skipped.
    "axes.titley": 1.0,
    "axes.labelsize": 7.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
}
BEHAVIOUR_TITLES = {"answer": "Answers", "debate": "Debates", "progress": "Progress posts"}
GREY = "#444444"


@dataclass(frozen=True)
class _Chart:
    """A chart of a page and the part of the page its PNG shows."""

    name: str
    axes: tuple[Axes, ...]
    box: Bbox  # inches from the page's bottom-left corner (what ``savefig(bbox_inches=...)`` takes)


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    pdf: Path | None
    pngs: tuple[Path, ...]
    csv: Path | None
    summary: Path | None = None  # summary.txt: the body of the report email
    month: str = ""


def summary_text(data: ReportData) -> str:
    """A plain-text digest of the month for the body of the report email."""
    lines = [f"{plain_line(data.organisation)}: working out loud, {month_label(data.month)}", ""]
    for leader in data.leaders:
        metrics = leader.metrics or {}
        name = plain_line(leader.name)
        if not leader.has_data:
            lines.append(f"- {name}: no data this month")
            continue
        index = metrics.get("openness_index")
        change = f" ({leader.change:+.0f} since last month)" if leader.change is not None else ""
        flag = " (small sample)" if metrics.get("low_sample") else ""
        lines.append(f"- {name}: openness index {_num(index)}{change}{flag}; "
                     f"{_num(metrics.get('posts'))} posts, {_num(metrics.get('answers'))} answers, "
                     f"{_num(metrics.get('debates'))} debates, {_num(metrics.get('progress'))} progress")
    lines += ["", "The full report is attached; the method is described in docs/methodology.md."]
    return "\n".join(lines) + "\n"


def month_label(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


# --- formatting --------------------------------------------------------------------------------

def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "no data"
    return f"{float(value):,.{digits}f}" if digits else f"{int(round(float(value))):,}"


def _share(row: dict[str, Any], key: str, denominator: int | None, of: str) -> str:
    """"50% of 4 questions received (95% interval 15–85%)": every share names its denominator."""
    value, low, high = row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high")
    if value is None or not denominator:
        return f"no share (no {of})"
    text = f"{100 * value:.0f}% of {_num(denominator)} {of}"
    if low is not None and high is not None:
        text += f" (95% interval {100 * low:.0f}–{100 * high:.0f}%)"
    return text


def _index_interval(row: dict[str, Any], short: bool = False) -> str:
    """The index interval at the index's own precision, or why there is none (see the method note)."""
    low, high = row.get("openness_index_low"), row.get("openness_index_high")
    if low is None or high is None:
        return ""
    if index_interval_is_degenerate(row):
        return "n/a†" if short else "no interval†"
    return f"{_num(low, 1)}–{_num(high, 1)}"


def _sum(row: dict[str, Any], *keys: str) -> int | None:
    values = [row.get(key) for key in keys]
    return None if any(value is None for value in values) else sum(int(value) for value in values if value)


def _change(value: float | None) -> str:
    if value is None:
        return "–"
    return "±0.0" if abs(value) < 0.05 else f"{value:+.1f}".replace("-", "−")


# --- one page ----------------------------------------------------------------------------------

class _Page:
    """An A4 figure addressed in inches from the top-left corner."""

    def __init__(self, footer: str, number: int, total: int):
        self.fig = Figure(figsize=A4, dpi=72)
        FigureCanvasAgg(self.fig)
        self.charts: list[_Chart] = []
        self.text(MARGIN, A4[1] - 0.35, footer, size=6, color=GREY, va="bottom")
        self.text(A4[0] - MARGIN, A4[1] - 0.35, f"page {number} of {total}", size=6, color=GREY, ha="right",
                  va="bottom")
        self.fig.add_artist(Line2D([MARGIN / A4[0], 1 - MARGIN / A4[0]], [0.5 / A4[1]] * 2, color="#999999",
                                   linewidth=0.4, transform=self.fig.transFigure))

    def text(self, x: float, y: float, text: str, size: float = 8, **kwargs: Any) -> Any:
        kwargs.setdefault("va", "top")
        return self.fig.text(x / A4[0], 1 - y / A4[1], text, fontsize=size, **kwargs)

    def axes(self, x: float, y: float, width: float, height: float) -> Axes:
        return self.fig.add_axes((x / A4[0], 1 - (y + height) / A4[1], width / A4[0], height / A4[1]))

    def chart(self, name: str, axes: Axes | Sequence[Axes], around: tuple[float, float, float, float]) -> None:
        """Register a chart for its PNG: the axes plus ``around`` = (left, top, right, bottom) inches.

        The margins are fixed by the page layout (room for tick labels, axis labels, the title
        and the legend), so the crop is known without measuring text: measuring with
        ``get_tightbbox`` lays out every label once more and cost about a fifth of each PNG.
        """
        group = (axes,) if isinstance(axes, Axes) else tuple(axes)
        # get_position() is the rectangle given to add_axes, in figure fractions: no drawing.
        frame = Bbox.union([ax.get_position() for ax in group])
        left, top, right, bottom = around
        box = Bbox.from_extents(frame.x0 * A4[0] - left, frame.y0 * A4[1] - bottom,
                                frame.x1 * A4[0] + right, frame.y1 * A4[1] + top)
        self.charts.append(_Chart(name, group, box))

    def rule(self, y: float, x0: float = MARGIN, x1: float = A4[0] - MARGIN, **kwargs: Any) -> None:
        kwargs.setdefault("color", "#999999")
        kwargs.setdefault("linewidth", 0.4)
        self.fig.add_artist(Line2D([x0 / A4[0], x1 / A4[0]], [1 - y / A4[1]] * 2, transform=self.fig.transFigure,
                                   **kwargs))

    def heading(self, title: str, subtitle: str = "") -> float:
        self.text(MARGIN, 0.55, title, size=14, fontweight="bold")
        if subtitle:
            for i, line in enumerate(wrap(subtitle, CONTENT_WIDTH * 72, 7.5, 3)):
                self.text(MARGIN, 0.9 + i * 0.14, line, size=7.5, color=GREY)
        return 0.95 + 0.14 * (len(wrap(subtitle, CONTENT_WIDTH * 72, 7.5, 3)) if subtitle else 0) + 0.15


# --- pages -------------------------------------------------------------------------------------

def _cover(page: _Page, data: ReportData, contents: list[tuple[str, int]]) -> None:
    page.text(MARGIN, 1.6, printable(data.organisation), size=24, fontweight="bold")
    page.text(MARGIN, 2.15, "Working out loud: openness report", size=16)
    page.text(MARGIN, 2.6, month_label(data.month) + (f"  ·  group {printable(data.group)}" if data.group else ""),
              size=16, color=OKABE_ITO["blue"], fontweight="bold")
    counts = data.coverage_counts
    lines = [
        ("Leaders in this report", f"{len(data.leaders)}"),
        ("Accounts", f"{data.accounts}"),
        ("Metrics this month", f"full collection {counts.get('full', 0)}, partial {counts.get('partial', 0)}, "
                               f"no collection {counts.get('none', 0)}, not computed {counts.get('missing', 0)}"),
        ("Collection runs since then", f"{data.runs_ok} succeeded, {data.runs_failed} failed "
                                       "(runs that ended after the month began)"),
        ("Posts stored", f"from {data.data_first or 'no posts yet'} to {data.data_last or 'no posts yet'}"),
        ("Newest data read", data.newest_data or "no data yet"),
        ("Time zone", data.timezone),
        ("Classifier", ", ".join(data.classifier_versions) or "no labels this month"),
    ]
    page.text(MARGIN, 3.5, "Data coverage", size=11, fontweight="bold")
    for i, (label, value) in enumerate(lines):
        y = 3.85 + i * 0.22
        page.text(MARGIN, y, label, size=8.5, color=GREY)
        page.text(MARGIN + 2.1, y, truncate(printable(value), (CONTENT_WIDTH - 2.1) * 72, 8.5), size=8.5)
    y = 3.85 + len(lines) * 0.22 + 0.35
    page.text(MARGIN, y, "Contents", size=11, fontweight="bold")
    leader_titles = {printable(leader.name) for leader in data.leaders}
    for x_title, x_number, y_line, width, title, number in contents_layout(contents, leader_titles, y + 0.35,
                                                                            COVER_NOTE_TOP - 0.25):
        page.text(x_title, y_line, truncate(title, width * 72, 8.5), size=8.5)
        page.text(x_number, y_line, str(number), size=8.5, ha="right")
    note = ("Every figure is counted from public posts and explained post by post. A month without collection "
            "is shown as \"no data\", never as zero. Read the method note at the end before comparing leaders.")
    for i, line in enumerate(wrap(note, CONTENT_WIDTH * 72, 8, 3)):
        page.text(MARGIN, COVER_NOTE_TOP + i * 0.17, line, size=8, color=GREY)


COVER_NOTE_TOP = A4[1] - 1.5  # inches from the top: the cover's closing note
CONTENTS_LINE = 0.2  # inches between contents lines
CONTENTS_MAX_COLUMNS = 3


def contents_layout(contents: list[tuple[str, int]], leader_titles: set[str], top: float,
                    bottom: float) -> list[tuple[float, float, float, float, str, int]]:
    """Place the cover's contents between ``top`` and ``bottom`` (inches from the page top).

    One column while it fits, then up to three; beyond that the leader pages (one per
    leader, sixty leaders make sixty lines) are listed as one line with their first page.
    Returns (title x, number x, y, title width, title, page number) per line.
    """
    rows = max(int((bottom - top) / CONTENTS_LINE), 1)
    entries = list(contents)
    if len(entries) > rows * CONTENTS_MAX_COLUMNS:
        first_leader = next((number for title, number in entries if title in leader_titles), None)
        entries = [(title, number) for title, number in entries if title not in leader_titles]
        if first_leader is not None:
            entries.append((f"One page per leader ({len(leader_titles)}), in leaderboard order", first_leader))
            entries.sort(key=lambda entry: entry[1])
    columns = -(-len(entries) // rows)
    gap = 0.3
    width = (CONTENT_WIDTH - gap * (columns - 1)) / max(columns, 1)
    placed = []
    for index, (title, number) in enumerate(entries):
        column, row = divmod(index, rows)
        x = MARGIN + column * (width + gap)
        placed.append((x, x + width, top + row * CONTENTS_LINE, width - 0.35, title, number))
    return placed


LEADERBOARD_COLUMNS = (  # (title, x offset from the margin in inches, alignment)
    ("Rank", 0.28, "right"), ("Leader", 0.38, "left"), ("Index", 2.45, "right"), ("95% interval", 2.52, "left"),
    ("Change", 4.2, "right"), ("Answer", 4.68, "right"), ("Debate", 5.16, "right"), ("Progress", 5.66, "right"),
    ("Presence", 6.16, "right"), ("Posts", 6.52, "right"), ("Notes", 6.6, "left"),
)
NAME_GAP_PT = 6.0  # between a truncated name and the widest index


def _name_width_pt() -> float:
    """Room for a leader's name in points: up to where the widest index value starts.

    The Index column is right-aligned at its offset, so a name may only reach that offset
    less the width of "100.0" (the widest value) and a gap, or the two would overlap.
    """
    leader_x = next(offset for title, offset, _ in LEADERBOARD_COLUMNS if title == "Leader")
    index_x = next(offset for title, offset, _ in LEADERBOARD_COLUMNS if title == "Index")
    return (index_x - leader_x) * 72 - text_width("100.0", 7.5) - NAME_GAP_PT
INTERVAL_X, INTERVAL_WIDTH = 3.02, 0.75  # the dot-and-whisker drawing: offset and width in inches
NOTES_WIDTH = CONTENT_WIDTH - 6.6
ROW_HEIGHT = 0.22


def _interval_glyph(page: _Page, y: float, index: float | None, low: float | None, high: float | None) -> None:
    """A 0-100 scale line with the interval as a bar and the index as a dot, at row ``y``."""
    y_mid = 1 - (y + 0.06) / A4[1]
    x0 = (MARGIN + INTERVAL_X) / A4[0]
    scale = INTERVAL_WIDTH / A4[0] / 100
    page.fig.add_artist(Line2D([x0, x0 + 100 * scale], [y_mid] * 2, color="#BBBBBB", linewidth=0.4,
                               transform=page.fig.transFigure))
    if low is not None and high is not None:
        page.fig.add_artist(Line2D([x0 + low * scale, x0 + high * scale], [y_mid] * 2, color="#555555",
                                   linewidth=1.6, solid_capstyle="butt", transform=page.fig.transFigure))
    if index is not None:
        page.fig.add_artist(Line2D([x0 + index * scale], [y_mid], marker="o", markersize=3.2,
                                   color=OKABE_ITO["blue"], transform=page.fig.transFigure))


def _leaderboard_cells(leader: LeaderReport) -> tuple[list[str], list[str]]:
    row = leader.metrics or {}
    cells = [str(leader.rank) if leader.rank else "–", truncate(printable(leader.name), _name_width_pt(), 7.5)]
    notes: list[str] = []
    if not leader.has_data:
        notes.append("no collection" if leader.metrics else "not computed")
        return cells + ["no data", "", "", "", "", "", "", ""], notes
    cells += [_num(row.get("openness_index"), 1),
              _index_interval(row, short=True),
              _change(leader.change)]
    cells += [_num(row.get(key), 1) if row.get(key) is not None else "–" for key in
              ("component_answer", "component_debate", "component_progress", "component_presence")]
    cells.append(_num(row.get("posts")))
    if row.get("coverage") == "partial":
        notes.append("partial data")
    if row.get("low_sample"):
        notes.append("small sample")
    return cells, notes


def _leaderboard(page: _Page, data: ReportData, rows: Sequence[LeaderReport], first: bool) -> None:
    previous = month_label(shift_month(data.month, -1))
    top = page.heading(
        f"Leaderboard, {month_label(data.month)}" + ("" if first else " (continued)"),
        "Openness index from 0 to 100 with its 95% interval (numbers, and drawn as a bar with the index as a dot "
        f"on a 0–100 scale). Components from 0 to 100. Change in index points since {previous}. Leaders are ranked "
        "only when the month was collected and the sample is large enough; the others follow, unranked.")
    for title, offset, align in LEADERBOARD_COLUMNS:
        page.text(MARGIN + offset, top, title, size=6.5, fontweight="bold", ha=align)
    page.text(MARGIN + 4.25, top - 0.15, "components (0–100)", size=6, color=GREY, ha="left")
    for tick in (0, 50, 100):
        page.text(MARGIN + INTERVAL_X + INTERVAL_WIDTH * tick / 100, top + 0.13, str(tick), size=5.5, color=GREY,
                  ha="center")
    page.rule(top + 0.27, linewidth=0.6, color="#222222")
    for i, leader in enumerate(rows):
        y = top + 0.36 + i * ROW_HEIGHT
        if i % 2 == 1:
            page.fig.add_artist(Rectangle(
                (MARGIN / A4[0], 1 - (y + 0.16) / A4[1]), CONTENT_WIDTH / A4[0], ROW_HEIGHT / A4[1],
                transform=page.fig.transFigure, facecolor="#EFEFEF", edgecolor="none", zorder=-1))
        cells, notes = _leaderboard_cells(leader)
        if leader.has_data:
            row = leader.metrics or {}
            _interval_glyph(page, y, row.get("openness_index"), row.get("openness_index_low"),
                            row.get("openness_index_high"))
        for (title, offset, align), cell in zip(LEADERBOARD_COLUMNS, cells):
            page.text(MARGIN + offset, y, cell, size=7.5 if title != "95% interval" else 6.5, ha=align,
                      color=GREY if title == "95% interval" else "black")
        for j, line in enumerate(wrap(", ".join(notes), NOTES_WIDTH * 72, 5.5, 2)):
            page.text(MARGIN + 6.6, y - 0.02 + j * 0.085, line, size=5.5, color=GREY)


def _overview(page: _Page, data: ReportData, leaders: Sequence[LeaderReport], part: str) -> None:
    top = page.heading(f"Posts and behaviours per leader, {month_label(data.month)}{part}",
                       "Counts of the month from the metrics table. Reposts are shown for context but are not "
                       "counted as posts. Leaders without collection this month show \"no data\".")
    height = min(A4[1] - top - 1.6, max(2.6, 0.28 * len(leaders) + 0.4))
    kinds = page.axes(MARGIN + 1.75, top + 0.3, 2.55, height)
    plot_posts_by_kind(kinds, leaders, month_label(data.month))
    behaviours = page.axes(MARGIN + 4.6, top + 0.3, 2.45, height)
    plot_behaviours(behaviours, leaders, month_label(data.month))
    # Left: the leader names (NAME_WIDTH_PT = 1.64 in, measured unhinted; hinting at PNG_DPI
    # rounds each advance up to a pixel, about 0.1 in more on a long name) and the ticks;
    # bottom: tick labels, axis label and a legend of up to three rows anchored 0.42 in under
    # the axes (reportcharts._legend_below).
    page.chart("overview-posts", (kinds, behaviours), around=(2.0, 0.32, 0.15, 1.05))


def _trend(page: _Page, data: ReportData, leaders: Sequence[LeaderReport], part: str) -> None:
    top = page.heading(f"Openness index over the last twelve months{part}",
                       f"{month_label(data.months[0])} to {month_label(data.months[-1])}. Line: index (0–100); "
                       "grey band: its 95% interval; hatched months: no data (not collected, or before the collected "
                       "history) or no metrics.")
    columns = 1 if len(leaders) == 1 else 2 if len(leaders) <= 4 else 3 if len(leaders) <= 12 else 4
    rows = 4 if len(leaders) <= 12 else 6
    cell_w, cell_h = CONTENT_WIDTH / columns, min(1.55, (A4[1] - top - 1.0) / rows)
    panels = []
    for i, leader in enumerate(leaders):
        ax = page.axes(MARGIN + (i % columns) * cell_w + 0.3, top + 0.15 + (i // columns) * cell_h,
                       cell_w - 0.45, cell_h - 0.55)
        plot_index_trend(ax, leader, leader.trend)
        if i % columns == 0:
            ax.set_ylabel("index (0–100)", fontsize=6)
        panels.append(ax)
    # Bottom leaves room for two-line month ticks ("Jan" over the year).
    page.chart("trend", panels, around=(0.56, 0.23, 0.17, 0.42))


def _key_figures(leader: LeaderReport) -> list[tuple[str, str]]:
    row = leader.metrics
    if row is None:
        return [("Metrics", "not computed for this month (run `tracker metrics`)")]
    if row.get("coverage") == "none":
        return [("Metrics", "no collection this month: no data (this is not zero activity)")]
    kinds = ", ".join(f"{_num(row.get(key))} {key}" for key in ("originals", "replies", "threads", "quotes"))
    figures = [
        ("Posts", f"{_num(row.get('posts'))} ({kinds}); {_num(row.get('reposts'))} reposts not counted"),
        ("Answers", f"{_num(row.get('answers'))}; questions received answered: "
                    f"{_share(row, 'questions_answered_share', row.get('questions_received'), 'questions received')}"),
        ("Median response time", "no answers" if row.get("median_response_hours") is None
         else f"{_num(row.get('median_response_hours'), 1)} hours from question to answer"),
        ("Debates", f"{_num(row.get('debates'))}: "
                    f"{_share(row, 'debate_share', _sum(row, 'replies', 'quotes'), 'replies and quotes')}"),
        ("Progress posts", f"{_num(row.get('progress'))}: {_share(row, 'progress_share', row.get('posts'), 'own posts')}"),
        ("Outside conversation", f"{_num(row.get('external_replies'))} replies to people outside the organisation, "
                                 f"{_share(row, 'external_reply_share', row.get('replies'), 'replies')}; "
                                 f"{_num(row.get('unique_counterparts'))} different people"),
        ("Presence", f"active in {_num(row.get('active_weeks'))} weeks; median {_num(row.get('median_likes'), 1)} "
                     "likes per post"),
        ("Components (0–100)", "  ·  ".join(f"{name} {_num(row.get(f'component_{name}'), 1)}"
                                        for name in ("answer", "debate", "progress", "presence"))),
    ]
    if leader.platform_metrics:
        figures.append(("By platform", "  ·  ".join(f"{printable(str(r['platform']))} {_num(r.get('posts'))} posts"
                                                    for r in leader.platform_metrics)))
    return figures


def _leader_page(page: _Page, data: ReportData, leader: LeaderReport) -> None:
    page.text(MARGIN, 0.55, truncate(printable(leader.name), 4.6 * 72, 15), size=15, fontweight="bold")
    subtitle = " · ".join(printable(part) for part in (leader.role, leader.group) if part)
    page.text(MARGIN, 0.9, truncate(subtitle or printable(leader.leader_id), 4.6 * 72, 8), size=8, color=GREY)
    row = leader.metrics or {}
    right = A4[0] - MARGIN
    if leader.has_data and row.get("openness_index") is not None:
        page.text(right, 0.5, _num(row["openness_index"], 1), size=22, fontweight="bold", ha="right",
                  color=OKABE_ITO["blue"])
        interval = ""
        if row.get("openness_index_low") is not None and row.get("openness_index_high") is not None:
            interval = ("no 95% interval†" if index_interval_is_degenerate(row)
                        else f"95% interval {_index_interval(row)}")
        rank = f"rank {leader.rank} of {sum(1 for r in data.leaders if r.rank)}" if leader.rank else "not ranked"
        if not leader.rank and row.get("low_sample"):
            rank += " (small sample)"
        change = f"{_change(leader.change)} since {month_label(shift_month(data.month, -1))}" \
            if leader.change is not None else "no change figure"
        page.text(right, 0.95, f"openness index (0–100) · {interval}", size=7, ha="right", color=GREY)
        page.text(right, 1.1, f"{rank} · {change}", size=7, ha="right", color=GREY)
    else:
        page.text(right, 0.6, "no data", size=16, fontweight="bold", ha="right", color=GREY)
        page.text(right, 0.95, "no openness index this month", size=7, ha="right", color=GREY)
    y = 1.4
    page.rule(y - 0.08)
    for label, value in _key_figures(leader):
        page.text(MARGIN, y, label, size=7.5, fontweight="bold")
        page.text(MARGIN + 1.45, y, truncate(value, (CONTENT_WIDTH - 1.45) * 72, 7.5), size=7.5)
        y += 0.17
    y += 0.25
    ax = page.axes(MARGIN + 0.45, y + 0.22, CONTENT_WIDTH - 2.05, 1.75)
    plot_weekly_activity(ax, leader.weeks, month_label(data.month), leader.has_data)
    # Left: y tick labels and axis label; right: the legend beside the axes; bottom: two-line
    # week ticks.
    page.chart(f"leader-{leader.leader_id}-weekly", ax, around=(0.48, 0.32, 1.85, 0.5))
    y += 2.55
    page.text(MARGIN, y, "Representative posts: highest label confidence first, then most liked", size=9,
              fontweight="bold")
    y += 0.25
    width = CONTENT_WIDTH * 72
    for behaviour in BEHAVIOURS:
        posts = leader.samples.get(behaviour, ())
        page.text(MARGIN, y, BEHAVIOUR_TITLES[behaviour], size=8, fontweight="bold", color=OKABE_ITO["blue"])
        y += 0.17
        if not posts:
            page.text(MARGIN + 0.15, y, f"No {BEHAVIOUR_TITLES[behaviour].lower()} this month.", size=7,
                      color=GREY, style="italic")
            y += 0.18
        for post in posts:
            likes = "" if post.likes is None else f" · {post.likes} likes"
            meta = f"{post.created_local} · {post.kind} · confidence {post.confidence:.2f}{likes} · "
            page.text(MARGIN + 0.15, y, meta, size=6.5, color=GREY)
            if post.url:
                room = width - 0.15 * 72 - text_width(meta, 6.5)
                page.text(MARGIN + 0.15 + text_width(meta, 6.5) / 72, y, truncate(printable(post.url), room, 6.5),
                          size=6.5, color=OKABE_ITO["blue"], url=post.url)
            y += 0.13
            for line in wrap(printable(post.text), width - 0.15 * 72, 7.5, 2):
                page.text(MARGIN + 0.15, y, line, size=7.5)
                y += 0.135
            y += 0.05
        y += 0.05
    y += 0.1
    page.rule(y - 0.08)
    page.text(MARGIN, y, "Collection warnings", size=8, fontweight="bold")
    y += 0.17
    room = max(1, int((A4[1] - 0.75 - y) / 0.14))
    warnings = list(leader.warnings) or ["none: the month is fully collected and no run failed during it"]
    if len(warnings) > room:
        warnings = warnings[:room - 1] + [f"and {len(leader.warnings) - room + 1} more"]
    for warning in warnings:
        page.text(MARGIN + 0.15, y, truncate("• " + printable(warning), width - 0.15 * 72, 7), size=7)
        y += 0.14


def _method(page: _Page, data: ReportData) -> None:
    top = page.heading("Method note")
    paragraphs = [
        "What is measured. Each public post of a leader is labelled with the behaviours it shows: an answer to "
        "someone's question, a debate with someone who challenges or disagrees, or a post narrating progress of "
        "the work. Labels come from explainable rules (rule ids and matched text are stored with every label), "
        "so each count in this report can be traced back to its posts.",
        "The openness index (0–100) combines four components, each scored against fixed goalposts: "
        "answering questions, open debate, sharing progress and sustained presence, each shown from 0 to 100. "
        "Rates are shown with Wilson "
        "95% intervals; the index interval shows how much the index could move with a different sample of the "
        "two rates it contains (the answered share and the progress share; counts are taken as observed). "
        "† \"No interval\" (n/a) is printed where neither rate can move the index (no questions received, or a share "
        "whose whole interval lies past its goal): this is not certainty.",
        "Small samples. A leader with few posts or few questions gets an index with a wide interval and is not "
        "ranked. A month without collection (failed runs, protected or suspended accounts, or before the history "
        "the collection reaches: X serves only an account's newest 3,200 posts) is shown as \"no data\", never "
        "as zero, and is listed in the leader's warnings.",
        "Limits. Rules can miss sarcasm and languages other than English; an account may be run by a team "
        "rather than the leader. Counts of posts by kind come from the metrics table; weekly activity and the "
        "representative posts come from the stored posts and labels.",
        f"The full method, every label and metric definition, the index formula, weights and goalposts, and how "
        f"to audit a number back to its posts: {METHOD_DOC} in the tracker repository.",
        f"Produced by tracker {__version__} from the database only; the same database gives the same report.",
    ]
    y = top + 0.1
    for paragraph in paragraphs:
        for line in wrap(paragraph, CONTENT_WIDTH * 72, 8.5, 8):
            page.text(MARGIN, y, line, size=8.5)
            y += 0.19
        y += 0.15


# --- the whole report --------------------------------------------------------------------------

def _chunks(items: Sequence[LeaderReport], size: int) -> list[Sequence[LeaderReport]]:
    return [items[start:start + size] for start in range(0, len(items), size)] or [items]


def _plan(data: ReportData) -> list[tuple[str, Callable[[_Page], None]]]:
    """Every page in order with its contents title, so page numbers are known before drawing."""
    leaders = data.leaders
    board = _chunks(leaders, LEADERBOARD_ROWS)
    overview = _chunks(leaders, OVERVIEW_LEADERS)
    trends = _chunks(leaders, TREND_PANELS)
    pages: list[tuple[str, Callable[[_Page], None]]] = []
    for i, rows in enumerate(board):
        pages.append(("Leaderboard" if i == 0 else "", partial(_leaderboard, data=data, rows=rows, first=i == 0)))
    for i, rows in enumerate(overview):
        part = f" ({i + 1} of {len(overview)})" if len(overview) > 1 else ""
        pages.append(("Posts and behaviours per leader" if i == 0 else "",
                      partial(_overview, data=data, leaders=rows, part=part)))
    for i, rows in enumerate(trends):
        part = f" ({i + 1} of {len(trends)})" if len(trends) > 1 else ""
        pages.append(("Openness index over twelve months" if i == 0 else "",
                      partial(_trend, data=data, leaders=rows, part=part)))
    by_name = sorted(leaders, key=lambda r: (r.name.casefold(), r.leader_id))
    for leader in by_name:
        pages.append((printable(leader.name), partial(_leader_page, data=data, leader=leader)))
    pages.append(("Method note", partial(_method, data=data)))
    return pages


def _footer(data: ReportData) -> str:
    span = f"{data.data_first[:10]} to {data.data_last[:10]}" if data.data_first and data.data_last else "no posts"
    text = (f"{printable(data.organisation)} · openness report {data.month} · posts {span} · "
            f"newest data read {data.newest_data or 'never'}")
    return truncate(text, (CONTENT_WIDTH - 0.8) * 72, 6)


def _save_chart_png(page: _Page, chart: _Chart, path: Path) -> None:
    """Save the chart alone, titles, labels and legends included, cropped from the page.

    Everything else on the page is hidden while saving: invisible artists are not drawn,
    so a PNG costs what its chart costs rather than a whole page of text at PNG_DPI. The
    crop comes from the layout (``_Page.chart``): a box given to ``bbox_inches`` is used as
    is, with no measuring draw (only ``bbox_inches="tight"`` draws first).
    """
    others = [artist for artist in (*page.fig.texts, *page.fig.artists, *page.fig.lines, *page.fig.patches,
                                    *page.fig.axes) if artist not in chart.axes and artist.get_visible()]
    for artist in others:
        artist.set_visible(False)
    try:
        with atomicfile.replacing(path) as temporary:
            page.fig.savefig(temporary, format="png", dpi=PNG_DPI, bbox_inches=chart.box,
                             metadata={"Software": None})
    finally:
        for artist in others:
            artist.set_visible(True)


def render_report(data: ReportData, out_dir: Path, formats: Sequence[str] = FORMATS) -> ReportFiles:
    """Write ``report-YYYY-MM.pdf``, one PNG per chart and ``metrics-YYYY-MM.csv`` into ``out_dir``."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)} (expected {', '.join(FORMATS)})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf_path = out_dir / f"report-{data.month}.pdf" if "pdf" in formats else None
    csv_path = out_dir / f"metrics-{data.month}.csv" if "csv" in formats else None
    pngs: list[Path] = []
    if csv_path is not None:
        atomicfile.write_text(csv_path, metrics_to_csv(data.metrics_rows), newline="")
    if pdf_path is None and "png" not in formats:
        return ReportFiles(out_dir, None, (), csv_path, month=data.month)

    plan = _plan(data)
    contents = [(title, number) for number, (title, _) in enumerate(plan, start=2) if title]
    footer = _footer(data)
    total = len(plan) + 1
    metadata = {"Title": f"{data.organisation}: openness report {data.month}", "Author": data.organisation,
                "Subject": f"Working out loud, {month_label(data.month)}", "Creator": f"tracker {__version__}",
                "CreationDate": None, "ModDate": None}
    with matplotlib.rc_context(RC), ExitStack() as stack:  # type: ignore[arg-type]  # the stubs want literal rc keys
        # The PDF is written under a temporary name and renamed into place when whole.
        pdf_temporary = stack.enter_context(atomicfile.replacing(pdf_path)) if pdf_path is not None else None
        pdf = PdfPages(pdf_temporary, metadata=metadata) if pdf_temporary is not None else None
        try:
            cover = _Page(footer, 1, total)
            _cover(cover, data, contents)
            if pdf is not None:
                pdf.savefig(cover.fig)
            seen: dict[str, int] = {}
            for number, (_title, draw) in enumerate(plan, start=2):
                page = _Page(footer, number, total)
                draw(page)
                if pdf is not None:
                    pdf.savefig(page.fig)
                if "png" in formats:
                    for chart in page.charts:
                        name = chart.name
                        seen[name] = seen.get(name, 0) + 1
                        path = out_dir / (f"{name}-{seen[name]}.png" if name in ("overview-posts", "trend")
                                          else f"{name}.png")
                        _save_chart_png(page, chart, path)
                        pngs.append(path)
        finally:
            if pdf is not None:
                pdf.close()
    summary_path = None
    if pdf_path is not None:
        summary_path = out_dir / "summary.txt"
        atomicfile.write_text(summary_path, summary_text(data))
    return ReportFiles(out_dir, pdf_path, tuple(pngs), csv_path, summary_path, data.month)
