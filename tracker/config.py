"""Load and validate ``tracker.toml`` into frozen dataclasses.

Validation happens once, up front, before anything is written: every problem is reported
with the file, the key path and what was expected, so a user can fix the file in one go.
No other module reads the config file; secrets never live in it (they come from the
environment, see ``tracker.secrets``).
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from tracker.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/tracker.toml")
CONFIG_ENV_VAR = "TRACKER_CONFIG"

# Official X API host. tweepy hard-codes https://api.twitter.com; requests are redirected
# to this base URL (guide: tweepy client.py BaseClient.request has no host parameter).
X_DEFAULT_API_BASE_URL = "https://api.x.com"
# Bluesky's public, cached AppView: no login needed for public reads (bsky-docs,
# docs/advanced-guides/rate-limits.md).
BLUESKY_DEFAULT_API_BASE_URL = "https://public.api.bsky.app"


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
    # only complete one (guide, platforms.md section 3.1).
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
# Platforms with no collector: their posts come only from imported files.
IMPORT_ONLY_PLATFORMS = ("linkedin",)

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Leader:
    id: str
    name: str
    role: str
    group: str
    accounts: dict[str, str]
    # Empty for the organisation's own leaders; a peer's company for a [[peers]] entry.
    organisation: str = ""

    @property
    def is_peer(self) -> bool:
        return bool(self.organisation)


@dataclass(frozen=True)
class RequestSettings:
    """What every source's ``[sources.<platform>]`` table has: timeouts and retries."""

    timeout: float = 30.0
    max_rate_limit_wait: float = 900.0
    max_retries: int = 3
    retry_backoff: float = 2.0


@dataclass(frozen=True)
class XSettings(RequestSettings):
    api_base_url: str = X_DEFAULT_API_BASE_URL
    # Mentions (issue 3): also read GET /2/users/:id/mentions, at most this many billed post
    # reads per account and run (the rest follows on the next run).
    mentions: bool = False
    mentions_max_reads_per_run: int = 500


# --- ops settings (issue 6: schedule, delivery, health, budget, retention) ------------------

@dataclass(frozen=True)
class ScheduleSettings:
    """``[schedule]``: crontab strings for ``tracker schedule`` (5 fields, or 6 with seconds)."""

    timezone: str = "UTC"
    collect: str = "0 * * * *"
    report: str = "0 7 2 * *"
    purge: str = "30 3 * * *"
    misfire_grace_time: int = 600


@dataclass(frozen=True)
class EmailSettings:
    """``[delivery.email]``; the password comes from TRACKER_SMTP_PASSWORD, never the file."""

    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    timeout: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class HealthSettings:
    # 0 means three times the longest gap of the [schedule] collect expression.
    stale_after_hours: float = 0.0
    alert_after_failures: int = 0


@dataclass(frozen=True)
class BudgetSettings:
    # 0 means no cap of our own (X still enforces the account's monthly cap).
    x_monthly_post_reads_cap: int = 0
    x_price_per_post_read: float = 0.005
    x_price_per_user_read: float = 0.010


@dataclass(frozen=True)
class RetentionSettings:
    # 0 keeps context posts forever.
    context_days: int = 365


@dataclass(frozen=True)
class LabelSettings:
    # The labeller's model file; None: the model shipped with the tracker.
    model: Path | None = None


@dataclass(frozen=True)
class BlueskySettings(RequestSettings):
    api_base_url: str = BLUESKY_DEFAULT_API_BASE_URL
    page_size: int = 100


@dataclass(frozen=True)
class MastodonSettings(RequestSettings):
    # server name -> base URL, for a server reached at another address (a proxy, the
    # demo's local emulator); every other server is https://<server>.
    server_urls: dict[str, str] = field(default_factory=dict)

    def base_url(self, server: str) -> str:
        return self.server_urls.get(server.lower(), f"https://{server}").rstrip("/")


@dataclass(frozen=True)
class BlogSettings(RequestSettings):
    user_agent: str = "tracker-feed-reader/1"


