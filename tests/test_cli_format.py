"""One output option on every command that prints data: --format table|json|csv, and the
old --json still meaning --format json."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner

from conftest import ENV
from ops_helpers import write_demo_config
from tracker.cli import cli
from tracker.output import render_csv, render_table

DATA_COMMANDS = ("status", "budget", "metrics", "evaluate", "schedule")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


@pytest.mark.parametrize("name", DATA_COMMANDS)
def test_every_data_command_has_the_same_format_option(name):
    command = cli.commands[name]
    option = next(p for p in command.params if isinstance(p, click.Option) and "--format" in p.opts)
    assert isinstance(option.type, click.Choice) and tuple(option.type.choices) == ("table", "json", "csv")
    assert option.default == "table"


def test_render_table_pads_every_column_but_the_last():
    assert render_table(("a", "bb", "note"), [("xyz", "1", "free text"), ("q", "22", "")]).splitlines() == [
        "a    bb  note", "xyz  1   free text", "q    22  "]


def test_render_csv_writes_empty_cells_for_none_and_json_for_lists():
    text = render_csv([{"a": 1, "b": None, "c": ["x", "y"]}, {"a": 2, "c": {"k": 1}}])
    assert text == 'a,b,c\n1,,"[""x"", ""y""]"\n2,,"{""k"": 1}"\n'


def test_status_in_three_formats_and_the_old_json_flag(config, emulator):
    assert run("--config", str(config.path), "collect").exit_code == 0
    as_json = run("--config", str(config.path), "status", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert [row["account_id"] for row in data["accounts"]] == ["alice:x", "bob:x", "carol:x"]
    old = run("--config", str(config.path), "status", "--json")
    assert old.exit_code == 0 and json.loads(old.stdout)["accounts"] == data["accounts"]
    as_csv = run("--config", str(config.path), "status", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["account_id"], r["status"], r["posts_stored"]) for r in rows] == [
        ("alice:x", "ok", "3"), ("bob:x", "ok", "3"), ("carol:x", "ok", "3")]
    table = run("--config", str(config.path), "status", "--format", "table")
    assert table.stdout.splitlines()[0].startswith("account  status  last success")
    assert "--json" not in run("status", "--help").output  # hidden: documented as --format json


def test_budget_in_three_formats(tmp_path):
    config_path = str(write_demo_config(tmp_path, "http://127.0.0.1:9", "[budget]\nx_monthly_post_reads_cap = 1000\n"))
    data = json.loads(run("--config", config_path, "budget", "--format", "json").stdout)
    assert (data["accounts"], data["cap"], data["remaining"], len(data["per_account"])) == (11, 1000, 1000, 11)
    assert json.loads(run("--config", config_path, "budget", "--json").stdout) == data
    rows = list(csv.DictReader(io.StringIO(run("--config", config_path, "budget", "--format", "csv").stdout)))
    assert len(rows) == 1 and (rows[0]["accounts"], rows[0]["cap"], rows[0]["over_cap"]) == ("11", "1000", "False")
    assert "per_account" not in rows[0]
    assert run("--config", config_path, "budget").stdout.startswith("X read budget for ")


def test_a_format_that_does_not_exist_is_bad_usage(config):
    result = run("--config", str(config.path), "status", "--format", "xml")
    assert result.exit_code == 2 and "'xml' is not one of 'table', 'json', 'csv'" in result.stderr


def test_evaluate_as_csv_has_one_row_per_label_and_keeps_the_bar(tmp_path):
    from test_model import synthetic, write_jsonl

    from tracker.label.evaluation import PRECISION_BAR, RECALL_BAR

    labels = write_jsonl(tmp_path / "l.jsonl", synthetic())  # scored by the shipped model
    result = run("evaluate", str(labels), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["label"] for row in rows] == ["answer", "debate", "progress"]
    assert all(int(r["tp"]) + int(r["fp"]) + int(r["fn"]) + int(r["tn"]) == len(synthetic()) for r in rows)
    below = [r["label"] for r in rows if float(r["precision"]) < PRECISION_BAR or float(r["recall"]) < RECALL_BAR]
    assert result.exit_code == (1 if below else 0), result.output
    as_json = json.loads(run("evaluate", str(labels), "--format", "json").stdout)
    assert {name: round(v["precision"], 6) for name, v in as_json["labels"].items()} == {
        r["label"]: round(float(r["precision"]), 6) for r in rows}


def test_schedule_list_in_three_formats(tmp_path):
    path = tmp_path / "tracker.toml"
    path.write_text('[tracker]\ntimezone = "Europe/London"\n[organisation]\nname = "Example"\n'
                    '[schedule]\ncollect = "0 */4 * * *"\n[[leaders]]\nid = "ada"\nname = "Ada"\n'
                    'accounts = { x = "ada" }\n', encoding="utf-8")
    data = json.loads(run("--config", str(path), "schedule", "--list", "--format", "json").stdout)
    assert data["timezone"] == "Europe/London"
    assert [(job["id"], job["expression"], len(job["next"])) for job in data["jobs"]] == [
        ("collect", "0 */4 * * *", 3), ("report", "0 7 2 * *", 3), ("purge", "30 3 * * *", 3)]
    rows = list(csv.DictReader(io.StringIO(run("--config", str(path), "schedule", "--list", "--format", "csv").stdout)))
    assert [(r["id"], r["next"].split()) for r in rows] == [(job["id"], job["next"]) for job in data["jobs"]]
    table = run("--config", str(path), "schedule", "--list").stdout.splitlines()
    assert table[0] == "time zone: Europe/London" and table[1].startswith(f"{'collect':<8} {'0 */4 * * *':<16} next: ")
    refused = run("--config", str(path), "schedule", "--format", "json")
    assert refused.exit_code == 2 and "--format applies to --list only" in refused.stderr


def test_collect_prints_its_summary_as_json_and_csv_off_a_terminal(config, emulator):
    result = run("--config", str(config.path), "collect", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["account"] for row in rows} == {"alice:x", "bob:x", "carol:x"}
    assert all(row["status"] == "ok" and row["error"] is None for row in rows)
    assert sum(row["new_posts"] for row in rows) > 0
    result = run("--config", str(config.path), "collect", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["account"] for row in table} == {"alice:x", "bob:x", "carol:x"}
    assert {row["new_posts"] for row in table} == {"0"}  # nothing new on the second run
    # Off a terminal, the default table format stays quiet (cron).
    assert run("--config", str(config.path), "collect").stdout == ""
