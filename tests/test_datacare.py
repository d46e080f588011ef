"""Data care: purging third-party context text, and online backups during a write."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker import store
from tracker.cli import cli
from tracker.config import load_config
from tracker.ops.datacare import purge_context
from tracker.store.backup import backup_database
from tracker.errors import TrackerError
from tracker.domain import ContextPost

CONFIG = """
[tracker]
database = "tracker.db"
[organisation]
name = "Example"
[retention]
context_days = {days}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ x = "ada" }}
"""


def _config(tmp_path: Path, days: int = 365):
    path = tmp_path / "tracker.toml"
    path.write_text(CONFIG.format(days=days), encoding="utf-8")
    return load_config(path)


def _context(native_id: str) -> ContextPost:
    return ContextPost("x", native_id, "77", "critic", "Carla Critic", "2025-01-01T10:00:00Z",
                       f"@ada why is it late? ({native_id})", "en", None, f"x:{native_id}",
                       f"https://x.com/critic/status/{native_id}", {"id": native_id, "text": "..."})


def _rows(db):
    return db.execute("SELECT id, author_user_id, author_handle, author_name, created_at, text, url, raw, "
                      "purged_at FROM context_posts ORDER BY id").fetchall()


def test_purge_removes_old_third_party_text_and_keeps_ids(tmp_path):
    config = _config(tmp_path)
    db = store.open_db(config.database)
    store.save_context_posts(db, [_context("1")], seen_at="2025-01-02T00:00:00Z")  # 400 days before now
    store.save_context_posts(db, [_context("2")], seen_at="2025-12-01T00:00:00Z")  # 36 days before now
    now = datetime(2026, 1, 6, 0, 0, tzinfo=timezone.utc)

    result = purge_context(config, now)

    assert (result.purged, result.cutoff) == (1, "2025-01-06T00:00:00Z")
    assert _rows(db) == [
        ("x:1", "77", None, None, "2025-01-01T10:00:00Z", None, None, None, "2026-01-06T00:00:00Z"),
        ("x:2", "77", "critic", "Carla Critic", "2025-01-01T10:00:00Z", "@ada why is it late? (2)",
         "https://x.com/critic/status/2", '{"id":"2","text":"..."}', None),
    ]
    assert purge_context(config, now).purged == 0
    # A later page brings the old post back: first_seen stays, so it is purged again.
    store.save_context_posts(db, [_context("1")])
    assert _rows(db)[0][5] is not None
    assert purge_context(config, now).purged == 1
    assert _rows(db)[0][5] is None
    db.close()


def test_retention_zero_keeps_everything(tmp_path):
    config = _config(tmp_path, days=0)
    db = store.open_db(config.database)
    store.save_context_posts(db, [_context("1")], seen_at="2000-01-01T00:00:00Z")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "purge"])
    assert result.exit_code == 0
    assert result.output == "Retention is off ([retention] context_days = 0): nothing purged.\n"
    assert _rows(db)[0][5] is not None
    db.close()


def test_backup_during_an_open_write_transaction(tmp_path):
    config = _config(tmp_path)
    db = store.open_db(config.database)
    store.save_config(db, config)
    store.save_context_posts(db, [_context("1"), _context("2")])
    db.close()

    writer = sqlite3.connect(config.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO leaders (id, name) VALUES ('uncommitted', 'Not Yet')")
    try:
        result = CliRunner().invoke(cli, ["--config", str(config.path), "backup", str(tmp_path / "b" / "copy.db")])
    finally:
        writer.execute("COMMIT")
        writer.close()

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backed up {config.database} to {tmp_path / 'b' / 'copy.db'} (")
    copy = sqlite3.connect(tmp_path / "b" / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT id FROM leaders").fetchall() == [("ada",)]
        assert copy.execute("SELECT count(*) FROM context_posts").fetchone() == (2,)
        assert copy.execute("SELECT count(*) FROM _sqlite_migrations WHERE name = 'm003_ops'").fetchone() == (1,)
    finally:
        copy.close()
    assert not (tmp_path / "b" / "copy.db.partial").exists()


def test_backup_refuses_to_overwrite_without_force(tmp_path):
    config = _config(tmp_path)
    store.open_db(config.database).close()
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config.path), "backup", str(target)])
    assert result.exit_code == 1
    assert result.output == f"Error: {target} already exists (use --force to replace it)\n"
    assert target.read_text() == "keep me"
    result = runner.invoke(cli, ["--config", str(config.path), "backup", "--force", str(target)])
    assert result.exit_code == 0, result.output
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_backup_without_a_database(tmp_path):
    config = _config(tmp_path)
    with pytest.raises(TrackerError) as caught:
        backup_database(config.database, tmp_path / "copy.db")
    assert str(caught.value) == f"no database at {config.database} yet: run `tracker collect` first"
    assert not config.database.exists()  # a backup never creates the database
