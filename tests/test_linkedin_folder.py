"""The unattended LinkedIn import: exports dropped in [sources.linkedin] exports_dir, each imported once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker import store
from tracker.cli import cli
from tracker.config import load_config
from tracker.errors import TrackerError
from tracker.demo.emulators.linkedin_export import Comment, Share, share_link, write_export
from tracker.collect.linkedin import find_dropped_exports, import_dropped_exports
from tracker.ops.schedule import collect_job

from platform_helpers import rows

SHARES = [Share("2026-03-02 09:15:00", share_link("share", 1), "Line one\nLine two"),
          Share("2026-03-05 18:00:00", share_link("share", 2), "Single line")]
COMMENTS = [Comment("2026-03-06 10:00:00", share_link("activity", 9), "Lena Fischer Yes, next week.")]
# Another leader's posts: their own URNs (a post id is unique across LinkedIn).
GRACE_SHARES = [Share("2026-03-03 09:15:00", share_link("share", 11), "Grace's post"),
                Share("2026-03-04 18:00:00", share_link("share", 12), "Grace's other post")]


def _config(tmp_path: Path, exports_dir: str = "exports"):
    path = tmp_path / "tracker.toml"
    path.write_text(f"""
[tracker]
database = "tracker.db"
[organisation]
name = "Test Org"
[sources.linkedin]
exports_dir = "{exports_dir}"

[[leaders]]
id = "ada"
name = "Ada Example"
accounts = {{ linkedin = "ada-example" }}

[[leaders]]
id = "grace"
name = "Grace Hopper"
accounts = {{ linkedin = "grace-hopper" }}
""", encoding="utf-8")
    (tmp_path / "exports").mkdir(exist_ok=True)
    return load_config(path)


def _started(config):
    """The database as `tracker collect` leaves it: the folder import runs after collect and
    never starts a database itself."""
    store.open_db(config.database, create=True).close()
    return config


def _drop(folder: Path, name: str, profile=("Ada", "Example"), shares=SHARES, as_zip=True) -> Path:
    return write_export(folder / name, shares, COMMENTS, profile, as_zip=as_zip)


def test_exports_are_found_by_file_name_or_subfolder(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    _drop(folder, "ada.2026-04-20.zip")
    _drop(folder / "grace", "Basic_LinkedInDataExport_05-01-2026.zip")
    _drop(folder / "grace", "unpacked-2026-03-01", as_zip=False)
    _drop(folder, "james", as_zip=False)  # the subfolder is itself an unpacked export
    (folder / "ada.zip.crdownload").write_bytes(b"partial")
    (folder / ".DS_Store").write_bytes(b"")
    assert find_dropped_exports(folder) == [
        ("ada", folder / "ada.2026-04-20.zip"),
        ("grace", folder / "grace" / "unpacked-2026-03-01"),
        ("grace", folder / "grace" / "Basic_LinkedInDataExport_05-01-2026.zip"),
        ("james", folder / "james"),
    ]


def test_each_export_is_imported_once_even_when_renamed(tmp_path):
    config = _started(_config(tmp_path))
    folder = tmp_path / "exports"
    path = _drop(folder, "ada.zip")
    _drop(folder / "grace", "export.zip", profile=("Grace", "Hopper"), shares=GRACE_SHARES)
    first = import_dropped_exports(config)
    assert [(d.leader_id, d.status) for d in first] == [("ada", "imported"), ("grace", "imported")]
    assert first[0].result is not None and (first[0].result.new_posts, first[0].result.new_comments) == (2, 1)
    assert rows(config, "SELECT leader_id, count(*) FROM posts GROUP BY leader_id") == [("ada", 3), ("grace", 2)]
    shutil.copy(path, folder / "ada.copy-of-the-same.zip")
    second = import_dropped_exports(config)
    assert [d.status for d in second] == ["done", "done", "done"]
    assert rows(config, "SELECT count(*) FROM exports") == [(2,)]
    assert rows(config, "SELECT account_id, status, new_posts FROM runs ORDER BY account_id") == [
        ("ada:linkedin", "ok", 3), ("grace:linkedin", "ok", 2)]
    # A newer export of the same leader is new content: imported, adding only its new rows.
    newer = [Share("2026-04-01 08:00:00", share_link("share", 3), "April"), *SHARES]
    _drop(folder, "ada.2026-04-02.zip", shares=newer)
    third = {d.path.name: d for d in import_dropped_exports(config)}
    assert third["ada.2026-04-02.zip"].status == "imported"
    assert third["ada.2026-04-02.zip"].result.new_posts == 1


def test_a_bad_export_fails_alone_and_is_tried_again(tmp_path):
    config = _started(_config(tmp_path))
    folder = tmp_path / "exports"
    _drop(folder, "ada.zip", profile=("Someone", "Else"))
    _drop(folder, "grace.zip", profile=("Grace", "Hopper"))
    (folder / "nobody.zip").write_bytes(b"")
    results = {d.leader_id: d for d in import_dropped_exports(config)}
    assert results["ada"].status == "failed" and "'Someone Else', not of leader 'ada'" in results["ada"].error
    assert results["grace"].status == "imported"
    assert results["nobody"].status == "failed" and "no leader 'nobody'" in results["nobody"].error
    assert rows(config, "SELECT count(*) FROM posts WHERE leader_id = 'ada'") == [(0,)]
    assert rows(config, "SELECT status FROM runs WHERE account_id = 'ada:linkedin'") == [("failed",)]
    again = {d.leader_id: d.status for d in import_dropped_exports(config)}
    assert again == {"ada": "failed", "grace": "done", "nobody": "failed"}
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status", "--json"])
    assert "not of leader 'ada'" in result.output


def test_the_scheduled_collect_job_imports_the_folder(tmp_path):
    config = _config(tmp_path)
    _drop(tmp_path / "exports", "ada.zip")
    collect_job(config)
    assert rows(config, "SELECT count(*) FROM posts WHERE account_id = 'ada:linkedin'") == [(3,)]
    collect_job(config)
    assert rows(config, "SELECT count(*) FROM runs") == [(1,)]


def test_collect_command_imports_the_folder_and_fails_on_a_bad_export(tmp_path):
    config = _config(tmp_path)
    _drop(tmp_path / "exports", "ada.zip")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "collect"])
    assert result.exit_code == 0, result.output
    assert "into ada:linkedin: 2 new post(s), 1 new comment(s)" in result.output
    (tmp_path / "exports" / "grace.zip").write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "collect"])
    assert result.exit_code == 1
    assert "grace.zip not imported" in result.output and "not a zip file" in result.output


def test_a_missing_exports_dir_is_a_config_error(tmp_path):
    config = _config(tmp_path, exports_dir="nowhere")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "collect"])
    assert result.exit_code == 2
    assert "sources.linkedin.exports_dir" in result.output and "is not a folder" in result.output


def test_the_folder_import_never_starts_a_database(tmp_path):
    config = _config(tmp_path)
    _drop(tmp_path / "exports", "ada.zip")
    with pytest.raises(TrackerError, match="no database at .* yet: run `tracker collect` first"):
        import_dropped_exports(config)
    assert not config.database.exists()
    assert list(tmp_path.glob("tracker.db*")) == []


def test_collect_as_json_keeps_stdout_parseable_when_an_export_is_imported(tmp_path):
    import json

    config = _config(tmp_path)
    _drop(tmp_path / "exports", "ada.zip")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "collect", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # no account is collected through an API here
    assert "into ada:linkedin: 2 new post(s), 1 new comment(s)" in result.stderr
