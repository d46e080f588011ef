"""Everything a monthly report shows, read from the database in one place (issue 4).

``build_report_data`` is the only code that queries the database for a report; the renderer
(``tracker.report.pdf``) draws what it returns and never opens the database (house style §3.1
item 11, the git-of-theseus analyse/plot split). Metrics are read, never recomputed: they
come from the ``metrics`` table that the metrics layer (issue 3) fills.

Times are shown in the configured time zone; months are calendar months in that zone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from tracker.config import Config
from tracker.label.stored import labeller_for
from tracker.errors import ConfigError
from tracker.metrics.monthly import load_metrics, normalize_cross_text
from tracker.label.model import Model
from tracker.months import last_complete_month, month_bounds_utc, parse_month, shift_month  # noqa: F401

BEHAVIOURS = ("answer", "debate", "progress")
KINDS = ("original", "reply", "thread", "quote", "repost")
TREND_MONTHS = 12
SAMPLES_PER_BEHAVIOUR = 3
# Account statuses written by the collector that mean posts could not be read.
UNAVAILABLE_STATUSES = ("protected", "suspended", "not_found", "identity_changed")
FAILED_RUN_STATUSES = ("failed", "interrupted")


# --- the data ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SamplePost:
    """One representative post of a behaviour, with what a reader needs to open it."""

    post_id: str
    created_local: str  # "2026-03-04 09:15" in the report's time zone
    kind: str
    text: str
    url: str | None
    confidence: float
    likes: int | None
    # What the post answers, debates or builds on: the post replied to or quoted.
    context_author: str | None = None
    context_text: str | None = None
    # The label's evidence as stored (a JSON list of spans); the renderer words it.
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class WeekActivity:
    """One ISO week that overlaps the month (only the days inside the month are counted)."""

    week: str  # "2026-W10"
    starts: str  # the Monday, "2026-03-02"
    posts: int  # authored posts (reposts excluded)
    answer: int
    debate: int
    progress: int


@dataclass(frozen=True)
class TrendPoint:
    month: str
    index: float | None
    low: float | None
    high: float | None
    coverage: str | None  # None when no metrics row exists for that month
    # The peer cohort's quartiles and median of the index that month (None without peers).
    peer_q1: float | None = None
    peer_median: float | None = None
    peer_q3: float | None = None


@dataclass(frozen=True)
class LeaderReport:
    leader_id: str
    name: str
    role: str
    group: str
    metrics: dict[str, Any] | None  # the month's platform = "all" row, None when not computed
    platform_metrics: tuple[dict[str, Any], ...]  # the month's per-platform rows
    previous: dict[str, Any] | None  # last month's "all" row
    change: float | None  # index change since last month, when both months have one
    rank: int | None  # only where the sample is large enough (see ``rank_leaders``)
    trend: tuple[TrendPoint, ...]  # the last TREND_MONTHS months, oldest first
    weeks: tuple[WeekActivity, ...]
    samples: dict[str, tuple[SamplePost, ...]]  # behaviour -> up to three posts
    warnings: tuple[str, ...]
    organisation: str = ""  # a peer's company; "" for the organisation's own leaders
    # The month's most liked posts that show none of the behaviours: what else the leader said.
    other_posts: tuple[SamplePost, ...] = ()

    @property
    def has_data(self) -> bool:
        return self.metrics is not None and self.metrics.get("coverage") != "none"


@dataclass(frozen=True)
class ReportData:
    organisation: str
    month: str  # "2026-03"
    timezone: str
    group: str | None
    months: tuple[str, ...]  # the trend window, oldest first, ending with ``month``
    leaders: tuple[LeaderReport, ...]  # in leaderboard order (ranked first)
    metrics_rows: tuple[dict[str, Any], ...]  # every metrics row of the month: the CSV
    data_first: str | None  # oldest stored post, local time
    data_last: str | None  # newest stored post, local time
    newest_data: str | None  # when the newest data was read (max last_seen), local time
    accounts: int
    runs_ok: int  # successful runs that ended since the month began
    runs_failed: int  # failed or interrupted runs started since the month began
    coverage_counts: dict[str, int] = field(default_factory=dict)  # full/partial/none/missing
    classifier_versions: tuple[str, ...] = ()
    # The labeller in plain words: its version and its cross-validated figures.
    labeller: str = ""
    not_labelled_language: int = 0  # the month's posts the labeller could not read (not English)
    # Leaders of other organisations ([[peers]]), by index: compared with, never ranked.
    peers: tuple[LeaderReport, ...] = ()


# --- month arithmetic --------------------------------------------------------------------------

def month_weeks(month: str) -> list[tuple[str, str]]:
    """The ISO weeks that overlap the month: ("2026-W10", Monday as "2026-03-02")."""
    year, number = parse_month(month)
    day = date(year, number, 1)
    weeks: list[tuple[str, str]] = []
    while day.month == number:
        iso = day.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}"
        if not weeks or weeks[-1][0] != key:
            monday = day - timedelta(days=day.weekday())
            weeks.append((key, monday.isoformat()))
        day += timedelta(days=1)
    return weeks


def _local(stamp: str | None, zone: ZoneInfo) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(zone)


def _local_text(stamp: str | None, zone: ZoneInfo) -> str | None:
    moment = _local(stamp, zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment else None


# --- reading -----------------------------------------------------------------------------------

def _placeholders(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("?" for _ in values)


def _select_peers(db: Database) -> list[tuple[str, str, str, str, str]]:
    return [tuple(row) for row in db.execute(  # type: ignore[misc]
        "SELECT id, name, role, group_name, organisation FROM leaders WHERE organisation != '' AND in_config "
        "ORDER BY organisation, name, id")]


def _select_leaders(db: Database, group: str | None, leader_ids: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    rows = db.execute("SELECT id, name, role, group_name, in_config FROM leaders WHERE organisation = '' "
                      "ORDER BY name, id").fetchall()
    known = {row[0] for row in rows}
    missing = [leader_id for leader_id in leader_ids if leader_id not in known]
    if missing:
        raise ConfigError(f"--leader: no leader with id {', '.join(map(repr, missing))} in the database "
                          f"(expected one of: {', '.join(sorted(known)) or 'none yet, run `tracker collect`'})")
    chosen = [row for row in rows if (row[0] in leader_ids if leader_ids else row[4])]
    if group is not None:
        chosen = [row for row in chosen if row[3] == group]
        if not chosen:
            groups = sorted({row[3] for row in rows if row[3]})
            raise ConfigError(f"--group: no leader in group {group!r} "
                              f"(expected one of: {', '.join(map(repr, groups)) or 'no groups configured'})")
    return [(row[0], row[1], row[2], row[3]) for row in chosen]


def _weekly_activity(db: Database, ids: list[str], month: str, zone: ZoneInfo) -> dict[str, list[WeekActivity]]:
    start, end = month_bounds_utc(month, zone.key)
    weeks = month_weeks(month)
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    sql = ("SELECT p.leader_id, p.created_at, "
           "(SELECT group_concat(label) FROM post_labels l WHERE l.post_id = p.id) FROM posts p "
           f"WHERE p.kind != 'repost' AND p.created_at >= ? AND p.created_at < ? "
           f"AND p.leader_id IN ({_placeholders(ids)})")
    for leader_id, created_at, labels in db.execute(sql, [start, end, *ids]):
        iso = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(zone).isocalendar()
        bucket = counts[leader_id][f"{iso.year}-W{iso.week:02d}"]
        bucket["posts"] += 1
        for label in (labels or "").split(","):
            if label in BEHAVIOURS:
                bucket[label] += 1
    return {
        leader_id: [WeekActivity(week, monday, counts[leader_id][week]["posts"], counts[leader_id][week]["answer"],
                                 counts[leader_id][week]["debate"], counts[leader_id][week]["progress"])
                    for week, monday in weeks]
        for leader_id in ids
    }


# Candidates read per leader and behaviour, so that three distinct texts remain after
# dropping repeats (the same note posted twice, or cross-posted).
SAMPLE_CANDIDATES = 12


def _evidence(value: str | None) -> tuple[dict[str, Any], ...]:
    try:
        parsed = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(item for item in parsed if isinstance(item, dict)) if isinstance(parsed, list) else ()


def _samples(db: Database, ids: list[str], month: str, zone: ZoneInfo) -> dict[str, dict[str, tuple[SamplePost, ...]]]:
    """The most representative posts: highest label confidence, then most liked, then oldest.

    Each comes with its context (the post it replies to or quotes, or the leader's own post a
    thread continues) and its label's evidence; a text already shown for the leader's
    behaviour (links, mentions and case aside) is skipped.
    """
    start, end = month_bounds_utc(month, zone.key)
    sql = f"""
        SELECT s.leader_id, s.label, s.id, s.created_at, s.kind, s.text, s.url, s.confidence, s.like_count,
            s.evidence,
            coalesce(c.author_name, c.author_handle, CASE WHEN o.id IS NOT NULL THEN 'the leader' END),
            coalesce(c.text, o.text)
        FROM (
            SELECT p.leader_id, l.label, p.id, p.created_at, p.kind, p.text, p.url, l.confidence, p.like_count,
                l.evidence, coalesce(p.in_reply_to_id, p.quoted_id) AS context_id,
                ROW_NUMBER() OVER (PARTITION BY p.leader_id, l.label
                    ORDER BY l.confidence DESC, coalesce(p.like_count, 0) DESC, p.created_at, p.id) AS position
            FROM post_labels l JOIN posts p ON p.id = l.post_id
            WHERE p.created_at >= ? AND p.created_at < ? AND l.label IN ({_placeholders(list(BEHAVIOURS))})
                AND p.leader_id IN ({_placeholders(ids)})
        ) s
        LEFT JOIN context_posts c ON c.id = s.context_id
        LEFT JOIN posts o ON o.id = s.context_id AND c.id IS NULL
        WHERE s.position <= ? ORDER BY s.leader_id, s.label, s.position
    """
    found: dict[str, dict[str, list[SamplePost]]] = defaultdict(lambda: defaultdict(list))
    seen: set[tuple[str, str, str]] = set()
    for (leader_id, label, post_id, created_at, kind, text, url, confidence, likes, evidence, context_author,
         context_text) in db.execute(sql, [start, end, *BEHAVIOURS, *ids, SAMPLE_CANDIDATES]):
        key = (leader_id, label, normalize_cross_text(text))
        if key in seen or len(found[leader_id][label]) >= SAMPLES_PER_BEHAVIOUR:
            continue
        seen.add(key)
        moment = _local(created_at, zone)
        found[leader_id][label].append(SamplePost(
            post_id, moment.strftime("%Y-%m-%d %H:%M") if moment else "", kind, text or "", url,
            float(confidence or 0.0), likes, context_author, context_text, _evidence(evidence)))
    return {leader_id: {label: tuple(found[leader_id][label]) for label in BEHAVIOURS} for leader_id in ids}


def _other_posts(db: Database, ids: list[str], month: str, zone: ZoneInfo) -> dict[str, tuple[SamplePost, ...]]:
    """Each leader's most liked posts of the month with no behaviour label (distinct texts)."""
    start, end = month_bounds_utc(month, zone.key)
    sql = f"""
        SELECT leader_id, id, created_at, kind, text, url, like_count FROM (
            SELECT p.leader_id, p.id, p.created_at, p.kind, p.text, p.url, p.like_count,
                ROW_NUMBER() OVER (PARTITION BY p.leader_id
                    ORDER BY coalesce(p.like_count, 0) DESC, p.created_at, p.id) AS position
            FROM posts p
            WHERE p.created_at >= ? AND p.created_at < ? AND p.kind != 'repost'
                AND p.leader_id IN ({_placeholders(ids)})
                AND NOT EXISTS (SELECT 1 FROM post_labels l WHERE l.post_id = p.id
                                AND l.label IN ({_placeholders(list(BEHAVIOURS))}))
        ) WHERE position <= ? ORDER BY leader_id, position
    """
    found: dict[str, list[SamplePost]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for leader_id, post_id, created_at, kind, text, url, likes in db.execute(
            sql, [start, end, *ids, *BEHAVIOURS, SAMPLE_CANDIDATES]):
        key = (leader_id, normalize_cross_text(text))
        if key in seen or len(found[leader_id]) >= SAMPLES_PER_BEHAVIOUR:
            continue
        seen.add(key)
        moment = _local(created_at, zone)
        found[leader_id].append(SamplePost(post_id, moment.strftime("%Y-%m-%d %H:%M") if moment else "", kind,
                                           text or "", url, 0.0, likes))
    return {leader_id: tuple(posts) for leader_id, posts in found.items()}


def _warnings(db: Database, ids: list[str], month: str, zone: ZoneInfo,
              trend_rows: dict[str, dict[str, dict[str, Any]]], months: tuple[str, ...]) -> dict[str, list[str]]:
    start, end = month_bounds_utc(month, zone.key)
    found: dict[str, list[str]] = {leader_id: [] for leader_id in ids}
    sql = (f"SELECT leader_id, platform, handle, status, status_detail FROM accounts "
           f"WHERE leader_id IN ({_placeholders(ids)}) ORDER BY leader_id, platform")
    accounts: dict[str, list[str]] = defaultdict(list)
    for leader_id, platform, handle, status, detail in db.execute(sql, ids):
        accounts[leader_id].append(platform)
        if status in UNAVAILABLE_STATUSES:
            reason = status.replace("_", " ")
            found[leader_id].append(f"{platform} account @{handle} is {reason}: its posts cannot be collected"
                                    + (f" ({detail})" if detail else ""))
    for leader_id in ids:
        if not accounts[leader_id]:
            found[leader_id].append("no account is configured, so nothing can be collected")
    sql = (f"SELECT a.leader_id, r.platform, count(*), max(r.started_at), "
           f"(SELECT r2.error FROM runs r2 WHERE r2.account_id = r.account_id AND r2.status IN ('failed', 'interrupted') "
           f"AND r2.started_at >= ? AND r2.started_at < ? ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1) "
           f"FROM runs r JOIN accounts a ON a.id = r.account_id "
           f"WHERE r.status IN ('failed', 'interrupted') AND r.started_at >= ? AND r.started_at < ? "
           f"AND a.leader_id IN ({_placeholders(ids)}) GROUP BY a.leader_id, r.account_id, r.platform "
           f"ORDER BY a.leader_id, r.platform")
    for leader_id, platform, count, last, error in db.execute(sql, [start, end, start, end, *ids]):
        runs = "run" if count == 1 else "runs"
        found[leader_id].append(f"{count} failed {platform} collection {runs} this month, the last on "
                                f"{_local_text(last, zone)}" + (f": {error}" if error else ""))
    for leader_id in ids:
        rows = trend_rows.get(leader_id, {})
        gaps = [(m, rows[m]["coverage"]) for m in months if m in rows and rows[m].get("coverage") in ("none", "partial")]
        missing = [m for m in months if m not in rows]
        for coverage in ("none", "partial"):
            listed = [m for m, value in gaps if value == coverage]
            if listed:
                if coverage == "none":  # never collected, or before the history the collection reaches
                    found[leader_id].append(f"no data in {', '.join(listed)} (not collected, or before the "
                                            "collected history)")
                else:
                    found[leader_id].append(f"partial collection in {', '.join(listed)}")
        if missing and len(missing) < len(months):
            found[leader_id].append(f"no metrics computed for {', '.join(missing)}")
    return found


def rank_leaders(rows: dict[str, dict[str, Any] | None]) -> dict[str, int]:
    """Rank by openness index, only leaders whose month has data and a large enough sample.

    Ties share a rank ("1, 1, 3"). Leaders with ``low_sample = 1`` or ``coverage = 'none'``
    get no rank: a rank built on a handful of posts would be luck (metrics-research §4.4).
    """
    eligible = sorted(
        ((row["openness_index"], leader_id) for leader_id, row in rows.items()
         if row is not None and row.get("coverage") != "none" and not row.get("low_sample")
         and row.get("openness_index") is not None),
        key=lambda item: (-item[0], item[1]),
    )
    ranks: dict[str, int] = {}
    for position, (index, leader_id) in enumerate(eligible, start=1):
        previous = eligible[position - 2] if position > 1 else None
        ranks[leader_id] = ranks[previous[1]] if previous and previous[0] == index else position
    return ranks


def build_report_data(db: Database, config: Config, month: str, group: str | None = None,
                      leader_ids: tuple[str, ...] | list[str] = ()) -> ReportData:
    """Read everything the month's report shows (see the module docstring)."""
    parse_month(month)
    zone = ZoneInfo(config.timezone)
    leader_ids = tuple(dict.fromkeys(leader_ids))
    leaders = _select_leaders(db, group, leader_ids)
    ids = [leader[0] for leader in leaders]
    peer_rows = _select_peers(db)
    peer_ids = [peer[0] for peer in peer_rows]
    months = tuple(shift_month(month, delta) for delta in range(-(TREND_MONTHS - 1), 1))

    # Metrics of the trend window and the month before it, read one month at a time through
    # the metrics layer's reader.
    by_month: dict[str, list[dict[str, Any]]] = {}
    for one in (shift_month(month, -TREND_MONTHS), *months):
        by_month[one] = load_metrics(db, one, tuple(ids + peer_ids)) if ids else []
    trend_rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for one, rows in by_month.items():
        for metrics_row in rows:
            if metrics_row.get("platform") == "all":
                trend_rows[metrics_row["leader_id"]][one] = metrics_row
    month_rows = [row for row in by_month[month] if row["leader_id"] not in peer_ids]
    current: dict[str, dict[str, Any] | None] = {leader_id: trend_rows[leader_id].get(month) for leader_id in ids}
    ranks = rank_leaders(current)

    weeks = _weekly_activity(db, ids, month, zone) if ids else {}
    samples = _samples(db, ids, month, zone) if ids else {}
    others = _other_posts(db, ids, month, zone) if ids else {}
    warnings = _warnings(db, ids, month, zone, trend_rows, months) if ids else {}

    reports = []
    previous_month = shift_month(month, -1)

    def history(leader_id: str) -> tuple[dict[str, Any] | None, float | None, tuple[TrendPoint, ...]]:
        row, previous = trend_rows[leader_id].get(month), trend_rows[leader_id].get(previous_month)
        change = None
        if row and previous and row.get("openness_index") is not None and previous.get("openness_index") is not None \
                and row.get("coverage") != "none" and previous.get("coverage") != "none":
            change = round(row["openness_index"] - previous["openness_index"], 6)
        trend = tuple(
            TrendPoint(one, r.get("openness_index"), r.get("openness_index_low"), r.get("openness_index_high"),
                       r.get("coverage"), r.get("peer_index_q1"), r.get("peer_index_median"), r.get("peer_index_q3"))
            if (r := trend_rows[leader_id].get(one)) else TrendPoint(one, None, None, None, None)
            for one in months
        )
        return previous, change, trend

    for leader_id, name, role, group_name in leaders:
        previous, change, trend = history(leader_id)
        reports.append(LeaderReport(
            leader_id, name, role, group_name, current[leader_id],
            tuple(r for r in month_rows if r["leader_id"] == leader_id and r.get("platform") != "all"),
            previous, change, ranks.get(leader_id), trend, tuple(weeks.get(leader_id, ())),
            samples.get(leader_id, {label: () for label in BEHAVIOURS}), tuple(warnings.get(leader_id, ())),
            other_posts=others.get(leader_id, ()),
        ))
    peers = []
    for leader_id, name, role, group_name, organisation in peer_rows:
        previous, change, trend = history(leader_id)
        peers.append(LeaderReport(leader_id, name, role, group_name, trend_rows[leader_id].get(month), (), previous,
                                  change, None, trend, (), {label: () for label in BEHAVIOURS}, (), organisation))
    # Peers by index, highest first; those without data last.
    peers.sort(key=lambda r: (not r.has_data, -((r.metrics or {}).get("openness_index") or 0), r.name.casefold()))
    # Ranked leaders first by rank, then the unranked by name: the leaderboard order.
    reports.sort(key=lambda r: (r.rank is None, r.rank or 0, r.name.casefold(), r.leader_id))

    first, last, newest = None, None, None
    if ids:
        first, last, newest = db.execute(
            f"SELECT min(created_at), max(created_at), max(last_seen) FROM posts WHERE leader_id IN ({_placeholders(ids)})",
            ids).fetchone()
        context_seen = db.execute("SELECT max(last_seen) FROM context_posts").fetchone()[0]
        newest = max(filter(None, (newest, context_seen)), default=None)
    start, end = month_bounds_utc(month, zone.key)
    account_count = db.execute(f"SELECT count(*) FROM accounts WHERE leader_id IN ({_placeholders(ids)})",
                               ids).fetchone()[0] if ids else 0
    # The runs the coverage lines rest on: a month is collected by the successful runs that
    # ended after it began (often later, for a backfill or an import), so these are counted,
    # with the failed ones over the same span; a month with coverage always has one.
    runs = dict(db.execute(
        f"SELECT r.status IN ('failed', 'interrupted'), count(*) FROM runs r JOIN accounts a ON a.id = r.account_id "
        f"WHERE ((r.status = 'ok' AND r.finished_at >= ?) OR (r.status IN ('failed', 'interrupted') "
        f"AND r.started_at >= ?)) AND a.leader_id IN ({_placeholders(ids)}) GROUP BY 1",
        [start, start, *ids]).fetchall()) if ids else {}
    coverage_counts: dict[str, int] = {"full": 0, "partial": 0, "none": 0, "missing": 0}
    for row in current.values():
        key = "missing" if row is None else str(row.get("coverage") or "missing")
        coverage_counts[key] = coverage_counts.get(key, 0) + 1
    versions = tuple(sorted({str(r["classifier_version"]) for r in month_rows if r.get("classifier_version")}))

    return ReportData(
        organisation=config.organisation_name, month=month, timezone=config.timezone, group=group,
        months=months, leaders=tuple(reports), metrics_rows=tuple(by_month[month]),
        data_first=_local_text(first, zone), data_last=_local_text(last, zone), newest_data=_local_text(newest, zone),
        accounts=account_count, runs_ok=runs.get(0, 0), runs_failed=runs.get(1, 0),
        coverage_counts=coverage_counts, classifier_versions=versions, peers=tuple(peers),
        labeller=describe_labeller(labeller_for(config).model),
        not_labelled_language=sum(int(r.get("not_labelled_language") or 0) for r in month_rows
                                  if r.get("platform") == "all"),
    )


def describe_labeller(model: Model) -> str:
    """The model's version and its cross-validated figures, as a sentence for the report."""
    cv = model.meta.get("cv")
    if not cv:
        return f"Labels by model {model.version} (no cross-validated figures are stored with it)."
    figures = "; ".join(
        f"{name} precision {values['precision']:.2f}, recall {values['recall']:.2f}, "
        f"count {values['count_error']:+.0%}"
        for name, values in cv["labels"].items())
    return (f"Labels by model {model.version}. Measured on {cv['posts']:,} hand-labelled posts it was not "
            f"trained on ({cv['folds']}-fold cross-validation): {figures}. Counts in the index are the sums of "
            "the posts' probabilities, which hold better than the labels one by one.")

