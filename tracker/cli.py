"""The ``tracker`` command line: parse options, call one library function, print.

Exit codes: 0 all good, 1 partial failure (some account failed, the rest was saved) or a
runtime error, 2 bad usage or config.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import click

from tracker import __version__
from tracker.config import Config, load_config
from tracker.errors import ConfigError, TrackerError
from tracker.secrets import RedactingFilter, redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
log = logging.getLogger("tracker")


class ConfigProblem(click.ClickException):
    """A bad config or bad usage: exit code 2, like click's own usage errors."""

    exit_code = 2


def _fail(error: TrackerError) -> click.ClickException:
    text = redact(str(error))
    return ConfigProblem(text) if isinstance(error, ConfigError) else click.ClickException(text)


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


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="tracker")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="TRACKER_CONFIG",
              show_envvar=True, help="Config file  [default: config/tracker.toml]")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Measure whether leaders "work out loud" in public.

    \b
    Quick start:
        tracker demo                  # collect the demo organisation, offline
        tracker init                  # write a starter config/tracker.toml
        tracker collect               # collect new posts (e.g. hourly from cron)
        tracker status                # health of every account
    """
    _setup_logging(verbose)
    ctx.obj = Context(config_path)


def _print_results(results, stream_is_tty: bool) -> None:
    rows = [(r.account_id, f"@{r.handle}", r.status, str(r.new_posts), str(r.requests), r.error or "")
            for r in results]
    header = ("account", "handle", "status", "new", "requests", "error")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i]) for i in range(5)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[5])
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[5])


@cli.command()
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--source", "platforms", multiple=True, metavar="PLATFORM", help="Only this platform, e.g. x (repeatable).")
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
    from tracker.collect import collect as run_collect

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
        _print_results(result.accounts, sys.stdout.isatty())
    if result.failed:
        names = ", ".join(f"{r.account_id} ({r.error})" for r in result.failed)
        raise click.ClickException(
            f"{len(result.failed)} of {len(result.accounts)} accounts failed (the rest was saved): {names}"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for monitoring) instead of a table.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Show every account's last successful collection, posts stored, this month's reads and last error."""
    from tracker.status import account_statuses
    from tracker.store import open_db

    config = obj.config()
    if not config.database.exists():
        raise click.ClickException(f"no database at {config.database} yet: run `tracker collect` first")
    db = open_db(config.database)
    rows = account_statuses(db)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    header = ("account", "status", "last success", "posts", "requests (month)", "reads (month)", "last error")
    table = [(r.account_id, r.status, r.last_success_at or "never", str(r.posts_stored), str(r.requests_month),
              str(r.posts_read_month), r.last_error or "") for r in rows]
    widths = [max(len(header[i]), *(len(row[i]) for row in table)) if table else len(header[i]) for i in range(6)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[6])
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[6])


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(obj: Context, force: bool) -> None:
    """Write a starter config file (to --config, else config/tracker.toml)."""
    from tracker.config import find_config_path

    path = find_config_path(obj.config_path)
    if path.exists() and not force:
        raise ConfigProblem(f"{path} already exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    example = Path(__file__).with_name("data") / "tracker.toml"
    shutil.copyfile(example, path)
    click.echo(f"Wrote {path}. Edit the leaders, export TRACKER_X_BEARER_TOKEN, then run `tracker collect`.")


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Folder for the demo's config, database and reports.")
def demo(out_dir: str) -> None:
    """Collect the demo organisation from a local X emulator: no network, no credentials.

    Starts the emulator on 127.0.0.1, writes OUT/tracker.toml, collects into a fresh
    OUT/tracker.db and prints what was stored.
    """
    from tracker.demo import run_demo

    try:
        outcome = run_demo(Path(out_dir))
    except TrackerError as error:
        raise _fail(error) from None
    for line in outcome.summary_lines():
        click.echo(line)


# --- metrics commands (issue 3) ---

# The bar from issue 3, per label on a hand-labelled set: a false "answer" or "debate" is a
# public claim about a named person, so precision is held higher than recall.
PRECISION_BAR = 0.85
RECALL_BAR = 0.70


@cli.command()
@click.option("--input", "input_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="JSON Lines file of posts  [default: stdin]")
@click.option("--org-handle", "org_handles", multiple=True, metavar="HANDLE",
              help="A handle of the organisation: replies to it are internal (repeatable).")
def label(input_path: str, org_handles) -> None:
    """Label posts read as JSON Lines; write one JSON line per post (no config or database needed).

    Each input line: {"id", "platform", "author", "created_at", "text", "kind", "in_reply_to":
    {"author", "text", "is_self"} or null, "quoted": {"author", "text"} or null, "lang"}.
    Each output line: {"id", "labels": [...], "classifier_version", "evidence": {...}}.
    A malformed line stops the command with exit code 2 and its line number.

    \b
    Example:
        tracker label --input posts.jsonl > labels.jsonl
    """
    from tracker.classify import label_lines
    from tracker.errors import InputError

    try:
        with click.open_file(input_path, "r", encoding="utf-8") as handle:
            for line in label_lines(handle, org_handles):
                click.echo(line)
    except InputError as error:
        raise ConfigProblem(f"{input_path if input_path != '-' else 'stdin'}: {error}") from None
    except OSError as error:
        raise ConfigProblem(f"cannot read {input_path}: {error.strerror}") from None


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def evaluate(file: str) -> None:
    """Compare the labeller with a hand-labelled JSON Lines FILE (each line has "labels").

    Prints precision, recall, F1 and confusion counts per label. Exit code 1 when any label
    is below the bar: precision >= 0.85 and recall >= 0.70.

    \b
    Example:
        tracker evaluate ../shared/labels/dev.jsonl
    """
    from tracker.classify import evaluate as run_evaluate
    from tracker.classify import format_evaluation
    from tracker.errors import InputError

    try:
        report = run_evaluate(file)
    except InputError as error:
        raise ConfigProblem(f"{file}: {error}") from None
    click.echo(format_evaluation(report))
    below = [s.label for s in report.scores if s.precision < PRECISION_BAR or s.recall < RECALL_BAR]
    if below:
        raise click.ClickException(f"below the bar (precision >= {PRECISION_BAR}, recall >= {RECALL_BAR}): "
                                   + ", ".join(below))
    click.echo(f"All labels meet the bar (precision >= {PRECISION_BAR}, recall >= {RECALL_BAR}).")


def _check_month(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from tracker.metrics import parse_month

    if value is not None:
        try:
            parse_month(value)
        except TrackerError:
            raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from None
    return value


@cli.command()
@click.option("--month", callback=_check_month, metavar="YYYY-MM",
              help="Calendar month in the config's time zone  [default: the last complete month]")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--platform", "platforms", multiple=True, metavar="P",
              help='Only this platform, e.g. x, or "all" for the cross-platform rows (repeatable).')
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="Output format; json and csv carry every metric key (README, Metrics).")
@click.pass_obj
def metrics(obj: Context, month: str | None, leader_ids, platforms, fmt: str) -> None:
    """Label new posts, compute a month's metrics and openness index, store and print them.

    Posts not yet labelled by the current classifier are labelled first. A month that was
    not collected for an account shows coverage "none" and empty figures, never zeros.

    \b
    Example:
        tracker metrics --month 2026-01 --leader maya --format json
    """
    import csv
    import io

    from tracker.metrics import KEYS, format_table, refresh_metrics

    config = obj.config()
    try:
        rows = refresh_metrics(config, month, leader_ids, platforms)
    except TrackerError as error:
        raise _fail(error) from None
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=KEYS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        click.echo(format_table(rows))
