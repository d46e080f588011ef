"""Deliver the monthly PDF by email (``[delivery.email]``), with smtplib.

The report is always written to disk first; delivery only reads it, so a refused or
dropped connection loses nothing: the failure is raised as ``DeliveryError`` and the
file stays where it is for a retry with ``tracker send-report``.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from tracker.config import Config, EmailSettings
from tracker.errors import ConfigError, DeliveryError, TrackerError
from tracker.secrets import redact, secret_problem

log = logging.getLogger(__name__)

PASSWORD_ENV_VAR = "TRACKER_SMTP_PASSWORD"


_IMAGE_SRC = re.compile(r'src="([A-Za-z0-9._-]+\.png)"')


def build_message(settings: EmailSettings, pdf_path: Path, subject: str, summary_text: str,
                  summary_html: str | None = None, images: Mapping[str, bytes] | None = None) -> EmailMessage:
    """The email: the summary as the plain-text body and, when given, as an HTML alternative
    whose ``<img src="NAME.png">`` show ``images[NAME.png]`` inline (multipart/related), with
    the PDF attached under its own name.
    """
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(summary_text)
    if summary_html is not None:
        images = dict(images or {})
        cids = {name: f"{name.removesuffix('.png')}@tracker.report" for name in images}
        html = _IMAGE_SRC.sub(lambda m: f'src="cid:{cids[m.group(1)]}"' if m.group(1) in cids else m.group(0),
                              summary_html)
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(("html",))
        assert html_part is not None  # just added
        for name, data in images.items():
            if f"cid:{cids[name]}" in html:
                html_part.add_related(data, maintype="image", subtype="png", cid=f"<{cids[name]}>",
                                      filename=name, disposition="inline")
    message.add_attachment(pdf_path.read_bytes(), maintype="application", subtype="pdf",
                           filename=pdf_path.name)
    return message


# A PDF starts with "%PDF-" and ends with "%%EOF" within its last 1024 bytes (ISO 32000-1,
# 7.5.2 and 7.5.5): a file cut short by a crash or a full disk misses the end marker.
PDF_TAIL_BYTES = 1024


def pdf_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole PDF, or None: a cheap structural check of its two ends."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(5)
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - PDF_TAIL_BYTES, 0))
            tail = handle.read()
    except OSError as error:
        return f"cannot read it: {error.strerror}"
    if head != b"%PDF-":
        return "it does not start with %PDF-" if size else "it is empty"
    if b"%%EOF" not in tail:
        return "it has no %%EOF end marker: it was cut short"
    return None


def _connect(settings: EmailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        client.starttls(context=context)
    return client


def send_report_email(settings: EmailSettings, pdf_path: str | os.PathLike[str], subject: str,
                      summary_text: str, *, env: Mapping[str, str] | None = None,
                      summary_html: str | None = None, images: Mapping[str, bytes] | None = None) -> None:
    """Send ``pdf_path`` with ``summary_text`` to every recipient; raise DeliveryError on any failure.

    The password (``TRACKER_SMTP_PASSWORD``) is only sent to the server, never put in an
    error or log line: every message raised here passes through ``redact``.
    """
    env = os.environ if env is None else env
    pdf_path = Path(pdf_path)
    if not settings.enabled:
        raise ConfigError("[delivery.email] host is not set: there is no mail server to send the report to")
    if not pdf_path.is_file():
        raise TrackerError(f"no report at {pdf_path} to send")
    problem = pdf_problem(pdf_path)
    if problem is not None:
        raise TrackerError(f"{pdf_path} is not a whole PDF ({problem}), so it was not sent: write the report "
                           "again with `tracker report --month YYYY-MM`, then send it")
    password = env.get(PASSWORD_ENV_VAR, "")
    if settings.username and not password:
        raise ConfigError(f"{PASSWORD_ENV_VAR} is not set but [delivery.email] username is: "
                          "export the SMTP password (see Authentication in the README)")
    problem = secret_problem(password, allow_spaces=True)
    if problem is None and not password.isascii():
        problem = "it contains a non-ASCII character, which SMTP login cannot send"
    if settings.username and problem is not None:
        raise ConfigError(f"{PASSWORD_ENV_VAR} is not a usable password: {problem} (its value is not shown); "
                          "export it again as one line")
    message = build_message(settings, pdf_path, subject, summary_text, summary_html, images)
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings) as client:
            if settings.username:
                client.login(settings.username, password)
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        detail = "; ".join(f"{rcpt}: {code} {text.decode(errors='replace')}"
                           for rcpt, (code, text) in error.recipients.items())
        raise DeliveryError(redact(f"{where} refused every recipient ({detail})", _secrets(env))) from None
    except smtplib.SMTPResponseException as error:
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise DeliveryError(redact(f"{where} refused the report: {error.smtp_code} {text}", _secrets(env))) from None
    except smtplib.SMTPServerDisconnected as error:
        raise DeliveryError(redact(f"{where} closed the connection before the report was accepted ({error})",
                                   _secrets(env))) from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(redact(f"cannot deliver the report through {where}: {type(error).__name__}: {error}",
                                   _secrets(env))) from None
    if refused:
        # Some recipients accepted: the report went out, but say who did not get it.
        log.warning("mail server refused %s", ", ".join(sorted(refused)))
        raise DeliveryError(f"{where} refused {len(refused)} of {len(settings.recipients)} recipient(s): "
                            f"{', '.join(sorted(refused))} (the others received the report)")
    log.info("report %s sent to %s", pdf_path.name, ", ".join(settings.recipients))


def _secrets(env: Mapping[str, str]) -> dict[str, str]:
    return dict(os.environ) | dict(env)


def report_subject(config: Config, month: str) -> str:
    return f"{config.organisation_name}: working out loud, report for {month}"


def default_summary(config: Config, month: str, pdf_path: Path) -> str:
    return (f"The monthly report of {config.organisation_name} for {month} is attached ({pdf_path.name}).\n"
            f"The PNG charts and CSV data are in {pdf_path.parent}.\n")


def deliver_report(config: Config, month: str, pdf_path: Path, summary_text: str | None = None) -> None:
    """Mail one month's PDF with the configured settings (used by the schedule and the CLI).

    The HTML body is ``summary.html`` beside the PDF when the report wrote one, with the
    PNG charts it shows carried inline.
    """
    html_path = pdf_path.parent / "summary.html"
    html = html_path.read_text(encoding="utf-8") if summary_text and html_path.is_file() else None
    images = {}
    for name in _IMAGE_SRC.findall(html or ""):
        if (pdf_path.parent / name).is_file():
            images[name] = (pdf_path.parent / name).read_bytes()
    send_report_email(config.email, pdf_path, report_subject(config, month),
                      summary_text or default_summary(config, month, pdf_path), summary_html=html, images=images)


def find_report_pdf(config: Config, month: str) -> Path:
    """The PDF in ``REPORTS_DIR/YYYY-MM/``; raise TrackerError when there is none or several."""
    folder = config.reports_dir / month
    pdfs = sorted(folder.glob("*.pdf"))
    if not pdfs:
        raise TrackerError(f"no PDF report in {folder}: run `tracker report --month {month}` first")
    if len(pdfs) > 1:
        raise TrackerError(f"more than one PDF in {folder} ({', '.join(p.name for p in pdfs)}): "
                           "keep only the report to send")
    return pdfs[0]


def send_monthly_report(config: Config, month: str) -> Path:
    """``tracker send-report``: find the month's PDF on disk and mail it; return its path."""
    from tracker.months import check_requested_month

    check_requested_month(month, config.timezone)
    pdf = find_report_pdf(config, month)
    summary_file = pdf.parent / "summary.txt"
    summary = summary_file.read_text(encoding="utf-8") if summary_file.is_file() else None
    deliver_report(config, month, pdf, summary)
    return pdf
