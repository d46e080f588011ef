"""Every monthly metric, declared once: its key, column type, unit, description and, for the
figures counted in SQL, its aggregate over the month's posts.

Everything else derives from ``METRICS`` or is checked against it by a test: the keys and
their order (``KEYS``: the JSON objects, the CSV columns, the ``metrics`` table's columns),
the month's aggregate query (``tracker.metrics.monthly``), the report's key figures (they
read only declared keys) and the README's table of keys (``metrics_markdown_table``).

The order of ``METRICS`` is a public contract: a new metric is appended, never inserted, and
gets a migration that adds its column to ``metrics``. Aggregates are addressed by name.

In the aggregates, each row is one post of the month with these columns: ``kind``,
``platform``, ``answer``/``debate``/``progress`` (the post carries the label),
``question`` (a reply to a post labelled a sincere question), ``ext`` (the account replied
to or quoted is outside the organisation), ``cp`` (that account), ``dup`` (a cross-posted
copy), ``week`` (the Monday of the post's local week, ``tracker.months.week_start_sql``),
``pa``/``pd``/``pp`` (the calibrated probability of answer, debate, progress) and ``nl``
(why the post was not labelled).
"""

from __future__ import annotations

from dataclasses import dataclass

INTEGER, REAL, TEXT = "INTEGER", "REAL", "TEXT"
PEER_MEASURES = ("index", "answer", "debate", "progress", "presence")
PEER_STATS = ("q1", "median", "q3", "percentile")


@dataclass(frozen=True)
class Metric:
    """One key of a metrics row."""

    name: str
    type: str  # the column type in the ``metrics`` table
    unit: str  # "count", "share" (0-1), "hours", "score" (0-100), "weeks", "text" or "flag"
    description: str  # one line, as the README shows it
    aggregate: str | None = None  # SQL aggregate over the month's posts; None: computed in Python
    activity: bool = True  # null (never 0) when the month was not collected


@dataclass(frozen=True)
class Aggregate:
    """An intermediate figure counted in SQL that is not a key itself (a denominator, a variance)."""

    name: str
    aggregate: str


def _interval(name: str, type_: str, unit: str, description: str, aggregate: str | None = None,
              what: str = "Wilson 95% interval") -> tuple[Metric, ...]:
    return (Metric(name, type_, unit, description, aggregate),
            Metric(f"{name}_low", type_, unit, f"lower bound of `{name}`'s {what}"),
            Metric(f"{name}_high", type_, unit, f"upper bound of `{name}`'s {what}"))


def _label(name: str, description: str) -> Metric:
    return Metric(name, TEXT, "text", description, activity=False)


_ESTIMATE = "95% interval (the posts' Poisson-binomial variance plus the model's count error)"

