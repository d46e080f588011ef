"""Figures a board can trust: real denominators, an index inside its interval, run counts
that agree with coverage, and a rejected token recorded for every account it stopped."""

from __future__ import annotations

import json
import random

import pypdf
import pytest
from click.testing import CliRunner

from conftest import ENV, TOKEN, make_tweet, make_user, write_config
from tracker.cli import cli
from tracker.demo.emulators.x import XDataset, XEmulator
from tracker.metrics.declarations import COUNTED as _COUNT_COLUMNS
from tracker.metrics.index import DEGENERATE, finish_row as _finish, index_interval_is_degenerate
from tracker.metrics.table import format_table


def run(*args: str, env=None):
    return CliRunner().invoke(cli, list(args), env=ENV if env is None else env)


def conversation_dataset() -> XDataset:
    """Alice: 3 originals and 2 replies to someone outside the organisation, in 2026-10."""
    users = [make_user("101", "alice"), make_user("102", "bob"), make_user("103", "carol"), make_user("900", "someone")]
    tweets = [make_tweet(9_000 + n, "900", text=f"what do you think about plan {n}?") for n in range(2)]
    tweets += [make_tweet(1_000_000 + n, "101") for n in range(3)]
    tweets += [make_tweet(1_000_010 + n, "101", text=f"@someone we think it works {n}", in_reply_to_user_id="900",
                          referenced_tweets=[{"type": "replied_to", "id": str(9_000 + n)}]) for n in range(2)]
    tweets += [make_tweet(2_000_000, "102"), make_tweet(3_000_000, "103")]
    return XDataset(users=users, tweets=tweets)


@pytest.fixture
def collected(tmp_path):
    with XEmulator(conversation_dataset(), bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url)
        assert run("--config", str(path), "collect").exit_code == 0
        yield path, emulator


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_report_shares_name_their_real_denominator_and_runs_agree_with_coverage(collected, tmp_path):
    path, _ = collected
    out = tmp_path / "out"
    result = run("--config", str(path), "report", "--month", "2026-10", "--format", "pdf,csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = " ".join(_pdf_text(out / "report-2026-10.pdf").split())
    # Alice's two replies both went outside: 100% of her 2 replies, not "of posts".
    assert "2 of 2 replies go to people outside the organisation (100%" in text
    assert "% of posts" not in text and "%) of posts" not in text
    assert "of 5 posts report progress of the work" in text  # the progress share's denominator
    assert "Posts 5 of the leader's own" in text  # reposts excluded from that denominator
    # The month was collected by runs that ended after it (the collection ran later):
    assert "full collection 3" in text
    assert "Collection runs since then 3 succeeded, 0 failed" in text
    assert "0 succeeded" not in text
    assert "every run of the month succeeded" not in text


def _row(**counts) -> dict:
    """A finished row whose estimated counts equal the counts (a labeller sure of every post)."""
    base = {key: 0 for key in _COUNT_COLUMNS} | {"median_likes": None, "median_response_hours": None}
    row = base | counts
    for key in ("answers", "debates", "progress", "questions_answered"):
        row[f"{key}_est"] = row[key]
    return _finish(row, {})


def test_the_index_always_lies_inside_its_interval():
    generator = random.Random(7)
    for _ in range(2000):
        posts = generator.randint(0, 40)
        replies = generator.randint(0, posts)
        received = generator.randint(0, replies)
        row = _row(posts=posts, replies=replies, replies_and_quotes=replies, questions_received=received,
                   questions_answered=generator.randint(0, received), answers=generator.randint(0, posts),
                   progress=generator.randint(0, posts), debates=generator.randint(0, replies),
                   unique_critics=generator.randint(0, 6), active_weeks=generator.randint(0, 5),
                   median_response_hours=generator.choice([None, 0.5, 6.0, 100.0]))
        assert row["openness_index_low"] <= row["openness_index"] <= row["openness_index_high"], row


def test_the_table_prints_the_interval_at_the_index_precision():
    row = {"leader_id": "maya", "platform": "all", "coverage": "full", "posts": 12, "answers": 1,
           "questions_answered_share": None, "debates": 0, "progress_share": 0.0, "active_weeks": 2,
           "openness_index": 7.5, "openness_index_low": 7.5, "openness_index_high": 13.1, "low_sample": False}
    line = format_table([row]).splitlines()[1]
    assert line.split()[-2:] == ["7.5", "7.5-13.1"]  # not "8-13" beside 7.5


def test_a_degenerate_interval_is_explained_not_shown_as_certainty():
    # No questions received, and every post narrates progress: neither rate can move the index.
    row = _row(posts=30, progress=30, active_weeks=4)
    assert row["openness_index_low"] == row["openness_index_high"] == row["openness_index"]
    assert index_interval_is_degenerate(row)
    table = format_table([{**row, "leader_id": "maya", "platform": "all", "coverage": "full"}])
    assert table.splitlines()[1].endswith(DEGENERATE)
    assert f"{DEGENERATE}: no interval:" in table
    assert "-" + str(row["openness_index"]) not in table  # no "40.0-40.0"


def test_a_rejected_token_is_recorded_for_every_account_it_stopped(collected):
    path, emulator = collected
    before = len(emulator.requests)
    result = run("--config", str(path), "collect", "--summary", env={"TRACKER_X_BEARER_TOKEN": "revoked-token"})
    assert result.exit_code == 1
    assert len(emulator.requests) - before == 1  # the token is tried once, not once per account
    summary = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert summary["alice:x"][4] == "1"  # the request that was refused is counted
    assert "3 of 3 accounts failed" in result.stderr
    status = run("--config", str(path), "status", "--json")
    accounts = json.loads(status.stdout)["accounts"]
    assert [a["consecutive_failures"] for a in accounts] == [1, 1, 1]
    assert all("X rejected the credentials (HTTP 401" in a["last_error"] for a in accounts)
    table = run("--config", str(path), "status")
    assert table.stdout.count("X rejected the credentials") == 3
