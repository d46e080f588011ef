"""Commands that run and look after the installation: init, demo, status, schedule, purge, backup."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from tracker.cli.common import Context, echo_data, format_option
from tracker.config import IMPORT_ONLY_PLATFORMS
from tracker.output import render_table

STATUS_COLUMNS = ("account", "status", "last success", "age (h)", "stale", "failures", "posts", "requests (month)",
                  "reads (month)", "newest export", "complete since", "last error")


def _history_cell(complete_since: str | None, history_limit: str | None) -> str:
    """"2022-06-07 (x_limit)": from when the account's posts are complete, and why not earlier."""
    if complete_since is None:
        return "-"
    return f"{complete_since[:10]} ({history_limit})" if history_limit else complete_since[:10]


@click.command()
@format_option("Output format; json (for monitoring) and csv carry every field.", legacy_json=True)
@click.pass_obj
def status(obj: Context, fmt: str) -> None:
    """Show every account's health: last success, staleness, failures, this month's reads, last error.

    Exits 1 when any account's last successful collection is older than [health]
    stale_after_hours (default: three times the longest gap of [schedule] collect), so a
    monitoring system can alert on the exit code.

    \b
    Example:
        tracker status --format json
    """
    from tracker.ops.status import AccountHealth, check_health, stale_problems

    config = obj.config()
    health = check_health(config)
    table = [(r.account_id, r.status, r.last_success_at or "never",
              "-" if r.hours_since_success is None else f"{r.hours_since_success:g}",
              "STALE" if r.stale else "no", str(r.consecutive_failures), str(r.posts_stored),
              str(r.requests_month), str(r.posts_read_month),
              (r.newest_export or "none") if r.platform in IMPORT_ONLY_PLATFORMS else "-",
              _history_cell(r.complete_since, r.history_limit), r.last_error or "") for r in health.accounts]
    echo_data(fmt, table=lambda: render_table(STATUS_COLUMNS, table), data=health.as_dict,
              rows=lambda: [r.as_dict() for r in health.accounts], columns=AccountHealth.columns())
    problems = stale_problems(config, health)
    if problems:
        raise click.ClickException("; ".join(problems))


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(obj: Context, force: bool) -> None:
    """Write a starter config file (to --config, else config/tracker.toml).

    Its database (data/tracker.db) and reports (reports/) are inside the config's folder.
    """
    from tracker.config import STARTER_PATHS, find_config_path, write_starter_config

    path = find_config_path(obj.config_path)
    write_starter_config(path, overwrite=force)
    folder = path.parent
    click.echo(f"Wrote {path} (database {folder / STARTER_PATHS['database']}, reports in "
               f"{folder / STARTER_PATHS['reports_dir']}/). Edit the leaders, export TRACKER_X_BEARER_TOKEN, "
               "then run `tracker collect`.")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Folder for the demo's config, database and reports.")
def demo(out_dir: str) -> None:
    """Run the whole job on the demo organisation from local emulators: no network, no credentials.

    Starts X, Bluesky, Mastodon and blog emulators on 127.0.0.1, writes OUT/tracker.toml,
    collects into a fresh OUT/tracker.db, labels the posts, computes last month's metrics,
    writes its report under OUT/reports/ and prints the leaderboard and the report's path.
    The demo's clock is fixed (2026-11-10), so it prints the same every time.
    """
    from tracker.demo.run import run_demo

    for line in run_demo(Path(out_dir)).summary_lines():
        click.echo(line)


@click.command()
@click.option("--list", "list_jobs", is_flag=True, help="Print each job with its next 3 run times and exit.")
@format_option("With --list: output format; json and csv give each job's id, expression and next times.")
@click.pass_obj
def schedule(obj: Context, list_jobs: bool, fmt: str) -> None:
    """Run collect, report and purge on the [schedule] crontab expressions until stopped.

    A long-running service (e.g. a systemd unit): SIGTERM or Ctrl+C stops it after the
    running job finishes. A failing job is logged and the scheduler keeps going.

    \b
    Example:
        tracker --config config/tracker.toml schedule --list
        tracker -v --config config/tracker.toml schedule
    """
    from tracker.ops.schedule import plan_jobs, run_scheduler

    config = obj.config()
    if list_jobs:
        jobs = [{"id": plan.id, "expression": plan.expression,
                 "next": [t.isoformat(timespec="seconds") for t in plan.next_times]} for plan in plan_jobs(config)]
        echo_data(fmt, table=lambda: "\n".join(
            [f"time zone: {config.schedule.timezone}"]
            + [f"{job['id']:<8} {job['expression']:<16} next: {', '.join(job['next'])}" for job in jobs]),
            data=lambda: {"timezone": config.schedule.timezone, "jobs": jobs},
            rows=lambda: [{**job, "next": " ".join(job["next"])} for job in jobs])
        return
    if fmt != "table":
        raise click.UsageError("--format applies to --list only")
    logging.getLogger("tracker").setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.getLogger().level)
    run_scheduler(config)


@click.command()
@click.pass_obj
def purge(obj: Context) -> None:
    """Remove the text, raw JSON and author names of context posts older than [retention] context_days.

    Context posts are other people's posts that leaders replied to, quoted or reposted.
    Their ids stay, so labels derived from them are kept. The schedule runs this daily.

    \b
    Example:
        tracker purge
    """
    from tracker.ops.datacare import purge_context

    result = purge_context(obj.config())
    if result.cutoff is None:
        click.echo("Retention is off ([retention] context_days = 0): nothing purged.")
    else:
        click.echo(f"Purged {result.purged} context post(s) first seen before {result.cutoff}.")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_obj
def backup(obj: Context, path: str, force: bool) -> None:
    """Copy the database to PATH, consistently, even while a collection is running.

    Uses SQLite's online backup API; the copy is checked with PRAGMA integrity_check.

    \b
    Example:
        tracker backup backups/tracker-$(date +%F).db
    """
    from tracker.store.backup import backup_database

    config = obj.config()
    result = backup_database(config.database, Path(path), overwrite=force)
    click.echo(f"Backed up {config.database} to {result.path} ({result.pages} pages, {result.size:,} bytes).")
