"""Render a month's ``ReportData`` as an A4 PDF, a PNG per chart and a CSV (issue 4).

Rendering never touches the database: ``tracker.report.data.build_report_data`` reads it.
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
import gc
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
from tracker.metrics.csv_export import metrics_to_csv
from tracker.metrics.index import (FAST_HOURS, GOAL_ACTIVE_WEEKS, GOAL_ANSWERED_SHARE, GOAL_ANSWERS, GOAL_CRITICS,
                             GOAL_DEBATES, GOAL_PROGRESS, SLOW_HOURS, WEIGHTS,
                             index_interval_is_degenerate)
from tracker.report.charts import (OKABE_ITO, plot_behaviours, plot_index_trend, plot_peer_comparison,
                                  plot_posts_by_kind, plot_weekly_activity)
from tracker.months import month_weeks, shift_month
from tracker.report.data import BEHAVIOURS, LeaderReport, ReportData, SamplePost
from tracker.report.summary import EMAIL_CHART, email_html, email_text, executive_summary
from tracker.report.text import FONT_FAMILY, printable, text_width, truncate, wrap

FORMATS = ("pdf", "png", "csv")
A4 = (8.27, 11.69)  # inches, portrait
MARGIN = 0.6
CONTENT_WIDTH = A4[0] - 2 * MARGIN
PNG_DPI = 150
LEADERBOARD_ROWS = 38
OVERVIEW_LEADERS = 30
TREND_PANELS = 24
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
    # The defaults "C0" (the first colour of the property cycle) are looked up in rcParams,
    # which under rc_context copies the cycle on every line and patch made (about a
    # millisecond each, a tenth of a leader page's drawing). Every chart passes its colours;
    # these are C0's own value, so nothing changes on the page.
    "lines.color": "#1f77b4",
    "patch.facecolor": "#1f77b4",
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
    summary_html: Path | None = None  # summary.html: its HTML body, showing the chart beside it
    summary_chart: Path | None = None  # the chart the HTML shows (written with the PDF)


def summary_text(data: ReportData) -> str:
    """The plain-text body of the report email (``tracker.report.summary.email_text``)."""
    return email_text(data)


def month_label(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


# --- formatting --------------------------------------------------------------------------------

def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "no data"
    return f"{float(value):,.{digits}f}" if digits else f"{int(round(float(value))):,}"


def _index_interval(row: dict[str, Any], short: bool = False) -> str:
    """The index interval at the index's own precision, or why there is none (see the method note)."""
    low, high = row.get("openness_index_low"), row.get("openness_index_high")
    if low is None or high is None:
        return ""
    if index_interval_is_degenerate(row):
        return "n/a†" if short else "no interval†"
    return f"{_num(low, 1)}–{_num(high, 1)}"


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
        ("Peers to compare with", f"{len(data.peers)} leaders of "
                                  f"{', '.join(sorted({printable(p.organisation) for p in data.peers}))}"
         if data.peers else "none configured"),
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
    ("Change", 4.08, "right"), ("Answering", 4.74, "right"), ("Debate", 5.2, "right"), ("Progress", 5.7, "right"),
    ("Presence", 6.18, "right"), ("Posts", 6.52, "right"), ("Notes", 6.6, "left"),
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
# What each part of the index measures, in the words the report uses wherever it shows one.
PART_NOTES = (
    ("Answering", "answers to other people's questions: how many, what share of the questions received, how fast"),
    ("Debate", "replies and quotes that take on a critic or a challenge, and how many different critics"),
    ("Progress", "posts that report the work: what shipped, what was learned, what comes next"),
    ("Presence", "weeks of the month with at least one post of the leader's own"),
)
PART_WEIGHTS = "the index weighs them 35%, 25%, 25% and 15%"


def _interval_glyph(page: _Page, y: float, index: float | None, low: float | None, high: float | None) -> None:
    """A 0-100 scale line with the interval as a bar and the index as a dot, at row ``y``."""
    y_mid = 1 - (y + 0.06) / A4[1]
    x0 = (MARGIN + INTERVAL_X) / A4[0]
    scale = INTERVAL_WIDTH / A4[0] / 100
    page.fig.add_artist(Line2D([x0, x0 + 100 * scale], [y_mid] * 2, color="#BBBBBB", linewidth=0.4,
                               transform=page.fig.transFigure))
    if low is not None and high is not None and high > low:
        page.fig.add_artist(Line2D([x0 + low * scale, x0 + high * scale], [y_mid] * 2, color="#555555",
                                   linewidth=1.6, solid_capstyle="butt", transform=page.fig.transFigure))
    if index is not None:
        page.fig.add_artist(Line2D([x0 + index * scale], [y_mid], marker="o", markersize=3.2,
                                   color=OKABE_ITO["blue"], transform=page.fig.transFigure))


