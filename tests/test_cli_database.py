"""Every database problem, in every command: one line naming the path and what to do, exit 2.

The read-only cases run the CLI in a child process without the file-permission override
that root has (CAP_DAC_OVERRIDE), so they test real permissions also when the suite runs as root.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ENV, make_tweet, make_user, write_config
from tracker.cli import cli
from tracker.demo.emulators.x_archive import write_archive

COMMANDS = {
    "status": ["status"],
    "metrics": ["metrics", "--month", "2026-10"],
    "report": ["report", "--month", "2026-10", "--format", "csv"],
    "budget": ["budget"],
    "collect": ["collect"],
    "purge": ["purge"],
    "import": ["import", "x-archive", "--leader", "alice", "ARCHIVE"],
}
OFFLINE = "http://127.0.0.1:9"  # nothing listens: every case must fail before a request


ARCHIVE: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def archive(tmp_path_factory):
    """An X archive of one post, for `import x-archive` (the archive is read before the database)."""
    path = write_archive(tmp_path_factory.mktemp("archive") / "alice.zip", [make_tweet(1_000_001, "101")],
                         account=make_user("101", "alice"))
    ARCHIVE[:] = [path]
    return path


def run(*args: str):
    args = tuple(str(ARCHIVE[0]) if arg == "ARCHIVE" else arg for arg in args)
    return CliRunner().invoke(cli, list(args), env=ENV)


def config_with_database(folder: Path, database: str) -> Path:
    path = write_config(folder, OFFLINE, extra="")
    text = path.read_text(encoding="utf-8").replace('database = "tracker.db"', f'database = "{database}"')
    path.write_text(text + "\n[retention]\ncontext_days = 30\n", encoding="utf-8")
    return path


def assert_one_clear_line(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("command", ["status", "metrics", "report", "purge"])
def test_no_database_is_exit_2_everywhere(tmp_path, command):
    config = config_with_database(tmp_path, "tracker.db")
    result = run("--config", str(config), *COMMANDS[command])
    assert_one_clear_line(result, f"no database at {tmp_path / 'tracker.db'} yet", "tracker collect")
    assert not (tmp_path / "tracker.db").exists()


def test_budget_needs_no_database(tmp_path):
    config = config_with_database(tmp_path, "tracker.db")
    result = run("--config", str(config), "budget")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "tracker.db").exists()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_database_path_that_is_a_folder(tmp_path, command):
    (tmp_path / "data.db").mkdir()
    config = config_with_database(tmp_path, "data.db")
    result = run("--config", str(config), *COMMANDS[command])
    assert_one_clear_line(result, f"{tmp_path / 'data.db'} is a folder, not a database file", "[tracker] database")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_file_that_is_not_a_database(tmp_path, command):
    (tmp_path / "tracker.db").write_bytes(b"these are my notes, not a database\n" * 200)
    config = config_with_database(tmp_path, "tracker.db")
    result = run("--config", str(config), *COMMANDS[command])
    assert_one_clear_line(result, f"{tmp_path / 'tracker.db'} is not a tracker database", "file is not a database")
    assert (tmp_path / "tracker.db").read_bytes().startswith(b"these are my notes")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_parent_that_is_a_file(tmp_path, command):
    (tmp_path / "data").write_text("a file where a folder should be\n", encoding="utf-8")
    config = config_with_database(tmp_path, "data/tracker.db")
    result = run("--config", str(config), *COMMANDS[command])
    assert_one_clear_line(result, f"{tmp_path / 'data'} is a file, not a folder")


# --- read-only databases: a real collection, then its file or folder made read-only ------------

def _without_permission_override() -> None:
    """In the child: give up root's power to ignore file permissions (no-op for other users)."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                os._exit(99)


def run_unprivileged(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                            env={**os.environ, **ENV, "COLUMNS": "200"}, preexec_fn=_without_permission_override,
                            timeout=300)
    if result.returncode == 99:
        pytest.skip("cannot drop root's file-permission override here")
    return result


@pytest.fixture
def collected(config, emulator):
    assert run("--config", str(config.path), "collect").exit_code == 0
    return config


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.name.startswith("tracker.db")}


@pytest.fixture(params=["file", "folder"])
def read_only(request, collected, tmp_path):
    """The collected database with its file, or its whole folder, made read-only."""
    database = collected.database
    folder = tmp_path / "readonly"
    folder.mkdir()
    for name in ("tracker.db",):
        shutil.copy2(database, folder / name)  # a clean copy: no -wal or -shm beside it
    shutil.copy2(collected.path, folder / "tracker.toml")
    if request.param == "file":
        (folder / "tracker.db").chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    else:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    yield request.param, folder
    folder.chmod(0o755)
    (folder / "tracker.db").chmod(0o644)


def test_metrics_and_report_work_on_a_read_only_database_and_save_nothing(read_only, collected):
    kind, folder = read_only
    before = _snapshot(folder)
    config = str(folder / "tracker.toml")
    result = run_unprivileged("--config", config, "metrics", "--month", "2026-10", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {(row["leader_id"], row["platform"]): row for row in json.loads(result.stdout)}
    assert rows[("alice", "x")]["posts"] == 3 and rows[("alice", "x")]["coverage"] == "full"
    assert f"the database {folder / 'tracker.db'} is read-only" in result.stderr
    assert "not saved" in result.stderr and "Traceback" not in result.stderr
    out = collected.path.parent / "report-out"
    report = run_unprivileged("--config", config, "report", "--month", "2026-10", "--format", "csv",
                              "--out", str(out))
    assert report.returncode == 0, report.stderr
    assert "alice,2026-10,x,3," in (out / "metrics-2026-10.csv").read_text(encoding="utf-8")
    status = run_unprivileged("--config", config, "status", "--json")
    assert status.returncode in (0, 1) and "Traceback" not in status.stderr
    assert [a["posts_stored"] for a in json.loads(status.stdout)["accounts"]] == [3, 3, 3]
    assert run_unprivileged("--config", config, "budget").returncode == 0
    after = _snapshot(folder)
    assert after["tracker.db"] == before["tracker.db"]  # not a byte written
    # SQLite may add its shared-memory index beside a read-only file, never a change to it.
    assert after.get("tracker.db-wal", b"") == b""


@pytest.mark.parametrize("command", ["collect", "purge"])
def test_commands_that_write_say_why_they_cannot(read_only, command):
    kind, folder = read_only
    before = _snapshot(folder)
    result = run_unprivileged("--config", str(folder / "tracker.toml"), *COMMANDS[command])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "read-only" in lines[0] or "Permission denied" in lines[0], lines[0]
    assert str(folder) in lines[0]
    assert _snapshot(folder)["tracker.db"] == before["tracker.db"]
