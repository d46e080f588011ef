"""The X read budget: the estimate against a hand computation, and the cap enforced in collect."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from tracker.collect.budget import estimate_budget, runs_in_month
from tracker.cli import cli
from tracker.collect.run import collect
from tracker.config import load_config
from tracker.demo.run import DEMO_TOKEN, LEADERS, PEERS, build_dataset
from tracker.demo.emulators.x import XDataset, XEmulator
from tracker.collect.sources.x import TOKEN_ENV_VAR
from tracker.store import open_db

from ops_helpers import write_demo_config

ENV = {TOKEN_ENV_VAR: DEMO_TOKEN}


def test_runs_in_month_counts_the_collect_schedule():
    may = datetime(2026, 5, 10, tzinfo=timezone.utc)
    assert runs_in_month("0 * * * *", "UTC", may) == 31 * 24
    assert runs_in_month("0 */6 * * *", "UTC", datetime(2026, 2, 3, tzinfo=timezone.utc)) == 28 * 4
    # Weekdays only, 9 to 17: May 2026 has 21 weekdays.
    assert runs_in_month("0 9-17 * * 1-5", "UTC", may) == 21 * 9


def test_budget_matches_a_hand_computation_for_the_demo_organisation(tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dataset = build_dataset(now)
    with XEmulator(dataset, bearer_token=DEMO_TOKEN) as emulator:
        config = load_config(write_demo_config(tmp_path, emulator.url, '[schedule]\ntimezone = "UTC"\n'))
        result = collect(config, env=ENV)
    db = open_db(config.database)
    try:
        estimate = estimate_budget(config, db, now)
    finally:
        db.close()

    # By hand, from the dataset the emulator served: posts of the last 30 days per leader,
    # those referencing another post, and the days with posts.
    days = calendar.monthrange(now.year, now.month)[1]
    window_start = now - timedelta(days=30)
    post_reads = user_reads = 0.0
    for leader in (*LEADERS, *PEERS):  # peers are collected, and billed, like the leaders
        recent = [t for t in dataset.tweets if t["author_id"] == leader.user_id
                  and window_start <= datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) < now]
        referencing = sum(1 for t in recent if t.get("referenced_tweets"))
        active_days = len({t["created_at"][:10] for t in recent})
        post_reads += (len(recent) + referencing) * days / 30
        user_reads += (active_days + referencing) * days / 30  # every account is resolved already
    assert estimate.accounts == 5 + len(PEERS)
    assert estimate.runs == days * 24
    assert estimate.min_requests == days * 24 * (5 + len(PEERS))
    assert round(estimate.post_reads, 6) == round(post_reads, 6)
    assert round(estimate.user_reads, 6) == round(user_reads, 6)
    assert round(estimate.cost, 6) == round(post_reads * 0.005 + user_reads * 0.010, 6)
    assert estimate.post_reads > 0
    # Actual month-to-date reads are what the collection reported, page by page.
    assert estimate.actual_post_reads == sum(r.posts_read for r in result.accounts) > 0
    assert estimate.actual_requests == sum(r.requests for r in result.accounts)
    assert estimate.cap == 0 and estimate.remaining is None


def test_budget_command_prints_estimate_and_actual(tmp_path):
    config_path = write_demo_config(tmp_path, "http://127.0.0.1:9", "[budget]\nx_monthly_post_reads_cap = 1000\n")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "budget"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("X read budget for ")
    # No database yet: eleven unresolved accounts (five leaders, six peers) cost one user lookup each.
    assert "  estimated user reads: 11 x $0.01 = $0.11" in lines
    assert "  actual so far: 0 post reads ($0.00) in 0 requests" in lines
    assert "  cap: 1,000 post reads; 1,000 left" in lines


def _timeline_dataset(now: datetime, count: int) -> XDataset:
    users = [{"id": "1", "username": "ada", "name": "Ada"}, {"id": "2", "username": "grace", "name": "Grace"}]
    tweets = [{"id": str(1000 + i), "author_id": "1", "text": f"post {i}", "lang": "en",
               "created_at": (now - timedelta(minutes=count - i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
              for i in range(count)]
    tweets.append({"id": "5000", "author_id": "2", "text": "hello", "lang": "en",
                   "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    return XDataset(users=users, tweets=tweets)


def _cap_config(tmp_path, url: str, cap: int):
    path = tmp_path / "tracker.toml"
    path.write_text(f"""
[organisation]
name = "Example"
[collect]
backfill_days = 0
[sources.x]
api_base_url = "{url}"
[budget]
x_monthly_post_reads_cap = {cap}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ x = "ada" }}
[[leaders]]
id = "grace"
name = "Grace"
accounts = {{ x = "grace" }}
""", encoding="utf-8")
    return load_config(path)


def test_collect_stops_at_the_cap(tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with XEmulator(_timeline_dataset(now, 1000), bearer_token=DEMO_TOKEN) as emulator:
        config = _cap_config(tmp_path, emulator.url, 320)
        result = collect(config, env=ENV)
        sizes = [int(r["query"]["max_results"]) for r in emulator.requests_to("/tweets")]
        timelines = {r["path"] for r in emulator.requests_to("/tweets")}
    # By hand: each page asks for what the budget covers at 3 reads per post (a post plus
    # a replied-to and a quoted post): 320 // 3 = 106 -> 100, then (320-100) // 3 = 73,
    # 147 // 3 = 49, 98 // 3 = 32, 66 // 3 = 22, 44 // 3 = 14, 30 // 3 = 10, 20 // 3 = 6;
    # 14 reads are left, 14 // 3 = 4 is below X's minimum page of 5: stop.
    assert sizes == [100, 73, 49, 32, 22, 14, 10, 6]
    assert timelines == {"/2/users/1/tweets"}  # grace's timeline was never requested
    by_account = {r.account_id: r for r in result.accounts}
    assert by_account["ada:x"].posts_read == 306 <= 320
    assert by_account["ada:x"].new_posts == 306
    for account in ("ada:x", "grace:x"):
        assert by_account[account].status == "failed"
        assert "the X read budget is spent" in by_account[account].error
    db = open_db(config.database)
    try:
        runs = db.execute("SELECT account_id, status, posts_read, error FROM runs ORDER BY id").fetchall()
        stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    finally:
        db.close()
    assert [(a, s, p) for a, s, p, _ in runs] == [("ada:x", "failed", 306), ("grace:x", "failed", 0)]
    assert runs[0][3].startswith("the X read budget is spent: 14 post read(s) left")
    assert stored == 306


def test_a_cap_with_room_to_spare_reads_full_pages(tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with XEmulator(_timeline_dataset(now, 250), bearer_token=DEMO_TOKEN) as emulator:
        # 600 allows a full page (600 // 3 = 200), then 500 // 3 = 166: another;
        # then 400 // 3 = 133 -> the last 50 posts; then grace's page of 1 (350 // 3 -> 100).
        config = _cap_config(tmp_path, emulator.url, 600)
        result = collect(config, env=ENV)
        sizes = [int(r["query"]["max_results"]) for r in emulator.requests_to("/tweets")]
    assert sizes == [100, 100, 100, 100]
    assert [r.status for r in result.accounts] == ["ok", "ok"]
    assert sum(r.posts_read for r in result.accounts) == 251
