"""The one report job (tracker.ops.report_job): refresh labels and metrics, render, mail;
the scheduler's monthly job and `tracker report --send` both run it."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import replace

import pytest

from report_fixture import build_sample
from test_delivery import Recorder, start_smtp
from tracker.config import EmailSettings
from tracker.errors import ConfigError, DeliveryError
from tracker.ops.report_job import monthly_report_job, send_report, write_report
from tracker.store import open_db


@pytest.fixture
def server():
    recorder = Recorder()
    controller = start_smtp(recorder)
    yield controller, recorder
    controller.stop()


def _with_email(config, port: int):
    settings = EmailSettings(host="127.0.0.1", port=port, security="none", sender="tracker@northwind.invalid",
                             recipients=("board@northwind.invalid",), timeout=5)
    return replace(config, email=settings)


def test_the_monthly_job_refreshes_metrics_renders_and_mails_the_pdf(tmp_path, server):
    controller, recorder = server
    sample = build_sample(tmp_path, n_leaders=2)
    config = _with_email(replace(sample.config, reports_dir=tmp_path / "reports"), controller.port)
    files = monthly_report_job(config, sample.month)
    assert files.pdf == tmp_path / "reports" / sample.month / f"report-{sample.month}.pdf"
    [envelope] = recorder.envelopes
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == files.pdf.read_bytes()
    # The job computed the month's metrics with the current labeller (the sample's rows were hand-set).
    db = open_db(sample.db_path)
    try:
        versions = {row[0] for row in db.execute("SELECT DISTINCT index_version FROM metrics WHERE month = ?",
                                                 [sample.month])}
    finally:
        db.close()
    assert versions == {"oi-2"}


def test_without_a_mail_server_the_job_only_writes(tmp_path):
    sample = build_sample(tmp_path, n_leaders=1)
    config = replace(sample.config, reports_dir=tmp_path / "reports")
    assert not config.email.enabled
    files = monthly_report_job(config, sample.month)
    assert files.pdf is not None and files.pdf.is_file()
    with pytest.raises(ConfigError, match="delivery.email.host: expected an SMTP host"):
        send_report(config, files)


def _closed_port() -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    return port


def test_sending_without_a_pdf_or_to_a_closed_port_keeps_the_report(tmp_path):
    sample = build_sample(tmp_path, n_leaders=1)
    config = replace(sample.config, reports_dir=tmp_path / "reports")
    files = write_report(config, sample.month, formats=("csv",))
    with pytest.raises(ConfigError, match="--send needs the pdf format"):
        send_report(_with_email(config, _closed_port()), files)
    files = write_report(config, sample.month, formats=("pdf",))
    with pytest.raises(DeliveryError) as raised:
        send_report(_with_email(config, _closed_port()), files)
    assert str(raised.value).endswith(f"(the report is kept at {files.pdf})")
    assert files.pdf.is_file()
