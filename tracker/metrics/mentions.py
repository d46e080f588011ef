"""Questions received as mentions, and how many the leader answered.

Only X collects mentions (``[sources.x] mentions``). A mention is someone else's post that
names the leader; it is a question when the classifier labels it ``question``. It counts as
answered when the leader replied to it with a post labelled ``answer``, whenever the reply
was written (up to the computation). The figures are null, never 0, for an account whose
mentions were not collected for the month: "not collected" is not "nobody asked".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlite_utils import Database

from tracker.collect.sources.x_cursor import mentions_collected_before
from tracker.config import Config
from tracker.domain import utc_iso
from tracker.store import queries

MENTION_PLATFORMS = ("x",)  # the sources that can collect mentions

def _mentions_enabled(config: Config, platform: str) -> bool:
    return platform == "x" and config.x.mentions


def collected_accounts(db: Database, config: Config, accounts: Sequence[str], end: datetime) -> list[str]:
    """The accounts among ``accounts`` whose mentions were collected for a month ending at ``end``.

    Collected means: the source has mentions switched on and, by the X source's cursor, a
    mentions page has been saved and the first mentions walk reached back before the month ended.
    """
    out = []
    for account_id, platform, cursor in queries.select_account_cursors(db, accounts):
        if _mentions_enabled(config, platform) and mentions_collected_before(cursor, utc_iso(end)):
            out.append(account_id)
    return sorted(out)


def mention_counts(db: Database, config: Config, start: datetime, end: datetime,
                   accounts: Sequence[str], org_users: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{account id: (questions received as mentions, of those answered)} for the accounts whose
    mentions were collected; the others are absent (their figures are null)."""
    collected = collected_accounts(db, config, accounts, end)
    counts = {account: (0, 0) for account in collected}
    if not collected:
        return counts
    for account, questions, answered in queries.select_mention_question_counts(
            db, utc_iso(start), utc_iso(end), collected, org_users):
        counts[account] = (questions, answered or 0)
    return counts


def mention_totals(counts: Mapping[str, tuple[int, int]], account_ids: Sequence[str]) -> tuple[int, int] | None:
    """(questions, answered) summed over the ``account_ids`` that have counts; None when none has."""
    found = [counts[account] for account in account_ids if account in counts]
    if not found:
        return None
    return sum(q for q, _ in found), sum(a for _, a in found)
