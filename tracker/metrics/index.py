"""The openness index and the statistics of a metrics row (pure: numbers in, numbers out).

Weights and goalposts are fixed and versioned (``INDEX_VERSION``), not relative to the
cohort, so a score means the same thing every month (docs/methodology.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tracker.metrics.declarations import MENTION_KEYS

INDEX_VERSION = "oi-2"
WEIGHTS = {"answer": 0.35, "debate": 0.25, "progress": 0.25, "presence": 0.15}
GOAL_ANSWERS = 8            # substantive answers a month for full volume credit (~2 a week)
GOAL_ANSWERED_SHARE = 0.9   # share of replies to questions that answer them
FAST_HOURS, SLOW_HOURS = 4.0, 72.0  # median time to answer: 4 h = full marks, 72 h = none
GOAL_DEBATES = 4
GOAL_CRITICS = 5
GOAL_PROGRESS_SHARE = 0.5
GOAL_PROGRESS = 8
GOAL_ACTIVE_WEEKS = 4
# A rate is "low sample" below these (JIN's minimum of 10 posts; the research's Q_in >= 5).
MIN_POSTS = 10
MIN_QUESTIONS = 5
Z95 = 1.96


# --- statistics ------------------------------------------------------------------------------

def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (Wilson 1927; Newcombe 1998).

    Unlike the normal approximation it stays inside [0, 1] and is not zero-width at 0/n or
    n/n, which matters for leaders with a handful of posts.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:  # fractional successes: an estimated count
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(successes: int, n: int) -> tuple[float | None, float | None, float | None]:
    if not n:
        return None, None, None
    low, high = wilson_interval(successes, n)
    return successes / n, low, high


def _goal(value: float | None, low: float, high: float) -> float:
    """Goalpost scaling, clipped to 0..1 (OECD/JRC min-max with fixed bounds)."""
    if value is None:
        return 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _speed(hours: float | None) -> float:
    """1 at FAST_HOURS or faster, 0 at SLOW_HOURS or slower, on a log scale in between."""
    if hours is None:
        return 0.0
    hours = max(hours, 1e-6)
    return _goal(math.log(SLOW_HOURS) - math.log(hours), 0.0, math.log(SLOW_HOURS) - math.log(FAST_HOURS))


@dataclass(frozen=True)
class IndexInputs:
    """What the index reads: estimated counts and shares, response time, critics, weeks."""

    answers: float
    answered_share: float | None
    response_hours: float | None
    debates: float
    critics: int
    progress_share: float | None
    progress: float
    active_weeks: int


def openness(inputs: IndexInputs) -> dict[str, float]:
    """The index and its four components (each 0-100).

    Every component rises with each input, so the index at the inputs' lower (upper)
    bounds is a lower (upper) bound of the index: the point always lies inside.
    """
    components = {
        "answer": 0.5 * _goal(inputs.answers, 0, GOAL_ANSWERS)
        + 0.25 * _goal(inputs.answered_share, 0, GOAL_ANSWERED_SHARE) + 0.25 * _speed(inputs.response_hours),
        "debate": 0.7 * _goal(inputs.debates, 0, GOAL_DEBATES) + 0.3 * _goal(inputs.critics, 0, GOAL_CRITICS),
        "progress": 0.7 * _goal(inputs.progress_share, 0, GOAL_PROGRESS_SHARE)
        + 0.3 * _goal(inputs.progress, 0, GOAL_PROGRESS),
        "presence": _goal(inputs.active_weeks, 0, GOAL_ACTIVE_WEEKS),
    }
    out = {f"component_{name}": round(100 * value, 1) for name, value in components.items()}
    out["openness_index"] = round(100 * sum(WEIGHTS[name] * value for name, value in components.items()), 1)
    return out


def estimate_interval(estimate: float, variance: float, relative_error: float) -> tuple[float, float]:
    """95% interval of a count estimated as a sum of probabilities: the Poisson-binomial
    variance of the posts plus the model's relative count error (measured per author)."""
    half = Z95 * math.sqrt(max(0.0, variance) + (relative_error * estimate) ** 2)
    return max(0.0, estimate - half), estimate + half


