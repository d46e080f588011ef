"""Secrets come only from environment variables; this module keeps them out of every text.

``redact`` is applied to log records (by ``RedactingFilter``), to error text stored in the
``runs`` table and to everything the CLI prints.
"""

from __future__ import annotations

import logging
import os
import re

# Variables that hold secrets. Any other TRACKER_* variable whose name says it is a
# token, password or secret is treated the same way.
SECRET_NAME = re.compile(r"^TRACKER_\w*(TOKEN|PASSWORD|SECRET|KEY)\w*$")
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ) if env is None else env
    values = {value for name, value in env.items() if SECRET_NAME.match(name) and len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: dict[str, str] | None = None) -> str:
    for value in secret_values(env):
        text = text.replace(value, "[redacted]")
    return text


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