def _leaderboard_cells(leader: LeaderReport) -> tuple[list[str], list[str]]:
    row = leader.metrics or {}
    # A peer's organisation goes on a line of its own under the name (see _leaderboard): the
    # name may only reach the index column, and "(organisation)" after it would be cut off.
    cells = [str(leader.rank) if leader.rank else "–", truncate(printable(leader.name), _name_width_pt(), 7.5)]
    notes: list[str] = []
    if not leader.has_data:
        notes.append("not collected" if leader.metrics else "not computed")
        return cells + ["no data", "", "", "", "", "", "", ""], notes
    cells += [_num(row.get("openness_index"), 1),
              _index_interval(row, short=True),
              _change(leader.change)]
    cells += [_num(row.get(key), 1) if row.get(key) is not None else "–" for key in
              ("component_answer", "component_debate", "component_progress", "component_presence")]
    cells.append(_num(row.get("posts")))
    if row.get("coverage") == "partial":
        notes.append("part of the month")
    if row.get("low_sample"):
        notes.append("small sample")
    return cells, notes


_PEERS_HEADING = None  # in a leaderboard's rows: where the peers begin


def _board_rows(data: ReportData) -> list[LeaderReport | None]:
    rows: list[LeaderReport | None] = list(data.leaders)
    if data.peers:
        rows += [_PEERS_HEADING, *data.peers]
    return rows


def _leaderboard(page: _Page, data: ReportData, rows: Sequence[LeaderReport | None], first: bool,
                 top: float | None = None) -> float:
    """The leaderboard table from ``top``; returns where it ends (inches from the page top)."""
    previous = month_label(shift_month(data.month, -1))
    if top is None:
        top = page.heading(
            f"Leaderboard, {month_label(data.month)}" + ("" if first else " (continued)"),
            "The openness index runs from 0 (no open behaviour seen) to 100. The 95% interval shows how far it "
            "could move with another month's sample; it is drawn as a bar on a 0–100 line, the index as a dot. "
            f"Change: index points since {previous}. A leader is ranked only when the month was collected and "
            "has enough posts; peers from other organisations follow, never ranked.")
    for title, offset, align in LEADERBOARD_COLUMNS:
        page.text(MARGIN + offset, top, title, size=6.5, fontweight="bold", ha=align)
    page.text(MARGIN + 4.3, top - 0.15, "parts of the index, each 0–100", size=6, color=GREY, ha="left")
    for tick in (0, 50, 100):
        page.text(MARGIN + INTERVAL_X + INTERVAL_WIDTH * tick / 100, top + 0.13, str(tick), size=5.5, color=GREY,
                  ha="center")
    page.rule(top + 0.27, linewidth=0.6, color="#222222")
    y = top + 0.36
    for i, leader in enumerate(rows):
        if leader is None:
            page.text(MARGIN + 0.38, y + 0.02, "Peers, to compare with (not ranked)", size=7.5, fontweight="bold",
                      color=GREY)
            page.rule(y + 0.16, linewidth=0.4)
            y += ROW_HEIGHT
            continue
        if i % 2 == 1:
            page.fig.add_artist(Rectangle(
                (MARGIN / A4[0], 1 - (y + 0.16) / A4[1]), CONTENT_WIDTH / A4[0], ROW_HEIGHT / A4[1],
                transform=page.fig.transFigure, facecolor="#EFEFEF", edgecolor="none", zorder=-1))
        cells, notes = _leaderboard_cells(leader)
        if leader.has_data:
            row = leader.metrics or {}
            _interval_glyph(page, y, row.get("openness_index"), row.get("openness_index_low"),
                            row.get("openness_index_high"))
        colour = GREY if leader.organisation else "black"
        for (title, offset, align), cell in zip(LEADERBOARD_COLUMNS, cells):
            lift = 0.035 if title == "Leader" and leader.organisation else 0.0
            page.text(MARGIN + offset, y - lift, cell, size=7.5 if title != "95% interval" else 6.5, ha=align,
                      color=GREY if title == "95% interval" else colour)
        if leader.organisation:
            leader_x = next(offset for title, offset, _ in LEADERBOARD_COLUMNS if title == "Leader")
            page.text(MARGIN + leader_x, y + 0.075, truncate(printable(leader.organisation), _name_width_pt(), 5.5),
                      size=5.5, color=GREY)
        for j, line in enumerate(wrap(", ".join(notes), NOTES_WIDTH * 72, 5.5, 2)):
            page.text(MARGIN + 6.6, y - 0.02 + j * 0.085, line, size=5.5, color=GREY)
        y += ROW_HEIGHT
    y += 0.1
    for name, note in PART_NOTES:
        page.text(MARGIN, y, name, size=6.5, fontweight="bold")
        page.text(MARGIN + 0.75, y, note, size=6.5, color=GREY)
        y += 0.13
    note = (f"Each part is scored from 0 to 100 against fixed goals; {PART_WEIGHTS}. n/a†: no interval, because "
            "neither rate it carries can move the index this month (no questions received, no posts, or a share "
            "whose whole interval lies past its goal); this is not certainty. Small sample: fewer than 10 posts, "
            "or fewer than 5 questions received.")
    for line in wrap(note, CONTENT_WIDTH * 72, 6.5, 3):
        page.text(MARGIN, y, line, size=6.5, color=GREY)
        y += 0.12
    return y + 0.1


