"""Commands about labels and figures: label, evaluate, train, review, metrics."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import click

from tracker.cli.common import Context, echo_data, format_option, month_option
from tracker.errors import InputError


@click.command()
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

    try:
        handle = click.open_file(input_path, "r", encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {input_path}: {error.strerror}") from None
    out = _utf8_stdout()
    try:
        with handle:
            for line in label_lines(_read(handle), org_handles, model_path):
                out.write(line + "\n")
            out.flush()
    except InputError as error:  # the line number comes from the library, the file's name from here
        raise InputError(f"{input_path if input_path != '-' else 'stdin'}: {error}") from None
    except BrokenPipeError:
        raise  # the output's reader stopped (`| head`): click ends the command quietly, exit code 1
    except OSError as error:  # _read turned the input's errors into InputError: this is the output
        _discard(out)
        raise InputError(f"cannot write the labels: {error.strerror}") from None


def _read(handle: Iterable[str]) -> Iterator[str]:
    # A loop, not `yield from`: closing this generator early must not close stdin under click.
    try:
        for line in handle:
            yield line
    except UnicodeDecodeError:  # text is decoded a block ahead of the lines: no line number
        raise InputError("is not UTF-8 text: save it as UTF-8") from None
    except OSError as error:
        raise InputError(f"cannot be read: {error.strerror}") from None


def _utf8_stdout() -> TextIO:
    """Standard output, written to directly: click.echo looks at the terminal for every line
    (3% of the labelling time) and JSON needs no colour stripped. JSON Lines are UTF-8
    whatever the locale says (an ASCII one fails on the first accent), for the rest of the
    process; a lone surrogate, which only a JSON escape can carry, is written as that escape."""
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(encoding="utf-8", errors="backslashreplace")
    return out


def _discard(out: TextIO) -> None:
    """Send what is still buffered to /dev/null: Python's flush at exit would fail on it again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    except (OSError, ValueError):  # not a file descriptor (a test runner's buffer)
        pass


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cv", "folds", type=click.IntRange(2, 20), default=None, metavar="K",
              help="Cross-validate: retrain the model on K-1 folds and score the held-out fold, K times.")
@click.option("--by-author", is_flag=True, help="With --cv: folds grouped by author (no author in two folds), "
              "and the estimated count per author.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Without --cv: the model file to score  [default: the shipped model]")
@click.option("--without-context", is_flag=True,
              help="Score the posts with every replied-to and quoted text hidden, as a source that never "
                   "gives them (LinkedIn comments) shows them to the labeller.")
@format_option("Output format; csv gives one row per label with its confusion counts.")
def evaluate(files: tuple[str, ...], folds: int | None, by_author: bool, model_path: str | None,
             without_context: bool, fmt: str) -> None:
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
    from tracker.label.evaluation import BAR_TEXT, measure_labeller

    quality = measure_labeller(files, folds=folds, by_author=by_author, model_path=model_path,
                               without_context=without_context)
    echo_data(fmt, table=lambda: quality.text, data=lambda: quality.data, rows=quality.rows)
    if quality.below_the_bar:
        raise click.ClickException(f"below the bar {BAR_TEXT}: " + ", ".join(quality.below_the_bar))
    if fmt == "table":
        click.echo(f"All labels meet the bar {BAR_TEXT}.")


@click.command()
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
    from tracker.label.model import load_model, save_model
    from tracker.label.jsonl import read_labelled
    from tracker.label.training import adapt, fit, format_adapt_report

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
    click.echo(f"Wrote {click.format_filename(out_path)}: model {model.version}, trained on "
               f"{len(data.posts) if not base_path else model.meta['posts']} posts"
               f"{' (adapted to ' + str(len(data.posts)) + ' corrections)' if base_path else ''}; thresholds "
               + ", ".join(f"{name} {t:.2f}" for name, t in zip(model.meta["labels"], model.thresholds)))


@click.command()
@month_option("Calendar month whose posts to review  [default: the last complete month]")
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

    written = write_review(obj.config(), month, leader_ids, limit, Path(out_path))
    click.echo(f"Wrote {written} post(s) to {click.format_filename(out_path)}: correct their labels, then "
               f"run `tracker train --base MODEL --labels {click.format_filename(out_path)} --out PATH`.")


@click.command()
@month_option("Calendar month in the config's time zone  [default: the last complete month]")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--platform", "platforms", multiple=True, metavar="P",
              help='Only this platform, e.g. x, or "all" for the cross-platform rows (repeatable).')
@format_option("Output format; json and csv carry every metric key (README, Metrics).")
@click.pass_obj
def metrics(obj: Context, month: str | None, leader_ids: tuple[str, ...], platforms: tuple[str, ...],
            fmt: str) -> None:
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

    rows = refresh_metrics(obj.config(), month, leader_ids, platforms)
    if fmt == "csv":  # the metrics' own columns, the same file the report writes
        click.echo(metrics_to_csv(rows), nl=False)
    else:
        echo_data(fmt, table=lambda: format_table(rows), data=lambda: rows, rows=lambda: rows)
