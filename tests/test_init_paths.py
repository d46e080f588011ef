"""`tracker init` keeps a config's database and reports in its folder; printed paths are normalised."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import ENV, TOKEN, small_dataset, write_config
from tracker.cli import cli
from tracker.config import load_config
from tracker.demo.emulators.x import XEmulator


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_init_puts_the_database_and_reports_inside_the_configs_folder(tmp_path):
    first, second = tmp_path / "team-a" / "tracker.toml", tmp_path / "team-b" / "tracker.toml"
    for path in (first, second):
        result = run("--config", str(path), "init")
        assert result.exit_code == 0, result.output
        assert f"database {path.parent / 'data' / 'tracker.db'}" in result.stdout
    a, b = load_config(first), load_config(second)
    assert a.database == tmp_path / "team-a" / "data" / "tracker.db"
    assert a.reports_dir == tmp_path / "team-a" / "reports"
    assert a.database != b.database  # two configs in sibling folders never share a database
    assert "#" in first.read_text(encoding="utf-8")  # still the commented example


def test_init_makes_the_database_folder_so_the_first_collect_can_start_it(tmp_path):
    path = tmp_path / "team" / "tracker.toml"
    assert run("--config", str(path), "init").exit_code == 0
    database = load_config(path).database
    assert database.parent.is_dir() and not database.exists()
    with XEmulator(small_dataset(), bearer_token=TOKEN) as emulator:
        # The emulator's leaders in place of the starter's, with the database path init wrote.
        write_config(path.parent, emulator.url)
        path.write_text(path.read_text(encoding="utf-8").replace('database = "tracker.db"',
                                                                 'database = "data/tracker.db"'), encoding="utf-8")
        result = run("--config", str(path), "collect")
    assert result.exit_code == 0, result.output
    assert f"starting a new database at {database} (there was none)" in result.stderr
    assert database.exists()


def test_printed_paths_are_normalised(tmp_path):
    folder = tmp_path / "config"
    folder.mkdir()
    (tmp_path / "data").mkdir()  # collect starts a database only in a folder that exists
    with XEmulator(small_dataset(), bearer_token=TOKEN) as emulator:
        path = write_config(folder, emulator.url)
        text = path.read_text(encoding="utf-8").replace('database = "tracker.db"',
                                                        'database = "../data/tracker.db"\nreports_dir = "../reports"')
        path.write_text(text, encoding="utf-8")
        assert run("--config", str(folder / ".." / "config" / "tracker.toml"), "collect").exit_code == 0
    result = run("--config", str(path), "report", "--month", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "reports" / "2026-10" / "metrics-2026-10.csv")
    assert (tmp_path / "data" / "tracker.db").exists()
    missing = run("--config", str(folder / ".." / "config" / "tracker.toml"), "metrics", "--leader", "nobody")
    assert "/../" not in missing.output and str(path) in missing.output