def _leaderboard_page(page: _Page, data: ReportData, rows: Sequence[LeaderReport | None], first: bool) -> None:
    _leaderboard(page, data, rows, first)


def _overview_height(count: int) -> float:
    return max(1.6, 0.26 * count + 0.3)


def _overview(page: _Page, data: ReportData, leaders: Sequence[LeaderReport], part: str,
              top: float | None = None) -> None:
    if top is None:
        top = page.heading(f"Posts and behaviours per leader, {month_label(data.month)}{part}",
                           "Counts of the month. Reposts are shown for context but are not counted as the leader's "
                           "posts. A leader whose month was not collected shows \"no data\".")
    else:
        page.text(MARGIN, top, f"Posts and behaviours per leader, {month_label(data.month)}{part}", size=11,
                  fontweight="bold")
        top += 0.25
    height = min(A4[1] - top - 1.75, _overview_height(len(leaders)))
    kinds = page.axes(MARGIN + 1.75, top + 0.3, 2.55, height)
    plot_posts_by_kind(kinds, leaders, month_label(data.month))
    behaviours = page.axes(MARGIN + 4.6, top + 0.3, 2.45, height)
    plot_behaviours(behaviours, leaders, month_label(data.month))
    # Left: the leader names (NAME_WIDTH_PT = 1.64 in, measured unhinted; hinting at PNG_DPI
    # rounds each advance up to a pixel, about 0.1 in more on a long name) and the ticks;
    # bottom: tick labels, axis label and a legend of up to three rows anchored 0.42 in under
    # the axes (reportcharts._legend_below).
    page.chart("overview-posts", (kinds, behaviours), around=(2.0, 0.32, 0.15, 1.05))


def _board_height(rows: int) -> float:
    """Inches the leaderboard takes under its heading: header, rows, the parts' notes."""
    return 0.36 + rows * ROW_HEIGHT + 0.1 + 0.13 * len(PART_NOTES) + 0.12 * 2 + 0.1


def _leaderboard_and_overview(page: _Page, data: ReportData) -> None:
    end = _leaderboard(page, data, _board_rows(data), first=True)
    _overview(page, data, data.leaders, "", top=end + 0.15)


def _summary_page(page: _Page, data: ReportData) -> None:
    summary = executive_summary(data)
    top = page.heading(f"Summary, {month_label(data.month)}",
                       "Written from this month's figures alone; the pages that follow show each one in detail.")
    y = top + 0.05
    width = CONTENT_WIDTH * 72
    for sentence in summary.sentences:
        for line in wrap(printable(sentence), width, 10.5, 6):
            page.text(MARGIN, y, line, size=10.5)
            y += 0.21
        y += 0.12
    for line in wrap(printable(summary.caveat), width, 9, 6):
        page.text(MARGIN, y, line, size=9, color=GREY)
        y += 0.18
    y += 0.3
    with_peers = bool(data.peers)
    title = (f"Openness index: the leaders of {data.organisation} against the peer cohort" if with_peers
             else f"Openness index: the leaders of {data.organisation}")
    page.text(MARGIN, y, truncate(printable(title), width, 11), size=11, fontweight="bold")
    room = A4[1] - y - 1.95  # the chart's title, tick labels and two lines of notes below it
    # Each peer gets a row while the rows stay readable; otherwise the peers are the band alone.
    peers = data.peers if (len(data.leaders) + len(data.peers) + 1) * 0.14 <= room else ()
    rows = len(data.leaders) + (len(peers) + 1 if peers else 0)
    height = max(1.0, min(room, 0.27 * rows + 0.5))
    label_size = min(7.0, max(4.0, 72 * (height - 0.3) / max(rows, 1) * 0.75))
    ax = page.axes(MARGIN + 2.3, y + 0.45, CONTENT_WIDTH - 2.4, height)
    plot_peer_comparison(ax, data.leaders, peers, label_size)
    page.chart("leaderboard", ax, around=(2.35, 0.5, 0.12, 0.45))
    note = ("Band: the middle half of the peers' indexes (a quarter of peers score below it, a quarter above); "
            "dashed line: the peers' median. " if with_peers else "") + \
        "Each dot is a leader's index this month; the line through it, its 95% interval."
    y = y + 0.45 + height + 0.45
    for line in wrap(note, width, 7, 3):
        page.text(MARGIN, y, line, size=7, color=GREY)
        y += 0.14


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


