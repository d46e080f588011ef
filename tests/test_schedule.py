"""The scheduler: jobs, triggers and next fire times without starting it (APScheduler's
own trigger tests do the same), plus one run of the real `tracker schedule` process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.triggers.cron import CronTrigger
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import parse_config
from tracker.crontab import fire_times, longest_interval, parse_crontab
from tracker.demo.run import DEMO_TOKEN, PEERS, build_dataset
from tracker.demo.emulators.x import XEmulator
from tracker.ops.schedule import JOB_IDS, build_scheduler, plan_jobs, previous_month
from tracker.domain import ContextPost, utc_iso
from tracker.collect.sources.x import TOKEN_ENV_VAR

from ops_helpers import write_demo_config

LONDON = ZoneInfo("Europe/London")

BASE = """
[tracker]
timezone = "Europe/London"
[organisation]
name = "Example"
{extra}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ x = "ada" }}
"""


def config_from(extra: str = "", path: Path = Path("/cfg/tracker.toml")):
    return parse_config(BASE.format(extra=extra), path)


def test_jobs_have_fixed_ids_cron_triggers_and_safe_defaults():
    config = config_from()
    scheduler = build_scheduler(config)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert tuple(sorted(jobs)) == tuple(sorted(JOB_IDS)) == ("collect", "purge", "report")
    assert isinstance(scheduler._jobstores["default"], MemoryJobStore)
    assert str(scheduler.timezone) == "Europe/London"
    for job in jobs.values():
        assert isinstance(job.trigger, CronTrigger)
        assert str(job.trigger.timezone) == "Europe/London"
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 600)
        assert job.args == (config,)
    # Rebuilding never duplicates a job (explicit ids + replace_existing).
    assert len(build_scheduler(config).get_jobs()) == 3


def test_default_next_fire_times():
    config = config_from()
    jobs = {job.id: job for job in build_scheduler(config).get_jobs()}
    start = datetime(2026, 3, 1, 6, 30, tzinfo=LONDON)
    assert fire_times(jobs["collect"].trigger, start, 3) == [
        datetime(2026, 3, 1, 7, 0, tzinfo=LONDON), datetime(2026, 3, 1, 8, 0, tzinfo=LONDON),
        datetime(2026, 3, 1, 9, 0, tzinfo=LONDON)]
    # The report runs at 07:00 on the 2nd; the job then reports the previous month.
    assert jobs["report"].trigger.get_next_fire_time(None, start) == datetime(2026, 3, 2, 7, 0, tzinfo=LONDON)
    assert jobs["purge"].trigger.get_next_fire_time(None, start) == datetime(2026, 3, 2, 3, 30, tzinfo=LONDON)
    assert previous_month(config, datetime(2026, 3, 2, 7, 0, tzinfo=LONDON)) == "2026-02"
    # 00:30 on 1 January in London is still December in UTC-10 but January here.
    assert previous_month(config, datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc)) == "2025-12"


def test_configured_expressions_timezone_and_grace():
    config = config_from('[schedule]\ntimezone = "America/New_York"\ncollect = "15 */6 * * *"\n'
                         'report = "0 9 1 * *"\nmisfire_grace_time = 60\n')
    jobs = {job.id: job for job in build_scheduler(config).get_jobs()}
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 7, 1, 0, 0, tzinfo=new_york)
    assert [t.hour for t in fire_times(jobs["collect"].trigger, start, 4)] == [0, 6, 12, 18]
    assert jobs["collect"].trigger.get_next_fire_time(None, start) == datetime(2026, 7, 1, 0, 15, tzinfo=new_york)
    assert jobs["report"].misfire_grace_time == 60


def test_crontab_weekdays_mean_what_cron_means():
    # APScheduler 3.x reads 0 as Monday (APScheduler issue 286); crontab means Sunday.
    trigger = parse_crontab("0 9 * * 1-5", "UTC")
    saturday = datetime(2026, 1, 3, 10, 0, tzinfo=timezone.utc)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # Monday
    sunday_only = parse_crontab("0 9 * * 0", "UTC")
    assert sunday_only.get_next_fire_time(None, saturday) == datetime(2026, 1, 4, 9, 0, tzinfo=timezone.utc)
    assert parse_crontab("0 9 * * 7", "UTC").get_next_fire_time(None, saturday).weekday() == 6
    # The weekend gap is what staleness must tolerate.
    assert longest_interval(trigger, saturday).total_seconds() == 72 * 3600


def test_six_field_crontab_has_seconds_first():
    trigger = parse_crontab("*/2 * * * * *", "UTC")
    start = datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert [t.second for t in fire_times(trigger, start, 3)] == [2, 4, 6]


@pytest.mark.parametrize("expression", ["0 * * *", "61 * * * *", "0 25 * * *", "every hour"])
def test_bad_crontab_is_a_config_error_naming_file_and_key(expression):
    from tracker.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        config_from(f'[schedule]\ncollect = "{expression}"\n')
    message = str(caught.value)
    assert message.startswith("/cfg/tracker.toml: schedule.collect: expected a crontab expression")
    assert repr(expression) in message


def test_list_prints_each_job_with_three_next_times(tmp_path):
    path = tmp_path / "tracker.toml"
    path.write_text(BASE.format(extra='[schedule]\ncollect = "0 */4 * * *"\n'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "schedule", "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "time zone: Europe/London"
    assert [line.split()[0] for line in lines[1:]] == ["collect", "report", "purge"]
    assert all(line.count(", ") == 2 for line in lines[1:])
    plans = {plan.id: plan for plan in plan_jobs(parse_config(path.read_text(), path),
                                                 datetime(2026, 2, 1, 1, 0, tzinfo=LONDON))}
    assert [t.hour for t in plans["collect"].next_times] == [4, 8, 12]


def test_a_failing_job_is_logged_and_the_scheduler_keeps_running(caplog):
    """The real scheduler from build_scheduler, started in a thread; it fires the jobs."""
    config = config_from('[schedule]\ncollect = "* * * * * *"\npurge = "* * * * * *"\n')
    done = threading.Event()
    calls: list[str] = []

    def failing(config):
        calls.append("collect")
        raise RuntimeError("boom")

    def succeeding(config):
        calls.append("purge")
        if calls.count("purge") >= 2 and "collect" in calls:
            done.set()

    scheduler = build_scheduler(config, jobs={"collect": failing, "purge": succeeding})
    with caplog.at_level("ERROR", logger="tracker.ops.schedule"):
        thread = threading.Thread(target=scheduler.start, daemon=True)
        thread.start()
        try:
            assert done.wait(10), calls
        finally:
            scheduler.shutdown(wait=True)
            thread.join(10)
    assert not thread.is_alive()
    assert any("job collect failed: RuntimeError: boom" in r.getMessage() for r in caplog.records)
    # The failure did not stop the scheduler: purge kept running after it.
    assert calls.count("purge") >= 2


def test_unknown_job_id_is_rejected():
    with pytest.raises(ValueError, match="unknown job id 'fetch'"):
        build_scheduler(config_from(), jobs={"fetch": lambda c: None})


# --- the scheduled jobs themselves, fired by the real scheduler on a real database ----------

NEVER = "0 0 1 1 *"  # once a year: the jobs not under test stay quiet


def fire_once(config, job_id: str, timeout: float = 120) -> JobExecutionEvent:
    """Start the scheduler build_scheduler makes (its real job functions), let ``job_id`` fire
    once (its crontab in ``config`` fires every second), and return its execution event."""
    scheduler = build_scheduler(config)
    finished = threading.Event()
    events: list[JobExecutionEvent] = []

    def on_event(event: JobExecutionEvent) -> None:
        if event.job_id == job_id and not events:
            events.append(event)
            finished.set()

    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        assert finished.wait(timeout), f"job {job_id} did not finish within {timeout} s"
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout)
    assert events[0].exception is None, f"job {job_id} failed: {events[0].exception!r}"
    return events[0]


def test_the_scheduled_purge_job_purges_old_context_posts(tmp_path):
    from tracker import store

    path = tmp_path / "tracker.toml"
    path.write_text(BASE.format(extra=f'[retention]\ncontext_days = 30\n[schedule]\ncollect = "{NEVER}"\n'
                                      f'report = "{NEVER}"\npurge = "* * * * * *"\n').replace(
        "[tracker]\n", '[tracker]\ndatabase = "tracker.db"\n'), encoding="utf-8")
    config = parse_config(path.read_text(encoding="utf-8"), path)
    now = datetime.now(timezone.utc)

    def context(native_id: str) -> ContextPost:
        return ContextPost("x", native_id, "77", "critic", "Carla Critic", "2025-01-01T10:00:00Z",
                           f"why is it late? ({native_id})", "en", None, f"x:{native_id}", None, {"id": native_id})

    db = store.open_db(config.database)
    store.save_context_posts(db, [context("old")], seen_at=utc_iso(now - timedelta(days=40)))
    store.save_context_posts(db, [context("new")], seen_at=utc_iso(now - timedelta(days=20)))
    db.close()

    fire_once(config, "purge")

    with sqlite3.connect(config.database) as connection:
        rows = connection.execute("SELECT id, text, author_handle, purged_at IS NOT NULL FROM context_posts "
                                  "ORDER BY id").fetchall()
    assert rows == [("x:new", "why is it late? (new)", "critic", 0), ("x:old", None, None, 1)]


def test_the_scheduled_report_job_writes_last_months_report(tmp_path):
    from report_fixture import build_sample

    from tracker.months import last_complete_month

    month = last_complete_month("Europe/London")
    sample = build_sample(tmp_path / "sample", n_leaders=2, month=month)
    leaders = "".join(f'[[leaders]]\nid = "{leader.id}"\nname = "{leader.name}"\n'
                      f'accounts = {{ x = "{leader.accounts["x"]}" }}\n' for leader in sample.config.leaders)
    path = tmp_path / "tracker.toml"
    path.write_text(f'[tracker]\ndatabase = "{sample.db_path}"\ntimezone = "Europe/London"\n'
                    f'reports_dir = "out"\n[organisation]\nname = "Northwind Robotics"\n'
                    f'[schedule]\ncollect = "{NEVER}"\nreport = "* * * * * *"\npurge = "{NEVER}"\n{leaders}',
                    encoding="utf-8")
    config = parse_config(path.read_text(encoding="utf-8"), path)
    assert previous_month(config) == month

    fire_once(config, "report")

    folder = tmp_path / "out" / month
    assert (folder / f"report-{month}.pdf").read_bytes().startswith(b"%PDF-")
    csv_lines = (folder / f"metrics-{month}.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("leader_id,")
    assert {line.split(",")[0] for line in csv_lines[1:]} >= set(sample.leader_ids)


# --- the real daemon --------------------------------------------------------------------------

def _finished_runs(database: Path) -> list[tuple]:
    if not database.exists():
        return []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute("SELECT account_id, status, finished_at FROM runs "
                                  "WHERE finished_at IS NOT NULL").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        connection.close()


def test_tracker_schedule_collects_from_the_emulator_and_stops_on_sigterm(tmp_path):
    dataset = build_dataset(datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc))
    with XEmulator(dataset, bearer_token=DEMO_TOKEN) as emulator:
        # A 6-field crontab (seconds first): collect every 2 seconds, the test hook
        # documented under "## tracker schedule" in the README.
        config_path = write_demo_config(tmp_path, emulator.url,
                                        '[schedule]\ncollect = "*/2 * * * * *"\nmisfire_grace_time = 5\n')
        env = {**os.environ, TOKEN_ENV_VAR: DEMO_TOKEN}
        env.pop("TRACKER_CONFIG", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "tracker", "-v", "--config", str(config_path), "schedule"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        database = tmp_path / "tracker.db"
        lines: list[str] = []
        collected = threading.Event()

        def read_stderr() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.append(line)
                if "job collect finished" in line:
                    collected.set()
            collected.set()  # the process ended

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            # The scheduler logs each finished job (-v): wait for the first whole collection.
            assert collected.wait(60) and process.poll() is None, "".join(lines) or "no collection within 60 s"
            assert len(_finished_runs(database)) >= 11
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            reader.join(30)
            err = "".join(lines)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, err
    assert "received SIGTERM: stopping after the running job(s) finish" in err
    assert "scheduler stopped" in err
    connection = sqlite3.connect(database)
    runs = connection.execute("SELECT account_id, status, finished_at, requests FROM runs").fetchall()
    posts = connection.execute("SELECT count(*) FROM posts").fetchone()[0]
    connection.close()
    # Every run row is complete: SIGTERM waited for a collection in progress to finish.
    assert runs and all(status == "ok" and finished for _, status, finished, _ in runs)
    # The leaders and the peers ([[peers]] of the demo config) are collected alike.
    assert {account for account, *_ in runs} == {"maya:x", "tomas:x", "priya:x", "james:x", "elena:x",
                                                 *(f"{peer.id}:x" for peer in PEERS)}
    assert posts == sum(1 for t in dataset.tweets if t["author_id"].startswith(("11000000000000000", "13000"))
                        and t["author_id"] != "1100000000000000100")
