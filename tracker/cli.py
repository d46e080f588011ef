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
    """Collect the demo organisation from local emulators: no network, no credentials.

    Starts X, Bluesky, Mastodon and blog emulators on 127.0.0.1, writes OUT/tracker.toml,
    collects into a fresh OUT/tracker.db and prints what was stored.
    """
    from tracker.demo import run_demo

    try:
        outcome = run_demo(Path(out_dir))
    except TrackerError as error:
        raise _fail(error) from None
    for line in outcome.summary_lines():
        click.echo(line)


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
    from tracker.archive import import_x_archive as run_import

    config = obj.config()
    try:
        result = run_import(config, leader_id, path)
    except TrackerError as error:
        raise _fail(error) from None
    click.echo(f"Imported {result.posts_read} posts from {len(result.files)} file(s) into {result.account_id}: "
               f"{result.new_posts} new, {result.posts_read - result.new_posts} already stored.")