def _ratio(part: Any, whole: Any, what: str) -> str:
    """"21 of 27 posts (78%, 95% interval 59–89%)"-style words for a share with its denominator."""
    return f"{_num(part)} of {_num(whole)} {what}"


def _share_words(row: dict[str, Any], key: str) -> str:
    value, low, high = row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high")
    if value is None:
        return ""
    text = f"{100 * value:.0f}%"
    if low is not None and high is not None:
        text += f", 95% interval {100 * low:.0f}–{100 * high:.0f}%"
    return f" ({text})"


def _peer_words(row: dict[str, Any]) -> str | None:
    if not row.get("peer_count") or row.get("peer_index_percentile") is None:
        return None
    parts = "; ".join(f"{name.lower()} {_num(row.get(f'peer_{key}_percentile'))}%"
                      for name, key in (("Answering", "answer"), ("Debate", "debate"), ("Progress", "progress"),
                                        ("Presence", "presence")) if row.get(f"peer_{key}_percentile") is not None)
    return (f"index above {_num(row['peer_index_percentile'])}% of {_num(row['peer_count'])} peers (their median "
            f"{_num(row.get('peer_index_median'), 1)}, middle half {_num(row.get('peer_index_q1'), 1)}–"
            f"{_num(row.get('peer_index_q3'), 1)}); parts: {parts}")


def _key_figures(leader: LeaderReport, weeks_in_month: int) -> list[tuple[str, str]]:
    row = leader.metrics
    if row is None:
        return [("This month", "no figures: the month's metrics were not computed")]
    if row.get("coverage") == "none":
        return [("This month", "no data: the month was not collected, or is before the history the collection "
                 "reaches (this is not the same as no activity)")]
    kinds = ", ".join(f"{_num(row.get(key))} {one if row.get(key) == 1 else many}" for key, one, many in
                      (("originals", "new post", "new posts"), ("replies", "reply", "replies"),
                       ("threads", "thread post", "thread posts"), ("quotes", "quote", "quotes")))
    received, answered = row.get("questions_received") or 0, row.get("questions_answered")
    if answered is None:  # older metrics rows: answered = share x received
        share = row.get("questions_answered_share")
        answered = round(share * received) if share is not None else 0
    answers = f"{_num(row.get('answers'))} answers; "
    answers += (_ratio(answered, received, "questions from outside the organisation answered")
                + _share_words(row, "questions_answered_share") if received
                else "no questions from outside the organisation were received, so no share answered")
    replies_and_quotes = (row.get("replies") or 0) + (row.get("quotes") or 0)
    debates = f"{_num(row.get('debates'))} replies or quotes taking on a challenge"
    if replies_and_quotes:
        debates = (_ratio(row.get("debates"), replies_and_quotes, "replies and quotes take on a challenge")
                   + _share_words(row, "debate_share"))
    if row.get("unique_critics"):
        debates += f"; {_num(row.get('unique_critics'))} different critics"
    progress = (_ratio(row.get("progress"), row.get("posts"), "posts report progress of the work")
                + _share_words(row, "progress_share")) if row.get("posts") else "no posts, so no progress share"
    outside = (_ratio(row.get("external_replies"), row.get("replies"), "replies go to people outside the "
                      "organisation") + _share_words(row, "external_reply_share")) if row.get("replies") \
        else "no replies this month"
    likes = row.get("median_likes")
    figures = [
        ("Posts", f"{_num(row.get('posts'))} of the leader's own ({kinds}); {_num(row.get('reposts'))} reposts, "
                  "not counted"),
        ("Answers", answers),
        ("Time to answer", "no answered questions, so no time to answer" if row.get("median_response_hours") is None
         else f"half the answers came within {_num(row.get('median_response_hours'), 1)} hours of the question "
              "(median)"),
        ("Debates", debates),
        ("Progress posts", progress),
        ("Conversation", f"{outside}; {_num(row.get('unique_counterparts'))} different "
                         f"{'person' if row.get('unique_counterparts') == 1 else 'people'} replied to or quoted"),
        ("Presence", f"posted in {_num(row.get('active_weeks'))} of the month's {weeks_in_month} weeks"
                     + (f"; half the posts had {_num(likes)} likes or more (median)" if likes is not None else "")),
        ("Index parts", "  ·  ".join(f"{name} {_num(row.get(f'component_{key}'), 1)}" for name, key in
                                     (("answering", "answer"), ("debate", "debate"), ("progress", "progress"),
                                      ("presence", "presence"))) + " (each 0–100)"),
    ]
    peers = _peer_words(row)
    if peers:
        figures.append(("Against peers", peers))
    if leader.platform_metrics:
        figures.append(("By platform", "  ·  ".join(f"{printable(str(r['platform']))} {_num(r.get('posts'))} posts"
                                                    for r in leader.platform_metrics)))
    return figures


