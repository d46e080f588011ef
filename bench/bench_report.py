"""Benchmark (by hand): the monthly report for 50 leaders and 10 peers with twelve months of history.

    .venv/bin/python bench/bench_report.py [--leaders 50] [--peers 10]

Prints the total time, the time per chart, and the time bare matplotlib takes to draw and
save the same number of figures: one A4 figure with a bar chart per PDF page (into one
PdfPages) and one PNG per chart, at the same sizes and resolution. Target: the report
within 1.5x of the bare time.

Times are wall clock and, beside them, CPU time of this process (``time.process_time``):
on a shared machine the CPU times, and above all their ratio, vary less. The characters in
each PDF's text layer are printed too: matplotlib's PDF text costs per glyph (font layout,
glyph loading and subsetting for every character), so they explain most of the gap.

Last, the report is rendered again with matplotlib's save calls timed, which splits its
time into matplotlib drawing and saving these very figures and our own code (data,
layout, artists, PNG crops): the second reading of "bare matplotlib time".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report_fixture import build_sample  # noqa: E402

from tracker.report.page import A4, PNG_DPI  # noqa: E402
from tracker.report.pdf import render_report  # noqa: E402
from tracker.ops.report_job import build_report_data  # noqa: E402
from tracker.store import open_db  # noqa: E402


def bare_matplotlib(folder: Path, pages: int, pngs: int) -> tuple[float, float]:
    """Draw and save ``pages`` A4 figures into one PDF and ``pngs`` chart PNGs, no extras.

    Returns (wall, CPU) seconds.
    """
    weeks = range(6)
    started, cpu = time.perf_counter(), time.process_time()
    with PdfPages(folder / "bare.pdf", metadata={"CreationDate": None}) as pdf:
        for page in range(pages):
            fig = Figure(figsize=A4)
            FigureCanvasAgg(fig)
            ax = fig.add_axes((0.15, 0.5, 0.7, 0.2))
            for offset in range(4):
                ax.bar([w + offset * 0.2 for w in weeks], [(w * 7 + page + offset) % 11 for w in weeks], width=0.2,
                       label=f"series {offset}")
            ax.set_title(f"chart {page}")
            ax.set_xlabel("week")
            ax.set_ylabel("posts per week (count)")
            ax.legend()
            pdf.savefig(fig)
    for number in range(pngs):
        fig = Figure(figsize=(7.0, 2.6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for offset in range(4):
            ax.bar([w + offset * 0.2 for w in weeks], [(w * 5 + number + offset) % 9 for w in weeks], width=0.2,
                   label=f"series {offset}")
        ax.set_title(f"chart {number}")
        ax.legend()
        fig.savefig(folder / f"bare-{number}.png", dpi=PNG_DPI, metadata={"Software": None})
    return time.perf_counter() - started, time.process_time() - cpu


def _timed_savefig() -> tuple[dict[str, float], list[tuple[object, str, object]]]:
    """Wrap matplotlib's two save entry points to add up the time spent inside them.

    Saving is where matplotlib lays out and draws every artist (the PDF and Agg renderers);
    what is left of the report's time is ours: reading the data, deciding the layout,
    creating the artists, cropping the PNGs.
    """
    spent = {"seconds": 0.0, "depth": 0}
    originals = [(Figure, "savefig", Figure.savefig), (PdfPages, "savefig", PdfPages.savefig)]

    def wrap(function):
        def timed(*args, **kwargs):
            # PdfPages.savefig calls Figure.savefig: count only the outer call.
            spent["depth"] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent["depth"] -= 1
                if spent["depth"] == 0:
                    spent["seconds"] += time.perf_counter() - started
        return timed

    for owner, name, function in originals:
        setattr(owner, name, wrap(function))
    return spent, originals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaders", type=int, default=50)
    parser.add_argument("--peers", type=int, default=10, help="peers of two other organisations (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup = build_sample(folder / "db", n_leaders=args.leaders, history=13, n_peers=args.peers)
        db = open_db(setup.db_path)
        started, cpu = time.perf_counter(), time.process_time()
        data = build_report_data(db, setup.config, setup.month)
        read = time.perf_counter() - started
        files = render_report(data, folder / "report")
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
        # Again with matplotlib's own drawing and saving timed, to split the cost.
        saving, originals = _timed_savefig()
        started = time.perf_counter()
        render_report(data, folder / "report-timed")
        timed_total = time.perf_counter() - started
        for owner, name, function in originals:
            setattr(owner, name, function)
        db.close()
        from pypdf import PdfReader

        report_pages = PdfReader(files.pdf).pages
        pages = len(report_pages)
        charts = len(files.pngs)
        bare, bare_cpu = bare_matplotlib(folder, pages, charts)
        report_chars = sum(len(page.extract_text()) for page in report_pages)
        bare_chars = sum(len(page.extract_text()) for page in PdfReader(folder / "bare.pdf").pages)
    print(f"leaders: {args.leaders}, peers: {args.peers}, months of history: 12 (+1 for the change), "
          f"PDF pages: {pages}, PNG charts: {charts}")
    print(f"report total: {total:.2f} s (database read {read:.3f} s, render {total - read:.2f} s)")
    print(f"per chart (PNG): {total / charts * 1000:.0f} ms; per PDF page: {total / pages * 1000:.0f} ms")
    print(f"bare matplotlib, {pages} A4 PDF pages + {charts} PNG figures: {bare:.2f} s")
    print(f"ratio report / bare: {total / bare:.2f}x (target <= 1.5x)")
    print(f"CPU time: report {total_cpu:.2f} s, bare {bare_cpu:.2f} s, ratio {total_cpu / bare_cpu:.2f}x")
    print(f"PDF text layer: report {report_chars} characters, bare {bare_chars}")
    inside = saving["seconds"]
    print(f"of the report: matplotlib drawing and saving {inside:.2f} s, our code {timed_total - inside:.2f} s "
          f"(report / matplotlib's own time for the same figures: {timed_total / inside:.2f}x)")


if __name__ == "__main__":
    main()
