"""The ``tracker`` command line: parse options, call one library function, print.

Exit codes: 0 all good, 1 partial failure (some account failed, the rest was saved) or a
runtime error, 2 bad usage, config, input or database file. The library raises the
project's exceptions (``tracker.errors``); ``TrackerGroup.invoke`` below is the one place
that turns them into a message and an exit code. Commands live by concern in
``collecting``, ``operating``, ``labelling`` and ``reporting``.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Any

import click

from tracker import __version__
from tracker.cli.common import Context, fail
from tracker.errors import TrackerError
from tracker.secrets import RedactingFilter, redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
log = logging.getLogger("tracker")


class TrackerGroup(click.Group):
    """Every command runs inside this group's ``invoke``: the one place where a library
    error becomes a message and an exit code, with the same codes for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as error:
            raise fail(error) from None
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


def _register() -> None:
    # The order of `tracker --help`.
    from tracker.cli import collecting, labelling, operating, reporting

    for command in (collecting.collect, operating.status, operating.init, operating.demo, operating.schedule,
                    reporting.send_report, collecting.budget, operating.purge, operating.backup,
                    collecting.accept_identity, reporting.report, labelling.label, labelling.evaluate,
                    labelling.train, labelling.review, labelling.metrics, collecting.import_group):
        cli.add_command(command)


_register()

__all__ = ["cli"]
