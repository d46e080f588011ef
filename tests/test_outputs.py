"""Report files appear whole or not at all: a report killed while writing keeps the last good one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from report_fixture import build_sample
from tracker import atomicfile


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def write_sample_config(tmp_path: Path, sample) -> Path:
    leaders = "".join(f'[[leaders]]\nid = "{leader.id}"\nname = "{leader.name}"\n'
                      f'accounts = {{ x = "{leader.accounts["x"]}" }}\n' for leader in sample.config.leaders)
    path = tmp_path / "report.toml"
    path.write_text(f'[tracker]\ndatabase = "{sample.db_path}"\n[organisation]\nname = "Northwind Robotics"\n'
                    f"{leaders}", encoding="utf-8")
    return path


def test_report_killed_while_writing_leaves_the_previous_files_whole(tmp_path):
    sample = build_sample(tmp_path, n_leaders=3)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tracker", "--config", str(write_sample_config(tmp_path, sample)), "report",
               "--month", sample.month, "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    pdf = out / f"report-{sample.month}.pdf"
    good = {name: (out / name).read_bytes() for name in os.listdir(out)}
    before = _snapshot(out)

    # Write the PDF again in a process that kills itself with SIGKILL at its first rename:
    # the moment a whole new file exists but has not replaced the old one. (Writing in place,
    # the old way, never renames: that process would finish, and the check below fails.)
    kill_at_rename = ("import os, signal, sys\n"
                      "os.replace = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)\n"
                      "from tracker.cli import cli\n"
                      "cli(sys.argv[1:], prog_name='tracker')\n")
    process = subprocess.run([sys.executable, "-c", kill_at_rename, *command[3:], "--format", "pdf"],
                             capture_output=True, timeout=300)
    assert process.returncode == -signal.SIGKILL, "the report finished without renaming a file"
    assert _snapshot(out) != before, "killed before anything was written"

    visible = sorted(name for name in os.listdir(out) if not name.startswith("."))
    assert visible == sorted(good)
    for name in visible:
        assert (out / name).read_bytes() == good[name], name
    assert len(pypdf.PdfReader(pdf).pages) > 1
    # Only hidden temporary files can be left behind, never under a name a glob would pick.
    assert all(name.endswith(atomicfile.PARTIAL_SUFFIX) for name in os.listdir(out) if name.startswith("."))


def test_a_failed_write_removes_the_temporary_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "summary.txt"
    atomicfile.write_text(target, "the good one\n")
    with pytest.raises(RuntimeError):
        with atomicfile.replacing(target) as temporary:
            temporary.write_text("half of the new", encoding="utf-8")
            raise RuntimeError("the disk is full")
    assert target.read_text(encoding="utf-8") == "the good one\n"
    assert os.listdir(tmp_path) == ["summary.txt"]
