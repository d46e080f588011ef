"""One way to print data: a table for people, JSON or CSV for programs.

Every command that prints data takes ``--format table|json|csv`` and renders through
these functions, so the three formats mean the same on every command.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

FORMATS = ("table", "json", "csv")


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the last column (free text) is not padded. No trailing newline."""
    widths = [max([len(header[i])] + [len(row[i]) for row in rows]) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
                     for row in [header, *rows])


def render_json(data: Any) -> str:
    """Indented JSON, keys in the order given. No trailing newline."""
    return json.dumps(data, indent=2)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return value


def render_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
               cell: Callable[[Any], Any] = _csv_cell) -> str:
    """A header line and one line per row (``columns``: default the first row's keys); by
    default empty cells for None, JSON for lists and tables. Ends with a newline."""
    columns = list(columns if columns is not None else (rows[0].keys() if rows else ()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return buffer.getvalue()
