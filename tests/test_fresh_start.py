"""No silent fresh start: only collect creates a database, in a folder that exists, and says so."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import ENV, write_config
from tracker.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_a_zero_byte_database_is_an_error_not_a_new_database(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    database = tmp_path / "tracker.db"
    database.write_bytes(b"")
    for command in (["collect"], ["metrics", "--month", "2026-10"], ["report", "--month", "2026-10"], ["status"],
                    ["purge"], ["budget"]):
        result = run("--config", str(path), *command)
        assert result.exit_code == 2, (command, result.output)
        assert f"Error: {database} is an empty file (0 bytes), not a tracker database" in result.stderr, command
        assert "Traceback" not in result.output
    assert database.stat().st_size == 0
    assert emulator.requests == []


def test_a_missing_database_folder_is_never_created(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    path.write_text(path.read_text(encoding="utf-8").replace('database = "tracker.db"',
                                                             'database = "unmounted/tracker.db"'), encoding="utf-8")
    result = run("--config", str(path), "collect")
    assert result.exit_code == 2
    assert f"the database's folder {tmp_path / 'unmounted'} does not exist" in result.stderr
    assert not (tmp_path / "unmounted").exists()
    assert emulator.requests == []


def test_only_collect_starts_a_new_database_and_says_so(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    database = tmp_path / "tracker.db"
    for command in (["metrics", "--month", "2026-10"], ["report", "--month", "2026-10"], ["status"], ["purge"]):
        result = run("--config", str(path), *command)
        assert result.exit_code in (1, 2), (command, result.output)
        assert f"no database at {database} yet: run `tracker collect` first" in result.stderr, command
        assert not database.exists(), command
    first = run("--config", str(path), "collect")
    assert first.exit_code == 0
    assert f"starting a new database at {database} (there was none)" in first.stderr
    again = run("--config", str(path), "collect")
    assert again.exit_code == 0 and "new database" not in again.output


def test_a_new_database_has_pages_that_fit_the_raw_posts_and_an_old_one_keeps_its_own(tmp_path):
    import sqlite3

    from tracker.store import open_db
    from tracker.store.db import PAGE_SIZE, tune_for_bulk_load

    assert PAGE_SIZE == 16384
    new = open_db(tmp_path / "new.db")
    assert new.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    tune_for_bulk_load(new)  # checkpoints every 40 MB of WAL, whatever the page size
    assert new.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (40 << 20) // PAGE_SIZE
    new.close()
    old_path = tmp_path / "old.db"
    old = sqlite3.connect(old_path)
    old.execute("PRAGMA journal_mode = wal")  # a database made before: 4 KB pages, WAL
    old.execute("CREATE TABLE kept (x)")
    old.close()
    reopened = open_db(old_path)
    assert reopened.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert reopened.table_names()[:1] == ["kept"] and "posts" in reopened.table_names()
    tune_for_bulk_load(reopened)
    assert reopened.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (40 << 20) // 4096
    reopened.close()
