"""What every command module shares: the config context, the exit-code-2 exception, the
one ``--month`` parameter and the one ``--format`` option."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from tracker.config import Config, load_config
from tracker.errors import ConfigError, DatabaseError, InputError, TrackerError
from tracker.output import FORMATS, render_csv, render_json
from tracker.secrets import redact

F = TypeVar("F", bound=Callable[..., Any])


class ConfigProblem(click.ClickException):
    """A bad config, bad usage or a bad file: exit code 2, like click's own usage errors."""

    exit_code = 2


def fail(error: TrackerError) -> click.ClickException:
    """The message and exit code of a library error: 2 for what the user fixes in a file
    (config, database path, input file), 1 for the rest. Never a traceback; never a secret."""
    text = redact(str(error))
    if isinstance(error, (ConfigError, DatabaseError, InputError)):
        return ConfigProblem(text)
    return click.ClickException(text)


class Context:
    """``ctx.obj`` of every command: the config, loaded when a command asks for it."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    def config(self) -> Config:
        return load_config(self.config_path)


class MonthParam(click.ParamType):
    """Every ``--month``: ``YYYY-MM`` through the one month parser, the same error everywhere.

    Months that have not begun are refused by the library, which knows the config's time zone.
    """

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from tracker.months import parse_month

        try:
            parse_month(value)
        except TrackerError:
            self.fail(f"expected YYYY-MM, got {value!r}", param, ctx)
        return str(value)


MONTH = MonthParam()


def month_option(help_text: str) -> Callable[[F], F]:
    return click.option("--month", type=MONTH, default=None, metavar="YYYY-MM", help=help_text)


def format_option(help_text: str = "Output format.", *, legacy_json: bool = False) -> Callable[[F], F]:
    """``--format table|json|csv``; the command gets ``fmt``. ``legacy_json`` also accepts
    ``--json``, hidden: the old spelling of ``--format json`` on the commands that had it,
    kept so that scripts written for it keep working."""

    def decorate(function: F) -> F:
        command: Any = function
        if legacy_json:
            @functools.wraps(function)
            def merged(*args: Any, as_json: bool = False, fmt: str = "table", **kwargs: Any) -> Any:
                return function(*args, fmt="json" if as_json else fmt, **kwargs)

            command = click.option("--json", "as_json", is_flag=True, hidden=True,
                                   help="Deprecated: the same as --format json.")(merged)
        return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                            help=help_text)(command)  # type: ignore[no-any-return]

    return decorate


def echo_data(fmt: str, *, table: Callable[[], str], data: Callable[[], Any],
              rows: Callable[[], Sequence[Mapping[str, Any]]], columns: Sequence[str] | None = None) -> None:
    """Print in ``fmt``: the table text, ``data`` as JSON, or ``rows`` as CSV."""
    if fmt == "json":
        click.echo(render_json(data()))
    elif fmt == "csv":
        click.echo(render_csv(rows(), columns), nl=False)
    else:
        click.echo(table())