CONTEXT_WORDS = {"answer": "Answering", "debate": "Answering the point of", "progress": "Following up"}


def _evidence_words(post: SamplePost) -> str:
    """The label's evidence in plain words, read generically: a span's own ``reason`` when the
    labeller gives one, otherwise the words it matched in the post and in the post it answers."""
    own: list[str] = []
    parent: list[str] = []
    facts: list[str] = []
    for item in post.evidence:
        text = printable(str(item.get("text") or ""))
        reason = printable(str(item.get("reason") or ""))
        if reason:  # the labeller's own words, which already quote the span
            facts.append(reason)
        elif not text:
            continue
        elif item.get("source") == "post":
            own.append(f"“{text}”")
        elif item.get("source") in ("parent", "quoted", "context"):
            parent.append(f"“{truncate(text, 180, 6.5)}”")  # a whole question can be long
        elif " " in text:  # a worded fact such as "22 words"; bare ids and handles say nothing
            facts.append(text)
    parts = facts + ([f"its words {', '.join(dict.fromkeys(own))}"] if own else []) \
        + ([f"the post it responds to says {', '.join(dict.fromkeys(parent))}"] if parent else [])
    return "; ".join(parts)


def _work_reported(post: SamplePost) -> str | None:
    """The sentence of a progress post that its evidence points at: the work it reports."""
    spans = [item for item in post.evidence if item.get("source") == "post" and isinstance(item.get("start"), int)]
    if not spans or not post.text:
        return None
    start = min(int(item["start"]) for item in spans)
    if not 0 <= start < len(post.text):
        return None
    before = max(post.text.rfind(mark, 0, start) for mark in (". ", "! ", "? ", "\n"))
    after = [position for mark in (". ", "! ", "? ", "\n") if (position := post.text.find(mark, start)) >= 0]
    sentence = post.text[before + 1 if before >= 0 else 0:(min(after) + 1) if after else len(post.text)]
    return printable(sentence) or None


def _example(page: _Page, y: float, post: SamplePost, behaviour: str, name: str) -> float:
    """One representative post with its context and why it was chosen; returns the next y."""
    width = CONTENT_WIDTH * 72 - 0.15 * 72
    x = MARGIN + 0.15
    likes = "" if post.likes is None else f" · {post.likes} likes"
    meta = f"{post.created_local} · {KIND_WORDS.get(post.kind, post.kind)}{likes}"
    page.text(x, y, meta, size=6.5, color=GREY)
    if post.url:
        # The link, not the URL: a board reader clicks it, and a long URL costs a line of glyphs.
        page.text(x + (text_width(meta, 6.5) + 6) / 72, y, "open the post", size=6.5, color=OKABE_ITO["blue"],
                  url=post.url)
    y += 0.13
    context = None
    if post.context_text:
        author = printable(post.context_author or "someone")
        lead = (f"Continuing {name}'s own post" if author == "the leader" else
                f"Quoting {author}" if post.kind == "quote" else f"{CONTEXT_WORDS[behaviour]} {author}")
        context = f"{lead}: “{truncate(printable(post.context_text), 0.75 * width, 7)}”"
    elif behaviour == "progress":
        work = _work_reported(post)
        # Only worth a line when the post says more than that one sentence.
        context = f"The work reported: “{work}”" if work and work != printable(post.text) else None
    if context:
        # Upright: DejaVu Sans Oblique lacks glyphs the upright face has (Arabic, for one).
        page.text(x, y, truncate(context, width, 7), size=7, color="#333333")
        y += 0.135
    for line in wrap(printable(post.text), width, 7.5, 2):
        page.text(x, y, line, size=7.5)
        y += 0.135
    reason = _evidence_words(post)
    why = f"Why: labelled {BEHAVIOUR_WORDS[behaviour]}, confidence {post.confidence:.2f}" + \
        (f"; {reason}" if reason else "")
    page.text(x, y, truncate(why, width, 6.5), size=6.5, color=GREY)
    return y + 0.19


KIND_WORDS = {"original": "new post", "reply": "reply", "thread": "thread post", "quote": "quote",
              "repost": "repost"}
BEHAVIOUR_WORDS = {"answer": "an answer", "debate": "a debate", "progress": "progress"}
# Two clear examples with their context say more than three without; fewer when the page
# has no room (``_fit_examples``).
EXAMPLES_PER_BEHAVIOUR = 2


