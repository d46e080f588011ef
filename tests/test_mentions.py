"""Mentions: collected from the X emulator through tweepy, counted as
questions received, never as the leader's own activity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from conftest import ENV, make_tweet, write_config
from tracker.collect.run import collect
from tracker.config import load_config
from tracker.errors import ConfigError
from tracker.metrics.declarations import KEYS
from tracker.metrics.index import wilson_interval
from tracker.metrics.monthly import refresh_metrics

MONTH = "2026-10"  # make_tweet dates every post in October 2026
SOMEONE = "900"  # a member of the public in small_dataset; 101 is @alice, 102 @bob

QUESTIONS = [
    "@alice When will offline mode be available for the fleet dashboard?",
    "@alice Does the picking robot work without a network connection?",
    "@alice How do I reset the charging dock after a firmware update?",
    "@alice What is the maximum payload of the R2 arm?",
]
ANSWERS = [
    "@someone Offline mode ships for the fleet dashboard in November; existing units get it through a "
    "remote update, no site visit needed.",
    "@someone Yes. The picking robot keeps working offline and syncs its logs once the connection is back, "
    "usually within a minute.",
    "@someone Hold the service button for ten seconds, then pick the previous firmware in the menu. "
    "The full steps are in the help centre under Updates.",
]


def mentions_config(folder: Path, url: str, extra: str = "mentions = true\n"):
    return load_config(write_config(folder, url, extra=extra))


def rows(config, sql: str) -> list[tuple]:
    db = Database(config.database)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_mentions_are_read_only_when_switched_on(tmp_path, emulator, dataset):
    dataset.add_tweets([make_tweet(7_000_000, SOMEONE, QUESTIONS[0])])
    collect(mentions_config(tmp_path, emulator.url, extra=""), env=ENV)
    assert emulator.requests_to("/mentions") == []
    on = mentions_config(tmp_path, emulator.url)
    collect(on, env=ENV)
    assert len(emulator.requests_to("/mentions")) == 3  # one per account
    assert rows(on, "SELECT context_id, account_id, leader_id FROM mentions") == [("x:7000000", "alice:x", "alice")]


def test_mentions_are_context_posts_never_the_leaders_posts(tmp_path, emulator, dataset):
    dataset.add_tweets([
        make_tweet(7_000_000, SOMEONE, QUESTIONS[0]),
        make_tweet(7_000_001, "102", "@alice can you share the roadmap with the sales team?"),  # a colleague
        make_tweet(7_000_002, "101", "@alice talking to myself"),  # the leader's own post is no mention
    ])
    config = mentions_config(tmp_path, emulator.url)
    result = collect(config, env=ENV)
    assert [r.status for r in result.accounts] == ["ok", "ok", "ok"]
    assert rows(config, "SELECT context_id FROM mentions ORDER BY 1") == [("x:7000000",), ("x:7000001",)]
    assert rows(config, "SELECT id, author_handle FROM context_posts ORDER BY 1") == [
        ("x:7000000", "someone"), ("x:7000001", "bob")]
    # Alice's posts are her timeline only; bob's post is his own (from his timeline), not alice's.
    alice = {row[0] for row in rows(config, "SELECT id FROM posts WHERE leader_id = 'alice'")}
    assert "x:7000000" not in alice and "x:7000001" not in alice and "x:7000002" in alice
    assert rows(config, "SELECT leader_id FROM posts WHERE id = 'x:7000001'") == [("bob",)]


def test_nothing_new_costs_one_mentions_request_per_account(tmp_path, emulator, dataset):
    dataset.add_tweets([make_tweet(7_000_000, SOMEONE, QUESTIONS[0])])
    config = mentions_config(tmp_path, emulator.url)
    collect(config, env=ENV)
    before = len(emulator.requests)
    result = collect(config, env=ENV)
    made = emulator.requests[before:]
    assert sorted(r["path"].rsplit("/", 1)[1] for r in made) == ["mentions"] * 3 + ["tweets"] * 3
    assert [(r.requests, r.posts_read, r.new_posts) for r in result.accounts] == [(2, 0, 0)] * 3
    alice = next(r for r in made if r["path"] == "/2/users/101/mentions")
    assert alice["query"]["since_id"] == "7000000"


def test_the_per_run_cap_is_never_passed_and_the_next_run_continues(tmp_path, emulator, dataset):
    cap = 60
    dataset.add_tweets(make_tweet(7_000_000 + n, SOMEONE, f"@alice question {n}?") for n in range(50))
    config = mentions_config(tmp_path, emulator.url, extra=f"mentions = true\nmentions_max_reads_per_run = {cap}\n")
    timeline_reads = 3  # alice's three posts, read on the first run only
    reads, stored, first_queries = [], [], []
    for _ in range(3):
        before = len(emulator.requests)
        result = collect(config, leader_ids=["alice"], env=ENV)
        assert result.accounts[0].status == "ok"
        reads.append(result.accounts[0].posts_read - (timeline_reads if not reads else 0))
        stored.append(rows(config, "SELECT count(*) FROM mentions")[0][0])
        queries = [r["query"] for r in emulator.requests[before:] if r["path"].endswith("/mentions")]
        first_queries.append(queries[0])
        asked = [int(query["max_results"]) for query in queries]
        # Each page is sized so that even 3 reads per mention stay within what is left of the cap.
        for index, size in enumerate(asked):
            assert 3 * size <= cap - sum(asked[:index])
    assert reads[0] <= cap and stored[0] == reads[0] < 50
    # The second run resumed the unfinished walk, the third found nothing new: 50 reads in all.
    assert stored[1] == 50 and sum(reads) == 50 and reads[2] == 0
    assert "pagination_token" in first_queries[1] and "pagination_token" not in first_queries[2]
    assert first_queries[2]["since_id"] == "7000049"


def test_a_cap_of_zero_reads_no_mentions(tmp_path, emulator, dataset):
    dataset.add_tweets([make_tweet(7_000_000, SOMEONE, QUESTIONS[0])])
    config = mentions_config(tmp_path, emulator.url, extra="mentions = true\nmentions_max_reads_per_run = 0\n")
    collect(config, env=ENV)
    assert emulator.requests_to("/mentions") == []


def test_the_mentions_cursor_is_kept_apart_from_the_timeline_cursor(tmp_path, emulator, dataset):
    dataset.add_tweets([make_tweet(7_000_000, SOMEONE, QUESTIONS[0])])
    config = mentions_config(tmp_path, emulator.url)
    collect(config, leader_ids=["alice"], env=ENV)
    cursor = json.loads(rows(config, "SELECT value FROM cursors WHERE account_id = 'alice:x'")[0][0])
    assert cursor == {"since_id": "1000002", "mentions": {"since_id": "7000000", "from": None}}
    dataset.add_tweets([make_tweet(1_000_010, "101", "new post")])
    collect(config, leader_ids=["alice"], env=ENV)
    cursor = json.loads(rows(config, "SELECT value FROM cursors WHERE account_id = 'alice:x'")[0][0])
    assert cursor["since_id"] == "1000010" and cursor["mentions"]["since_id"] == "7000000"


@pytest.mark.parametrize("value, expected", [("mentions = 1", "true or false"),
                                             ("mentions_max_reads_per_run = -1", "post reads >= 0")])
def test_bad_mentions_settings_name_the_key(tmp_path, value, expected):
    with pytest.raises(ConfigError, match=rf"sources\.x\.{value.split()[0]}: expected .*{expected}"):
        load_config(write_config(tmp_path, "http://127.0.0.1:9", extra=value + "\n"))


# --- metrics ---------------------------------------------------------------------------------

def question_dataset(dataset) -> None:
    """Four questions mentioning alice, three answered; plus noise that must not count."""
    tweets = [make_tweet(7_000_000 + n, SOMEONE, text) for n, text in enumerate(QUESTIONS)]
    tweets += [make_tweet(7_000_100 + n, "101", text, in_reply_to_user_id=SOMEONE, conversation_id=str(7_000_000 + n),
                          referenced_tweets=[{"type": "replied_to", "id": str(7_000_000 + n)}])
               for n, text in enumerate(ANSWERS)]
    tweets += [
        # A "thanks" is a reply, not an answer: the fourth question stays unanswered.
        make_tweet(7_000_200, "101", "@someone thanks!", in_reply_to_user_id=SOMEONE,
                   referenced_tweets=[{"type": "replied_to", "id": "7000003"}]),
        make_tweet(7_000_300, SOMEONE, "@alice great talk today, congrats to the whole team"),  # no question
        make_tweet(7_000_400, "102", "@alice When will the route planner support night shift scheduling?"),  # colleague
    ]
    dataset.add_tweets(tweets)


def alice_rows(config) -> dict[str, dict]:
    return {row["platform"]: row for row in refresh_metrics(config, MONTH, leader_ids=["alice"])}


def test_metrics_count_questions_received_and_answered(tmp_path, emulator, dataset):
    question_dataset(dataset)
    config = mentions_config(tmp_path, emulator.url)
    collect(config, env=ENV)
    got = alice_rows(config)
    low, high = wilson_interval(3, 4)
    for platform in ("x", "all"):
        row = got[platform]
        assert (row["mentions_questions"], row["mentions_questions_answered"]) == (4, 3)
        assert row["mentions_answer_share"] == 0.75
        assert row["mentions_answer_share_low"] == pytest.approx(low) and row["mentions_answer_share_high"] == pytest.approx(high)
    assert round(low, 4) == 0.3006 and round(high, 4) == 0.9544  # Wilson 95% for 3/4
    # Mentions are not alice's activity: her post counts are her timeline's.
    assert got["x"]["posts"] == 3 + 3 + 1
    stored = rows(config, "SELECT mentions_questions, mentions_questions_answered, mentions_answer_share "
                          "FROM metrics WHERE leader_id = 'alice' AND platform = 'x'")
    assert stored == [(4, 3, 0.75)]
    assert list(got["x"]) == list(KEYS)


def test_an_answer_written_after_the_month_counts(tmp_path, emulator, dataset):
    question_dataset(dataset)
    config = mentions_config(tmp_path, emulator.url)
    late = make_tweet(7_000_103, "101", ANSWERS[0].replace("November", "December"), in_reply_to_user_id=SOMEONE,
                      referenced_tweets=[{"type": "replied_to", "id": "7000003"}])
    late["created_at"] = "2026-11-02T09:00:00.000Z"
    dataset.add_tweets([late])
    collect(config, env=ENV)
    assert alice_rows(config)["x"]["mentions_questions_answered"] == 4


def test_metrics_are_null_when_mentions_were_not_collected(tmp_path, emulator, dataset):
    question_dataset(dataset)
    config = mentions_config(tmp_path, emulator.url, extra="")
    collect(config, env=ENV)
    got = alice_rows(config)
    assert got["x"]["posts"] == 7  # the month was collected ...
    for platform in ("x", "all"):  # ... its mentions were not: null, never 0
        assert all(got[platform][key] is None for key in KEYS if key.startswith("mentions_"))


def test_metrics_are_zero_not_null_when_collected_and_nobody_asked(tmp_path, emulator, dataset):
    config = mentions_config(tmp_path, emulator.url)
    collect(config, env=ENV)
    row = alice_rows(config)["x"]
    assert (row["mentions_questions"], row["mentions_questions_answered"], row["mentions_answer_share"]) == (0, 0, None)


def test_a_mention_nobody_replied_to_is_labelled_for_its_month(tmp_path, emulator, dataset):
    # No leader post points at it: only the month's mentions pass labels it.
    dataset.add_tweets([make_tweet(7_000_000, SOMEONE, QUESTIONS[1])])
    config = mentions_config(tmp_path, emulator.url)
    collect(config, env=ENV)
    row = alice_rows(config)["x"]
    assert (row["mentions_questions"], row["mentions_questions_answered"]) == (1, 0)
    assert row["mentions_answer_share"] == 0.0
    assert rows(config, "SELECT label FROM context_labels WHERE context_id = 'x:7000000'") == [("question",)]