METRICS: tuple[Metric, ...] = (
    Metric("leader_id", TEXT, "text", "the leader's id in the config", activity=False),
    Metric("month", TEXT, "text", "the calendar month, YYYY-MM, in `tracker.timezone`", activity=False),
    Metric("platform", TEXT, "text", "`x`, `bluesky`, `mastodon`, `blog`, `linkedin`, or `all` (every platform, "
           "cross-posted copies once)", activity=False),
    Metric("posts", INTEGER, "count", "authored posts: originals, replies, threads and quotes (reposts excluded)",
           "sum(kind != 'repost')"),
    Metric("originals", INTEGER, "count", "new top-level posts", "sum(kind = 'original')"),
    Metric("replies", INTEGER, "count", "replies to someone else's post", "sum(kind = 'reply')"),
    Metric("threads", INTEGER, "count", "replies to the leader's own post", "sum(kind = 'thread')"),
    Metric("quotes", INTEGER, "count", "quote posts", "sum(kind = 'quote')"),
    Metric("reposts", INTEGER, "count", "reposts (no authorship: counted nowhere else)", "sum(kind = 'repost')"),
    Metric("answers", INTEGER, "count", "posts labelled `answer`", "sum(answer)"),
    Metric("questions_received", INTEGER, "count", "the leader's replies to posts from outside the organisation "
           "labelled `question`", "sum(question AND ext)"),
    Metric("questions_answered", INTEGER, "count", "of those replies, the ones labelled `answer`",
           "sum(question AND ext AND answer)"),
    *_interval("questions_answered_share", REAL, "share", "`questions_answered / questions_received`; null when "
               "nothing was received"),
    Metric("median_response_hours", REAL, "hours", "median hours from a question to the reply that answers it"),
    Metric("debates", INTEGER, "count", "posts labelled `debate`", "sum(debate)"),
    Metric("unique_critics", INTEGER, "count", "distinct outside accounts in the leader's debate replies and quotes",
           "count(DISTINCT CASE WHEN debate AND ext THEN platform || ':' || cp END)"),
    *_interval("debate_share", REAL, "share", "`debates / (replies + quotes)`"),
    Metric("unique_counterparts", INTEGER, "count", "distinct accounts outside the organisation replied to or quoted",
           "count(DISTINCT CASE WHEN ext THEN platform || ':' || cp END)"),
    Metric("external_replies", INTEGER, "count", "replies to accounts outside the organisation",
           "sum(kind = 'reply' AND ext)"),
    *_interval("external_reply_share", REAL, "share", "`external_replies / replies`"),
    Metric("progress", INTEGER, "count", "authored posts labelled `progress`", "sum(progress AND kind != 'repost')"),
    *_interval("progress_share", REAL, "share", "`progress / posts`"),
    Metric("active_weeks", INTEGER, "weeks", "weeks (Monday to Sunday, local time) with an authored post on a day "
           "of the month", "count(DISTINCT CASE WHEN kind != 'repost' THEN week END)"),
    Metric("median_likes", REAL, "count", "median like count of authored posts, as last collected"),
    Metric("cross_posts", INTEGER, "count", "copies of another platform's post, counted once in `all`", "sum(dup)"),
    *_interval("openness_index", REAL, "score", "the openness index, 0-100", what="95% interval"),
    Metric("component_answer", REAL, "score", "the index's answering component, 0-100"),
    Metric("component_debate", REAL, "score", "the index's debate component, 0-100"),
    Metric("component_progress", REAL, "score", "the index's progress component, 0-100"),
    Metric("component_presence", REAL, "score", "the index's presence component, 0-100"),
    Metric("coverage", TEXT, "text", "`full`, `partial` or `none`: how much of the month was collected "
           "(`none`: null figures, never zeros)", activity=False),
    Metric("low_sample", INTEGER, "flag", "fewer than 10 posts, or fewer than 5 questions received: read with care",
           activity=False),
    _label("classifier_version", "the labeller that produced the labels"),
    _label("index_version", "the version of the index's weights and goalposts"),
    # Questions received as mentions (tracker.metrics.mentions): null when not collected.
    Metric("mentions_questions", INTEGER, "count", "posts from outside the organisation mentioning the leader in the "
           "month and labelled `question` (null when mentions were not collected)"),
    Metric("mentions_questions_answered", INTEGER, "count", "of those, the ones the leader replied to with a post "
           "labelled `answer`"),
    *_interval("mentions_answer_share", REAL, "share", "`mentions_questions_answered / mentions_questions`"),
    # The learned labeller's estimated counts: sums of the posts' calibrated probabilities.
    *_interval("answers_est", REAL, "count", "estimated answers: the sum of the posts' answer probabilities",
               "total(pa)", what=_ESTIMATE),
    Metric("questions_answered_est", REAL, "count", "estimated questions answered: the same sum over the replies to "
           "questions from outside", "total(CASE WHEN question AND ext THEN pa END)"),
    *_interval("debates_est", REAL, "count", "estimated debates: the sum of the posts' debate probabilities",
               "total(pd)", what=_ESTIMATE),
    *_interval("progress_est", REAL, "count", "estimated progress posts: the sum of the posts' progress "
               "probabilities", "total(pp)", what=_ESTIMATE),
    Metric("not_labelled_language", INTEGER, "count", "posts the labeller could not read (not English)",
           "total(nl = 'language')"),
    # The position against the peer cohort (tracker.metrics.peers).
    Metric("organisation", TEXT, "text", "the leader's organisation, or the peer's company", activity=False),
    Metric("peer_count", INTEGER, "count", "peers with data in the cohort for the month and platform",
           activity=False),
    *(Metric(f"peer_{measure}_{stat}", REAL, "score",
             f"the peer cohort's {stat_words} of `{source}`" if stat != "percentile" else
             f"the leader's percentile among the peers on `{source}`", activity=False)
      for measure, source in (("index", "openness_index"), ("answer", "component_answer"),
                              ("debate", "component_debate"), ("progress", "component_progress"),
                              ("presence", "component_presence"))
      for stat, stat_words in (("q1", "first quartile"), ("median", "median"), ("q3", "third quartile"),
                               ("percentile", ""))),
)

# Figures the index and the shares need that are not keys themselves.
WORKING_AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate("replies_and_quotes", "sum(kind IN ('reply', 'quote'))"),
    Aggregate("answers_var", "total(pa * (1 - pa))"),
    Aggregate("debates_var", "total(pd * (1 - pd))"),
    Aggregate("progress_var", "total(pp * (1 - pp))"),
    Aggregate("questions_answered_var", "total(CASE WHEN question AND ext THEN pa * (1 - pa) END)"),
)

BY_NAME = {metric.name: metric for metric in METRICS}
KEYS = tuple(metric.name for metric in METRICS)
# Null (never 0) when the month was not collected: "no data" is not "no activity".
ACTIVITY_KEYS = tuple(metric.name for metric in METRICS if metric.activity)
# Every figure counted in the month's SQL scan, by name.
AGGREGATES: tuple[Aggregate, ...] = (
    *(Aggregate(metric.name, metric.aggregate) for metric in METRICS if metric.aggregate is not None),
    *WORKING_AGGREGATES,
)
COUNTED = tuple(aggregate.name for aggregate in AGGREGATES)
MENTION_KEYS = tuple(key for key in KEYS if key.startswith("mentions_"))
PEER_KEYS = ("organisation", "peer_count", *(f"peer_{m}_{s}" for m in PEER_MEASURES for s in PEER_STATS))


def column_types() -> dict[str, str]:
    """{column: SQL type} of the ``metrics`` table, as the migrations must have made it."""
    return {**{metric.name: metric.type for metric in METRICS}, "computed_at": TEXT}


def aggregates_sql() -> str:
    """The SELECT list of the month's aggregates, each named after its metric."""
    return ",\n    ".join(f"{aggregate.aggregate} AS {aggregate.name}" for aggregate in AGGREGATES)


def metrics_markdown_table() -> str:
    """The README's table of keys: one row per declared metric."""
    lines = ["| Key | Type | Unit | Description |", "|---|---|---|---|"]
    lines += [f"| `{m.name}` | {m.type.lower()} | {m.unit} | {m.description} |" for m in METRICS]
    return "\n".join(lines)
