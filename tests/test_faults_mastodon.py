"""The retry policy and account failures on Mastodon, through Mastodon.py against the local
server emulator: 5xx bursts, a timeout, 410 Gone, and one account's unexpected failure.

Mastodon has no pagination token that could expire: pages are bounded by status ids
(``max_id`` from the ``Link`` header on the first walk, ``min_id`` afterwards), which stay
valid bounds even when the status they name is deleted.
"""

from __future__ import annotations

import pytest

from platform_helpers import Sleeps, post_ids, rows, run, write_config
from test_source_mastodon import BOB, DOMAIN, build_dataset
from tracker.demo.emulators.mastodon import MastodonEmulator

ACCOUNTS = {"alice": {"mastodon": f"alice@{DOMAIN}"}, "bob": {"mastodon": f"bob@{DOMAIN}"}}
BOB_POSTS = 2  # build_dataset gives Bob two statuses


@pytest.fixture
def emulator():
    with MastodonEmulator(build_dataset(originals=5)) as running:
        yield running


def _config(tmp_path, emulator, **settings):
    values = {"retry_backoff": 0.5, "max_retries": 3, **settings}
    sources = "\n".join(["[sources.mastodon]", f'server_urls = {{ "{DOMAIN}" = "{emulator.url}" }}',
                         *(f"{key} = {value}" for key, value in values.items())])
    return write_config(tmp_path, ACCOUNTS, sources)


def _statuses(result) -> dict[str, str]:
    return {r.account_id: r.status for r in result.accounts}


def test_a_503_burst_is_retried_with_exponential_backoff(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/statuses", times=3)
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:mastodon": "ok", "bob:mastodon": "ok"}
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(post_ids(config)) == 10 + BOB_POSTS


def test_a_503_burst_longer_than_the_retries_fails_only_that_account(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/accounts/1001/statuses", times=10)
    result = run(config, Sleeps())
    assert _statuses(result) == {"alice:mastodon": "failed", "bob:mastodon": "ok"}
    assert f"Mastodon server error on {DOMAIN} (HTTP 503); gave up after 4 attempts" in result.accounts[0].error
    assert len(emulator.requests_to("/accounts/1001/statuses")) == 4
    assert len(post_ids(config)) == BOB_POSTS


def test_a_request_that_times_out_is_retried(tmp_path, emulator):
    config = _config(tmp_path, emulator, timeout=0.3)
    emulator.add_fault("hang", path="/accounts/1001/statuses")  # held until the emulator stops
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:mastodon": "ok", "bob:mastodon": "ok"}, result.accounts[0].error
    assert sleeps == [0.5]
    assert len(post_ids(config)) == 10 + BOB_POSTS


def test_410_gone_marks_the_account_suspended_and_the_others_are_collected(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    emulator.dataset.gone.add("1001")
    result = run(config)
    assert _statuses(result) == {"alice:mastodon": "failed", "bob:mastodon": "ok"}
    assert "(gone)" in result.accounts[0].error
    assert rows(config, "SELECT id, status FROM accounts ORDER BY id") == [("alice:mastodon", "suspended"),
                                                                         ("bob:mastodon", "ok")]
    assert rows(config, "SELECT count(*) FROM posts WHERE account_id = 'alice:mastodon'") == [(10,)]  # kept


def test_410_gone_on_the_first_lookup_is_suspended_too(tmp_path, emulator):
    emulator.dataset.gone.add(BOB["id"])
    config = _config(tmp_path, emulator)
    result = run(config)
    assert _statuses(result) == {"alice:mastodon": "ok", "bob:mastodon": "failed"}
    assert rows(config, "SELECT status FROM accounts WHERE id = 'bob:mastodon'") == [("suspended",)]


def test_an_unexpected_failure_of_one_account_is_recorded_for_it_alone(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    # Well-formed JSON of a shape no Mastodon sends (an object where a list belongs):
    # Mastodon.py hands it over, and reading it fails in a way no handler expects.
    emulator.add_fault("body", path="/accounts/1001/statuses", body=b'{"id": "1", "created_at": "2026-03-01"}')
    result = run(config)
    assert _statuses(result) == {"alice:mastodon": "failed", "bob:mastodon": "ok"}
    assert result.accounts[0].error.startswith("unexpected error: ")
    assert result.accounts[1].error is None and result.accounts[1].new_posts == BOB_POSTS
    recorded = rows(config, "SELECT account_id, status, error FROM runs ORDER BY account_id")
    assert [(account, status) for account, status, _ in recorded] == [("alice:mastodon", "failed"),
                                                                      ("bob:mastodon", "ok")]
    assert recorded[0][2].startswith("unexpected error: ") and recorded[1][2] is None
    # The next run, with the server answering properly again, collects the account.
    assert _statuses(run(config)) == {"alice:mastodon": "ok", "bob:mastodon": "ok"}