@dataclass(frozen=True)
class LinkedInSettings:
    """``[sources.linkedin]``: where leaders' data exports are dropped for the scheduled job."""

    exports_dir: Path | None = None
    # `tracker status` calls an account's newest export stale after this many days.
    stale_after_days: int = 35


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    timezone: str
    reports_dir: Path
    organisation_name: str
    organisation_handles: dict[str, tuple[str, ...]]
    backfill_days: int
    leaders: tuple[Leader, ...]
    sources: dict[str, Any] = field(default_factory=dict)
    # ops (issue 6)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    labels: LabelSettings = field(default_factory=LabelSettings)
    # [[peers]]: leaders of other organisations, collected to compare with, never ranked.
    peers: tuple[Leader, ...] = ()

    @property
    def tracked(self) -> tuple[Leader, ...]:
        """Everyone collected: the organisation's leaders, then the peers."""
        return self.leaders + self.peers

    @property
    def x(self) -> XSettings:
        settings = self.sources.get("x")
        return settings if isinstance(settings, XSettings) else XSettings()

    @property
    def bluesky(self) -> BlueskySettings:
        settings = self.sources.get("bluesky")
        return settings if isinstance(settings, BlueskySettings) else BlueskySettings()

    @property
    def mastodon(self) -> MastodonSettings:
        settings = self.sources.get("mastodon")
        return settings if isinstance(settings, MastodonSettings) else MastodonSettings()

    @property
    def blog(self) -> BlogSettings:
        settings = self.sources.get("blog")
        return settings if isinstance(settings, BlogSettings) else BlogSettings()

    @property
    def linkedin(self) -> LinkedInSettings:
        settings = self.sources.get("linkedin")
        return settings if isinstance(settings, LinkedInSettings) else LinkedInSettings()

    def leader(self, leader_id: str) -> Leader:
        for leader in self.tracked:
            if leader.id == leader_id:
                return leader
        raise ConfigError(f"{self.path}: no leader with id {leader_id!r}")


# --- the schema -------------------------------------------------------------------------

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
            # --- mentions (issue 3) ---
            "mentions": Field((bool,), "true or false", False),
            "mentions_max_reads_per_run": _at_most(Field((int,), "a whole number of post reads >= 0", 500,
                                                         check=lambda v: v >= 0), 1_000_000),
        },
        # --- platforms (issue 5) ---
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
            "user_agent": Field((str,), "a non-empty string without control characters", BlogSettings.user_agent,
                                check=lambda v: bool(v.strip()) and _has_no_control_characters(v)),
            **_retry_fields(),
        },
        "linkedin": {
            "exports_dir": Field((str,), 'a folder path ("" = no unattended import)', ""),
            "stale_after_days": _at_most(Field((int,), "a whole number of days >= 1", 35, check=lambda v: v >= 1),
                                         MAX_DAYS),
        },
    },
    # --- ops (issue 6) ---
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


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            dict: "a table", list: "an array"}.get(type(value), type(value).__name__)


def _validate_table(table: dict[str, Any], schema: dict[str, Any], path: str,
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
                errors.append(f"{key_path}: expected a table, got {_type_name(value)}")
                value = {}
            result[key] = _validate_table(value, spec, f"{key_path}.", errors)
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
            errors.append(f"{key_path}: expected {spec.expected}, got {_type_name(value)} {value!r}")
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


def _check_handle(platform: str, handle: Any, key_path: str, errors: list[str]) -> str | None:
    rule = HANDLE_RULES[platform]
    if not isinstance(handle, str) or not rule.pattern.match(handle) or not _url_part_ok(platform, handle):
        errors.append(f"{key_path}: expected {rule.expected}, got {handle!r}")
        return None
    return rule.normalize(handle)


def _check_platform(platform: str, key_path: str, errors: list[str]) -> bool:
    if platform in HANDLE_RULES:
        return True
    known = ", ".join(sorted(HANDLE_RULES))
    errors.append(f"{key_path}: unknown platform (expected one of: {known})")
    return False


def _resolve(base: Path, value: str) -> Path:
    # Normalised (lexically, like the shell's `cd`), so paths print as `reports/2026-03`,
    # not `config/../reports/2026-03`.
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else (base / path)))


