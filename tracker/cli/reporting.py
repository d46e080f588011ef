"""The report commands: write the monthly report, and mail it."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.common import Context, month_option


def _parse_formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from tracker.report.pdf import FORMATS

    formats = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [part for part in formats if part not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} (expected a comma-separated list of "
                                 f"{', '.join(FORMATS)})")
    return formats


@click.command()
@month_option(help_text="Calendar month to report  [default: the last complete month in the config's time zone]")
@click.option("--group", metavar="G", help="Only the leaders of this group (the leaders' `group` in the config).")
@click.option("--leader", "leader_ids", multiple=True, metavar="ID", help="Only this leader (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder  [default: the config's reports_dir/YYYY-MM]")
@click.option("--format", "formats", default="pdf,png,csv", show_default=True, callback=_parse_formats,
              help="What to write, comma-separated: pdf, png, csv.")
@click.option("--send", is_flag=True, help="Then email the PDF through [delivery.email] (like `tracker send-report`).")
@click.pass_obj
def report(obj: Context, month: str | None, group: str | None, leader_ids: tuple[str, ...], out_dir: str | None,
           formats: tuple[str, ...], send: bool) -> None:
    """Write the monthly report: an A4 PDF, a PNG of every chart and the month's metrics as CSV.

    First labels new posts and computes the month's metrics (as `tracker metrics` does);
    the same database gives a byte-identical PDF.

    \b
    Example:
        tracker report --month 2026-03 --group Engineering --format pdf
    """
    from tracker.ops.report_job import send_report, write_report

    config = obj.config()
    files = write_report(config, month, group=group,
                         leader_ids=leader_ids, out_dir=Path(out_dir) if out_dir else None, formats=formats)
    for path in (files.pdf, *files.pngs, files.csv):
        if path is not None:
            click.echo(str(path))
    if send:
        pdf = send_report(config, files)
        click.echo(f"Sent {pdf.name} to {', '.join(config.email.recipients)}")


@click.command("send-report")
@month_option("The report's month as YYYY-MM  [default: last month]")
@click.pass_obj
def send_report(obj: Context, month: str | None) -> None:
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
    pdf = send_monthly_report(config, month or previous_month(config))
    click.echo(f"Sent {pdf} to {', '.join(config.email.recipients)}")