def _example_height(post: SamplePost, behaviour: str) -> float:
    lines = len(wrap(printable(post.text), CONTENT_WIDTH * 72 - 0.15 * 72, 7.5, 2))
    context = bool(post.context_text) or behaviour == "progress"
    return 0.13 + (0.135 if context else 0) + 0.135 * lines + 0.19


def _other_posts(page: _Page, y: float, leader: LeaderReport, bottom: float) -> float:
    """The leader's most liked posts without a behaviour label, as many as fit above ``bottom``."""
    width = CONTENT_WIDTH * 72 - 0.15 * 72
    posts = []
    room = bottom - y - 0.3
    for post in leader.other_posts:
        height = 0.13 + 0.135 * len(wrap(printable(post.text), width, 7.5, 2)) + 0.06
        if height > room:
            break
        posts.append(post)
        room -= height
    if not posts:
        return y
    y += 0.05
    page.text(MARGIN, y, "Other posts: the month's most liked, showing none of these behaviours", size=8,
              fontweight="bold", color=OKABE_ITO["blue"])
    y += 0.17
    for post in posts:
        likes = "" if post.likes is None else f" · {post.likes} likes"
        meta = f"{post.created_local} · {KIND_WORDS.get(post.kind, post.kind)}{likes}"
        page.text(MARGIN + 0.15, y, meta, size=6.5, color=GREY)
        if post.url:
            page.text(MARGIN + 0.15 + (text_width(meta, 6.5) + 6) / 72, y, "open the post", size=6.5,
                      color=OKABE_ITO["blue"], url=post.url)
        y += 0.13
        for line in wrap(printable(post.text), width, 7.5, 2):
            page.text(MARGIN + 0.15, y, line, size=7.5)
            y += 0.135
        y += 0.06
    return y


def _fit_examples(leader: LeaderReport, room: float) -> dict[str, tuple[SamplePost, ...]]:
    """Up to EXAMPLES_PER_BEHAVIOUR examples of each behaviour, fewer (the last ones first,
    never the first of a behaviour) when they would not fit in ``room`` inches."""
    chosen = {behaviour: list(leader.samples.get(behaviour, ())[:EXAMPLES_PER_BEHAVIOUR]) for behaviour in BEHAVIOURS}
    heights = {post.post_id: _example_height(post, behaviour) for behaviour, posts in chosen.items() for post in posts}

    def height() -> float:
        total = 0.03 * len(BEHAVIOURS)
        for posts in chosen.values():
            total += sum(heights[post.post_id] for post in posts) if posts else 0.18
        return total

    while height() > room:
        longest = max(chosen, key=lambda behaviour: (len(chosen[behaviour]), -BEHAVIOURS.index(behaviour)))
        if len(chosen[longest]) <= 1:
            break
        chosen[longest].pop()
    return {behaviour: tuple(posts) for behaviour, posts in chosen.items()}


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
            interval = (" · no 95% interval†" if index_interval_is_degenerate(row)
                        else f" · 95% interval {_index_interval(row)}")
        ranked = sum(1 for r in data.leaders if r.rank)
        rank = f"rank {leader.rank} of {ranked} ranked leaders" if leader.rank else "not ranked"
        if not leader.rank and row.get("low_sample"):
            rank += " (too few posts or questions to rank)"
        change = f"{_change(leader.change)} points since {month_label(shift_month(data.month, -1))}" \
            if leader.change is not None else "no index last month to compare with"
        page.text(right, 0.95, f"openness index, 0–100{interval}", size=7, ha="right", color=GREY)
        page.text(right, 1.1, f"{rank} · {change}", size=7, ha="right", color=GREY)
    else:
        page.text(right, 0.6, "no data", size=16, fontweight="bold", ha="right", color=GREY)
        page.text(right, 0.95, "no openness index this month", size=7, ha="right", color=GREY)
    y = 1.4
    page.rule(y - 0.08)
    for label, value in _key_figures(leader, len(leader.weeks) or len(month_weeks(data.month))):
        page.text(MARGIN, y, label, size=7.5, fontweight="bold")
        lines = wrap(value, (CONTENT_WIDTH - 1.15) * 72, 7.5, 2)
        for line in lines:
            page.text(MARGIN + 1.15, y, line, size=7.5)
            y += 0.15
        y += 0.03
    y += 0.2
    weekly = page.axes(MARGIN + 0.45, y + 0.22, 2.95, 1.45)
    plot_weekly_activity(weekly, leader.weeks, month_label(data.month), leader.has_data)
    trend = page.axes(MARGIN + 3.8, y + 0.22, CONTENT_WIDTH - 3.85, 1.45)
    has_peers = any(point.peer_median is not None for point in leader.trend)
    plot_index_trend(trend, leader, leader.trend, title_size=9, legend=True,
                     title="Index (0–100), last 12 months" + (", and peers" if has_peers else ""))
    # One PNG for the page's two charts: a PNG costs a drawing of its own.
    page.chart(f"leader-{leader.leader_id}", (weekly, trend), around=(0.48, 0.32, 0.1, 0.85))
    y += 2.6
    page.text(MARGIN, y, "Examples: the clearest posts of each behaviour, with what they respond to", size=9,
              fontweight="bold")
    y += 0.25
    chosen = _fit_examples(leader, A4[1] - 1.05 - y - 0.17 * len(BEHAVIOURS)
                           - 0.14 * max(1, min(len(leader.warnings), 3)))
    for behaviour in BEHAVIOURS:
        posts = chosen[behaviour]
        page.text(MARGIN, y, BEHAVIOUR_TITLES[behaviour], size=8, fontweight="bold", color=OKABE_ITO["blue"])
        y += 0.17
        if not posts:
            page.text(MARGIN + 0.15, y, f"No {BEHAVIOUR_TITLES[behaviour].lower()} this month.", size=7,
                      color=GREY, style="italic")
            y += 0.18
        for post in posts:
            y = _example(page, y, post, behaviour, printable(leader.name.split()[0]))
        y += 0.03
    if not all(chosen.values()):  # a behaviour without examples: show what else the leader said
        y = _other_posts(page, y, leader, A4[1] - 1.05 - 0.14 * max(1, min(len(leader.warnings), 3)))
    y += 0.1
    page.rule(y - 0.08)
    page.text(MARGIN, y, "Collection warnings", size=8, fontweight="bold")
    y += 0.17
    width = CONTENT_WIDTH * 72
    room = max(1, int((A4[1] - 0.75 - y) / 0.14))
    warnings = list(leader.warnings) or ["none: the month is fully collected and no run failed during it"]
    if len(warnings) > room:
        warnings = warnings[:room - 1] + [f"and {len(leader.warnings) - room + 1} more"]
    for warning in warnings:
        page.text(MARGIN + 0.15, y, truncate("• " + printable(warning), width - 0.15 * 72, 7), size=7)
        y += 0.14