def find_config_path(option: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$TRACKER_CONFIG``, else ``config/tracker.toml``."""
    if option:
        return Path(os.path.normpath(option))
    if os.environ.get(CONFIG_ENV_VAR):
        return Path(os.path.normpath(os.environ[CONFIG_ENV_VAR]))
    return DEFAULT_CONFIG_PATH


def _parse_leaders(items: Any, table: str, schema: dict[str, Any], seen_ids: dict[str, str],
                   seen_accounts: dict[tuple[str, str], str], errors: list[str], required: bool) -> list[Leader]:
    """``[[leaders]]`` or ``[[peers]]`` entries; ids and accounts are unique across both tables."""
    if items is None:
        if required:
            errors.append(f"{table}: missing (expected at least one [[{table}]] table)")
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        errors.append(f"{table}: expected an array of [[{table}]] tables, got {_type_name(items)}")
        return []
    if not items and required:
        errors.append(f"{table}: expected at least one [[{table}]] table, got none")
    out: list[Leader] = []
    for index, item in enumerate(items):
        prefix = f"{table}[{index}]."
        values = _validate_table(item, schema, prefix, errors)
        leader_id = values.get("id")
        if leader_id is not None:
            if leader_id in seen_ids:
                errors.append(f"{prefix}id: duplicate id {leader_id!r} "
                              f"(expected ids to be unique; first used by {seen_ids[leader_id]})")
            else:
                seen_ids[leader_id] = f"{table}[{index}]"
        accounts: dict[str, str] = {}
        raw_accounts = values.get("accounts")
        if isinstance(raw_accounts, dict):
            if not raw_accounts:
                errors.append(f"{prefix}accounts: expected at least one platform = handle, got an empty table")
            for platform, handle in raw_accounts.items():
                key_path = f"{prefix}accounts.{platform}"
                if _check_platform(platform, key_path, errors):
                    normalized = _check_handle(platform, handle, key_path, errors)
                    if normalized is not None:
                        accounts[platform] = normalized
                        first = seen_accounts.setdefault((platform, normalized.lower()), f"{table}[{index}]")
                        if first != f"{table}[{index}]":
                            errors.append(f"{key_path}: {normalized!r} is already the {platform} account of "
                                          f"{first} (expected each account under one leader only)")
        if {"id", "name", "accounts"} <= values.keys() and ("organisation" in values or "organisation" not in schema):
            out.append(Leader(values["id"], values["name"], values["role"], values["group"], accounts,
                              values.get("organisation", "")))
    return out


def parse_config(text: str, path: Path) -> Config:
    """Validate the TOML ``text`` read from ``path``; raise ConfigError naming every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None

    errors: list[str] = []
    top_schema = dict(SCHEMA)
    top_schema["leaders"] = Field((list,), "an array of [[leaders]] tables")
    leaders_raw = raw.get("leaders")
    checked = _validate_table({k: v for k, v in raw.items() if k not in ("leaders", "peers")},
                              {k: v for k, v in top_schema.items() if k != "leaders"}, "", errors)

    seen_ids: dict[str, str] = {}
    # One platform account belongs to one leader (or peer): read twice it is billed twice,
    # and the second would show no posts under "full" coverage.
    seen_accounts: dict[tuple[str, str], str] = {}
    leaders = _parse_leaders(leaders_raw, "leaders", LEADER_SCHEMA, seen_ids, seen_accounts, errors, required=True)
    peers = _parse_leaders(raw.get("peers"), "peers", PEER_SCHEMA, seen_ids, seen_accounts, errors,
                           required=False)

    org_handles: dict[str, tuple[str, ...]] = {}
    for platform, handles in checked.get("organisation", {}).get("handles", {}).items():
        key_path = f"organisation.handles.{platform}"
        if not _check_platform(platform, key_path, errors):
            continue
        if isinstance(handles, str):
            handles = [handles]
        if not isinstance(handles, list):
            errors.append(f"{key_path}: expected an array of handles, got {_type_name(handles)}")
            continue
        normalized_handles = [_check_handle(platform, h, f"{key_path}[{i}]", errors) for i, h in enumerate(handles)]
        org_handles[platform] = tuple(h for h in normalized_handles if h is not None)

    email = checked["delivery"]["email"]
    if email.get("host") and not (email.get("sender") and email.get("recipients", [None])):
        errors.append("delivery.email: expected sender and recipients when host is set")

    if errors:
        raise ConfigError("\n".join(f"{path}: {error}" for error in errors))

    base = path.parent
    tracker = checked["tracker"]
    return Config(
        path=path,
        database=_resolve(base, tracker["database"]),
        timezone=tracker["timezone"],
        reports_dir=_resolve(base, tracker["reports_dir"]),
        organisation_name=checked["organisation"]["name"],
        organisation_handles=org_handles,
        backfill_days=checked["collect"]["backfill_days"],
        leaders=tuple(leaders),
        peers=tuple(peers),
        schedule=ScheduleSettings(**{**checked["schedule"],
                                     "timezone": checked["schedule"]["timezone"] or tracker["timezone"]}),
        email=EmailSettings(**{**email, "recipients": tuple(email["recipients"])}),
        health=HealthSettings(**checked["health"]),
        budget=BudgetSettings(**checked["budget"]),
        retention=RetentionSettings(**checked["retention"]),
        labels=LabelSettings(_resolve(base, checked["labels"]["model"]) if checked["labels"]["model"] else None),
        sources={
            "x": XSettings(**checked["sources"]["x"]),
            "bluesky": BlueskySettings(**checked["sources"]["bluesky"]),
            "mastodon": MastodonSettings(**{
                **checked["sources"]["mastodon"],
                "server_urls": {k.lower(): v for k, v in checked["sources"]["mastodon"]["server_urls"].items()},
            }),
            "blog": BlogSettings(**checked["sources"]["blog"]),
            "linkedin": LinkedInSettings(
                exports_dir=_resolve(base, checked["sources"]["linkedin"]["exports_dir"])
                if checked["sources"]["linkedin"]["exports_dir"].strip() else None,
                stale_after_days=checked["sources"]["linkedin"]["stale_after_days"]),
        },
    )


def _read_regular_file(path: Path) -> str:
    """The file's text; a FIFO, device or folder is refused without blocking on it."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else \
                "not a regular file"
            raise ConfigError(f"{path}: the config file is {kind}; expected a regular TOML file")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read().decode("utf-8")
    finally:
        os.close(descriptor)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Find, read and validate the config file (see ``find_config_path``)."""
    config_path = find_config_path(path)
    try:
        text = _read_regular_file(config_path)
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: no such config file (pass --config PATH, set {CONFIG_ENV_VAR}, "
            "or create one with `tracker init`)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{config_path}: cannot read config file: {error}") from None
    return parse_config(text, config_path)


# `tracker init` keeps a new config's database and reports beside it: two configs in two
# folders never share a database. (The committed config/tracker.toml points at the
# repository's data/ and reports/ folders instead.)
STARTER_PATHS = {"database": "data/tracker.db", "reports_dir": "reports"}


def starter_config_text() -> str:
    """The commented example config, with its paths inside the config's own folder."""
    text = (Path(__file__).with_name("data") / "tracker.toml").read_text(encoding="utf-8")
    for key, value in STARTER_PATHS.items():
        text, found = re.subn(rf'^{key} = ".*"$', f'{key} = "{value}"', text, count=1, flags=re.MULTILINE)
        assert found == 1, f"the example config has no [tracker] {key} line"
    return text
