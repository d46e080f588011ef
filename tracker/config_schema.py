"""The config file's schema: every key with its type, default and check, and the handle
rules of each platform. ``tracker.config`` validates a file against it and builds the
frozen dataclasses; no other module needs this one."""

from __future__ import annotations

import math
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

# Official X API host. tweepy hard-codes https://api.twitter.com; requests are redirected
# to this base URL (tweepy's BaseClient.request has no host parameter).
X_DEFAULT_API_BASE_URL = "https://api.x.com"
# Bluesky's public, cached AppView: no login needed for public reads (bsky-docs,
# docs/advanced-guides/rate-limits.md).
BLUESKY_DEFAULT_API_BASE_URL = "https://public.api.bsky.app"
BLOG_DEFAULT_USER_AGENT = "tracker-feed-reader/1"


@dataclass(frozen=True)
class HandleRule:
    pattern: re.Pattern[str]
    expected: str
    normalize: Callable[[str], str] = str


# One rule per platform that has a collector. A handle is checked when the config loads,
# so a typo is caught before the first request is billed.
HANDLE_RULES: dict[str, HandleRule] = {
    # https://help.x.com/en/managing-your-account/x-username-rules
    "x": HandleRule(
        re.compile(r"^@?[A-Za-z0-9_]{1,15}$"),
        "an X username: 1 to 15 letters, digits or underscores, optionally after @",
        lambda handle: handle.lstrip("@"),
    ),
    # A domain handle (atproto spec "Handle": dot-separated labels) or a DID; the DID is
    # what is kept, because handles can change (https://atproto.com/specs/handle).
    "bluesky": HandleRule(
        re.compile(r"^@?(did:(plc|web):[A-Za-z0-9._:%-]+|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                   r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$"),
        "a Bluesky handle such as alice.bsky.social (or a did:plc:... DID)",
        lambda handle: handle.lstrip("@").lower() if not handle.lstrip("@").startswith("did:") else handle.lstrip("@"),
    ),
    # user@server: the account is looked up on its home server, whose status list is the
    # only complete one.
    "mastodon": HandleRule(
        re.compile(r"^@?[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+(:[0-9]+)?$"),
        "a Mastodon address user@server, such as alice@mastodon.social",
        lambda handle: handle.lstrip("@"),
    ),
    # The blog's RSS or Atom feed URL.
    "blog": HandleRule(
        re.compile(r"^https?://[^\s/]+\S*$"),
        "the http(s) URL of the blog's RSS or Atom feed",
    ),
    # The public profile name (linkedin.com/in/<name>), or that URL. LinkedIn has no API for
    # a member's posts: the account is filled from the leader's data export.
    "linkedin": HandleRule(
        re.compile(r"^(https?://([a-z]{2,3}\.)?linkedin\.com/in/)?[A-Za-z0-9-]{3,100}/?$"),
        "a LinkedIn public profile name (3 to 100 letters, digits or -) or its https://www.linkedin.com/in/ URL",
        lambda handle: handle.rstrip("/").rsplit("/", 1)[-1],
    ),
}

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")



REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """A leaf value: its TOML type(s), default, and an optional extra check.

    ``check`` returns ``None`` when the value is fine, else the text that completes
    "expected ...".
    """

    types: tuple[type, ...]
    expected: str
    default: Any = REQUIRED
    check: Callable[[Any], bool] | None = None


def _is_timezone(value: str) -> bool:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _is_http_url(value: str) -> bool:
    """An http(s) URL with a real host name (or IP address) and a port from 1 to 65535."""
    if re.search(r"[\s\x00-\x1f\x7f]", value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is not a number or beyond 65535
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return False
    if host.startswith("[") or ":" in host:  # an IPv6 literal
        return True
    return all(HOST_LABEL.match(label) for label in host.rstrip(".").split("."))


def _is_crontab(value: str) -> bool:
    from tracker.crontab import crontab_problem

    return crontab_problem(value) is None


def _is_email_list(value: list[Any]) -> bool:
    return all(isinstance(item, str) and re.match(r"^[^@\s]+@[^@\s]+$", item) for item in value)


CRONTAB_EXPECTED = ('a crontab expression that fires, of 5 fields "minute hour day month weekday" such as "0 * * * *" '
                    '(or 6 fields with seconds first)')


def _is_server_map(value: dict[str, Any]) -> bool:
    return all(isinstance(url, str) and _is_http_url(url) for url in value.values())


def _has_no_control_characters(value: str) -> bool:
    # A line break in a name ends up in mail headers and report text.
    return not any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value)


NON_EMPTY = Field((str,), "a non-empty string without control characters",
                  check=lambda v: bool(v.strip()) and _has_no_control_characters(v))
TEXT = Field((str,), "a string without control characters", "", check=_has_no_control_characters)
POSITIVE_NUMBER = (int, float)


