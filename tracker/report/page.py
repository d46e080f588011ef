"""The page every report page is drawn on: A4 in inches from the top-left corner, the
report's style, and the formatting of numbers shared by its pages."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from tracker.metrics.index import index_interval_is_degenerate
from tracker.report.text import FONT_FAMILY, wrap

A4 = (8.27, 11.69)  # inches, portrait
MARGIN = 0.6
CONTENT_WIDTH = A4[0] - 2 * MARGIN
PNG_DPI = 150
LEADERBOARD_ROWS = 38
OVERVIEW_LEADERS = 30
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 8,
    # Post text is printed as written: "$x$" must not become mathtext.
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
class Chart:
    """A chart of a page and the part of the page its PNG shows."""

    name: str
    axes: tuple[Axes, ...]
    box: Bbox  # inches from the page's bottom-left corner (what ``savefig(bbox_inches=...)`` takes)




def month_label(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


# --- formatting --------------------------------------------------------------------------------

def num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "no data"
    return f"{float(value):,.{digits}f}" if digits else f"{int(round(float(value))):,}"


def index_interval(row: dict[str, Any], short: bool = False) -> str:
    """The index interval at the index's own precision, or why there is none (see the method note)."""
    low, high = row.get("openness_index_low"), row.get("openness_index_high")
    if low is None or high is None:
        return ""
    if index_interval_is_degenerate(row):
        return "n/a†" if short else "no interval†"
    return f"{num(low, 1)}–{num(high, 1)}"


def signed_change(value: float | None) -> str:
    if value is None:
        return "–"
    return "±0.0" if abs(value) < 0.05 else f"{value:+.1f}".replace("-", "−")


# --- one page ----------------------------------------------------------------------------------

class Page:
    """An A4 figure addressed in inches from the top-left corner."""

    def __init__(self, footer: str, number: int, total: int):
        self.fig = Figure(figsize=A4, dpi=72)
        FigureCanvasAgg(self.fig)
        self.charts: list[Chart] = []
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
        self.charts.append(Chart(name, group, box))

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

