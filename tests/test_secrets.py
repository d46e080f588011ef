"""Secrets never reach output, logs or the database, in any encoding; unusable tokens are refused."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.demo.emulators.x import XEmulator
from tracker.secrets import RedactingFilter, redact, secret_problem

PASSWORD = 'p4ss w/rd"+%'  # a space, a slash, a quote, a plus: every encoding differs
SECRET_ENV = {"TRACKER_SMTP_PASSWORD": PASSWORD}


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- a token that cannot be a credential is refused before anything is sent -----------------

@pytest.mark.parametrize("token", ["LEAKME\n_4242", "LEAKME _4242", "LEAKME\x1b_4242", "LEAKME\u2028_4242"])
def test_a_token_with_whitespace_or_control_characters_is_refused_unseen(config, emulator, token):
    result = CliRunner().invoke(cli, ["-vv", "--config", str(config.path), "collect"],
                                env={"TRACKER_X_BEARER_TOKEN": token})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: TRACKER_X_BEARER_TOKEN is not a usable bearer token: it contains ")
    assert "LEAKME" not in result.output and "4242" not in result.output
    assert emulator.requests == []
    assert not config.database.exists()


def test_surrounding_whitespace_is_forgiven_inner_is_not():
    assert secret_problem("abc def") == "it contains whitespace at position 4"
    assert secret_problem("abc def", allow_spaces=True) is None
    assert secret_problem("abc\tdef", allow_spaces=True) == "it contains a control character (U+0009) at position 4"
    assert secret_problem("abc-def_123") is None


# --- redaction of every form a secret takes in error text -----------------------------------

@pytest.mark.parametrize("form", [
    PASSWORD,
    repr(PASSWORD)[1:-1],                       # Python-escaped, as in a repr() of an error
    json.dumps(PASSWORD)[1:-1],                 # JSON-escaped (ASCII)
    json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
    quote(PASSWORD, safe=""),                   # URL-encoded
    quote(PASSWORD),
    b64(PASSWORD),                              # base64 alone (SMTP AUTH LOGIN)
    b64("\0tracker\0" + PASSWORD),              # inside a base64 blob (SMTP AUTH PLAIN)
    b64("x" + PASSWORD + "yz"),                 # at another alignment
    base64.urlsafe_b64encode(("ab" + PASSWORD).encode()).decode(),
])
def test_redact_covers_escaped_url_encoded_and_base64_forms(form):
    text = f"server said: 535 bad credentials {form} (try again)"
    cleaned = redact(text, SECRET_ENV)
    assert form not in cleaned
    assert "[redacted]" in cleaned
    assert cleaned.startswith("server said: 535 bad credentials ") and cleaned.endswith(" (try again)")


def test_redact_leaves_ordinary_text_alone():
    text = "collect: 2 of 3 account(s) failed: alice:x (X server error (HTTP 503)) aGVsbG8gd29ybGQ="
    assert redact(text, SECRET_ENV) == text


def test_log_lines_are_redacted_in_escaped_form_too(monkeypatch):
    record = logging.LogRecord("tracker", logging.ERROR, __file__, 1, "request failed: %r", (
        ValueError(f"Invalid header value b'Bearer {PASSWORD}'"),), None)
    monkeypatch.setenv("TRACKER_SMTP_PASSWORD", PASSWORD)
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert "[redacted]" in message
    assert "p4ss" not in message


# --- a hostile mail server echoes the credentials back ------------------------------------

@pytest.fixture
def echoing_smtp() -> Iterator[Callable[[Callable[[str], str]], int]]:
    """A mail server that answers AUTH PLAIN with 535 and an echo of what it received."""
    listeners: list[socket.socket] = []

    def start(echo: Callable[[str], str]) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listeners.append(listener)

        def serve() -> None:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection, connection.makefile("rwb") as stream:
                stream.write(b"220 hostile.invalid ESMTP\r\n")
                stream.flush()
                for line in stream:
                    command = line.decode("ascii", "replace").strip()
                    if command.upper().startswith("EHLO"):
                        stream.write(b"250-hostile.invalid\r\n250 AUTH PLAIN\r\n")
                    elif command.upper().startswith("AUTH PLAIN"):
                        blob = command.split()[-1]
                        stream.write(f"535 5.7.8 credentials rejected: {echo(blob)}\r\n".encode())
                    elif command.upper().startswith("QUIT"):
                        stream.write(b"221 bye\r\n")
                        stream.flush()
                        return
                    else:
                        stream.write(b"250 ok\r\n")
                    stream.flush()

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize("echo", [
    lambda blob: blob,                                  # the AUTH PLAIN blob as received
    lambda blob: b64(PASSWORD),                         # the password alone, base64
    lambda blob: base64.b64decode(blob).decode("utf-8").replace("\0", "\\x00"),  # decoded, escaped
    lambda blob: quote(PASSWORD, safe=""),              # URL-encoded
], ids=["plain-blob", "base64", "escaped", "url-encoded"])
def test_a_mail_server_echoing_the_password_never_gets_it_printed(tmp_path, echoing_smtp, echo):
    from test_delivery import make_pdf, write_config

    port = echoing_smtp(echo)
    config_path = write_config(tmp_path, port, 'username = "tracker"')
    make_pdf(tmp_path / "reports" / "2026-04" / "report-2026-04.pdf")
    result = CliRunner().invoke(cli, ["-vv", "--config", str(config_path), "send-report", "--month", "2026-04"],
                                env=SECRET_ENV)
    assert result.exit_code == 1, result.output
    assert "refused the report: 535 5.7.8 credentials rejected: " in result.stderr
    assert "[redacted]" in result.stderr
    for form in (PASSWORD, b64(PASSWORD), b64("\0tracker\0" + PASSWORD), quote(PASSWORD, safe=""),
                 "p4ss", "w/rd"):
        assert form not in result.output


def test_a_password_with_a_line_break_is_refused_unseen(tmp_path):
    from test_delivery import make_pdf, write_config

    config_path = write_config(tmp_path, 25, 'username = "tracker"')
    make_pdf(tmp_path / "reports" / "2026-04" / "report-2026-04.pdf")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "send-report", "--month", "2026-04"],
                                env={"TRACKER_SMTP_PASSWORD": "hunter2\r\nRCPT TO:<x@evil.invalid>"})
    assert result.exit_code == 2
    assert "TRACKER_SMTP_PASSWORD is not a usable password: it contains a control character (U+000D)" in result.stderr
    assert "hunter2" not in result.output and "evil" not in result.output


# --- each path that prints or stores error text redacts it on its own ----------------------

def test_a_mail_error_raised_by_the_library_is_already_redacted(tmp_path, echoing_smtp, monkeypatch):
    """Delivery errors reach the scheduler's log and `report --send` too, not only the CLI's
    last line of defence: the library's own message must hold no form of the password."""
    from test_delivery import make_pdf, write_config

    from tracker.config import load_config
    from tracker.errors import DeliveryError
    from tracker.ops.delivery import send_monthly_report

    port = echoing_smtp(lambda blob: blob + " " + quote(PASSWORD, safe=""))
    config = load_config(write_config(tmp_path, port, 'username = "tracker"'))
    make_pdf(tmp_path / "reports" / "2026-04" / "report-2026-04.pdf")
    monkeypatch.setenv("TRACKER_SMTP_PASSWORD", PASSWORD)
    with pytest.raises(DeliveryError) as caught:
        send_monthly_report(config, "2026-04")
    message = str(caught.value)
    assert message.startswith(f"127.0.0.1:{port} refused the report: 535 5.7.8 credentials rejected: ")
    assert message.endswith("[redacted] [redacted]")
    assert "p4ss" not in message and b64("\0tracker\0" + PASSWORD) not in message


