"""The report only shapes and draws: it never imports the database layer, never queries and
never writes. The one report job (tracker.ops.report_job) reads and refreshes for it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pypdf

from report_fixture import build_sample
from tracker.domain import AccountStatus
from tracker.ops.report_job import build_report_data
from tracker.report.pdf import render_report
from tracker.store import open_db

REPORT_DIR = Path(__file__).resolve().parent.parent / "tracker" / "report"
FORBIDDEN = ("sqlite3", "sqlite_utils", "tracker.store", "tracker.ops", "tracker.label.stored", "tracker.metrics.monthly")


def test_importing_every_report_module_loads_no_database_module():
    code = ("import importlib, json, pkgutil, sys\n"
            "import tracker.report as report\n"
            "for module in pkgutil.iter_modules(report.__path__):\n"
            "    importlib.import_module('tracker.report.' + module.name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert "tracker.report.pdf" in loaded and "tracker.report.data" in loaded
    bad = [name for name in loaded if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_no_report_module_imports_the_database_layer_even_lazily():
    modules = sorted(REPORT_DIR.rglob("*.py"))
    assert len(modules) >= 5
    found = {path.name: name for path in modules for name in _imports(path)
             if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert found == {}


def test_no_report_module_holds_sql():
    # A query string in the report package would be reading behind the store's back.
    sql_words = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "CREATE TABLE")
    found = []
    for path in sorted(REPORT_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(word in node.value.upper() for word in sql_words):
                    found.append((path.name, node.value[:40]))
    assert found == []


def test_every_unavailable_account_status_warns_on_the_report(tmp_path):
    setup = build_sample(tmp_path, n_leaders=2)
    db = open_db(setup.db_path)
    db.execute("UPDATE accounts SET status = ?, status_detail = ? WHERE id = ?",
               [AccountStatus.BLOCKED.value, "the account blocks the viewer", "leader01:x"])
    db.conn.commit()
    try:
        data = build_report_data(db, setup.config, setup.month)
    finally:
        db.close()
    leaders = {leader.leader_id: leader for leader in data.leaders}
    warning = "x account @leader01_x is blocked: its posts cannot be collected (the account blocks the viewer)"
    assert warning in leaders["leader01"].warnings
    assert not any("cannot be collected" in text for text in leaders["leader00"].warnings)
    files = render_report(data, tmp_path / "out", formats=("pdf",))
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(files.pdf).pages)
    assert "x account @leader01_x is blocked: its posts cannot be collected" in text


def test_each_unavailable_status_has_its_warning():
    from tracker.report.data import _status_warning

    for status in AccountStatus:
        warning = _status_warning("bluesky", "ana", status.value, None)
        assert (warning is not None) == status.unavailable, status
    assert _status_warning("bluesky", "ana", "blocked", None) == (
        "bluesky account @ana is blocked: its posts cannot be collected")


def test_metrics_and_report_modules_and_functions_stay_small():
    # House style: no module over 500 lines, no function over 60 (SQL text and data tables aside).
    found = []
    for folder in ("metrics", "report"):
        for path in sorted((REPORT_DIR.parent / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > 500:
                found.append((path.name, "module", text.count("\n")))
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 60:
                        found.append((path.name, node.name, length))
    assert found == []
