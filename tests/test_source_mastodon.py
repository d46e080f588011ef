"""Mastodon collection end to end: the real Mastodon.py client against the local server emulator."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from tracker.demo.emulators.mastodon import MastodonDataset, MastodonEmulator, account, status
from tracker.collect.sources.html_text import html_to_text

from platform_helpers import Sleeps, collect_killed_mid_walk, cursor, post_ids, rows, run, write_config

DOMAIN = "example.social"
ALICE = account("1001", "alice", "Alice Leader", DOMAIN)
BOB = account("2002", "bob", "Bob Public", DOMAIN)
START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _sid(minutes: int) -> str:
    # Mastodon ids are snowflake-like: milliseconds << 16 (mastodon lib/mastodon/snowflake.rb).
    return str(int((START + timedelta(minutes=minutes)).timestamp() * 1000) << 16)


def _status(author, minutes, html, **options):
    return status(author, _sid(minutes), START + timedelta(minutes=minutes), html, **options)


def build_dataset(originals: int = 50) -> MastodonDataset:
    """Alice: many originals (more than a page), a reply to Bob, a thread, a quote and a boost."""
    question = _status(BOB, 0, "<p>When does the dock ship?</p>")
    old_bob = _status(BOB, 1, "<p>Robots will never work in cold rooms.</p>")
    first = _status(ALICE, 2, "<p>We shipped offline mode &amp; battery reporting.</p><p>Second paragraph.</p>")
    statuses = [question, old_bob, first,
                _status(ALICE, 3, "<p>Details: calibration is automatic.</p>", reply_to=first),
                _status(ALICE, 4, '<p><span class="h-card"><a href="https://example.social/@bob">@<span>bob</span>'
                                  "</a></span> The dock ships in May.</p>", reply_to=question),
                _status(ALICE, 5, "<p>Here is the data: 3% slower.</p>", quote=old_bob),
                _status(ALICE, 6, "", reblog=old_bob)]
    statuses += [_status(ALICE, 10 + i, f"<p>Progress note {i}</p>") for i in range(originals)]
    accounts, statuses = copy.deepcopy(([ALICE, BOB], statuses))
    return MastodonDataset(DOMAIN, accounts, statuses)


@pytest.fixture
def emulator():
    with MastodonEmulator(build_dataset()) as running:
        yield running


def _config(tmp_path, emulator, handle=f"alice@{DOMAIN}", **extra):
    sources = "\n".join(["[sources.mastodon]", f'server_urls = {{ "{DOMAIN}" = "{emulator.url}" }}',
                         "retry_backoff = 0.5", *(f"{k} = {v}" for k, v in extra.items())])
    return write_config(tmp_path, {"alice": {"mastodon": handle}}, sources)


def test_first_collection(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    [account_result] = run(config).accounts
    assert account_result.status == "ok", account_result.error
    assert account_result.new_posts == 55
    # lookup + two pages of 40 (the second short) + the replied-to question (not stored yet).
    assert account_result.requests == 1 + 2 + 1
    kinds = dict(rows(config, "SELECT native_id, kind FROM posts"))
    assert kinds[f"{DOMAIN}/{_sid(2)}"] == "original"
    assert kinds[f"{DOMAIN}/{_sid(3)}"] == "thread"
    assert kinds[f"{DOMAIN}/{_sid(4)}"] == "reply"
    assert kinds[f"{DOMAIN}/{_sid(5)}"] == "quote"
    assert kinds[f"{DOMAIN}/{_sid(6)}"] == "repost"
    texts = dict(rows(config, "SELECT native_id, text FROM posts"))
    assert texts[f"{DOMAIN}/{_sid(2)}"] == "We shipped offline mode & battery reporting.\n\nSecond paragraph."
    assert texts[f"{DOMAIN}/{_sid(4)}"] == "@bob The dock ships in May."
    context = rows(config, "SELECT native_id, author_handle, text FROM context_posts ORDER BY native_id")
    assert context == [(f"{DOMAIN}/{_sid(0)}", "bob", "When does the dock ship?"),
                       (f"{DOMAIN}/{_sid(1)}", "bob", "Robots will never work in cold rooms.")]
    assert [r["path"] for r in emulator.requests_to("/api/v1/statuses/")] == [f"/api/v1/statuses/{_sid(0)}"]
    assert emulator.requests_to("lookup")[0]["query"] == {"acct": "alice"}


def test_second_run_with_nothing_new_is_one_request(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    before = rows(config, "SELECT id, last_seen FROM posts ORDER BY id")
    [result] = run(config).accounts
    assert (result.status, result.requests, result.posts_read, result.new_posts) == ("ok", 1, 0, 0)
    assert emulator.requests[-1]["query"]["min_id"] == _sid(59)
    assert rows(config, "SELECT id, last_seen FROM posts ORDER BY id") == before


def test_incremental_run_pages_forward_and_skips_stored_parents(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    question = emulator.dataset.statuses_by_id[_sid(0)]
    new = [_status(ALICE, 100 + i, f"<p>New {i}</p>") for i in range(45)]
    new.append(_status(ALICE, 200, "<p>Another answer</p>", reply_to=question))
    emulator.dataset.add_statuses(new)
    [result] = run(config).accounts
    assert (result.new_posts, result.posts_read) == (46, 46)
    assert result.requests == 2  # 40 + 6 forward; the parent is already stored: no fetch
    assert len(emulator.requests_to("/api/v1/statuses/")) == 1
    assert cursor(config, "alice:mastodon") == {"since_id": _sid(200)}


def test_rate_limit_headers_are_honoured(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("429", path="/statuses", reset_after=10)
    sleeps = Sleeps()
    [result] = run(config, sleeps).accounts
    assert result.status == "ok" and result.new_posts == 55
    assert len(sleeps) == 1 and 9 <= sleeps[0] <= 12  # from the ISO X-RateLimit-Reset


def test_rate_limit_too_far_away_fails_the_account(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_rate_limit_wait=60)
    emulator.add_fault("429", path="/statuses", times=5, reset_after=3600)
    [result] = run(config).accounts
    assert result.status == "failed" and "rate limit" in result.error


@pytest.mark.parametrize("kind", ["500", "503", "malformed", "drop"])
def test_transient_faults_are_retried(tmp_path, emulator, kind):
    config = _config(tmp_path, emulator)
    emulator.add_fault(kind, path="/statuses", times=2)
    sleeps = Sleeps()
    [result] = run(config, sleeps).accounts
    assert result.status == "ok" and result.new_posts == 55
    assert sleeps == [0.5, 1.0]


def test_persistent_malformed_answers_fail_the_account(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_retries=1)
    emulator.add_fault("malformed", path="/statuses", times=5)
    [result] = run(config).accounts
    assert result.status == "failed" and "malformed answer; gave up after 2 attempts" in result.error


def test_unknown_account_is_not_found(tmp_path, emulator):
    config = _config(tmp_path, emulator, handle=f"nobody@{DOMAIN}")
    [result] = run(config).accounts
    assert result.status == "failed" and "no account nobody on example.social" in result.error
    assert rows(config, "SELECT status FROM accounts") == [("not_found",)]


def test_killed_run_resumes_without_gap_or_duplicate(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("hang", path="/accounts/1001/statuses", after=1)
    assert collect_killed_mid_walk(config, emulator) == -9
    assert len(post_ids(config)) == 40
    assert cursor(config, "alice:mastodon")["walk"]["max_id"] == _sid(20)
    [result] = run(config).accounts
    assert result.status == "ok" and result.new_posts == 15
    assert len(post_ids(config)) == 55
    assert emulator.requests_to("/accounts/1001/statuses")[-1]["query"]["max_id"] == _sid(20)


def test_html_to_text_keeps_paragraphs_and_unescapes():
    assert html_to_text("<p>a &lt;b&gt;</p><p>c<br/>d</p>") == "a <b>\n\nc\nd"


def test_first_run_stops_at_the_backfill_window(tmp_path, emulator):
    sources = f'[sources.mastodon]\nserver_urls = {{ "{DOMAIN}" = "{emulator.url}" }}'
    config = write_config(tmp_path, {"alice": {"mastodon": f"alice@{DOMAIN}"}}, sources, backfill_days=1)
    clock = (START + timedelta(days=1, minutes=30)).timestamp()
    [result] = run(config, clock=lambda: clock).accounts
    assert (result.status, result.new_posts, result.requests) == ("ok", 30, 2)  # lookup + one page
    assert cursor(config, "alice:mastodon") == {"since_id": _sid(59)}
    # Complete from the window's start on, not only from the oldest post read:
    assert rows(config, "SELECT complete_since, history_limit FROM accounts") == [
        ((START + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), "backfill")]