def test_a_config_error_quoting_a_secret_is_printed_redacted(tmp_path):
    """A password pasted into the wrong key of the config file comes back in the config
    error (which quotes the bad value): the CLI's error output hides it."""
    password = "hunter2-correct-horse"
    path = tmp_path / "tracker.toml"
    path.write_text('[organisation]\nname = "Org"\n[delivery.email]\nhost = "127.0.0.1"\n'
                    f'port = "{password}"\n[[leaders]]\nid = "a"\nname = "A"\naccounts = {{ x = "a" }}\n',
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "status"], env={"TRACKER_SMTP_PASSWORD": password})
    assert result.exit_code == 2, result.output
    assert "delivery.email.port: expected" in result.stderr
    assert "'[redacted]'" in result.stderr
    assert "hunter2" not in result.output


class EchoingXEmulator(XEmulator):
    """An X API (or a proxy in front of it) whose 403 body quotes the request's credentials."""

    def authorize(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        detail = f"Forbidden: this client is not enrolled ({headers.get('authorization')})"
        body = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": detail}
        return 403, {}, json.dumps(body).encode()


def test_a_server_echoing_the_token_gets_it_stored_and_printed_redacted(tmp_path):
    import sqlite3

    from conftest import ENV, TOKEN, small_dataset, write_config

    with EchoingXEmulator(small_dataset(), bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url)
        result = CliRunner().invoke(cli, ["-vv", "--config", str(path), "collect", "--summary"], env=ENV)
    assert result.exit_code == 1, result.output
    echoed = "(HTTP 403: Forbidden: this client is not enrolled (Bearer [redacted]))"
    assert f"X rejected the credentials {echoed}" in result.stderr
    assert TOKEN not in result.output
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        errors = [row[0] for row in db.execute("SELECT error FROM runs ORDER BY account_id")]
    assert len(errors) == 3 and all(f"X rejected the credentials {echoed}" in error for error in errors)
    for stored in tmp_path.glob("tracker.db*"):
        assert TOKEN.encode() not in stored.read_bytes()
