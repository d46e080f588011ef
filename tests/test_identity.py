"""Identity is checked, never assumed: whose archive, whose handle, one account per leader."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from conftest import ENV, make_tweet, make_user, write_config
from tracker.cli import cli
from tracker.demo.run import DEMO_TOKEN, LEADERS, build_dataset
from tracker.demo.emulators.x import XEmulator
from tracker.demo.emulators.x_archive import write_archive
from tracker.collect.sources.x import TOKEN_ENV_VAR

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env if env is not None else ENV)


def count(database, sql: str) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


# --- archive import -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_dataset():
    return build_dataset(NOW)


def _leader(leader_id):
    return next(leader for leader in LEADERS if leader.id == leader_id)


def _archive(tmp_path, dataset, leader_id, **options):
    leader = _leader(leader_id)
    path = tmp_path / f"{leader_id}.zip"
    write_archive(path, dataset.by_author[leader.user_id], account=dataset.users_by_id[leader.user_id],
                  users=dataset.users_by_id, **options)
    return path


def _demo_config(tmp_path, url="http://127.0.0.1:9", handles=None):
    handles = handles or {leader_id: _leader(leader_id).handle for leader_id in ("maya", "james")}
    return write_config(tmp_path, url, leaders=handles)


def test_another_persons_archive_is_refused_for_a_leader_never_collected(tmp_path, demo_dataset):
    config_path = _demo_config(tmp_path)
    maya_archive = _archive(tmp_path, demo_dataset, "maya")
    result = run("--config", str(config_path), "import", "x-archive", "--leader", "james", str(maya_archive),
                 env={TOKEN_ENV_VAR: ""})
    assert result.exit_code == 1, result.output
    assert f"the archive is of @{_leader('maya').handle}" in result.stderr
    assert f"not of james's X account @{_leader('james').handle}" in result.stderr
    assert "nothing imported" in result.stderr
    assert count(tmp_path / "tracker.db", "SELECT count(*) FROM posts") == 0


def test_the_api_resolves_an_unknown_account_before_an_import(tmp_path, demo_dataset):
    maya_archive = _archive(tmp_path, demo_dataset, "maya")
    with XEmulator(demo_dataset, bearer_token=DEMO_TOKEN) as emulator:
        config_path = _demo_config(tmp_path, emulator.url)
        result = run("--config", str(config_path), "import", "x-archive", "--leader", "james", str(maya_archive),
                     env={TOKEN_ENV_VAR: DEMO_TOKEN})
        assert result.exit_code == 1, result.output
        james_id = _leader("james").user_id
        assert f"not of james's X account @{_leader('james').handle} (id {james_id})" in result.stderr
        assert [r["path"] for r in emulator.requests] == [f"/2/users/by/username/{_leader('james').handle}"]
    assert count(tmp_path / "tracker.db", "SELECT count(*) FROM posts") == 0


def test_a_renamed_leaders_own_archive_is_accepted_by_its_id(tmp_path, demo_dataset):
    maya = _leader("maya")
    maya_archive = _archive(tmp_path, demo_dataset, "maya")  # written under the old username
    renamed = build_dataset(NOW)
    renamed.rename_user(maya.user_id, "maya_renamed")
    with XEmulator(renamed, bearer_token=DEMO_TOKEN) as emulator:
        config_path = _demo_config(tmp_path, emulator.url, handles={"maya": "maya_renamed"})
        result = run("--config", str(config_path), "import", "x-archive", "--leader", "maya", str(maya_archive),
                     env={TOKEN_ENV_VAR: DEMO_TOKEN})
    assert result.exit_code == 0, result.output
    assert count(tmp_path / "tracker.db", "SELECT count(*) FROM posts") == len(demo_dataset.by_author[maya.user_id])


def test_an_archive_without_its_account_file_is_refused(tmp_path, demo_dataset):
    config_path = _demo_config(tmp_path)
    path = _archive(tmp_path, demo_dataset, "maya")
    import zipfile
    stripped = tmp_path / "stripped.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stripped, "w") as target:
        for name in source.namelist():
            if not name.endswith("account.js"):
                target.writestr(name, source.read(name))
    result = run("--config", str(config_path), "import", "x-archive", "--leader", "maya", str(stripped),
                 env={TOKEN_ENV_VAR: ""})
    assert result.exit_code == 1
    assert "no data/account.js" in result.stderr
    assert count(tmp_path / "tracker.db", "SELECT count(*) FROM posts") == 0


# --- a recycled handle ------------------------------------------------------------------------

def test_a_recycled_handle_stops_the_account_until_a_person_confirms(config, emulator, dataset):
    assert run("--config", str(config.path), "collect").exit_code == 0
    dataset.remove_user("101")
    dataset.add_users([make_user("555", "alice")])
    dataset.add_tweets([make_tweet(9_000_000, "555")])

    result = run("--config", str(config.path), "collect", "--summary")
    assert result.exit_code == 1
    assert "alice:x (account identity changed: @alice now belongs to user id 555, not to the stored user id 101" \
        in result.stderr
    assert "tracker accept-identity --leader alice --source x" in result.stderr
    assert count(config.database, "SELECT count(*) FROM posts WHERE id = 'x:9000000'") == 0
    assert count(config.database, "SELECT count(*) FROM accounts WHERE status = 'identity_changed'") == 1

    # It stays stopped, without a request, until a person confirms.
    before = len(emulator.requests)
    again = run("--config", str(config.path), "collect", "--leader", "alice")
    assert again.exit_code == 1 and "identity changed" in again.stderr
    assert len(emulator.requests) == before
    status = run("--config", str(config.path), "status")
    assert "identity_changed" in status.output

    accepted = run("--config", str(config.path), "accept-identity", "--leader", "alice", "--source", "x")
    assert accepted.exit_code == 0, accepted.output
    assert run("--config", str(config.path), "collect").exit_code == 0
    assert count(config.database, "SELECT count(*) FROM posts WHERE id = 'x:9000000'") == 1
    assert count(config.database, "SELECT platform_user_id FROM accounts WHERE id = 'alice:x'") == "555"

    nothing = run("--config", str(config.path), "accept-identity", "--leader", "alice", "--source", "x")
    assert nothing.exit_code == 1 and "not stopped by an identity change" in nothing.stderr


# --- one account, one leader ------------------------------------------------------------------

def test_one_platform_account_under_two_leaders_is_a_config_error(tmp_path, emulator):
    config_path = write_config(tmp_path, emulator.url, leaders={"alice": "alice", "bob": "@Alice"})
    result = run("--config", str(config_path), "collect")
    assert result.exit_code == 2
    assert "leaders[1].accounts.x: 'Alice' is already the x account of leaders[0]" in result.stderr
    assert emulator.requests == []
