"""Each metric is declared once (tracker.metrics.declarations); the metrics table, the CSV,
the README's table and the report's key figures are checked against the declarations."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tracker.metrics.csv_export import metrics_to_csv
from tracker.metrics.declarations import (AGGREGATES, BY_NAME, COUNTED, KEYS, METRICS, PEER_KEYS, column_types,
                                          metrics_markdown_table)
from tracker.store import open_db

ROOT = Path(__file__).resolve().parent.parent


def test_declarations_are_well_formed():
    assert len(set(KEYS)) == len(KEYS) == len(METRICS)
    assert len(set(COUNTED)) == len(COUNTED)
    for metric in METRICS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", metric.name), metric
        assert metric.type in ("INTEGER", "REAL", "TEXT"), metric
        assert metric.unit in ("count", "share", "hours", "score", "weeks", "text", "flag"), metric
        assert metric.description and "|" not in metric.description, metric
    # The first keys and the appended groups keep their places: the CSV's column order is public.
    assert KEYS[:4] == ("leader_id", "month", "platform", "posts")
    assert KEYS[-len(PEER_KEYS):] == PEER_KEYS
    assert KEYS.index("index_version") + 1 == KEYS.index("mentions_questions")


def test_the_migrated_metrics_table_has_one_column_per_declared_key(tmp_path):
    db = open_db(tmp_path / "fresh.db")
    try:
        columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(metrics)")}
    finally:
        db.close()
    assert columns == column_types()


def test_csv_columns_are_the_declared_keys():
    header = metrics_to_csv([]).splitlines()[0].split(",")
    assert header == list(KEYS)


def test_aggregates_are_named_after_their_metric():
    names = {aggregate.name for aggregate in AGGREGATES}
    for metric in METRICS:
        assert (metric.aggregate is not None) == (metric.name in names), metric.name


def test_readme_lists_every_declared_metric_with_its_description():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert metrics_markdown_table() in readme, (
        "the README's metrics table differs from the declarations: paste the output of "
        "`python -c 'from tracker.metrics.declarations import metrics_markdown_table as t; print(t())'`")
    rows = {match.group(1): match.group(2) for match in
            re.finditer(r"^\| `([a-z0-9_]+)` \| [a-z]+ \| [a-z]+ \| (.+) \|$", readme, re.MULTILINE)}
    for metric in METRICS:
        assert rows.get(metric.name) == metric.description, metric.name


def _keys_read_by_report() -> set[str]:
    """String keys the report reads from a metrics row: ``row.get("k")``, ``row["k"]`` and the
    like, on the names the report gives its metrics rows."""
    row_names = {"row", "r", "metrics_row", "previous"}
    found: set[str] = set()
    for path in sorted((ROOT / "tracker" / "report").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target, key = None, None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and node.args and isinstance(node.args[0], ast.Constant):
                target, key = node.func.value, node.args[0].value
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                target, key = node.value, node.slice.value
            if isinstance(key, str) and (isinstance(target, ast.Name) and target.id in row_names
                                         or isinstance(target, ast.Attribute) and target.attr == "metrics"):
                found.add(key)
    return found


def test_the_report_reads_only_declared_metrics():
    read = _keys_read_by_report()
    assert {"openness_index", "questions_received", "active_weeks", "median_likes"} <= read
    assert sorted(key for key in read if key not in BY_NAME) == []
