"""Coverage a board can trust: months before the collected history are "no data", never zeros.

X serves only a timeline's 3,200 newest posts; a collection that hit that limit can vouch
only for the months after the oldest post it read.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ENV, TOKEN, make_user, write_config
from tracker import store
from tracker.cli import cli
from tracker.config import load_config
from tracker.demo.emulators.x import XDataset, XEmulator
from tracker.demo.emulators.x_archive import write_archive
from tracker.ops.report_job import build_report_data
from tracker.ops.report_job import refresh_report_metrics

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
POSTS = 3300  # 100 more than X serves
HOURS_APART = 6
LIMIT_WARNING = "tracker import x-archive --leader alice"


def long_history(count: int = POSTS) -> list[dict]:
    """Alice's posts, one every six hours from 2024-01-01, ids growing with time."""
    tweets = []
    for n in range(count):
        created = START + timedelta(hours=HOURS_APART * n)
        tweets.append({"id": str(5_000_000 + n), "author_id": "101", "text": f"update number {n}",
                       "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conversation_id": str(5_000_000 + n),
                       "lang": "en", "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1,
                                                        "quote_count": 0}})
    return tweets


# The oldest of the 3,200 newest posts: where the collected history starts.
OLDEST_SERVED = (START + timedelta(hours=HOURS_APART * (POSTS - 3200))).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


@pytest.fixture
def limited(tmp_path):
    """Alice (3,300 posts: cut by X's limit) and Bob (3 posts: his whole history), collected."""
    bob = [{"id": str(7_000_000 + n), "author_id": "102", "text": f"bob {n}", "created_at": f"2025-03-0{n + 1}T10:00:00.000Z",
            "lang": "en"} for n in range(3)]
    dataset = XDataset(users=[make_user("101", "alice"), make_user("102", "bob")], tweets=long_history() + bob)
    with XEmulator(dataset, bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"alice": "alice", "bob": "bob"})
        first = run("--config", str(path), "collect")
        second = run("--config", str(path), "collect")
        yield path, first, second, dataset


def metrics_json(path: Path, month: str) -> dict[tuple[str, str], dict]:
    result = run("--config", str(path), "metrics", "--month", month, "--format", "json")
    assert result.exit_code == 0, result.output
    return {(row["leader_id"], row["platform"]): row for row in json.loads(result.stdout)}


def test_collect_warns_once_when_x_cut_the_history_short(limited):
    path, first, second, _ = limited
    assert first.exit_code == 0, first.output
    assert first.stderr.count(LIMIT_WARNING) == 1
    assert "alice:x (@alice): X serves only the newest 3,200 posts" in first.stderr
    assert f"starts on {OLDEST_SERVED[:10]}" in first.stderr
    assert "bob" not in first.stderr  # Bob's whole history was read
    assert second.exit_code == 0 and LIMIT_WARNING not in second.stderr  # said once, not every run


def test_status_shows_from_when_each_account_is_complete(limited):
    path, *_ = limited
    result = run("--config", str(path), "status", "--json")
    accounts = {row["account_id"]: row for row in json.loads(result.stdout)["accounts"]}
    assert (accounts["alice:x"]["complete_since"], accounts["alice:x"]["history_limit"]) == (OLDEST_SERVED, "x_limit")
    assert (accounts["bob:x"]["complete_since"], accounts["bob:x"]["history_limit"]) == ("2025-03-01T10:00:00Z",
                                                                                         "first_post")
    table = run("--config", str(path), "status")
    assert f"{OLDEST_SERVED[:10]} (x_limit)" in table.stdout


def test_months_before_the_collected_history_have_no_data_never_zeros(limited):
    path, *_ = limited
    month_of_limit = OLDEST_SERVED[:7]  # 2024-01: begins before the oldest post read
    before = metrics_json(path, "2023-12")
    assert before[("alice", "x")]["coverage"] == "none"
    assert before[("alice", "x")]["posts"] is None and before[("alice", "x")]["openness_index"] is None
    partial = metrics_json(path, month_of_limit)[("alice", "x")]
    assert partial["coverage"] == "partial" and partial["posts"] > 0
    full = metrics_json(path, "2024-03")[("alice", "x")]
    assert full["coverage"] == "full" and full["posts"] == 31 * 24 // HOURS_APART
    # Bob's history is complete from his first post, so an earlier month is no data too.
    assert metrics_json(path, "2025-02")[("bob", "x")]["coverage"] == "none"


def test_a_month_before_any_collection_says_no_data_and_exits_0(limited):
    path, *_ = limited
    result = run("--config", str(path), "metrics", "--month", "1999-01")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    alice = next(line for line in lines if line.startswith("alice"))
    assert alice.split()[:4] == ["alice", "x", "no", "data"] and " 0 " not in alice
    assert any(line.startswith("no data: the month is outside what was collected") for line in lines)


def test_the_trend_hatches_no_data_months_and_no_change_is_computed_against_one(limited):
    path, *_ = limited
    config = load_config(path)
    db = store.open_db(config.database)
    try:
        refresh_report_metrics(db, config, "2024-02")
        data = build_report_data(db, config, "2024-02", leader_ids=("alice",))
        [alice] = data.leaders
        trend = {point.month: point for point in alice.trend}
        assert trend["2023-12"].coverage == "none" and trend["2023-12"].index is None
        assert trend["2024-01"].coverage == "partial" and trend["2024-02"].coverage == "full"
        refresh_report_metrics(db, config, "2024-01")
        data = build_report_data(db, config, "2024-01", leader_ids=("alice",))
        assert data.leaders[0].previous["coverage"] == "none" and data.leaders[0].change is None
    finally:
        db.close()


