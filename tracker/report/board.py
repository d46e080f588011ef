"""The report's overview pages: the cover and its contents, the summary, the leaderboard with
the overview charts, and the index trends."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from tracker.months import shift_month
from tracker.report.charts import OKABE_ITO, plot_behaviours, plot_peer_comparison, plot_posts_by_kind
from tracker.report.data import LeaderReport, ReportData
from tracker.report.summary import executive_summary
from tracker.report.page import A4, CONTENT_WIDTH, GREY, MARGIN, Page, index_interval, month_label, num, signed_change
from tracker.report.text import printable, text_width, truncate, wrap


def draw_cover(page: Page, data: ReportData, contents: list[tuple[str, int]]) -> None:
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


def _interval_glyph(page: Page, y: float, index: float | None, low: float | None, high: float | None) -> None:
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
    cells += [num(row.get("openness_index"), 1),
              index_interval(row, short=True),
              signed_change(leader.change)]
    cells += [num(row.get(key), 1) if row.get(key) is not None else "–" for key in
              ("component_answer", "component_debate", "component_progress", "component_presence")]
    cells.append(num(row.get("posts")))
    if row.get("coverage") == "partial":
        notes.append("part of the month")
    if row.get("low_sample"):
        notes.append("small sample")
    return cells, notes


_PEERS_HEADING = None  # in a leaderboard's rows: where the peers begin


def board_rows(data: ReportData) -> list[LeaderReport | None]:
    rows: list[LeaderReport | None] = list(data.leaders)
    if data.peers:
        rows += [_PEERS_HEADING, *data.peers]
    return rows


def _leaderboard(page: Page, data: ReportData, rows: Sequence[LeaderReport | None], first: bool,
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


def draw_leaderboard_page(page: Page, data: ReportData, rows: Sequence[LeaderReport | None], first: bool) -> None:
    _leaderboard(page, data, rows, first)


def overview_height(count: int) -> float:
    return max(1.6, 0.26 * count + 0.3)


def draw_overview(page: Page, data: ReportData, leaders: Sequence[LeaderReport], part: str,
              top: float | None = None) -> None:
    if top is None:
        top = page.heading(f"Posts and behaviours per leader, {month_label(data.month)}{part}",
                           "Counts of the month. Reposts are shown for context but are not counted as the leader's "
                           "posts. A leader whose month was not collected shows \"no data\".")
    else:
        page.text(MARGIN, top, f"Posts and behaviours per leader, {month_label(data.month)}{part}", size=11,
                  fontweight="bold")
        top += 0.25
    height = min(A4[1] - top - 1.75, overview_height(len(leaders)))
    kinds = page.axes(MARGIN + 1.75, top + 0.3, 2.55, height)
    plot_posts_by_kind(kinds, leaders, month_label(data.month))
    behaviours = page.axes(MARGIN + 4.6, top + 0.3, 2.45, height)
    plot_behaviours(behaviours, leaders, month_label(data.month))
    # Left: the leader names (NAME_WIDTH_PT = 1.64 in, measured unhinted; hinting at PNG_DPI
    # rounds each advance up to a pixel, about 0.1 in more on a long name) and the ticks;
    # bottom: tick labels, axis label and a legend of up to three rows anchored 0.42 in under
    # the axes (reportcharts._legend_below).
    page.chart("overview-posts", (kinds, behaviours), around=(2.0, 0.32, 0.15, 1.05))


def board_height(rows: int) -> float:
    """Inches the leaderboard takes under its heading: header, rows, the parts' notes."""
    return 0.36 + rows * ROW_HEIGHT + 0.1 + 0.13 * len(PART_NOTES) + 0.12 * 2 + 0.1


def draw_leaderboard_and_overview(page: Page, data: ReportData) -> None:
    end = _leaderboard(page, data, board_rows(data), first=True)
    draw_overview(page, data, data.leaders, "", top=end + 0.15)


def draw_summary_page(page: Page, data: ReportData) -> None:
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