def _at_most(spec: Field, limit: float) -> Field:
    """``spec`` with an upper bound: inf, nan and a typo of a few zeros are refused too."""
    check = spec.check

    def bounded(value: Any) -> bool:
        return math.isfinite(value) and value <= limit and (check is None or check(value))

    return Field(spec.types, f"{spec.expected}, at most {limit:g}", spec.default, bounded)


# Upper bounds (see README, Configuration): beyond them a run would hang or wait for hours.
MAX_TIMEOUT = 300
MAX_RETRIES = 10
MAX_RETRY_BACKOFF = 60
MAX_RATE_LIMIT_WAIT = 3600
MAX_BACKFILL_DAYS = 5000  # X serves nothing before November 2010
MAX_DAYS = 36500


def _retry_fields() -> dict[str, Field]:
    return {
        "timeout": _at_most(Field(POSITIVE_NUMBER, "a number of seconds > 0", 30.0, check=lambda v: v > 0),
                            MAX_TIMEOUT),
        "max_retries": _at_most(Field((int,), "a whole number >= 0", 3, check=lambda v: v >= 0), MAX_RETRIES),
        "retry_backoff": _at_most(Field(POSITIVE_NUMBER, "a number of seconds >= 0", 2.0, check=lambda v: v >= 0),
                                  MAX_RETRY_BACKOFF),
        "max_rate_limit_wait": _at_most(Field(POSITIVE_NUMBER, "a number of seconds >= 0", 900.0,
                                              check=lambda v: v >= 0), MAX_RATE_LIMIT_WAIT),
    }

SCHEMA: dict[str, Any] = {
    "tracker": {
        "database": Field((str,), "a file path", "tracker.db", check=lambda v: bool(v.strip())),
        "timezone": Field((str,), 'an IANA time zone such as "Europe/London"', "UTC", check=_is_timezone),
        "reports_dir": Field((str,), "a folder path", "reports", check=lambda v: bool(v.strip())),
    },
    "organisation": {
        "name": NON_EMPTY,
        "handles": Field((dict,), "a table of platform = [handles]", {}),
    },
    "collect": {
        "backfill_days": _at_most(Field((int,), "a whole number of days >= 0 (0 = all the API serves)", 90,
                                        check=lambda v: v >= 0), MAX_BACKFILL_DAYS),
    },
    "sources": {
        "x": {
            "api_base_url": Field((str,), "an http(s) URL", X_DEFAULT_API_BASE_URL, check=_is_http_url),
            **_retry_fields(),
            # --- mentions ---
            "mentions": Field((bool,), "true or false", False),
            "mentions_max_reads_per_run": _at_most(Field((int,), "a whole number of post reads >= 0", 500,
                                                         check=lambda v: v >= 0), 1_000_000),
        },
        # --- platforms ---
        "bluesky": {
            "api_base_url": Field((str,), "an http(s) URL", BLUESKY_DEFAULT_API_BASE_URL, check=_is_http_url),
            "page_size": Field((int,), "a whole number from 1 to 100", 100, check=lambda v: 1 <= v <= 100),
            **_retry_fields(),
        },
        "mastodon": {
            "server_urls": Field((dict,), 'a table of "server" = "http(s) URL"', {}, check=_is_server_map),
            **_retry_fields(),
        },
        "blog": {
            "user_agent": Field((str,), "a non-empty string without control characters", BLOG_DEFAULT_USER_AGENT,
                                check=lambda v: bool(v.strip()) and _has_no_control_characters(v)),
            **_retry_fields(),
        },
        "linkedin": {
            "exports_dir": Field((str,), 'a folder path ("" = no unattended import)', ""),
            "stale_after_days": _at_most(Field((int,), "a whole number of days >= 1", 35, check=lambda v: v >= 1),
                                         MAX_DAYS),
        },
    },
    # --- ops ---
    "schedule": {
        # "" means the [tracker] timezone.
        "timezone": Field((str,), 'an IANA time zone such as "Europe/London"', "",
                          check=lambda v: v == "" or _is_timezone(v)),
        "collect": Field((str,), CRONTAB_EXPECTED, "0 * * * *", check=_is_crontab),
        "report": Field((str,), CRONTAB_EXPECTED, "0 7 2 * *", check=_is_crontab),
        "purge": Field((str,), CRONTAB_EXPECTED, "30 3 * * *", check=_is_crontab),
        "misfire_grace_time": _at_most(Field((int,), "a whole number of seconds >= 1", 600, check=lambda v: v >= 1),
                                       86400),
    },
    "delivery": {
        "email": {
            "host": Field((str,), "an SMTP host name (empty: no email)", ""),
            "port": Field((int,), "a TCP port 1-65535", 587, check=lambda v: 1 <= v <= 65535),
            "security": Field((str,), '"starttls", "ssl" or "none"', "starttls",
                              check=lambda v: v in ("starttls", "ssl", "none")),
            "username": Field((str,), "an SMTP user name (empty: no login)", ""),
            "sender": Field((str,), "an email address", "", check=lambda v: v == "" or _is_email_list([v])),
            "recipients": Field((list,), "an array of email addresses", [], check=_is_email_list),
            "timeout": _at_most(Field(POSITIVE_NUMBER, "a number of seconds > 0", 30.0, check=lambda v: v > 0),
                                MAX_TIMEOUT),
        },
    },
    "health": {
        "stale_after_hours": _at_most(Field(POSITIVE_NUMBER, "a number of hours >= 0 (0: three collect intervals)",
                                            0, check=lambda v: v >= 0), 24 * MAX_DAYS),
        "alert_after_failures": _at_most(Field((int,), "a whole number >= 0 (0: no alert email)", 0,
                                               check=lambda v: v >= 0), 10_000),
    },
    "budget": {
        "x_monthly_post_reads_cap": _at_most(Field((int,), "a whole number of post reads >= 0 (0: no cap)", 0,
                                                   check=lambda v: v >= 0), 1_000_000_000),
        "x_price_per_post_read": _at_most(Field(POSITIVE_NUMBER, "a price in dollars >= 0", 0.005,
                                                check=lambda v: v >= 0), 100),
        "x_price_per_user_read": _at_most(Field(POSITIVE_NUMBER, "a price in dollars >= 0", 0.010,
                                                check=lambda v: v >= 0), 100),
    },
    "retention": {
        "context_days": _at_most(Field((int,), "a whole number of days >= 0 (0: keep forever)", 365,
                                       check=lambda v: v >= 0), MAX_DAYS),
    },
    "labels": {
        "model": Field((str,), "the path of a model file written by `tracker train` (empty: the shipped model)", ""),
    },
}

