"""A clean, reproducible demo: the README shows exactly what it prints; `make demo` installs
only the runtime; the package builds without setuptools warnings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- The output of `make demo`, exactly"


def _demo_block(text: str) -> tuple[int, int]:
    """Where the README's demo output block starts and ends (its content, without the fences)."""
    start = text.index("```\n", text.index(MARKER)) + 4
    return start, text.index("```\n", start)


def test_the_readme_shows_exactly_what_the_demo_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the README's paths are those of `make demo` in the repository: demo/...
    result = CliRunner().invoke(cli, ["demo"], env={})
    assert result.exit_code == 0, result.output
    readme = README.read_text(encoding="utf-8")
    start, end = _demo_block(readme)
    if os.environ.get("TRACKER_UPDATE_README") == "1":  # after a change to the demo's figures
        README.write_text(readme[:start] + result.stdout + readme[end:], encoding="utf-8")
        readme = README.read_text(encoding="utf-8")
        start, end = _demo_block(readme)  # the block's length changed with its content
    assert readme[start:end] == result.stdout, (
        "the README's demo output differs from `tracker demo`: rerun this test with TRACKER_UPDATE_README=1")
    again = CliRunner().invoke(cli, ["demo"], env={})
    assert again.stdout == result.stdout  # the same every run (fixed clock and seed)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_only_the_runtime(tmp_path):
    plan = subprocess.run(["make", "-n", "demo", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [f"{tmp_path / 'venv'}/bin/python -m pip install --quiet -e ."], plan
    assert "[test]" not in plan


def test_the_package_builds_without_packaging_warnings(tmp_path):
    pytest.importorskip("setuptools")
    build = subprocess.run([sys.executable, "-W", "always", "-c", "import setuptools; setuptools.setup()", "-q",
                            "build_py", "--build-lib", str(tmp_path / "lib")],
                           cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "tracker.data" not in build.stderr and "Warning" not in build.stderr, build.stderr
    assert (tmp_path / "lib" / "tracker" / "data" / "tracker.toml").is_file()  # the starter config ships
    assert (tmp_path / "lib" / "tracker" / "py.typed").is_file()
    assert not list((tmp_path / "lib").rglob("__pycache__"))
