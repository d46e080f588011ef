"""Every ``--month`` goes through one parser: YYYY-MM, one error, no future months."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from conftest import write_config
from tracker.cli import cli
from tracker.errors import ConfigError
from tracker.months import check_requested_month

MONTH_COMMANDS = (["metrics"], ["report"], ["send-report"])


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={})


@pytest.mark.parametrize("command", MONTH_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("bad", ["2022-1", "2022-13", "22-01", "2022/01", "2022-01-05"])
def test_a_malformed_month_is_refused_the_same_way_everywhere(tmp_path, command, bad):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    result = run("--config", str(config), *command, "--month", bad)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--month': expected YYYY-MM, got {bad!r}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", MONTH_COMMANDS, ids=lambda c: c[0])
def test_help_shows_yyyy_mm(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "--month YYYY-MM" in result.output
    assert "%Y" not in result.output


@pytest.mark.parametrize("command", MONTH_COMMANDS, ids=lambda c: c[0])
def test_a_future_month_is_refused(tmp_path, command):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    result = run("--config", str(config), *command, "--month", "2999-01")
    assert result.exit_code == 2, result.output
    assert "month: 2999-01 has not begun yet" in result.stderr
    assert not (tmp_path / "tracker.db").exists()
    assert not (tmp_path / "reports").exists()


def test_the_month_in_progress_is_allowed_and_the_next_is_not():
    now = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)  # already April in Europe/Berlin
    assert check_requested_month("2026-03", "UTC", now) == "2026-03"
    with pytest.raises(ConfigError, match="2026-04 has not begun yet"):
        check_requested_month("2026-04", "UTC", now)
    assert check_requested_month("2026-04", "Europe/Berlin", now) == "2026-04"
