"""Monthly metrics against hand-computed values on a small hand-built database.

Labels are written with the store's own functions (not the classifier), so every expected
number below can be recounted by hand from the posts listed in ``build_db``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from dataclasses import replace

import pytest

from tracker import store
from tracker.config import parse_config
from tracker.metrics.cross_posts import normalize_cross_text
from tracker.metrics.declarations import KEYS
from tracker.metrics.index import IndexInputs, openness, wilson_interval
from tracker.metrics.monthly import compute_metrics, find_cross_posts, load_metrics
from tracker.months import last_complete_month, month_bounds
from tracker.domain import ContextPost, HistoryEnd, Identity, Post

CONFIG = """
[tracker]
database = "t.db"
timezone = "America/New_York"
[organisation]
name = "Acme"
handles = { x = ["acme"] }
[collect]
backfill_days = 0
[[leaders]]
id = "ada"
name = "Ada"
accounts = { x = "ada_x" }
[[leaders]]
id = "bo"
name = "Bo"
accounts = { x = "bo_x" }
[[leaders]]
id = "cy"
name = "Cy"
accounts = { x = "cy_x" }
"""
USER_IDS = {"ada": "100", "bo": "200", "cy": "250"}
PROGRESS_TEXT = "We shipped the new billing API today after three months of work, live for all customers."


def evidence(rule: str) -> str:
    return json.dumps([{"rule": rule, "text": "x", "start": 0, "end": 1, "source": "post"}])


def context(native_id: str, author_id: str, handle: str, created_at: str, text: str = "?") -> ContextPost:
    return ContextPost("x", native_id, author_id, handle, handle.title(), created_at, text)


def post(native_id: str, created_at: str, kind: str = "original", likes: int = 0, **refs) -> Post:
    return Post("x", native_id, created_at, refs.pop("text", f"post {native_id}"), kind, like_count=likes, **refs)


def ok_run(db, account, complete_since: str | None = "2024-06-01T00:00:00Z") -> None:
    """A successful run whose walk back through the history reached ``complete_since``."""
    store.finish_run(db, store.start_run(db, "run-1", account), status="ok")
    if complete_since is not None:
        store.save_history_end(db, account, HistoryEnd(complete_since, "first_post"))


@pytest.fixture
def built(tmp_path: Path):
    config = parse_config(CONFIG, tmp_path / "tracker.toml")
    db = store.open_db(config.database)
    store.save_config(db, config)
    accounts = {a.leader_id: a for a in store.get_accounts(db)}
    for leader_id, account in accounts.items():
        store.save_identity(db, account.id, Identity(USER_IDS[leader_id], account.handle))
    accounts = {a.leader_id: a for a in store.get_accounts(db)}
    store.save_context_posts(db, [
        context("c1", "300", "asker1", "2025-01-08T10:00:00Z"),
        context("c2", "301", "asker2", "2025-01-15T10:00:00Z"),
        context("c3", "302", "critic1", "2025-01-20T08:00:00Z"),
        context("c4", "900", "acme", "2025-01-21T08:00:00Z"),
        context("c5", "303", "critic2", "2025-01-22T08:00:00Z"),
        context("c6", "900", "acme", "2025-01-23T08:00:00Z"),
        context("c7", "300", "asker1", "2025-01-28T12:00:00Z"),
    ])
    ada = accounts["ada"]
    store.save_posts(db, ada, [
        post("p1", "2025-01-06T15:00:00Z", likes=10, text=PROGRESS_TEXT),
        post("p2", "2025-01-07T15:00:00Z", likes=20, text="Thoughts on leadership in winter."),
        post("p3", "2025-01-08T12:00:00Z", "reply", 1, in_reply_to_id="x:c1", in_reply_to_user_id="300"),
        post("p4", "2025-01-15T16:00:00Z", "reply", 2, in_reply_to_id="x:c2", in_reply_to_user_id="301"),
        post("p5", "2025-01-20T12:00:00Z", "reply", 3, in_reply_to_id="x:c3", in_reply_to_user_id="302"),
        post("p6", "2025-01-21T12:00:00Z", "reply", 4, in_reply_to_id="x:c4", in_reply_to_user_id="900"),
        post("p7", "2025-01-06T15:05:00Z", "thread", 5, in_reply_to_id="x:p1", in_reply_to_user_id="100"),
        post("p8", "2025-01-22T12:00:00Z", "quote", 6, quoted_id="x:c5"),
        post("p9", "2025-01-23T12:00:00Z", "repost", 100, reposted_id="x:c6"),
        post("p10", "2025-01-29T12:00:00Z", "reply", 7, in_reply_to_id="x:c7", in_reply_to_user_id="300"),
        # 22:00 on 31 January in New York: January. The next two are December and February there.
        post("p11", "2025-02-01T03:00:00Z", likes=8),
        post("p12", "2025-01-01T03:00:00Z", likes=9),
        post("p13", "2025-02-01T06:00:00Z", likes=9),
    ])
    # Bo's posts exist but no collection ever succeeded for Bo: no data, not zero activity.
    store.save_posts(db, accounts["bo"], [post("b1", "2025-01-10T12:00:00Z")])
    ok_run(db, ada)
    ok_run(db, accounts["cy"])
    version = "test-labels"
    # The labeller's calibrated probabilities (answer, debate, progress) of every January post
    # but the repost, and the labels over threshold (the counts); estimates sum the former.
    readings = {"x:p1": (0.05, 0.02, 0.9), "x:p2": (0.02, 0.05, 0.2), "x:p3": (0.9, 0.05, 0.1),
                "x:p4": (0.4, 0.1, 0.1), "x:p5": (0.1, 0.7, 0.05), "x:p6": (0.6, 0.0, 0.0),
                "x:p7": (0.02, 0.02, 0.8), "x:p8": (0.05, 0.7, 0.1), "x:p10": (0.9, 0.05, 0.05),
                "x:p11": (0.0, 0.0, 0.3)}
    labels = [("x:p1", "progress", 0.9, evidence("progress.we_verb")),
              ("x:p7", "progress", 0.8, evidence("progress.we_verb")),
              ("x:p3", "answer", 0.9, evidence("answer.substantive")),
              ("x:p10", "answer", 0.9, evidence("answer.substantive")),
              ("x:p5", "debate", 0.7, evidence("debate.disagree")),
              ("x:p8", "debate", 0.7, evidence("debate.disagree"))]
    store.save_post_labels(db, list(readings), labels, version,
                           readings=[(post_id, *p, None) for post_id, p in readings.items()])
    store.save_context_labels(db, ["x:c1", "x:c2", "x:c4", "x:c7", "x:c3", "x:c5"], [
        (cid, "question", 0.9, evidence("question.mark")) for cid in ("x:c1", "x:c2", "x:c4", "x:c7")
    ] + [(cid, "critical", 0.9, evidence("critical.marker")) for cid in ("x:c3", "x:c5")], version)
    yield db, config, accounts
    db.close()


def by_key(rows):
    return {(row["leader_id"], row["platform"]): row for row in rows}


def test_counts_rates_and_medians_match_hand_computed_values(built):
    db, config, _ = built
    rows = by_key(compute_metrics(db, config, "2025-01"))
    ada = rows[("ada", "x")]
    assert list(ada) == list(KEYS)
    expected = {
        "posts": 10, "originals": 3, "replies": 5, "threads": 1, "quotes": 1, "reposts": 1,
        "answers": 2, "questions_received": 3, "questions_answered": 2,  # p6 asks a colleague: internal
        "debates": 2, "unique_critics": 2, "unique_counterparts": 4, "external_replies": 4,
        "progress": 2, "active_weeks": 4, "median_likes": 5.5, "median_response_hours": 13.0,
        "coverage": "full", "low_sample": True,  # only 3 replies to questions (< 5)
    }
    assert {key: ada[key] for key in expected} == expected
    assert ada["questions_answered_share"] == pytest.approx(2 / 3)
    assert (ada["questions_answered_share_low"], ada["questions_answered_share_high"]) == pytest.approx(
        wilson_interval(2, 3))
    assert ada["debate_share"] == pytest.approx(2 / 6)
    assert ada["external_reply_share"] == pytest.approx(4 / 5)
    assert ada["progress_share"] == pytest.approx(2 / 10)
    assert (ada["progress_share_low"], ada["progress_share_high"]) == pytest.approx(wilson_interval(2, 10))
    assert rows[("ada", "all")]["posts"] == 10


def test_openness_index_by_hand(built):
    db, config, _ = built
    ada = by_key(compute_metrics(db, config, "2025-01"))[("ada", "x")]
    # The index reads the estimated counts: sums of the January posts' probabilities.
    answers, answered, debates, progress_est = 3.04, 0.9 + 0.4 + 0.9, 1.69, 2.6
    assert (ada["answers_est"], ada["questions_answered_est"], ada["debates_est"], ada["progress_est"]) == \
        pytest.approx((answers, answered, debates, progress_est), abs=0.051)
    speed = (math.log(72) - math.log(13)) / (math.log(72) - math.log(4))
    answer = 0.5 * answers / 8 + 0.25 * (answered / 3) / 0.9 + 0.25 * speed
    debate = 0.7 * debates / 4 + 0.3 * 2 / 5
    progress = 0.7 * (progress_est / 10) / 0.5 + 0.3 * progress_est / 8
    assert ada["component_answer"] == pytest.approx(100 * answer, abs=0.051)
    assert ada["component_debate"] == pytest.approx(100 * debate, abs=0.051)
    assert ada["component_progress"] == pytest.approx(100 * progress, abs=0.051)
    assert ada["component_presence"] == 100.0
    index = 100 * (0.35 * answer + 0.25 * debate + 0.25 * progress + 0.15)
    assert ada["openness_index"] == pytest.approx(index, abs=0.05)
    assert ada["openness_index_low"] < ada["openness_index"] < ada["openness_index_high"]


def test_index_rewards_each_behaviour_and_caps_the_broadcaster():
    base = IndexInputs(answers=0, answered_share=None, response_hours=None, debates=0, critics=0,
                       progress_share=0.0, progress=0, active_weeks=4)
    broadcaster = openness(base)["openness_index"]
    assert broadcaster == 15.0  # presence alone
    assert openness(replace(base, answers=8, answered_share=0.9, response_hours=2))["openness_index"] == 50.0
    assert openness(replace(base, debates=4, critics=5))["openness_index"] == 40.0
    assert openness(replace(base, progress_share=0.5, progress=8))["openness_index"] == 40.0


def test_month_without_collection_is_none_never_zero(built):
    db, config, _ = built
    rows = by_key(compute_metrics(db, config, "2025-01"))
    bo = rows[("bo", "x")]
    assert bo["coverage"] == "none" and rows[("bo", "all")]["coverage"] == "none"
    assert bo["posts"] is None and bo["openness_index"] is None and bo["answers"] is None
    cy = rows[("cy", "x")]  # collected, silent: a real zero
    assert cy["coverage"] == "full" and cy["posts"] == 0 and cy["openness_index"] == 0.0


def test_month_in_progress_is_partial(built):
    db, config, _ = built
    month = last_complete_month(config.timezone)
    year, number = map(int, month.split("-"))
    current = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    rows = by_key(compute_metrics(db, config, current, leader_ids=["ada"]))
    assert rows[("ada", "x")]["coverage"] == "partial"
    assert set(rows) == {("ada", "x"), ("ada", "all")}


def test_month_bounds_follow_the_configured_time_zone():
    start, end = month_bounds("2025-01", "America/New_York")
    assert (start.isoformat(), end.isoformat()) == ("2025-01-01T05:00:00+00:00", "2025-02-01T05:00:00+00:00")
    start, end = month_bounds("2025-03", "Europe/London")  # clocks go forward on 30 March
    assert (start.isoformat(), end.isoformat()) == ("2025-03-01T00:00:00+00:00", "2025-03-31T23:00:00+00:00")


def test_active_weeks_use_local_time_across_a_dst_change(tmp_path):
    config = parse_config(CONFIG.replace("America/New_York", "Europe/London"), tmp_path / "tracker.toml")
    db = store.open_db(config.database)
    store.save_config(db, config)
    account = store.get_accounts(db, ["ada"])[0]
    # Monday 31 March 2025 00:30 in London is 23:30 UTC on Sunday 30 March (BST): a new ISO week.
    store.save_posts(db, account, [post("d1", "2025-03-30T10:00:00Z"), post("d2", "2025-03-30T23:30:00Z")])
    ok_run(db, account)
    ada = by_key(compute_metrics(db, config, "2025-03", ["ada"]))[("ada", "x")]
    assert ada["posts"] == 2 and ada["active_weeks"] == 2
    db.close()


@pytest.mark.parametrize("successes, n, low, high", [
    (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0),
    # Newcombe (1998), Statistics in Medicine 17:857, example: 81/263 -> 0.2553 to 0.3662
    (81, 263, 0.2553, 0.3662), (2, 2, 0.3424, 1.0),
])
def test_wilson_interval_known_values(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_rejects_empty_samples():
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_cross_posts_count_once_across_platforms(built):
    db, config, accounts = built
    db.execute("INSERT INTO accounts (id, leader_id, platform, handle, platform_user_id, in_config) "
               "VALUES ('ada:bluesky', 'ada', 'bluesky', 'ada.example', 'did:ada', 1)")
    bsky = store.get_accounts(db, ["ada"], ["bluesky"])[0]
    store.save_posts(db, bsky, [
        Post("bluesky", "s1", "2025-01-07T10:00:00Z", "  we SHIPPED the new billing API today after three months "
             "of work, live for all customers. https://acme.example/b @acme.bsky.social", "original", like_count=1),
        Post("bluesky", "s2", "2025-01-12T10:00:00Z", "Thoughts on leadership in winter.", "original", like_count=2),
        Post("bluesky", "s3", "2025-01-13T10:00:00Z", "Only on Bluesky.", "original", like_count=3),
    ])
    ok_run(db, bsky)
    start, end = month_bounds("2025-01", config.timezone)
    assert find_cross_posts(db, start, end) == {"bluesky:s1": "x:p1"}  # s2 came 5 days later: a new post
    rows = by_key(compute_metrics(db, config, "2025-01", ["ada"]))
    x, sky, combined = rows[("ada", "x")], rows[("ada", "bluesky")], rows[("ada", "all")]
    assert sky["posts"] == 3 and sky["cross_posts"] == 1
    assert combined["posts"] == x["posts"] + sky["posts"] - 1 == 12
    assert combined["originals"] == x["originals"] + sky["originals"] - 1
    assert combined["cross_posts"] == 1 and combined["coverage"] == "full"


def test_normalize_cross_text():
    assert normalize_cross_text("Hello @bob  WORLD https://t.co/x\n") == "hello world"
    assert normalize_cross_text(None) == ""


def test_save_and_load_metrics_round_trip(built):
    db, config, _ = built
    rows = compute_metrics(db, config, "2025-01")
    assert store.save_metrics(db, rows) == len(rows)
    store.save_metrics(db, rows)  # recomputing a month replaces its rows
    loaded = load_metrics(db, "2025-01", ["ada", "bo"])
    assert [(r["leader_id"], r["platform"]) for r in loaded] == [("ada", "x"), ("ada", "all"), ("bo", "x"),
                                                                ("bo", "all")]
    assert loaded[0] == by_key(rows)[("ada", "x")]
    assert loaded[2]["posts"] is None and loaded[2]["low_sample"] is True


def test_estimated_counts_have_intervals_that_hold_the_estimate_and_the_index_its_interval(built):
    db, config, _ = built
    ada = by_key(compute_metrics(db, config, "2025-01"))[("ada", "x")]
    for key in ("answers_est", "debates_est", "progress_est"):
        assert ada[f"{key}_low"] <= ada[key] <= ada[f"{key}_high"]
        assert ada[f"{key}_high"] - ada[f"{key}_low"] > 0  # the labelling is uncertain
    assert ada["openness_index_low"] <= ada["openness_index"] <= ada["openness_index_high"]
    assert ada["not_labelled_language"] == 0


def test_the_index_lies_inside_its_interval_whatever_the_month():
    import random

    from tracker.metrics.declarations import COUNTED as _COUNT_COLUMNS
    from tracker.metrics.index import finish_row as _finish

    rng = random.Random(7)
    for _ in range(500):
        posts = rng.randint(0, 60)
        replies = rng.randint(0, posts)
        received = rng.randint(0, replies)
        row = {key: 0 for key in _COUNT_COLUMNS}
        row.update(posts=posts, replies=replies, replies_and_quotes=replies, questions_received=received,
                   questions_answered=rng.randint(0, received), answers=rng.randint(0, replies),
                   debates=rng.randint(0, replies), progress=rng.randint(0, posts),
                   unique_critics=rng.randint(0, 6), active_weeks=rng.randint(0, 5),
                   answers_est=rng.uniform(0, replies), answers_var=rng.uniform(0, 3),
                   questions_answered_est=rng.uniform(0, received), questions_answered_var=rng.uniform(0, 2),
                   debates_est=rng.uniform(0, replies),
                   debates_var=rng.uniform(0, 3), progress_est=rng.uniform(0, posts), progress_var=rng.uniform(0, 3),
                   median_response_hours=rng.choice([None, 0.5, 10, 100]))
        out = _finish(dict(row), {"answer": 0.1, "debate": 0.2, "progress": 0.1})
        assert out["openness_index_low"] <= out["openness_index"] <= out["openness_index_high"], out


def test_aggregates_are_read_by_name_not_by_position(built, monkeypatch):
    from tracker.metrics import declarations

    db, config, _ = built
    expected = compute_metrics(db, config, "2025-01")
    assert by_key(expected)[("ada", "x")]["posts"] == 10
    # Declaring the aggregates in another order changes the query's columns, not the figures.
    monkeypatch.setattr(declarations, "AGGREGATES", tuple(reversed(declarations.AGGREGATES)))
    assert compute_metrics(db, config, "2025-01") == expected