def share_bounds(low_count: float, high_count: float, n: int) -> tuple[float | None, float | None]:
    """Wilson bounds of a share whose count is itself uncertain: low at the low count, high at the high."""
    if not n:
        return None, None
    return (wilson_interval(min(low_count, n), n)[0], wilson_interval(min(high_count, n), n)[1])


def finish_row(row: dict[str, Any], count_error: dict[str, float]) -> dict[str, Any]:
    """Rates with Wilson intervals, estimated counts with theirs, the index with its interval
    and the low-sample flag."""
    for key, successes, n in (
        ("questions_answered_share", row["questions_answered"], row["questions_received"]),
        ("debate_share", row["debates"], row["replies_and_quotes"]),
        ("external_reply_share", row["external_replies"], row["replies"]),
        ("progress_share", row["progress"], row["posts"]),
    ):
        row[key], row[f"{key}_low"], row[f"{key}_high"] = rate(successes, n)
    est: dict[str, tuple[float, float, float]] = {}  # unrounded (estimate, low, high)
    for key, label in (("answers", "answer"), ("debates", "debate"), ("progress", "progress")):
        estimate = float(row[f"{key}_est"])  # REAL in the database, also when there is no post
        est[key] = (estimate, *estimate_interval(estimate, row.pop(f"{key}_var"), count_error.get(label, 0.0)))
        row[f"{key}_est"], row[f"{key}_est_low"], row[f"{key}_est_high"] = (round(v, 1) for v in est[key])
    received, posts = row["questions_received"], row["posts"]
    # The answered share's estimate cannot exceed the questions received.
    answered = min(float(row["questions_answered_est"]), received)
    row["questions_answered_est"] = round(float(row["questions_answered_est"]), 1)
    row["not_labelled_language"] = int(row["not_labelled_language"])

    def inputs(at: int, share: float | None, progress_share: float | None) -> IndexInputs:
        return IndexInputs(est["answers"][at], share, row["median_response_hours"], est["debates"][at],
                           row["unique_critics"], progress_share, est["progress"][at], row["active_weeks"])

    # The answered questions are a sum of probabilities too, over the replies to questions.
    answered_interval = estimate_interval(answered, row.pop("questions_answered_var"), count_error.get("answer", 0.0))
    answered_low, answered_high = share_bounds(*answered_interval, received)
    progress_low, progress_high = share_bounds(est["progress"][1], est["progress"][2], posts)
    row.update(openness(inputs(0, answered / received if received else None,
                               est["progress"][0] / posts if posts else None)))
    low = openness(inputs(1, answered_low, progress_low))
    high = openness(inputs(2, answered_high, progress_high))
    # Every component rises with each input, so the bounds bracket the index; min/max keeps
    # that true whatever rounding does.
    row["openness_index_low"] = min(low["openness_index"], row["openness_index"])
    row["openness_index_high"] = max(high["openness_index"], row["openness_index"])
    row["low_sample"] = row["posts"] < MIN_POSTS or 0 < row["questions_received"] < MIN_QUESTIONS
    return row


def mention_values(totals: tuple[int, int] | None) -> dict[str, Any]:
    """The mention keys of one row from (questions, answered); all null when not collected."""
    if totals is None:
        return {key: None for key in MENTION_KEYS}
    questions, answered = totals
    share, low, high = rate(answered, questions)
    return {"mentions_questions": questions, "mentions_questions_answered": answered,
            "mentions_answer_share": share, "mentions_answer_share_low": low, "mentions_answer_share_high": high}


DEGENERATE = "n/a†"
DEGENERATE_NOTE = ("no interval: the index interval carries the uncertainty of the estimated counts and of "
                   "the answered and progress shares, and none of them moves the index this month (no posts, "
                   "or counts and shares whose whole intervals lie past their goalposts)")


def index_interval_is_degenerate(row: dict[str, Any]) -> bool:
    """True when the index interval has no width: not certainty, but nothing it can vary."""
    low, high = row.get("openness_index_low"), row.get("openness_index_high")
    return low is not None and high is not None and low == high
