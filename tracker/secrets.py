"""Secrets come only from environment variables; this module keeps them out of every text.

``redact`` is applied to log records (by ``RedactingFilter``), to error text stored in the
``runs`` table and to everything the CLI prints.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import unicodedata
from urllib.parse import quote, quote_plus

# Variables that hold secrets. Any other TRACKER_* variable whose name says it is a
# token, password or secret is treated the same way.
SECRET_NAME = re.compile(r"^TRACKER_\w*(TOKEN|PASSWORD|SECRET|KEY)\w*$")
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ) if env is None else env
    values = {value for name, value in env.items() if SECRET_NAME.match(name) and len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


REDACTED = "[redacted]"
# Runs of base64 (standard or URL-safe alphabet) long enough to hide a secret.
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{%d,}={0,2}" % MIN_SECRET_LENGTH)


def secret_problem(value: str, *, allow_spaces: bool = False) -> str | None:
    """Why ``value`` cannot be a credential, or None; the text never quotes the value.

    A line break or other control character in a token (a copy-paste accident) would
    otherwise be sent in an HTTP header or SMTP command, and come back in error texts.
    """
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"it contains a control character (U+{ord(char):04X}) at position {position}"
        if char.isspace() and not allow_spaces:
            return f"it contains whitespace at position {position}"
    return None


def encoded_forms(value: str) -> set[str]:
    """The ways a secret shows up in error text: as is, escaped (Python repr, JSON),
    URL-encoded. (Base64 is found by decoding, see ``_redact_base64``.)"""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             quote(value, safe=""), quote(value), quote_plus(value),
             repr(value.encode("utf-8"))[2:-1]}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _redact_base64(text: str, secrets: list[bytes]) -> str:
    """Replace every base64 run whose decoded bytes hold a secret (SMTP AUTH echoes)."""

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        core = run.rstrip("=")
        for candidate in (core, core[:-1], core[:-2], core[:-3]):
            if len(candidate) < MIN_SECRET_LENGTH:
                break
            padded = candidate + "=" * (-len(candidate) % 4)
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    decoded = decode(padded)
                except (binascii.Error, ValueError):
                    continue
                if any(secret in decoded for secret in secrets):
                    return REDACTED
        return run

    return BASE64_RUN.sub(replace, text)


def redact(text: str, env: dict[str, str] | None = None) -> str:
    """``text`` with every secret value replaced, in plain, escaped, URL-encoded or base64 form."""
    values = secret_values(env)
    if not values:
        return text
    forms = sorted({form for value in values for form in encoded_forms(value)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    return _redact_base64(text, [value.encode("utf-8") for value in values])


class RedactingFilter(logging.Filter):
    """Rewrite each record's message with every secret value replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg}\n{redact(text)}"
        return True
