"""The README is the manual: every command and option must be in it."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tracker.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group, prefix: str = "tracker") -> list[tuple[str, click.Command]]:
    found = [(prefix, group)]
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += all_commands(command, path)
        else:
            found.append((path, command))
    return found


COMMANDS = all_commands(cli)


def readme_section(path: str, command: click.Command) -> str:
    """The README's text about one command: from its `### `tracker ...`` heading to the next
    heading of that level; for a group (no heading of its own), the Commands chapter."""
    heading = re.search(rf"^### `{re.escape(path)}[` ]", README, re.MULTILINE)
    if heading is None or isinstance(command, click.Group):
        start = README.index("## Commands")
        return README[start:README.index("\n## ", start + 1)]
    end = re.search(r"^##{1,2} ", README[heading.end():], re.MULTILINE)
    return README[heading.start():heading.end() + end.start()] if end else README[heading.start():]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_and_option_is_documented(path, command):
    assert path in README, f"`{path}` is not in the README"
    assert command.help, f"`{path}` has no help text"
    section = readme_section(path, command)
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            for flag in param.opts + param.secondary_opts:
                if flag.startswith("--"):
                    assert flag in section, f"`{path} {flag}` is not in the README's section on `{path}`"


def test_readme_quick_start_commands_are_the_makefile_targets():
    assert "make demo" in README and "make test" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci


def test_short_flags_are_unique_per_command():
    for path, command in COMMANDS:
        shorts = [flag for param in command.params for flag in getattr(param, "opts", [])
                  if flag.startswith("-") and not flag.startswith("--")]
        assert len(shorts) == len(set(shorts)), path


def test_every_table_and_column_of_the_schema_is_in_the_readme(tmp_path):
    from tracker.store import open_db

    schema = README[README.index("## Database schema"):README.index("## Operations")]
    db = open_db(tmp_path / "t.db")
    try:
        for table in db.table_names():
            if table.startswith(("_", "posts_fts_", "sqlite_")):
                continue  # sqlite-utils' migrations record and FTS5's own shadow tables
            assert f"| `{table}` |" in schema, f"table {table} is not documented"
            for column in db.table(table).columns:
                if table == "metrics" and column.name != "computed_at":
                    # Every metric column has its own row in the README's table of keys.
                    assert f"| `{column.name}` |" in README, f"metrics.{column.name} is not documented"
                else:
                    assert f"`{column.name}`" in schema, f"{table}.{column.name} is not documented"
    finally:
        db.close()