def _method(page: _Page, data: ReportData) -> None:
    top = page.heading("How to read this report")
    goals = (f"Answering: {GOAL_ANSWERS} answers a month, {100 * GOAL_ANSWERED_SHARE:.0f}% of questions answered, "
             f"a median answer within {FAST_HOURS:.0f} hours (none after {SLOW_HOURS:.0f} hours). "
             f"Debate: {GOAL_DEBATES} debates and {GOAL_CRITICS} different critics. "
             f"Progress: half of the posts reporting progress, and {GOAL_PROGRESS} such posts. "
             f"Presence: a post in each of {GOAL_ACTIVE_WEEKS} weeks.")
    paragraphs = [
        ("What is measured", "Each public post of a leader (on X, Bluesky, Mastodon, LinkedIn from their data "
         "export, or their blog) is labelled "
         "with the behaviours it shows: an answer to someone's question, a debate with someone who challenges or "
         "disagrees, or a post narrating the progress of the work. Every label keeps the words that led to it, so "
         "each count can be traced back to its posts; the examples on each leader's page show them. Reposts are "
         "other people's words and are not counted."),
        ("The openness index", "It runs from 0 to 100 and combines four parts, each scored from 0 to 100 against "
         f"fixed goals that do not change from month to month: {goals} The index weighs the parts "
         f"{100 * WEIGHTS['answer']:.0f}%, {100 * WEIGHTS['debate']:.0f}%, {100 * WEIGHTS['progress']:.0f}% and "
         f"{100 * WEIGHTS['presence']:.0f}%. A leader who meets every goal scores 100."),
        ("Shares and intervals", "Every share is shown with what it is a share of (\"29 of 31 questions\"). "
         "The 95% interval (Wilson) shows how far a share, or the index, could move with another month of the "
         "same behaviour: with a handful of posts it is wide. When the index is the same at both ends of its "
         "interval, its rates are already at their goals (or there were none to measure), so no interval is drawn "
         "and n/a† (\"no 95% interval†\" on a leader's page) is printed: this is not certainty. The index "
         "reads counts estimated from the labeller's probabilities, and its interval carries their uncertainty "
         "as well as that of the shares."),
        ("Ranks and small samples", "A leader is ranked only when the month was collected and has at least 10 "
         "posts and, if questions were received, at least 5 of them; below that a rank would be luck. A month "
         "that was not collected (failed runs, protected or suspended accounts, or before the history the "
         "collection reaches: X serves only an account's newest 3,200 posts) shows \"no data\", never zero, "
         "is hatched in the trend charts, has no change computed against it, and is listed in the leader's "
         "collection warnings."),
        ("Peers", "Peers are leaders of other organisations, collected and measured in exactly the same way, "
         "and never ranked with the organisation's own. The peer band shows their middle half (a quarter of the "
         "peers score below it and a quarter above) and the dashed line their median. \"Above 80% of peers\" "
         "means the leader scores higher than 80% of them (a tie counts half). A peer whose month has no data is "
         "left out of that month's cohort."),
        ("The labeller", data.labeller + (
            f" {data.not_labelled_language} post(s) this month were not in English: they are counted as not "
            "labelled, not as posts without these behaviours." if data.not_labelled_language else "")),
        ("Limits", "The labels come from a model trained on hand-labelled posts of other leaders: it can miss "
         "sarcasm, reads only English, and is least sure about a leader whose style is unlike any it was "
         "trained on. An account may be run by a team rather than the leader. Public posts are only part of "
         "how a leader communicates; the index measures the open, public part."),
        ("This report", f"Produced by tracker {__version__} from the collected data alone: the same data gives "
         f"the same report. Times are in {data.timezone}; weeks run Monday to Sunday, and only their days inside "
         "the month are counted."),
    ]
    y = top + 0.1
    for title, paragraph in paragraphs:
        page.text(MARGIN, y, title, size=9.5, fontweight="bold")
        y += 0.21
        for line in wrap(paragraph, CONTENT_WIDTH * 72, 9, 10):
            page.text(MARGIN, y, line, size=9)
            y += 0.2
        y += 0.2


