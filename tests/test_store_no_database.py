""""No database yet" has one owner (``store.check_database_path``), one message and one exit code."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import ENV, write_config
from tracker import store
from tracker.cli import cli
from tracker.errors import DatabaseError, NoDatabaseError

# Commands that read or write an existing database and never start one (status, metrics,
# report and purge are covered with the other database problems in test_cli_database.py).
COMMANDS = {
    "backup": ["backup", "BACKUP"],
    "accept-identity": ["accept-identity", "--leader", "alice", "--source", "x"],
    "review": ["review", "--month", "2026-10", "--out", "REVIEW"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_database_is_one_message_and_exit_2(tmp_path, command):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    args = [str(tmp_path / "copy.db") if arg == "BACKUP" else str(tmp_path / "review.jsonl") if arg == "REVIEW"
            else arg for arg in COMMANDS[command]]
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=ENV)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"Error: no database at {tmp_path / 'tracker.db'} yet: "
                                     "run `tracker collect` first"), result.stderr
    assert not (tmp_path / "tracker.db").exists()


def test_open_db_raises_no_database_error_only_without_create(tmp_path):
    with pytest.raises(NoDatabaseError, match="run `tracker collect` first"):
        store.open_db(tmp_path / "t.db", create=False)
    assert not (tmp_path / "t.db").exists()
    with pytest.raises(DatabaseError, match="does not exist") as caught:
        store.open_db(tmp_path / "missing" / "t.db", create=True)
    assert not isinstance(caught.value, NoDatabaseError)
    store.open_db(tmp_path / "t.db", create=True).close()
    assert (tmp_path / "t.db").stat().st_size > 0
