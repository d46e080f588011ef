"""Everything a monthly report shows, shaped from rows the store read (pure: no database).

``tracker.ops.report_job.build_report_data`` reads the rows (``tracker.store.queries``)
and hands them here as ``ReportRows``; ``shape_report`` turns them into ``ReportData``,
which the renderer (``tracker.report.pdf``) draws. Metrics are read, never recomputed:
they come from the ``metrics`` table that the metrics stage fills.

Times are shown in the configured time zone; months are calendar months in that zone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.domain import AccountStatus, RunStatus
from tracker.errors import ConfigError
from tracker.metrics.cross_posts import normalize_cross_text
from tracker.months import local_time, local_time_text, month_weeks, shift_month, week_of

if TYPE_CHECKING:
    from tracker.label.model import Model

BEHAVIOURS = ("answer", "debate", "progress")
KINDS = ("original", "reply", "thread", "quote", "repost")
TREND_MONTHS = 12
SAMPLES_PER_BEHAVIOUR = 3
# Candidates read per leader and behaviour, so that three distinct texts remain after
# dropping repeats (the same note posted twice, or cross-posted).
SAMPLE_CANDIDATES = 12
FAILED_RUN_STATUSES = tuple(status.value for status in RunStatus if status.failed)


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


@dataclass(frozen=True)
class ReportRows:
    """What the store read for one report, unshaped (see ``tracker.store.queries``)."""

    organisation: str
    month: str
    timezone: str
    group: str | None
    leaders: Sequence[tuple[str, str, str, str]]  # (id, name, role, group), chosen by ``choose_leaders``
    peers: Sequence[tuple[str, str, str, str, str]]  # (id, name, role, group, organisation)
    metrics: dict[str, list[dict[str, Any]]]  # month -> metrics rows, for ``metric_months(month)``
    authored: Sequence[tuple[str, str, str | None]]  # (leader, created_at, labels): the month's authored posts
    samples: Sequence[tuple[Any, ...]]  # ``select_labelled_samples``
    others: Sequence[tuple[Any, ...]]  # ``select_unlabelled_posts``
    accounts: Sequence[tuple[str, str, str, str, str | None]]  # ``select_account_states``
    failed_runs: Sequence[tuple[str, str, int, str, str | None]]  # ``select_failed_runs``
    span: tuple[str | None, str | None, str | None] = (None, None, None)  # ``select_data_span``
    account_count: int = 0
    runs_ok: int = 0
    runs_failed: int = 0
    labeller: str = ""


# --- choosing and months -----------------------------------------------------------------------

def trend_months(month: str) -> tuple[str, ...]:
    """The trend window: the TREND_MONTHS months ending with ``month``, oldest first."""
    return tuple(shift_month(month, delta) for delta in range(-(TREND_MONTHS - 1), 1))


def metric_months(month: str) -> tuple[str, ...]:
    """The months whose metrics a report reads: the trend window and the month before it."""
    return (shift_month(month, -TREND_MONTHS), *trend_months(month))


def choose_leaders(rows: Sequence[tuple[str, str, str, str, int]], group: str | None,
                   leader_ids: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """The leaders a report shows, from (id, name, role, group, in config) of every own leader.

    ``leader_ids``: exactly these (ConfigError naming an unknown one); otherwise the configured
    leaders. ``group``: only that group's (ConfigError when none is in it).
    """
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


# --- shaping -----------------------------------------------------------------------------------

def weekly_activity(authored: Sequence[tuple[str, str, str | None]], ids: Sequence[str], month: str,
                    tz: str) -> dict[str, list[WeekActivity]]:
    """Authored posts and each behaviour per week of the month, per leader."""
    weeks = month_weeks(month)
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for leader_id, created_at, labels in authored:
        moment = local_time(created_at, tz)
        assert moment is not None  # created_at is never null
        bucket = counts[leader_id][week_of(moment.date())[0]]
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


def _evidence(value: str | None) -> tuple[dict[str, Any], ...]:
    try:
        parsed = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(item for item in parsed if isinstance(item, dict)) if isinstance(parsed, list) else ()


def _local_minute(stamp: str | None, tz: str) -> str:
    return local_time_text(stamp, tz, "%Y-%m-%d %H:%M") or ""


def samples(rows: Sequence[tuple[Any, ...]], ids: Sequence[str],
            tz: str) -> dict[str, dict[str, tuple[SamplePost, ...]]]:
    """The most representative posts, in the order read; a text already shown for the leader's
    behaviour (links, mentions and case aside) is skipped."""
    found: dict[str, dict[str, list[SamplePost]]] = defaultdict(lambda: defaultdict(list))
    seen: set[tuple[str, str, str]] = set()
    for (leader_id, label, post_id, created_at, kind, text, url, confidence, likes, evidence, context_author,
         context_text) in rows:
        key = (leader_id, label, normalize_cross_text(text))
        if key in seen or len(found[leader_id][label]) >= SAMPLES_PER_BEHAVIOUR:
            continue
        seen.add(key)
        found[leader_id][label].append(SamplePost(
            post_id, _local_minute(created_at, tz), kind, text or "", url,
            float(confidence or 0.0), likes, context_author, context_text, _evidence(evidence)))
    return {leader_id: {label: tuple(found[leader_id][label]) for label in BEHAVIOURS} for leader_id in ids}


def other_posts(rows: Sequence[tuple[Any, ...]], tz: str) -> dict[str, tuple[SamplePost, ...]]:
    """Each leader's most liked posts with no behaviour label, distinct texts only."""
    found: dict[str, list[SamplePost]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for leader_id, post_id, created_at, kind, text, url, likes in rows:
        key = (leader_id, normalize_cross_text(text))
        if key in seen or len(found[leader_id]) >= SAMPLES_PER_BEHAVIOUR:
            continue
        seen.add(key)
        found[leader_id].append(SamplePost(post_id, _local_minute(created_at, tz), kind, text or "", url, 0.0, likes))
    return {leader_id: tuple(posts) for leader_id, posts in found.items()}


def _status_warning(platform: str, handle: str, status: str, detail: str | None) -> str | None:
    """The warning for an account the platform will not show, or None (an unknown status warns too)."""
    try:
        if not AccountStatus(status).unavailable:
            return None
    except ValueError:
        pass
    reason = status.replace("_", " ")
    return (f"{platform} account @{handle} is {reason}: its posts cannot be collected"
            + (f" ({detail})" if detail else ""))


def warnings(rows: ReportRows, ids: Sequence[str], trend_rows: dict[str, dict[str, dict[str, Any]]],
             months: Sequence[str]) -> dict[str, list[str]]:
    """Per leader: unavailable accounts, failed runs this month, and months without (full) data."""
    found: dict[str, list[str]] = {leader_id: [] for leader_id in ids}
    accounts: dict[str, list[str]] = defaultdict(list)
    for leader_id, platform, handle, status, detail in rows.accounts:
        accounts[leader_id].append(platform)
        warning = _status_warning(platform, handle, status, detail)
        if warning:
            found[leader_id].append(warning)
    for leader_id in ids:
        if not accounts[leader_id]:
            found[leader_id].append("no account is configured, so nothing can be collected")
    for leader_id, platform, count, last, error in rows.failed_runs:
        runs = "run" if count == 1 else "runs"
        found[leader_id].append(f"{count} failed {platform} collection {runs} this month, the last on "
                                f"{local_time_text(last, rows.timezone)}" + (f": {error}" if error else ""))
    for leader_id in ids:
        found[leader_id] += _gap_warnings(trend_rows.get(leader_id, {}), months)
    return found


def _gap_warnings(rows: dict[str, dict[str, Any]], months: Sequence[str]) -> list[str]:
    found = []
    gaps = [(m, rows[m]["coverage"]) for m in months if m in rows and rows[m].get("coverage") in ("none", "partial")]
    missing = [m for m in months if m not in rows]
    for coverage in ("none", "partial"):
        listed = [m for m, value in gaps if value == coverage]
        if listed:
            if coverage == "none":  # never collected, or before the history the collection reaches
                found.append(f"no data in {', '.join(listed)} (not collected, or before the collected history)")
            else:
                found.append(f"partial collection in {', '.join(listed)}")
    if missing and len(missing) < len(months):
        found.append(f"no metrics computed for {', '.join(missing)}")
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




def _history(rows: dict[str, dict[str, Any]], month: str,
             months: Sequence[str]) -> tuple[dict[str, Any] | None, float | None, tuple[TrendPoint, ...]]:
    """(last month's row, the index change since it, the trend) of one leader's "all" rows by month."""
    row, previous = rows.get(month), rows.get(shift_month(month, -1))
    change = None
    if row and previous and row.get("openness_index") is not None and previous.get("openness_index") is not None \
            and row.get("coverage") != "none" and previous.get("coverage") != "none":
        change = round(row["openness_index"] - previous["openness_index"], 6)
    trend = tuple(
        TrendPoint(one, r.get("openness_index"), r.get("openness_index_low"), r.get("openness_index_high"),
                   r.get("coverage"), r.get("peer_index_q1"), r.get("peer_index_median"), r.get("peer_index_q3"))
        if (r := rows.get(one)) else TrendPoint(one, None, None, None, None)
        for one in months
    )
    return previous, change, trend


def _coverage_counts(current: dict[str, dict[str, Any] | None]) -> dict[str, int]:
    counts: dict[str, int] = {"full": 0, "partial": 0, "none": 0, "missing": 0}
    for row in current.values():
        key = "missing" if row is None else str(row.get("coverage") or "missing")
        counts[key] = counts.get(key, 0) + 1
    return counts


def shape_report(rows: ReportRows) -> ReportData:
    """The report's data from the rows the store read (see the module docstring)."""
    month, tz = rows.month, rows.timezone
    ids = [leader[0] for leader in rows.leaders]
    peer_ids = [peer[0] for peer in rows.peers]
    months = trend_months(month)
    trend_rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for one, metric_rows in rows.metrics.items():
        for metrics_row in metric_rows:
            if metrics_row.get("platform") == "all":
                trend_rows[metrics_row["leader_id"]][one] = metrics_row
    month_rows = [row for row in rows.metrics.get(month, []) if row["leader_id"] not in peer_ids]
    current: dict[str, dict[str, Any] | None] = {leader_id: trend_rows[leader_id].get(month) for leader_id in ids}
    ranks = rank_leaders(current)
    weeks = weekly_activity(rows.authored, ids, month, tz) if ids else {}
    chosen = samples(rows.samples, ids, tz) if ids else {}
    others = other_posts(rows.others, tz) if ids else {}
    warned = warnings(rows, ids, trend_rows, months) if ids else {}
    reports = []
    for leader_id, name, role, group_name in rows.leaders:
        previous, change, trend = _history(trend_rows[leader_id], month, months)
        reports.append(LeaderReport(
            leader_id, name, role, group_name, current[leader_id],
            tuple(r for r in month_rows if r["leader_id"] == leader_id and r.get("platform") != "all"),
            previous, change, ranks.get(leader_id), trend, tuple(weeks.get(leader_id, ())),
            chosen.get(leader_id, {label: () for label in BEHAVIOURS}), tuple(warned.get(leader_id, ())),
            other_posts=others.get(leader_id, ()),
        ))
    peers = []
    for leader_id, name, role, group_name, organisation in rows.peers:
        previous, change, trend = _history(trend_rows[leader_id], month, months)
        peers.append(LeaderReport(leader_id, name, role, group_name, trend_rows[leader_id].get(month), (), previous,
                                  change, None, trend, (), {label: () for label in BEHAVIOURS}, (), organisation))
    # Peers by index, highest first; those without data last.
    peers.sort(key=lambda r: (not r.has_data, -((r.metrics or {}).get("openness_index") or 0), r.name.casefold()))
    # Ranked leaders first by rank, then the unranked by name: the leaderboard order.
    reports.sort(key=lambda r: (r.rank is None, r.rank or 0, r.name.casefold(), r.leader_id))
    first, last, newest = rows.span
    versions = tuple(sorted({str(r["classifier_version"]) for r in month_rows if r.get("classifier_version")}))
    return ReportData(
        organisation=rows.organisation, month=month, timezone=tz, group=rows.group,
        months=months, leaders=tuple(reports), metrics_rows=tuple(rows.metrics.get(month, [])),
        data_first=local_time_text(first, tz), data_last=local_time_text(last, tz),
        newest_data=local_time_text(newest, tz), accounts=rows.account_count, runs_ok=rows.runs_ok,
        runs_failed=rows.runs_failed, coverage_counts=_coverage_counts(current), classifier_versions=versions,
        peers=tuple(peers), labeller=rows.labeller,
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