LEADER_SCHEMA: dict[str, Any] = {
    "id": Field((str,), "a short id of lowercase letters, digits, - or _", check=lambda v: ID_PATTERN.match(v) is not None),
    "name": NON_EMPTY,
    "role": TEXT,
    "group": TEXT,
    "accounts": Field((dict,), "a table of platform = handle"),
}
PEER_SCHEMA: dict[str, Any] = {**LEADER_SCHEMA, "organisation": NON_EMPTY}


def type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            dict: "a table", list: "an array"}.get(type(value), type(value).__name__)


def validate_table(table: dict[str, Any], schema: dict[str, Any], path: str,
                    errors: list[str]) -> dict[str, Any]:
    """Check ``table`` against ``schema``; return it with defaults filled in."""
    result: dict[str, Any] = {}
    for key in table:
        if key not in schema:
            known = ", ".join(sorted(schema))
            errors.append(f"{path}{key}: unknown key (expected one of: {known})")
    for key, spec in schema.items():
        key_path = f"{path}{key}"
        if isinstance(spec, dict):
            value = table.get(key, {})
            if not isinstance(value, dict):
                errors.append(f"{key_path}: expected a table, got {type_name(value)}")
                value = {}
            result[key] = validate_table(value, spec, f"{key_path}.", errors)
            continue
        if key not in table:
            if spec.default is REQUIRED:
                errors.append(f"{key_path}: missing (expected {spec.expected})")
            else:
                result[key] = spec.default
            continue
        value = table[key]
        # bool is an int subclass in Python; TOML true is never a valid number here.
        if isinstance(value, bool) and bool not in spec.types or not isinstance(value, spec.types):
            errors.append(f"{key_path}: expected {spec.expected}, got {type_name(value)} {value!r}")
        elif spec.check is not None and not spec.check(value):
            errors.append(f"{key_path}: expected {spec.expected}, got {value!r}")
        else:
            result[key] = value
    return result


def _url_part_ok(platform: str, handle: str) -> bool:
    """A blog feed is a whole URL, a Mastodon address names a server (and maybe a port):
    both must be reachable addresses, ports from 1 to 65535."""
    if platform == "blog":
        return _is_http_url(handle)
    if platform == "mastodon":
        return _is_http_url("https://" + handle.rpartition("@")[2])
    return True


def check_handle(platform: str, handle: Any, key_path: str, errors: list[str]) -> str | None:
    rule = HANDLE_RULES[platform]
    if not isinstance(handle, str) or not rule.pattern.match(handle) or not _url_part_ok(platform, handle):
        errors.append(f"{key_path}: expected {rule.expected}, got {handle!r}")
        return None
    return rule.normalize(handle)


def check_platform(platform: str, key_path: str, errors: list[str]) -> bool:
    if platform in HANDLE_RULES:
        return True
    known = ", ".join(sorted(HANDLE_RULES))
    errors.append(f"{key_path}: unknown platform (expected one of: {known})")
    return False
