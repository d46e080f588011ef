"""Cross-posting: a leader's post copied to another platform is counted once in ``all``
(docs/methodology.md). Pure: the candidate posts are read by ``tracker.metrics.monthly``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from tracker.domain import parse_utc, utc_iso

CROSS_POST_HOURS = 48
CROSS_POST_KINDS = ("original", "thread", "quote")

_LINKS_AND_MENTIONS = re.compile(r"https?://\S+|\bwww\.\S+|(?<!\w)@[\w.@-]+", re.IGNORECASE)


def normalize_cross_text(text: str | None) -> str:
    """Text as cross-posting tools change it: case, links, @handles and spacing removed (pure)."""
    return " ".join(_LINKS_AND_MENTIONS.sub(" ", text or "").casefold().split())


def match_cross_posts(rows: Iterable[tuple[str, str, str, str, str | None]], month_start: datetime,
                      hours: int = CROSS_POST_HOURS) -> dict[str, str]:
    """Later copies of a leader's top-level post on another platform within ``hours``.

    ``rows``: (post id, leader id, platform, created_at, text) of the candidates, by leader
    then time (``tracker.store.queries.select_cross_post_candidates``). Returns {duplicate
    post id: id of the first copy} for duplicates created from ``month_start`` on.
    """
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for post_id, leader_id, platform, created_at, text in rows:
        key = normalize_cross_text(text)
        if key:  # a post that is only a link or a mention is no evidence of a copy
            groups.setdefault((leader_id, key), []).append((post_id, platform, created_at))
    window = timedelta(hours=hours)
    first_day = utc_iso(month_start)
    duplicates: dict[str, str] = {}
    for copies in groups.values():
        if len({copy[1] for copy in copies}) < 2:
            continue
        anchor_id, anchor_at, platforms = "", datetime.min.replace(tzinfo=timezone.utc), set()
        for post_id, platform, created_at in copies:
            moment = parse_utc(created_at)
            if moment - anchor_at <= window and platform not in platforms:
                platforms.add(platform)
                if created_at >= first_day:
                    duplicates[post_id] = anchor_id
            else:  # a new post (or the same text posted again on one platform): counts
                anchor_id, anchor_at, platforms = post_id, moment, {platform}
    return duplicates
