"""Commands that fill the database: collect, import, accept-identity, and the X read budget."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tracker.cli.common import Context, echo_data, format_option
from tracker.output import render_table


@click.command()
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--source", "platforms", multiple=True, metavar="PLATFORM", help="Only this platform: x, bluesky, mastodon or blog (repeatable).")
@click.option("--summary/--no-summary", default=None,
              help="Print a table of accounts at the end  [default: only on a terminal, or with --format json or csv]")
@format_option("The summary's format (json and csv print it even off a terminal).")
@click.pass_obj
def collect(obj: Context, leader_ids: tuple[str, ...], platforms: tuple[str, ...], summary: bool | None,
            fmt: str) -> None:
    """Collect new posts from every account into the database.

    Safe to run from cron every hour: a run with nothing new makes one request per
    account, and a second run started while one is going exits at once.

    \b
    Example:
        tracker --config config/tracker.toml collect --leader maya
    """
    from tracker.collect.run import AccountResult, collect as run_collect

    config = obj.config()
    bar: Any = None

    def on_start(total: int) -> None:
        nonlocal bar
        if sys.stderr.isatty():
            bar = click.progressbar(length=total, label="Collecting", file=sys.stderr)
            bar.__enter__()

    def on_account(result: AccountResult) -> None:
        if bar is not None:
            bar.update(1)

    try:
        result = run_collect(config, leader_ids=leader_ids, platforms=platforms, on_start=on_start,
                             on_account=on_account)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if summary or (summary is None and (sys.stdout.isatty() or fmt != "table")):
        table = [(r.account_id, f"@{r.handle}", str(r.status), str(r.new_posts), str(r.requests), r.error or "")
                 for r in result.accounts]
        rows = [{"account": r.account_id, "handle": r.handle, "status": str(r.status), "new_posts": r.new_posts,
                 "requests": r.requests, "posts_read": r.posts_read, "error": r.error} for r in result.accounts]
        echo_data(fmt, table=lambda: render_table(("account", "handle", "status", "new", "requests", "error"), table),
                  data=lambda: rows, rows=lambda: rows,
                  columns=("account", "handle", "status", "new_posts", "requests", "posts_read", "error"))
    problems = [f"{len(result.failed)} of {len(result.accounts)} accounts failed (the rest was saved): "
                + ", ".join(f"{r.account_id} ({r.error})" for r in result.failed)] if result.failed else []
    if not platforms:  # the LinkedIn exports dropped in [sources.linkedin] exports_dir
        from tracker.collect.linkedin import import_dropped_exports

        for export in import_dropped_exports(config, leader_ids):
            if export.result is not None:
                # With --format json or csv, stdout carries only the summary's data.
                click.echo(f"Imported {export.path} into {export.result.account_id}: {export.result.new_posts} new "
                           f"post(s), {export.result.new_comments} new comment(s).", err=fmt != "table")
            if export.status == "failed":
                problems.append(f"export {export.path} not imported: {export.error}")
    if problems:
        raise click.ClickException("; ".join(problems))


@click.command()
@format_option("Output format; json and csv carry every figure.", legacy_json=True)
@click.pass_obj
def budget(obj: Context, fmt: str) -> None:
    """Estimate this month's X post and user reads and their cost, beside the actual reads so far.

    The estimate uses the number of X accounts, the [schedule] collect runs in the month and
    the posts per account over the last 30 days; prices and the cap come from [budget].

    \b
    Example:
        tracker budget
    """
    from tracker.collect.budget import estimate_configured_budget, format_budget

    config = obj.config()
    estimate = estimate_configured_budget(config)
    summary = {key: value for key, value in estimate.as_dict().items() if key != "per_account"}
    echo_data(fmt, table=lambda: format_budget(estimate, config.budget), data=estimate.as_dict,
              rows=lambda: [summary])


@click.command("accept-identity")
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
    from tracker.collect.identity import accept_identity as run_accept

    account = run_accept(obj.config(), leader_id, platform)
    click.echo(f"Accepted: the next collect resolves {account} again and collects it.")


@click.group(name="import")
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

    result = run_import(obj.config(), leader_id, path)
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
    from tracker.collect.linkedin import import_linkedin_export

    result = import_linkedin_export(obj.config(), leader_id, paths)
    click.echo(f"Imported {result.rows_read} rows from {len(result.files)} file(s) into {result.account_id}: "
               f"{result.new_posts} new post(s), {result.new_comments} new comment(s); "
               f"covered {result.first_at or '-'} to {result.exported_at or '-'}.")
