"""The package's layout is its architecture: stages import only the stages before them.

collect -> store -> label -> metrics -> report is the way data flows; a stage's code may
call the store and the stages its data comes from, never one downstream. The shared
modules (domain types, config, errors, secrets, months, atomic files, crontab) import no
stage. These tests read the import statements (including those inside functions), so a
shortcut taken anywhere in the package shows up here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tracker"

# Each stage's rank: a module may import its own stage, the shared modules, and stages of a
# lower rank. The store ranks below collect because collecting means saving through it.
RANKS = {"shared": 0, "store": 1, "collect": 2, "label": 2, "metrics": 3, "report": 4, "ops": 5,
         "demo": 6, "cli": 7}
SHARED = {"tracker", "tracker.domain", "tracker.config", "tracker.config_schema", "tracker.errors", "tracker.secrets",
          "tracker.months", "tracker.atomicfile", "tracker.crontab", "tracker.output"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> str:
    if module in SHARED:
        return "shared"
    part = module.split(".")[1]
    return part if part in RANKS else "cli"


def imports(path: Path) -> set[str]:
    """Every tracker module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tracker")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tracker"):
            for alias in node.names:  # "from tracker.label import rules" imports a module
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {module: imports(path) & set(MODULES) - {module} for module, path in MODULES.items()}


def test_the_scan_sees_the_package():
    # A scan that found nothing would pass every check below.
    assert {"tracker.cli", "tracker.store", "tracker.report.pdf", "tracker.collect.run"} <= set(MODULES)
    assert "tracker.store" in GRAPH["tracker.collect.run"]


def test_no_stage_imports_a_stage_downstream():
    wrong = sorted(f"{module} ({stage(module)}) imports {target} ({stage(target)})"
                   for module, targets in GRAPH.items() for target in targets
                   if stage(target) != stage(module) and RANKS[stage(target)] >= RANKS[stage(module)])
    assert wrong == []


def test_there_are_no_import_cycles():
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    # A package imports its own modules through its __init__; that is not a cycle of ours.
    cycles = [c for c in cycles if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(c, c[1:]))]
    assert cycles == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("tracker.report")))
def test_the_report_reads_no_database(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {n for n in names if n.split(".")[0] in ("sqlite3", "sqlite_utils") or n.startswith("tracker.store")}


def test_modules_and_functions_stay_small():
    # A newcomer reads a module in one sitting and a function on one screen. The migrations'
    # functions are SQL text, which reads best whole.
    big_modules = [f"{m}: {p.read_text(encoding='utf-8').count(chr(10))} lines" for m, p in MODULES.items()
                   if p.read_text(encoding="utf-8").count("\n") > 500]
    long_functions = [f"{m}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
                      for m, p in MODULES.items() if m != "tracker.store.migrations"
                      for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and (node.end_lineno or 0) - node.lineno + 1 > 60]
    assert big_modules == [] and long_functions == []


def test_only_the_store_runs_sql():
    # The store owns every query and write. The month's aggregate is the one exception: the
    # metric declarations write its select list, so it lives beside them (and only reads).
    allowed = {("tracker.metrics.monthly", "_month_counts")}
    sql = ("execute", "executemany", "executescript", "query")
    callers = []
    for module, path in MODULES.items():
        if module.startswith("tracker.store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in sql:
                inside = [f.name for f in functions if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)]
                if not any((module, name) in allowed for name in inside):
                    callers.append(f"{module}:{node.lineno}")
    assert "tracker.store.db" in MODULES
    assert callers == []


def test_the_file_imports_and_the_labeller_load_no_platform_sdk():
    # Only a platform's module imports its SDK: importing an archive or an export, or
    # labelling, needs none of them (and importing tweepy alone costs a tenth of a second).
    import subprocess
    import sys

    code = ("import sys, tracker.collect.x_archive, tracker.collect.linkedin, tracker.label.jsonl, "
            "tracker.metrics.monthly; print(sorted(m for m in ('tweepy', 'atproto', 'mastodon', 'requests') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]"
