"""Load and validate ``tracker.toml`` into frozen dataclasses.

Validation happens once, up front, before anything is written: every problem is reported
with the file, the key path and what was expected, so a user can fix the file in one go.
No other module reads the config file; secrets never live in it (they come from the
environment, see ``tracker.secrets``).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.config_schema import (BLOG_DEFAULT_USER_AGENT, BLUESKY_DEFAULT_API_BASE_URL, LEADER_SCHEMA,
                                   PEER_SCHEMA, SCHEMA, X_DEFAULT_API_BASE_URL, Field, check_handle,
                                   check_platform, type_name, validate_table)
from tracker.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/tracker.toml")
CONFIG_ENV_VAR = "TRACKER_CONFIG"

# Platforms with no collector: their posts come only from imported files.
IMPORT_ONLY_PLATFORMS = ("linkedin",)



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
    # Mentions: also read GET /2/users/:id/mentions, at most this many billed post
    # reads per account and run (the rest follows on the next run).
    mentions: bool = False
    mentions_max_reads_per_run: int = 500


# --- ops settings (schedule, delivery, health, budget, retention) ---------------------------

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
    user_agent: str = BLOG_DEFAULT_USER_AGENT


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
    # ops
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
        errors.append(f"{table}: expected an array of [[{table}]] tables, got {type_name(items)}")
        return []
    if not items and required:
        errors.append(f"{table}: expected at least one [[{table}]] table, got none")
    out: list[Leader] = []
    for index, item in enumerate(items):
        prefix = f"{table}[{index}]."
        values = validate_table(item, schema, prefix, errors)
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
                if check_platform(platform, key_path, errors):
                    normalized = check_handle(platform, handle, key_path, errors)
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
    checked = validate_table({k: v for k, v in raw.items() if k not in ("leaders", "peers")},
                             {k: v for k, v in top_schema.items() if k != "leaders"}, "", errors)

    seen_ids: dict[str, str] = {}
    # One platform account belongs to one leader (or peer): read twice it is billed twice,
    # and the second would show no posts under "full" coverage.
    seen_accounts: dict[tuple[str, str], str] = {}
    leaders = _parse_leaders(leaders_raw, "leaders", LEADER_SCHEMA, seen_ids, seen_accounts, errors, required=True)
    peers = _parse_leaders(raw.get("peers"), "peers", PEER_SCHEMA, seen_ids, seen_accounts, errors,
                           required=False)

    org_handles = _parse_org_handles(checked, errors)

    email = checked["delivery"]["email"]
    if email.get("host") and not (email.get("sender") and email.get("recipients", [None])):
        errors.append("delivery.email: expected sender and recipients when host is set")

    if errors:
        raise ConfigError("\n".join(f"{path}: {error}" for error in errors))
    return _build_config(path, checked, leaders, peers, org_handles)


def _parse_org_handles(checked: dict[str, Any], errors: list[str]) -> dict[str, tuple[str, ...]]:
    """``[organisation] handles``: one handle or an array of them per platform."""
    org_handles: dict[str, tuple[str, ...]] = {}
    for platform, handles in checked.get("organisation", {}).get("handles", {}).items():
        key_path = f"organisation.handles.{platform}"
        if not check_platform(platform, key_path, errors):
            continue
        if isinstance(handles, str):
            handles = [handles]
        if not isinstance(handles, list):
            errors.append(f"{key_path}: expected an array of handles, got {type_name(handles)}")
            continue
        normalized_handles = [check_handle(platform, h, f"{key_path}[{i}]", errors) for i, h in enumerate(handles)]
        org_handles[platform] = tuple(h for h in normalized_handles if h is not None)
    return org_handles


def _build_config(path: Path, checked: dict[str, Any], leaders: list[Leader], peers: list[Leader],
                  org_handles: dict[str, tuple[str, ...]]) -> Config:
    """The frozen Config from validated tables (relative paths resolved against the file's folder)."""
    base = path.parent
    tracker = checked["tracker"]
    email = checked["delivery"]["email"]
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


def write_starter_config(path: Path, *, overwrite: bool = False) -> None:
    """Write the starter config to ``path``, and the folder its database goes in (collect
    starts a database only in a folder that exists)."""
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists (use --force to overwrite it)")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config_text(), encoding="utf-8")
        (folder / STARTER_PATHS["database"]).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror}") from None
