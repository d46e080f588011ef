"""Questions received as mentions, and how many the leader answered.

Only X collects mentions (``[sources.x] mentions``). A mention is someone else's post that
names the leader; it is a question when the classifier labels it ``question``. It counts as
answered when the leader replied to it with a post labelled ``answer``, whenever the reply
was written (up to the computation). The figures are null, never 0, for an account whose
mentions were not collected for the month: "not collected" is not "nobody asked".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlite_utils import Database

from tracker.collect.sources.x_cursor import mentions_collected_before
from tracker.config import Config
from tracker.domain import utc_iso

MENTION_PLATFORMS = ("x",)  # the sources that can collect mentions

# Mentions from inside the organisation (its handles, the tracked leaders) are kept in the
# database but are not questions *received*: `:org` lists them as "organisation|platform:user
# id" (organisation '' for our own, a peer's company for its leaders).
_COUNTS_SQL = """
SELECT m.account_id, count(*),
    sum(EXISTS (SELECT 1 FROM posts p JOIN post_labels l ON l.post_id = p.id AND l.label = 'answer'
                WHERE p.in_reply_to_id = m.context_id AND p.leader_id = m.leader_id))
FROM mentions m JOIN context_posts c ON c.id = m.context_id
WHERE m.created_at >= :start AND m.created_at < :end
  AND m.account_id IN (SELECT value FROM json_each(:accounts))
  AND c.author_user_id IS NOT NULL
  AND coalesce((SELECT l.organisation FROM leaders l WHERE l.id = m.leader_id), '') || '|'
      || c.platform || ':' || c.author_user_id NOT IN (SELECT value FROM json_each(:org))
  AND EXISTS (SELECT 1 FROM context_labels q WHERE q.context_id = m.context_id AND q.label = 'question')
GROUP BY m.account_id
"""


def _mentions_enabled(config: Config, platform: str) -> bool:
    return platform == "x" and config.x.mentions


def collected_accounts(db: Database, config: Config, accounts: Sequence[str], end: datetime) -> list[str]:
    """The accounts among ``accounts`` whose mentions were collected for a month ending at ``end``.

    Collected means: the source has mentions switched on and, by the X source's cursor, a
    mentions page has been saved and the first mentions walk reached back before the month ended.
    """
    out = []
    marks = ", ".join("?" for _ in accounts)
    rows = db.execute(f"SELECT a.id, a.platform, c.value FROM accounts a LEFT JOIN cursors c ON c.account_id = a.id "
                      f"WHERE a.id IN ({marks})", list(accounts)).fetchall() if accounts else []
    for account_id, platform, cursor in rows:
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
    for account, questions, answered in db.execute(_COUNTS_SQL, {
            "start": utc_iso(start), "end": utc_iso(end), "accounts": json.dumps(collected),
            "org": json.dumps(list(org_users))}):
        counts[account] = (questions, answered or 0)
    return counts


def mention_totals(counts: Mapping[str, tuple[int, int]], account_ids: Sequence[str]) -> tuple[int, int] | None:
    """(questions, answered) summed over the ``account_ids`` that have counts; None when none has."""
    found = [counts[account] for account in account_ids if account in counts]
    if not found:
        return None
    return sum(q for q, _ in found), sum(a for _, a in found)