def test_an_imported_archive_extends_the_history_to_its_first_post(limited, tmp_path):
    path, _, _, dataset = limited
    assert metrics_json(path, "2023-12")[("alice", "x")]["coverage"] == "none"
    # The archive also holds 2023-11-02 to 2023-12-31, every six hours, and the 100 posts X no longer serves.
    first = datetime(2023, 11, 2, tzinfo=timezone.utc)
    older = [dict(tweet, id=str(4_000_000 + n),
                  created_at=(first + timedelta(hours=HOURS_APART * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
             for n, tweet in enumerate(long_history(60 * 24 // HOURS_APART))]
    archive = write_archive(tmp_path / "alice.zip", older + dataset.by_author["101"],
                            account=dataset.users_by_id["101"], users=dataset.users_by_id)
    result = run("--config", str(path), "import", "x-archive", "--leader", "alice", str(archive))
    assert result.exit_code == 0, result.output
    december = metrics_json(path, "2023-12")[("alice", "x")]
    assert december["coverage"] == "full" and december["posts"] == 31 * 24 // HOURS_APART
    assert metrics_json(path, "2023-11")[("alice", "x")]["coverage"] == "partial"  # the archive's first post is inside
    assert metrics_json(path, "2023-10")[("alice", "x")]["coverage"] == "none"


def test_backfill_days_bound_the_history_at_the_window(tmp_path):
    recent = datetime.now(timezone.utc) - timedelta(days=40)
    tweets = [{"id": str(9_000_000 + n), "author_id": "101", "text": f"p {n}", "lang": "en",
               "created_at": (recent + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")} for n in range(10)]
    with XEmulator(XDataset(users=[make_user("101", "alice")], tweets=tweets), bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"alice": "alice"})
        path.write_text(path.read_text().replace("backfill_days = 0", "backfill_days = 30"))
        assert run("--config", str(path), "collect").exit_code == 0
    accounts = json.loads(run("--config", str(path), "status", "--json").stdout)["accounts"]
    since = datetime.fromisoformat(accounts[0]["complete_since"].replace("Z", "+00:00"))
    assert accounts[0]["history_limit"] == "backfill"
    assert abs((datetime.now(timezone.utc) - since) - timedelta(days=30)) < timedelta(minutes=5)


# --- a real history: 2022 posts of an account served by the X emulator ------------------------

def _real_tweets(csv_path: Path, author_id: str) -> list[dict]:
    def ids(text: str) -> list[str]:
        return [part.strip(" '\"") for part in text.strip("[]").split(",") if part.strip(" '\"")]

    tweets = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            refs = ([{"type": "replied_to", "id": i} for i in ids(row["replied_to"])]
                    + [{"type": "retweeted", "id": i} for i in ids(row["retweeted"])]
                    + [{"type": "quoted", "id": i} for i in ids(row["quoted"])])
            created = datetime.fromisoformat(row["created_at"][:19] + "+00:00")
            tweet = {"id": row["tweet_id"], "author_id": author_id, "text": row["text"],
                     "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conversation_id": row["tweet_id"],
                     "lang": "en", "public_metrics": {key: int(row[key] or 0) for key in
                                                      ("like_count", "reply_count", "retweet_count", "quote_count")}}
            if refs:
                tweet["referenced_tweets"] = refs
            tweets.append(tweet)
    return tweets


def test_a_real_history_cut_at_3200_posts_has_no_data_before_its_oldest_post(shared_dir, tmp_path):
    source = shared_dir / "realdata" / "elonmusk-2022-cps3235" / "Tweet.csv"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    tweets = _real_tweets(source, "44196397")
    assert len(tweets) > 3200
    newest = sorted(tweets, key=lambda tweet: int(tweet["id"]), reverse=True)[:3200]
    oldest_served = min(datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) for t in newest)
    dataset = XDataset(users=[make_user("44196397", "elonmusk")], tweets=tweets)
    with XEmulator(dataset, bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"elon": "elonmusk"})
        first = run("--config", str(path), "collect")
        second = run("--config", str(path), "collect")
    assert first.exit_code == 0, first.output
    assert first.stderr.count("tracker import x-archive --leader elon") == 1
    assert "tracker import x-archive" not in second.stderr
    limit_month = oldest_served.strftime("%Y-%m")
    previous = f"{oldest_served.year}-{oldest_served.month - 1:02d}"
    assert metrics_json(path, previous)[("elon", "x")]["coverage"] == "none"
    assert metrics_json(path, previous)[("elon", "x")]["posts"] is None
    assert metrics_json(path, "2021-12")[("elon", "x")]["coverage"] == "none"
    assert metrics_json(path, limit_month)[("elon", "x")]["coverage"] == "partial"


def test_no_warning_when_an_imported_archive_already_reaches_further(tmp_path):
    dataset = XDataset(users=[make_user("101", "alice")], tweets=long_history())
    archive = write_archive(tmp_path / "alice.zip", dataset.by_author["101"], account=dataset.users_by_id["101"],
                            users=dataset.users_by_id)
    with XEmulator(dataset, bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"alice": "alice"})
        assert run("--config", str(path), "import", "x-archive", "--leader", "alice", str(archive)).exit_code == 0
        result = run("--config", str(path), "collect")
    assert result.exit_code == 0, result.output
    assert "tracker import x-archive" not in result.stderr
    accounts = json.loads(run("--config", str(path), "status", "--json").stdout)["accounts"]
    assert (accounts[0]["complete_since"], accounts[0]["history_limit"]) == ("2024-01-01T00:00:00Z", "archive")
    assert metrics_json(path, "2024-01")[("alice", "x")]["coverage"] == "full"
