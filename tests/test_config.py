"""Config validation: one clear message per problem, naming file, key path and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import X_DEFAULT_API_BASE_URL, load_config, parse_config
from tracker.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

VALID = """
[tracker]
database = "db/tracker.db"
timezone = "Europe/Paris"

[organisation]
name = "Org"
handles = { x = ["orgcorp", "@orghelp"] }

[[leaders]]
id = "ada"
name = "Ada"
accounts = { x = "@ada_l" }
"""


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, Path("conf/tracker.toml"))
    return str(raised.value)


def test_the_committed_example_config_is_valid_and_the_init_template_is_the_same_file():
    config = load_config(REPO / "config" / "tracker.toml")
    assert [leader.id for leader in config.leaders] == ["ada", "grace"]
    assert (REPO / "tracker" / "data" / "tracker.toml").read_bytes() == (REPO / "config" / "tracker.toml").read_bytes()


def test_defaults_and_normalized_handles():
    config = parse_config(VALID, Path("conf/tracker.toml"))
    assert config.database == Path("conf/db/tracker.db")  # relative to the config file
    assert config.reports_dir == Path("conf/reports")
    assert config.timezone == "Europe/Paris"
    assert config.backfill_days == 90
    assert config.x.api_base_url == X_DEFAULT_API_BASE_URL
    assert config.leaders[0].accounts == {"x": "ada_l"}
    assert config.organisation_handles == {"x": ("orgcorp", "orghelp")}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("[tracker]", "[tracker]\ncolour = 'blue'"),
         "conf/tracker.toml: tracker.colour: unknown key (expected one of: database, reports_dir, timezone)"),
        (('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"'),
         'conf/tracker.toml: tracker.timezone: expected an IANA time zone such as "Europe/London", got \'Mars/Olympus\''),
        (('accounts = { x = "@ada_l" }', 'accounts = { x = "not a handle!" }'),
         "conf/tracker.toml: leaders[0].accounts.x: expected an X username: 1 to 15 letters, digits or "
         "underscores, optionally after @, got 'not a handle!'"),
        (('accounts = { x = "@ada_l" }', 'accounts = { friendster = "ada" }'),
         "conf/tracker.toml: leaders[0].accounts.friendster: unknown platform (expected one of: blog, bluesky, linkedin, mastodon, x)"),
        (('name = "Ada"', 'name = 42'),
         "conf/tracker.toml: leaders[0].name: expected a non-empty string without control characters, got an integer 42"),
        (("[[leaders]]", "[collect]\nbackfill_days = -1\n\n[[leaders]]"),
         "conf/tracker.toml: collect.backfill_days: expected a whole number of days >= 0 (0 = all the API serves), at most 5000, got -1"),
        (("[[leaders]]", "[sources.x]\ntimeout = true\n\n[[leaders]]"),
         "conf/tracker.toml: sources.x.timeout: expected a number of seconds > 0, at most 300, got a boolean True"),
        (('id = "ada"', 'id = "Ada Lovelace"'),
         "conf/tracker.toml: leaders[0].id: expected a short id of lowercase letters, digits, - or _, got 'Ada Lovelace'"),
    ],
)
def test_each_problem_names_file_key_and_expectation(change, expected):
    old, new = change
    assert old in VALID
    assert problems(VALID.replace(old, new, 1)) == expected


def test_duplicate_ids_and_several_problems_are_reported_together():
    text = VALID + '\n[[leaders]]\nid = "ada"\nname = "Other"\naccounts = { x = "other" }\n'
    text = text.replace('timezone = "Europe/Paris"', 'timezone = 3')
    message = problems(text)
    assert message.splitlines() == [
        "conf/tracker.toml: tracker.timezone: expected an IANA time zone such as \"Europe/London\", got an integer 3",
        "conf/tracker.toml: leaders[1].id: duplicate id 'ada' (expected ids to be unique; first used by leaders[0])",
    ]


def test_missing_leaders_and_invalid_toml():
    assert problems('[organisation]\nname = "x"\n') == (
        "conf/tracker.toml: leaders: missing (expected at least one [[leaders]] table)")
    assert problems("[tracker\n").startswith("conf/tracker.toml: not valid TOML: ")


def test_config_path_comes_from_option_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^config/tracker.toml: no such config file"):
        load_config(None)
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "env.toml"))
    with pytest.raises(ConfigError, match="env.toml: no such config file"):
        load_config(None)
    with pytest.raises(ConfigError, match="opt.toml: no such config file"):
        load_config(tmp_path / "opt.toml")


def test_cli_reports_a_bad_config_with_exit_code_2_and_writes_nothing(tmp_path):
    path = tmp_path / "tracker.toml"
    path.write_text(VALID.replace('timezone = "Europe/Paris"', 'timezone = "Nowhere"'))
    result = CliRunner().invoke(cli, ["--config", str(path), "collect"],
                                env={"TRACKER_X_BEARER_TOKEN": "t0ken"})
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: tracker.timezone: expected an IANA time zone such as "
                             "\"Europe/London\", got 'Nowhere'\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.toml"]
