"""The ``tracker`` command line: parse options, call one library function, print.

Exit codes: 0 all good, 1 partial failure (some account failed, the rest was saved) or a
runtime error, 2 bad usage, config or database file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from pathlib import Path

import click

from tracker import __version__
from tracker.config import IMPORT_ONLY_PLATFORMS, Config, load_config
from tracker.errors import ConfigError, DatabaseError, NoDatabaseError, TrackerError
from tracker.secrets import RedactingFilter, redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
log = logging.getLogger("tracker")


class ConfigProblem(click.ClickException):
    """A bad config or bad usage: exit code 2, like click's own usage errors."""

    exit_code = 2


def _fail(error: TrackerError) -> click.ClickException:
    text = redact(str(error))
    if isinstance(error, (ConfigError, DatabaseError)):
        return ConfigProblem(text)
    return click.ClickException(text)


class TrackerGroup(click.Group):
    """The last line of defence: a library error that a command did not turn into a message
    still ends as one (never a traceback), with the same exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TrackerError as error:
            raise _fail(error) from None
        except sqlite3.Error as error:
            raise click.ClickException(f"database error: {redact(str(error))}") from None


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("tracker: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_tracker", False):
            root.removeHandler(existing)
    handler._tracker = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root.setLevel(level)
    # tweepy logs request headers, bearer token included, at DEBUG (client.py request()).
    logging.getLogger("tweepy").setLevel(max(level, logging.INFO))


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path

    def config(self) -> Config:
        try:
            return load_config(self.config_path)
        except TrackerError as error:
            raise _fail(error) from None


@click.group(cls=TrackerGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="tracker")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="TRACKER_CONFIG",
              show_envvar=True, help="Config file  [default: config/tracker.toml]")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Measure whether leaders "work out loud" in public.

    \b
    Quick start:
        tracker demo                  # the whole job on a demo organisation, offline
        tracker init                  # write a starter config/tracker.toml
        tracker collect               # collect new posts (e.g. hourly from cron)
        tracker metrics               # last month's metrics and openness index
        tracker report                # last month's PDF, PNG and CSV report
        tracker status                # health of every account
    """
    _setup_logging(verbose)
    ctx.obj = Context(config_path)


