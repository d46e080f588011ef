"""The project's exceptions. Only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class TrackerError(Exception):
    """Base class for every error the library raises on purpose."""


class ConfigError(TrackerError):
    """The config file is missing, unreadable or invalid (exit code 2)."""


class DatabaseError(TrackerError):
    """The database cannot be used as configured: a folder, an empty file, not a database,
    not writable, in a folder that does not exist (exit code 2: the user fixes the file or
    the config). Raised by ``store.check_database_path`` and ``store.open_db``."""


class NoDatabaseError(DatabaseError):
    """There is no database at the configured path yet (raised in one place: ``store.check_database_path``)."""


class LockedError(TrackerError):
    """Another collection holds the database lock."""


class SourceError(TrackerError):
    """A platform request failed; ``account`` names the account when known."""

    def __init__(self, message: str, *, platform: str = "", status: int | None = None):
        super().__init__(message)
        self.platform = platform
        self.status = status


class AuthError(SourceError):
    """The platform rejected our credentials: no account of that source can be collected."""


class AccountUnavailableError(SourceError):
    """The account is unknown, suspended or protected (``reason`` says which)."""

    def __init__(self, message: str, *, reason: str, platform: str = ""):
        super().__init__(message, platform=platform)
        self.reason = reason


class RateLimitedError(SourceError):
    """The rate-limit reset is further away than the configured maximum wait."""

    def __init__(self, message: str, *, reset_at: float | None, platform: str = ""):
        super().__init__(message, platform=platform, status=429)
        self.reset_at = reset_at


class TransientError(SourceError):
    """A 5xx, timeout or malformed body that persisted through every retry."""


class PlatformUnreachableError(SourceError):
    """Requests to the platform failed to connect or timed out many times in a row, across
    accounts: the rest of the run skips the platform instead of waiting on each account."""


class BudgetExceededError(SourceError):
    """Collecting more would pass the configured read budget."""


class InputError(TrackerError):
    """An input file is malformed: a post given to the labeller, a labelled file, a LinkedIn
    export (exit code 2; the message names the file or line when known)."""


class DeliveryError(TrackerError):
    """The report could not be handed to the mail server (refused, dropped, unreachable)."""
