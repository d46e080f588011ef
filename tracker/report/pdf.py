"""Render a month's ``ReportData`` as an A4 PDF, a PNG per chart and a CSV.

Rendering never touches the database: ``tracker.ops.report_job.build_report_data`` reads it.
The pages are drawn by ``tracker.report.board`` (cover, summary, leaderboard, trends) and
``tracker.report.leader_page``; this module adds the method page and writes the files.
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


import gc
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages

from tracker import __version__, atomicfile
from tracker.metrics.csv_export import metrics_to_csv
from tracker.metrics.index import (FAST_HOURS, GOAL_ACTIVE_WEEKS, GOAL_ANSWERED_SHARE, GOAL_ANSWERS, GOAL_CRITICS,
                                   GOAL_DEBATES, GOAL_PROGRESS, SLOW_HOURS, WEIGHTS)
from tracker.report.data import ReportData
from tracker.report.summary import EMAIL_CHART, email_html, email_text
from tracker.report.board import (board_height, board_rows, draw_cover, draw_leaderboard_and_overview,
                                  draw_leaderboard_page, draw_overview, draw_summary_page, overview_height)
from tracker.report.leader_page import draw_leader_page
from tracker.report.page import (A4, CONTENT_WIDTH, LEADERBOARD_ROWS, MARGIN, OVERVIEW_LEADERS, PNG_DPI, RC, Chart,
                                 Page, month_label)
from tracker.report.text import printable, truncate, wrap

FORMATS = ("pdf", "png", "csv")


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



def _method(page: Page, data: ReportData) -> None:
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


def _plan(data: ReportData) -> list[tuple[str, Callable[[Page], None]]]:
    """Every page in order with its contents title, so page numbers are known before drawing."""
    leaders = data.leaders
    pages: list[tuple[str, Callable[[Page], None]]] = [("Summary", partial(draw_summary_page, data=data))]
    rows = board_rows(data)
    heading = 1.45  # a page heading with a three-line subtitle
    overview_room = 0.4 + overview_height(len(leaders)) + 1.75
    if heading + board_height(len(rows)) + overview_room <= A4[1]:
        pages.append(("Leaderboard and posts per leader", partial(draw_leaderboard_and_overview, data=data)))
    else:
        board = _chunks(rows, LEADERBOARD_ROWS)
        for i, chunk in enumerate(board):
            pages.append(("Leaderboard" if i == 0 else "", partial(draw_leaderboard_page, data=data, rows=chunk,
                                                                   first=i == 0)))
        overview = _chunks(leaders, OVERVIEW_LEADERS)
        for i, chunk in enumerate(overview):
            part = f" ({i + 1} of {len(overview)})" if len(overview) > 1 else ""
            pages.append(("Posts and behaviours per leader" if i == 0 else "",
                          partial(draw_overview, data=data, leaders=chunk, part=part)))
    by_name = sorted(leaders, key=lambda r: (r.name.casefold(), r.leader_id))
    for leader in by_name:
        pages.append((printable(leader.name), partial(draw_leader_page, data=data, leader=leader)))
    pages.append(("How to read this report", partial(_method, data=data)))
    return pages


def _footer(data: ReportData) -> str:
    span = f"{data.data_first[:10]} to {data.data_last[:10]}" if data.data_first and data.data_last else "no posts"
    text = (f"{printable(data.organisation)} · openness report {data.month} · posts {span} · "
            f"newest data read {data.newest_data or 'never'}")
    return truncate(text, (CONTENT_WIDTH - 0.8) * 72, 6)


def _save_chart_png(page: Page, chart: Chart, path: Path) -> None:
    """Save the chart alone, titles, labels and legends included, cropped from the page.

    Everything else on the page is hidden while saving: invisible artists are not drawn,
    so a PNG costs what its chart costs rather than a whole page of text at PNG_DPI. The
    crop comes from the layout (``Page.chart``): a box given to ``bbox_inches`` is used as
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
            cover = Page(footer, 1, total)
            draw_cover(cover, data, contents)
            if pdf is not None:
                pdf.savefig(cover.fig)
            seen: dict[str, int] = {}
            for number, (_title, draw) in enumerate(plan, start=2):
                page = Page(footer, number, total)
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