def _echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns; the last column (free text) is not padded."""
    widths = [max([len(header[i])] + [len(row[i]) for row in rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


@cli.command()
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--source", "platforms", multiple=True, metavar="PLATFORM", help="Only this platform: x, bluesky, mastodon or blog (repeatable).")
@click.option("--summary/--no-summary", default=None,
              help="Print a table of accounts at the end  [default: only on a terminal]")
@click.pass_obj
def collect(obj: Context, leader_ids, platforms, summary) -> None:
    """Collect new posts from every account into the database.

    Safe to run from cron every hour: a run with nothing new makes one request per
    account, and a second run started while one is going exits at once.

    \b
    Example:
        tracker --config config/tracker.toml collect --leader maya
    """
    from tracker.collect.run import collect as run_collect

    config = obj.config()
    show_progress = sys.stderr.isatty()
    bar = None

    def on_start(total: int) -> None:
        nonlocal bar
        if show_progress:
            bar = click.progressbar(length=total, label="Collecting", file=sys.stderr)
            bar.__enter__()

    def on_account(result) -> None:
        if bar is not None:
            bar.update(1)

    try:
        result = run_collect(config, leader_ids=leader_ids, platforms=platforms, on_start=on_start,
                             on_account=on_account)
    except TrackerError as error:
        raise _fail(error) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if summary or (summary is None and sys.stdout.isatty()):
        _echo_table(("account", "handle", "status", "new", "requests", "error"),
                    [(r.account_id, f"@{r.handle}", r.status, str(r.new_posts), str(r.requests), r.error or "")
                     for r in result.accounts])
    dropped = []
    if not platforms:  # the LinkedIn exports dropped in [sources.linkedin] exports_dir
        from tracker.collect.linkedin import import_dropped_exports

        try:
            dropped = import_dropped_exports(config, leader_ids)
        except TrackerError as error:
            raise _fail(error) from None
        for export in dropped:
            if export.result is not None:
                click.echo(f"Imported {export.path} into {export.result.account_id}: {export.result.new_posts} new "
                           f"post(s), {export.result.new_comments} new comment(s).")
    failed_exports = [export for export in dropped if export.status == "failed"]
    if result.failed or failed_exports:
        names = ", ".join(f"{r.account_id} ({r.error})" for r in result.failed)
        problems = [f"{len(result.failed)} of {len(result.accounts)} accounts failed (the rest was saved): {names}"] \
            if result.failed else []
        problems += [f"export {export.path} not imported: {export.error}" for export in failed_exports]
        raise click.ClickException("; ".join(problems))


def _history_cell(row) -> str:
    """"2022-06-07 (x_limit)": from when the account's posts are complete, and why not earlier."""
    if row.complete_since is None:
        return "-"
    return f"{row.complete_since[:10]} ({row.history_limit})" if row.history_limit else row.complete_since[:10]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for monitoring) instead of a table.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Show every account's health: last success, staleness, failures, this month's reads, last error.

    Exits 1 when any account's last successful collection is older than [health]
    stale_after_hours (default: three times the longest gap of [schedule] collect), so a
    monitoring system can alert on the exit code.

    \b
    Example:
        tracker status --json
    """
    from tracker.ops.status import account_health
    from tracker.store import open_db

    config = obj.config()
    try:
        db = open_db(config.database, create=False, read_only_ok=True)
    except TrackerError as error:
        raise _fail(error) from None
    try:
        health = account_health(config, db)
    finally:
        db.close()
    rows = health.accounts
    if as_json:
        click.echo(json.dumps(health.as_dict(), indent=2))
    else:
        _echo_table(("account", "status", "last success", "age (h)", "stale", "failures", "posts",
                     "requests (month)", "reads (month)", "newest export", "complete since", "last error"),
                    [(r.account_id, r.status, r.last_success_at or "never",
                      "-" if r.hours_since_success is None else f"{r.hours_since_success:g}",
                      "STALE" if r.stale else "no", str(r.consecutive_failures), str(r.posts_stored),
                      str(r.requests_month), str(r.posts_read_month),
                      (r.newest_export or "none") if r.platform in IMPORT_ONLY_PLATFORMS else "-",
                      _history_cell(r), r.last_error or "") for r in rows])
    if health.stale:
        collected = [r.account_id for r in health.stale if r.platform not in IMPORT_ONLY_PLATFORMS]
        imported = [r.account_id for r in health.stale if r.platform in IMPORT_ONLY_PLATFORMS]
        problems = []
        if collected:
            problems.append(f"{len(collected)} account(s) stale (no successful collection for more than "
                            f"{health.stale_after_hours:g} h): {', '.join(collected)}")
        if imported:
            problems.append(f"{len(imported)} account(s) with no export newer than "
                            f"{config.linkedin.stale_after_days} days (import a new one): {', '.join(imported)}")
        raise click.ClickException("; ".join(problems))


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(obj: Context, force: bool) -> None:
    """Write a starter config file (to --config, else config/tracker.toml).

    Its database (data/tracker.db) and reports (reports/) are inside the config's folder.
    """
    from tracker.config import STARTER_PATHS, find_config_path, starter_config_text

    path = find_config_path(obj.config_path)
    if path.exists() and not force:
        raise ConfigProblem(f"{path} already exists (use --force to overwrite it)")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config_text(), encoding="utf-8")
        # collect starts a database only in a folder that exists: make the starter's one here.
        (folder / STARTER_PATHS["database"]).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigProblem(f"cannot write {path}: {error.strerror}") from None
    click.echo(f"Wrote {path} (database {folder / STARTER_PATHS['database']}, reports in "
               f"{folder / STARTER_PATHS['reports_dir']}/). Edit the leaders, export TRACKER_X_BEARER_TOKEN, "
               "then run `tracker collect`.")


@cli.command()
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

    try:
        outcome = run_demo(Path(out_dir))
    except TrackerError as error:
        raise _fail(error) from None
    for line in outcome.summary_lines():
        click.echo(line)


# --- ops commands (issue 6: schedule, delivery, budget, data care) ---


class MonthParam(click.ParamType):
    """Every ``--month``: ``YYYY-MM`` through the one month parser, the same error everywhere.

    Months that have not begun are refused by the library, which knows the config's time zone.
    """

    name = "YYYY-MM"

    def convert(self, value, param, ctx) -> str:
        from tracker.months import parse_month

        try:
            parse_month(value)
        except TrackerError:
            self.fail(f"expected YYYY-MM, got {value!r}", param, ctx)
        return value


MONTH = MonthParam()


def _month_option(help_text: str):
    return click.option("--month", type=MONTH, default=None, metavar="YYYY-MM", help=help_text)


@cli.command()
@click.option("--list", "list_jobs", is_flag=True, help="Print each job with its next 3 run times and exit.")
@click.pass_obj
def schedule(obj: Context, list_jobs: bool) -> None:
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
        click.echo(f"time zone: {config.schedule.timezone}")
        for plan in plan_jobs(config):
            times = ", ".join(t.isoformat(timespec="seconds") for t in plan.next_times)
            click.echo(f"{plan.id:<8} {plan.expression:<16} next: {times}")
        return
    logging.getLogger("tracker").setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.getLogger().level)
    run_scheduler(config)


@cli.command("send-report")
@_month_option("The report's month as YYYY-MM  [default: last month]")
@click.pass_obj
def send_report(obj: Context, month) -> None:
    """Email the month's PDF from REPORTS_DIR/YYYY-MM/ through [delivery.email].

    On failure the report stays on disk and the command exits 1; run it again later.
    `tracker report --send` uses the same delivery function right after writing the report.

    \b
    Example:
        TRACKER_SMTP_PASSWORD=... tracker send-report --month 2026-05
    """
    from tracker.ops.delivery import send_monthly_report
    from tracker.ops.schedule import previous_month

    config = obj.config()
    try:
        pdf = send_monthly_report(config, month or previous_month(config))
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Sent {pdf} to {', '.join(config.email.recipients)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def budget(obj: Context, as_json: bool) -> None:
    """Estimate this month's X post and user reads and their cost, beside the actual reads so far.

    The estimate uses the number of X accounts, the [schedule] collect runs in the month and
    the posts per account over the last 30 days; prices and the cap come from [budget].

    \b
    Example:
        tracker budget
    """
    from tracker.collect.budget import estimate_budget
    from tracker.store import open_db

    config = obj.config()
    try:
        db = open_db(config.database, create=False, read_only_ok=True)
    except NoDatabaseError:
        db = None  # an estimate needs no history: every account counts as new
    except TrackerError as error:
        raise _fail(error) from None
    try:
        estimate = estimate_budget(config, db)
    finally:
        if db is not None:
            db.close()
    if as_json:
        click.echo(json.dumps(estimate.as_dict(), indent=2))
        return
    prices = config.budget
    click.echo(f"X read budget for {estimate.month} ({estimate.days_in_month} days)")
    click.echo(f"  accounts: {estimate.accounts}; collect runs: {estimate.runs}; "
               f"requests at least: {estimate.min_requests}")
    click.echo(f"  estimated post reads: {estimate.post_reads:,.0f} x ${prices.x_price_per_post_read:g} = "
               f"${estimate.post_reads * prices.x_price_per_post_read:,.2f}")
    click.echo(f"  estimated user reads: {estimate.user_reads:,.0f} x ${prices.x_price_per_user_read:g} = "
               f"${estimate.user_reads * prices.x_price_per_user_read:,.2f}")
    click.echo(f"  estimated cost: ${estimate.cost:,.2f}")
    click.echo(f"  actual so far: {estimate.actual_post_reads:,} post reads (${estimate.actual_cost:,.2f}) "
               f"in {estimate.actual_requests:,} requests")
    if estimate.cap:
        click.echo(f"  cap: {estimate.cap:,} post reads; {estimate.remaining:,} left"
                   + ("; WARNING: the estimate exceeds the cap, collection will stop at it"
                      if estimate.over_cap else ""))
    else:
        click.echo("  cap: none set ([budget] x_monthly_post_reads_cap)")


@cli.command()
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

    config = obj.config()
    try:
        result = purge_context(config)
    except TrackerError as error:
        raise _fail(error) from None
    if result.cutoff is None:
        click.echo("Retention is off ([retention] context_days = 0): nothing purged.")
    else:
        click.echo(f"Purged {result.purged} context post(s) first seen before {result.cutoff}.")


@cli.command()
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
    from tracker.ops.datacare import backup_database

    config = obj.config()
    try:
        result = backup_database(config.database, Path(path), overwrite=force)
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Backed up {config.database} to {result.path} ({result.pages} pages, {result.size:,} bytes).")


@cli.command("accept-identity")
@click.option("--leader", "leader_id", required=True, metavar="ID", help="The leader whose account it is.")
@click.option("--source", "platform", required=True, metavar="PLATFORM", help="The account's platform, e.g. x.")
@click.pass_obj
def accept_identity(obj: Context, leader_id: str, platform: str) -> None:
    """Confirm that an account stopped as `identity_changed` still belongs to its leader.

    When the stored user id of an account is gone and its handle now names another user id,
    collect stops that account (status `identity_changed`) rather than store someone else's
    posts. After checking that the handle is still the leader's, run this command: the next
    collect resolves the handle again and collects it.

    \b
    Example:
        tracker accept-identity --leader maya --source x
    """
    from tracker.store import account_id, open_db, save_identity_accepted

    config = obj.config()
    try:
        config.leader(leader_id)
    except TrackerError as error:
        raise _fail(error) from None
    try:
        db = open_db(config.database, create=False)
    except TrackerError as error:
        raise _fail(error) from None
    try:
        accepted = save_identity_accepted(db, account_id(leader_id, platform))
    finally:
        db.close()
    if not accepted:
        raise click.ClickException(f"{account_id(leader_id, platform)} is not stopped by an identity change: "
                                   "nothing to confirm")
    click.echo(f"Accepted: the next collect resolves {account_id(leader_id, platform)} again and collects it.")


# --- report commands (issue 4) ---

def _parse_formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from tracker.report.pdf import FORMATS

    formats = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [part for part in formats if part not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} (expected a comma-separated list of "
                                 f"{', '.join(FORMATS)})")
    return formats


@cli.command()
@_month_option(help_text="Calendar month to report  [default: the last complete month in the config's time zone]")
@click.option("--group", metavar="G", help="Only the leaders of this group (the leaders' `group` in the config).")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder  [default: the config's reports_dir/YYYY-MM]")
@click.option("--format", "formats", default="pdf,png,csv", show_default=True, callback=_parse_formats,
              help="What to write, comma-separated: pdf, png, csv.")
@click.option("--send", is_flag=True, help="Then email the PDF through [delivery.email] (like `tracker send-report`).")
@click.pass_obj
def report(obj: Context, month, group, leader_ids, out_dir, formats, send) -> None:
    """Write the monthly report: an A4 PDF, a PNG of every chart and the month's metrics as CSV.

    First labels new posts and computes the month's metrics (as `tracker metrics` does);
    the same database gives a byte-identical PDF.

    \b
    Example:
        tracker report --month 2026-03 --group Engineering --format pdf
    """
    from tracker.ops.report_job import send_report, write_report

    config = obj.config()
    try:
        files = write_report(config, month, group=group,
                             leader_ids=leader_ids, out_dir=Path(out_dir) if out_dir else None, formats=formats)
    except TrackerError as error:
        raise _fail(error) from None
    for path in (files.pdf, *files.pngs, files.csv):
        if path is not None:
            click.echo(str(path))
    if send:
        try:
            pdf = send_report(config, files)
        except TrackerError as error:
            raise _fail(error) from None
        click.echo(f"Sent {pdf.name} to {', '.join(config.email.recipients)}")


# --- metrics commands (issue 3) ---

# The bar for each label on hand-labelled posts the model did not see: a false "answer" or
# "debate" is a public claim about a named person, so precision is held higher than recall.
PRECISION_BAR = 0.75
RECALL_BAR = 0.65


@cli.command()
@click.option("--input", "input_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="JSON Lines file of posts  [default: stdin]")
@click.option("--org-handle", "org_handles", multiple=True, metavar="HANDLE",
              help="A handle of the organisation: replies to it are internal (repeatable).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="A model file from `tracker train`  [default: the shipped model]")
def label(input_path: str, org_handles: tuple[str, ...], model_path: str | None) -> None:
    """Label posts read as JSON Lines; write one JSON line per post (no config or database needed).

    Each input line: {"id", "platform", "author", "created_at", "text", "kind", "in_reply_to":
    {"author", "text", "is_self"} or null, "quoted": {"author", "text"} or null, "lang"}.
    Each output line: {"id", "labels": [...], "probabilities": {"answer", "debate", "progress"},
    "not_labelled": null or "language", "classifier_version", "evidence": {label: [...]}}.
    A malformed line stops the command with exit code 2 and its line number.

    \b
    Example:
        tracker label --input posts.jsonl > labels.jsonl
    """
    from tracker.label.jsonl import label_lines
    from tracker.errors import InputError

    try:
        with click.open_file(input_path, "r", encoding="utf-8") as handle:
            for line in label_lines(handle, org_handles, model_path):
                click.echo(line)
    except InputError as error:
        raise ConfigProblem(f"{input_path if input_path != '-' else 'stdin'}: {error}") from None
    except OSError as error:
        raise ConfigProblem(f"cannot read {input_path}: {error.strerror}") from None
    except TrackerError as error:
        raise _fail(error) from None


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cv", "folds", type=click.IntRange(2, 20), default=None, metavar="K",
              help="Cross-validate: retrain the model on K-1 folds and score the held-out fold, K times.")
@click.option("--by-author", is_flag=True, help="With --cv: folds grouped by author (no author in two folds), "
              "and the estimated count per author.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Without --cv: the model file to score  [default: the shipped model]")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
def evaluate(files: tuple[str, ...], folds: int | None, by_author: bool, model_path: str | None, fmt: str) -> None:
    """Measure the labeller against hand-labelled JSON Lines FILES (each line has "labels").

    With --cv K: stratified K-fold cross-validation, the model retrained for every fold:
    precision, recall and F1 with 95% intervals, the estimated count (sum of probabilities)
    against the true count, and a calibration table. Without --cv the given model is scored
    as it is, which is evidence only for posts it was not trained on (the command says so).
    Exit code 1 when any label is below precision 0.75 or recall 0.65.

    \b
    Example:
        tracker evaluate --cv 5 labels/train.jsonl labels/dev.jsonl
    """
    from tracker.errors import InputError

    try:
        if folds:
            from tracker.label.jsonl import read_labelled
            from tracker.label.training import cross_validate, format_evaluation as format_cv

            result = cross_validate(read_labelled(files), folds, by_author=by_author)
            scores = [(f.label, f.precision, f.recall) for f in result.labels]
            click.echo(json.dumps(result.to_json(), indent=2) if fmt == "json" else format_cv(result))
        else:
            from tracker.label.jsonl import evaluate as run_evaluate
            from tracker.label.jsonl import format_evaluation

            report = run_evaluate(files, model_path=model_path)
            scores = [(s.label, s.precision, s.recall) for s in report.scores]
            click.echo(format_evaluation(report) if fmt == "table" else json.dumps(
                {"posts": report.n_posts, "classifier_version": report.classifier_version,
                 "seen_in_training": list(report.seen_in_training),
                 "labels": {s.label: {"precision": s.precision, "recall": s.recall, "f1": s.f1}
                            for s in report.scores}}, indent=2))
    except InputError as error:
        raise ConfigProblem(str(error)) from None
    except TrackerError as error:
        raise _fail(error) from None
    below = [name for name, precision, recall in scores if precision < PRECISION_BAR or recall < RECALL_BAR]
    if below:
        raise click.ClickException(f"below the bar (precision >= {PRECISION_BAR}, recall >= {RECALL_BAR}): "
                                   + ", ".join(below))
    if fmt == "table":
        click.echo(f"All labels meet the bar (precision >= {PRECISION_BAR}, recall >= {RECALL_BAR}).")


@cli.command()
@click.option("--labels", "label_files", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE", help="Hand-labelled JSON Lines (repeatable).")
@click.option("--base", "base_path", type=click.Path(exists=True, dir_okay=False), default=None, metavar="MODEL",
              help="Adapt this model to the labels (a team's corrections) instead of training from scratch.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), default="labeller.npz",
              show_default=True, help="Where to write the model file.")
@click.option("--cv", "folds", type=click.IntRange(2, 20), default=None, metavar="K",
              help="Also cross-validate (K folds, the model retrained per fold) and store the figures in the "
                   "model file, where reports read them.")
def train(label_files: tuple[str, ...], base_path: str | None, out_path: str, folds: int | None) -> None:
    """Train the labeller on hand-labelled posts and write a model file.

    From scratch: one calibrated logistic regression per label, thresholds chosen on
    cross-validation, deterministic. With --base: the base model adapted to the labels
    (e.g. `tracker review` output corrected by a person), kept close to its weights, with
    a cross-validated comparison of the two on the corrections. Set `[labels] model` to use it.

    \b
    Examples:
        tracker train --labels labels/train.jsonl labels/dev.jsonl --out model.npz
        tracker train --base tracker/data/labeller.npz --labels reviewed.jsonl --out ours.npz
    """
    from tracker.errors import InputError
    from tracker.label.model import load_model, save_model
    from tracker.label.jsonl import read_labelled
    from tracker.label.training import adapt, fit, format_adapt_report

    try:
        data = read_labelled(label_files)
        if base_path:
            model, adapt_report = adapt(load_model(base_path), data)
            click.echo(format_adapt_report(adapt_report))
        else:
            model = fit(data)
        if folds:
            from tracker.label.training import cross_validate, format_evaluation as format_cv

            evaluation = cross_validate(data, folds)
            model.meta["cv"] = evaluation.to_json()
            click.echo(format_cv(evaluation))
        save_model(model, out_path)
    except InputError as error:
        raise ConfigProblem(str(error)) from None
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Wrote {click.format_filename(out_path)}: model {model.version}, trained on "
               f"{len(data.posts) if not base_path else model.meta['posts']} posts"
               f"{' (adapted to ' + str(len(data.posts)) + ' corrections)' if base_path else ''}; thresholds "
               + ", ".join(f"{name} {t:.2f}" for name, t in zip(model.meta["labels"], model.thresholds)))


@cli.command()
@_month_option("Calendar month whose posts to review  [default: the last complete month]")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many posts to write.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), required=True,
              help="JSON Lines file to write, in the shape `tracker train --labels` reads.")
@click.pass_obj
def review(obj: Context, month: str | None, leader_ids: tuple[str, ...], limit: int, out_path: str) -> None:
    """Write the month's least certain posts, current labels filled in, for a person to correct.

    Correct each line's "labels" (see the README's labelling guide), then adapt the model:
    `tracker train --base MODEL --labels FILE --out PATH`.

    \b
    Example:
        tracker review --month 2026-01 --leader maya --out review-2026-01.jsonl
    """
    from tracker.label.review import write_review

    config = obj.config()
    try:
        written = write_review(config, month, leader_ids, limit, Path(out_path))
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Wrote {written} post(s) to {click.format_filename(out_path)}: correct their labels, then "
               f"run `tracker train --base MODEL --labels {click.format_filename(out_path)} --out PATH`.")


@cli.command()
@_month_option("Calendar month in the config's time zone  [default: the last complete month]")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--platform", "platforms", multiple=True, metavar="P",
              help='Only this platform, e.g. x, or "all" for the cross-platform rows (repeatable).')
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="Output format; json and csv carry every metric key (README, Metrics).")
@click.pass_obj
def metrics(obj: Context, month: str | None, leader_ids, platforms, fmt: str) -> None:
    """Label the month's posts, compute its metrics and openness index, store and print them.

    The month's posts not yet labelled by the current classifier are labelled first. A month that was
    not collected for an account (e.g. before the history its collection reached) shows "no data"
    (coverage "none" in JSON and CSV) and empty figures, never zeros. On a read-only database the
    figures are computed and printed, not saved.

    \b
    Example:
        tracker metrics --month 2026-01 --leader maya --format json
    """
    from tracker.metrics.csv_export import metrics_to_csv
    from tracker.metrics.monthly import refresh_metrics
    from tracker.metrics.table import format_table

    config = obj.config()
    try:
        rows = refresh_metrics(config, month, leader_ids, platforms)
    except TrackerError as error:
        raise _fail(error) from None
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        click.echo(metrics_to_csv(rows), nl=False)
    else:
        click.echo(format_table(rows))


# --- import commands (issue 5) ---

@cli.group(name="import")
def import_group() -> None:
    """Load posts from files instead of the platform APIs."""


@import_group.command(name="x-archive")
@click.option("--leader", "leader_id", required=True, metavar="ID", help="The leader whose X archive this is.")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def import_x_archive(obj: Context, leader_id: str, path: Path) -> None:
    """Import an X "download your data" archive (zip or unpacked folder) for one leader.

    Reads data/tweets.js and its parts (data/tweets-part1.js, ...) as a stream, so any
    archive size fits in memory. Posts get the same ids as the API's: importing twice,
    or importing what `tracker collect` already read, adds no duplicate. The leader needs
    an x account in the config.

    \b
    Example:
        tracker import x-archive --leader maya ~/Downloads/twitter-2026-05-01.zip
    """
    from tracker.collect.x_archive import import_x_archive as run_import

    config = obj.config()
    try:
        result = run_import(config, leader_id, path)
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Imported {result.posts_read} posts from {len(result.files)} file(s) into {result.account_id}: "
               f"{result.new_posts} new, {result.posts_read - result.new_posts} already stored.")


@import_group.command(name="linkedin")
@click.option("--leader", "leader_id", required=True, metavar="ID", help="The leader whose LinkedIn export this is.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def import_linkedin(obj: Context, leader_id: str, paths: tuple[Path, ...]) -> None:
    """Import a leader's LinkedIn data export: the zip, its unpacked folder, or its CSV files.

    Shares.csv gives the leader's posts, Comments.csv every comment they wrote (stored as
    replies whose parent post is unknown). When Profile.csv is there, its name must match
    the leader's name in the config. Everything is checked before anything is stored: a
    bad file is refused (exit 2) and stores nothing. Importing again, or a newer export,
    adds only what is new. The leader needs a linkedin account in the config.

    \b
    Example:
        tracker import linkedin --leader ada ~/Downloads/Basic_LinkedInDataExport_07-13-2026.zip
    """
    from tracker.collect.linkedin import ExportError, import_linkedin_export

    config = obj.config()
    try:
        result = import_linkedin_export(config, leader_id, paths)
    except ExportError as error:
        raise ConfigProblem(redact(str(error))) from None
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Imported {result.rows_read} rows from {len(result.files)} file(s) into {result.account_id}: "
               f"{result.new_posts} new post(s), {result.new_comments} new comment(s); "
               f"covered {result.first_at or '-'} to {result.exported_at or '-'}.")