# --- the whole report --------------------------------------------------------------------------

def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)] or [items]


def _plan(data: ReportData) -> list[tuple[str, Callable[[_Page], None]]]:
    """Every page in order with its contents title, so page numbers are known before drawing."""
    leaders = data.leaders
    pages: list[tuple[str, Callable[[_Page], None]]] = [("Summary", partial(_summary_page, data=data))]
    rows = _board_rows(data)
    heading = 1.45  # a page heading with a three-line subtitle
    overview_room = 0.4 + _overview_height(len(leaders)) + 1.75
    if heading + _board_height(len(rows)) + overview_room <= A4[1]:
        pages.append(("Leaderboard and posts per leader", partial(_leaderboard_and_overview, data=data)))
    else:
        board = _chunks(rows, LEADERBOARD_ROWS)
        for i, chunk in enumerate(board):
            pages.append(("Leaderboard" if i == 0 else "", partial(_leaderboard_page, data=data, rows=chunk,
                                                                   first=i == 0)))
        overview = _chunks(leaders, OVERVIEW_LEADERS)
        for i, chunk in enumerate(overview):
            part = f" ({i + 1} of {len(overview)})" if len(overview) > 1 else ""
            pages.append(("Posts and behaviours per leader" if i == 0 else "",
                          partial(_overview, data=data, leaders=chunk, part=part)))
    by_name = sorted(leaders, key=lambda r: (r.name.casefold(), r.leader_id))
    for leader in by_name:
        pages.append((printable(leader.name), partial(_leader_page, data=data, leader=leader)))
    pages.append(("How to read this report", partial(_method, data=data)))
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
        # zlib level 3: the same size as the default 6 here, in two thirds of the time.
        with atomicfile.replacing(path) as temporary:
            page.fig.savefig(temporary, format="png", dpi=PNG_DPI, bbox_inches=chart.box,
                             metadata={"Software": None}, pil_kwargs={"compress_level": 3})
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

    # Each page makes and drops tens of thousands of matplotlib objects, so the garbage
    # collector runs full collections often; freezing what exists already (matplotlib, its
    # fonts, the report data) spares it rescanning those each time: about a tenth of the
    # report's time. unfreeze() hands them back to the collector afterwards.
    gc.freeze()
    try:
        return _render(data, out_dir, formats, pdf_path, csv_path, pngs)
    finally:
        gc.unfreeze()


def _render(data: ReportData, out_dir: Path, formats: Sequence[str], pdf_path: Path | None, csv_path: Path | None,
            pngs: list[Path]) -> ReportFiles:
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
                if "png" not in formats and pdf is not None:
                    # The email's chart is written with the PDF even when no PNGs are asked for.
                    for chart in page.charts:
                        if chart.name == EMAIL_CHART.removesuffix(".png"):
                            _save_chart_png(page, chart, out_dir / EMAIL_CHART)
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
    summary_path = html_path = chart_path = None
    if pdf_path is not None:
        summary_path = out_dir / "summary.txt"
        atomicfile.write_text(summary_path, summary_text(data))
        chart_path = out_dir / EMAIL_CHART
        html_path = out_dir / "summary.html"
        atomicfile.write_text(html_path, email_html(data, EMAIL_CHART if chart_path.is_file() else None))
    return ReportFiles(out_dir, pdf_path, tuple(pngs), csv_path, summary_path, data.month, html_path,
                       chart_path if chart_path is not None and chart_path.is_file() else None)
