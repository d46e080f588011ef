"""The one CSV writer for monthly metrics, shared by ``tracker metrics --format csv`` and the
report's ``metrics.csv`` so that the two can never disagree ("the CSV equals
`tracker metrics --format csv` for the month").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tracker.metrics.declarations import KEYS
from tracker.output import render_csv


def _cell(value: Any) -> str:
    # NULL stays an empty cell: a month without collection is "no data", never 0.
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float, on every platform.
        return repr(value)
    return str(value)


def metrics_to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Metrics rows (dicts keyed as ``tracker.metrics.declarations.KEYS``) as CSV text with a header line.

    Columns are exactly ``tracker.metrics.declarations.KEYS`` in that order; keys a row lacks are empty
    cells and others (``computed_at``: the wall-clock time of the computation, which would
    make the same data give a different file) are not written. Lines end with ``\\n``.
    """
    return render_csv(list(rows), KEYS, cell=_cell)
