"""Report delivery through a real local SMTP server (aiosmtpd) and real failing servers."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from tracker.cli import cli
from tracker.config import load_config
from tracker.ops.delivery import PASSWORD_ENV_VAR, send_report_email
from tracker.errors import DeliveryError

PASSWORD = "s3cret-smtp-pass"


class LocalController(Controller):
    """aiosmtpd's Controller on port 0: learn the port the OS chose before the self-check."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Recorder:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class RefuseRecipients(Recorder):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.7.1 relaying refused"


class RefuseData(Recorder):
    async def handle_DATA(self, server, session, envelope):
        return "554 5.6.0 message refused"


def start_smtp(handler, **options):
    controller = LocalController(handler, hostname="127.0.0.1", port=0, **options)
    controller.start()
    return controller


@pytest.fixture
def smtp():
    started = []

    def start(handler, **options):
        controller = start_smtp(handler, **options)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def dropping_server():
    """A TCP server that accepts each connection and closes it at once (no greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    socket.create_connection(listener.getsockname()).close()  # wake the blocked accept()
    thread.join(5)
    listener.close()
    assert not thread.is_alive()


def make_pdf(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(4, 3))
    figure.add_subplot().plot([1, 2, 3], [2, 1, 3])
    with PdfPages(path, metadata={"CreationDate": None}) as pdf:
        pdf.savefig(figure)
    return path.read_bytes()


def write_config(tmp_path: Path, port: int, extra: str = "") -> Path:
    path = tmp_path / "tracker.toml"
    path.write_text(f"""
[tracker]
reports_dir = "reports"
[organisation]
name = "Northwind Robotics"
[delivery.email]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "tracker@northwind.invalid"
recipients = ["board@northwind.invalid", "ceo@northwind.invalid"]
timeout = 5
{extra}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ x = "ada" }}
""", encoding="utf-8")
    return path


def test_send_report_delivers_the_pdf_attachment(tmp_path, smtp):
    recorder = Recorder()
    server = smtp(recorder)
    config_path = write_config(tmp_path, server.port)
    pdf_path = tmp_path / "reports" / "2026-04" / "openness-2026-04.pdf"
    pdf_bytes = make_pdf(pdf_path)
    (pdf_path.parent / "summary.txt").write_text("Maya answered 31 questions in April.\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (f"Sent {pdf_path} to board@northwind.invalid, ceo@northwind.invalid\n")
    [envelope] = recorder.envelopes
    assert envelope.mail_from == "tracker@northwind.invalid"
    assert envelope.rcpt_tos == ["board@northwind.invalid", "ceo@northwind.invalid"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"] == "Northwind Robotics: working out loud, report for 2026-04"
    # SMTP carries CRLF line ends.
    assert message.get_body(("plain",)).get_content().splitlines() == ["Maya answered 31 questions in April."]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "openness-2026-04.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf_bytes


def test_login_sends_the_password_from_the_environment(tmp_path, smtp):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append(auth_data)
        return AuthResult(success=isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode(),
                          handled=False)

    recorder = Recorder()
    server = smtp(recorder, authenticator=authenticator, auth_require_tls=False)
    config = load_config(write_config(tmp_path, server.port, 'username = "tracker"'))
    pdf_path = tmp_path / "r.pdf"
    make_pdf(pdf_path)
    send_report_email(config.email, pdf_path, "subject", "body", env={PASSWORD_ENV_VAR: PASSWORD})
    assert seen == [LoginPassword(b"tracker", PASSWORD.encode())]
    assert len(recorder.envelopes) == 1


def test_rejected_login_never_shows_the_password(tmp_path, smtp, monkeypatch):
    # handled=False makes aiosmtpd answer "535" itself (its default leaves the reply to us).
    server = smtp(Recorder(), authenticator=lambda *args: AuthResult(success=False, handled=False),
                  auth_require_tls=False)
    config_path = write_config(tmp_path, server.port, 'username = "tracker"')
    pdf_path = tmp_path / "reports" / "2026-04" / "report.pdf"
    make_pdf(pdf_path)
    monkeypatch.setenv(PASSWORD_ENV_VAR, PASSWORD)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])
    assert result.exit_code == 1
    assert "refused the report: 535" in result.output
    assert PASSWORD not in result.output


def test_missing_password_is_a_config_problem(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR, raising=False)
    config_path = write_config(tmp_path, 25, 'username = "tracker"')
    make_pdf(tmp_path / "reports" / "2026-04" / "report.pdf")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])
    assert result.exit_code == 2
    assert "Error: TRACKER_SMTP_PASSWORD is not set but [delivery.email] username is" in result.output


@pytest.mark.parametrize("handler, expected", [
    (RefuseRecipients(), "refused every recipient (board@northwind.invalid: 550 5.7.1 relaying refused; "
                         "ceo@northwind.invalid: 550 5.7.1 relaying refused)"),
    (RefuseData(), "refused the report: 554 5.6.0 message refused"),
])
def test_a_refusing_server_keeps_the_report_and_exits_1(tmp_path, smtp, handler, expected):
    server = smtp(handler)
    config_path = write_config(tmp_path, server.port)
    pdf_path = tmp_path / "reports" / "2026-04" / "report.pdf"
    pdf_bytes = make_pdf(pdf_path)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: 127.0.0.1:{server.port} {expected}"
    assert handler.envelopes == []
    assert pdf_path.read_bytes() == pdf_bytes


def test_a_dropped_connection_keeps_the_report_and_exits_1(tmp_path, dropping_server):
    config_path = write_config(tmp_path, dropping_server)
    pdf_path = tmp_path / "reports" / "2026-04" / "report.pdf"
    pdf_bytes = make_pdf(pdf_path)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: 127.0.0.1:{dropping_server} closed the connection before the "
                                    "report was accepted")
    assert pdf_path.read_bytes() == pdf_bytes


def test_an_unreachable_server_raises_delivery_error(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now: connection refused
    config = load_config(write_config(tmp_path, port))
    pdf_path = tmp_path / "r.pdf"
    make_pdf(pdf_path)
    with pytest.raises(DeliveryError, match=f"cannot deliver the report through 127.0.0.1:{port}: "
                                            "ConnectionRefusedError"):
        send_report_email(config.email, pdf_path, "subject", "body", env={})


def test_no_pdf_for_the_month(tmp_path):
    config_path = write_config(tmp_path, 25)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])
    assert result.exit_code == 1
    assert result.output == (f"Error: no PDF report in {tmp_path / 'reports' / '2026-04'}: "
                             "run `tracker report --month 2026-04` first\n")


def test_email_config_is_validated(tmp_path):
    from tracker.config import parse_config
    from tracker.errors import ConfigError

    text = write_config(tmp_path, 25).read_text().replace('security = "none"', 'security = "tls"').replace(
        '"ceo@northwind.invalid"', '"not an address"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("t.toml"))
    assert str(caught.value).splitlines() == [
        "t.toml: delivery.email.security: expected \"starttls\", \"ssl\" or \"none\", got 'tls'",
        "t.toml: delivery.email.recipients: expected an array of email addresses, "
        "got ['board@northwind.invalid', 'not an address']",
    ]


def test_report_send_writes_then_mails_the_report_with_its_summary(tmp_path, smtp):
    from report_fixture import build_sample

    sample = build_sample(tmp_path, n_leaders=2)
    recorder = Recorder()
    server = smtp(recorder)
    leaders = "".join(f'[[leaders]]\nid = "{leader.id}"\nname = "{leader.name}"\naccounts = {{ x = "{leader.accounts["x"]}" }}\n'
                      for leader in sample.config.leaders)
    config_path = tmp_path / "send.toml"
    config_path.write_text(
        f'[tracker]\ndatabase = "{sample.db_path}"\nreports_dir = "reports"\ntimezone = "Europe/London"\n'
        f'[organisation]\nname = "Northwind Robotics"\n'
        f'[delivery.email]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
        f'sender = "tracker@northwind.invalid"\nrecipients = ["board@northwind.invalid"]\ntimeout = 5\n{leaders}',
        encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "report", "--month", sample.month,
                                      "--format", "pdf", "--send"])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "reports" / sample.month / f"report-{sample.month}.pdf"
    assert result.stdout.splitlines() == [str(pdf), f"Sent {pdf.name} to board@northwind.invalid"]
    [envelope] = recorder.envelopes
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("Northwind Robotics: working out loud, March 2026")
    assert all(leader.name in body for leader in sample.config.leaders)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == pdf.read_bytes()
    # The summary is the body, in plain text and in HTML with the leaderboard chart inline.
    from html import escape

    from tracker.ops.report_job import build_report_data
    from tracker.store import open_db
    from tracker.report.summary import executive_summary

    db = open_db(sample.db_path)
    try:
        summary = executive_summary(build_report_data(db, sample.config, sample.month))
    finally:
        db.close()
    assert all(sentence in " ".join(body.split()) for sentence in summary.sentences)
    assert message.get_content_type() == "multipart/mixed"
    [alternative, _pdf] = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    [plain, related] = alternative.get_payload()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    [html_part, image] = related.get_payload()
    html = html_part.get_content()
    assert all(escape(sentence) in html for sentence in summary.sentences)
    assert image.get_content_type() == "image/png"
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert image.get_content() == (pdf.parent / "leaderboard.png").read_bytes()


def test_report_send_failure_keeps_the_report_and_exits_1(tmp_path, dropping_server):
    from report_fixture import build_sample

    sample = build_sample(tmp_path, n_leaders=1)
    config_path = tmp_path / "send.toml"
    leader = sample.config.leaders[0]
    config_path.write_text(
        f'[tracker]\ndatabase = "{sample.db_path}"\nreports_dir = "reports"\n'
        f'[organisation]\nname = "Northwind Robotics"\n'
        f'[delivery.email]\nhost = "127.0.0.1"\nport = {dropping_server}\nsecurity = "none"\n'
        f'sender = "t@n.invalid"\nrecipients = ["b@n.invalid"]\ntimeout = 5\n'
        f'[[leaders]]\nid = "{leader.id}"\nname = "{leader.name}"\naccounts = {{ x = "{leader.accounts["x"]}" }}\n',
        encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "report", "--month", sample.month,
                                      "--format", "pdf", "--send"])
    assert result.exit_code == 1
    pdf = tmp_path / "reports" / sample.month / f"report-{sample.month}.pdf"
    assert f"(the report is kept at {pdf})" in result.stderr
    assert pdf.exists()


@pytest.mark.parametrize("damage", ["cut", "empty", "not_pdf"])
def test_send_report_refuses_a_pdf_that_is_not_whole(tmp_path, smtp, damage):
    recorder = Recorder()
    server = smtp(recorder)
    config_path = write_config(tmp_path, server.port)
    pdf_path = tmp_path / "reports" / "2026-04" / "report-2026-04.pdf"
    whole = make_pdf(pdf_path)
    pdf_path.write_bytes({"cut": whole[: len(whole) // 2], "empty": b"", "not_pdf": b"<html>" + whole}[damage])

    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"])

    assert result.exit_code == 1
    assert f"Error: {pdf_path} is not a whole PDF" in result.stderr
    assert "was not sent" in result.stderr and "Sent" not in result.stdout
    assert recorder.envelopes == []


def test_the_html_body_escapes_what_it_shows(tmp_path):
    from report_fixture import build_sample

    from tracker.ops.report_job import build_report_data
    from tracker.store import open_db
    from tracker.report.summary import email_html

    sample = build_sample(tmp_path, n_leaders=1)
    db = open_db(sample.db_path)
    try:
        data = build_report_data(db, sample.config, sample.month)
    finally:
        db.close()
    data = replace(data, organisation="<script>alert(1)</script> & Co")
    html = email_html(data)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
