"""The Mastodon emulator answers like the recorded Mastodon 4.6.4 server (the reference data's recordings)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import pytest
import requests

from tracker.demo.emulators.mastodon import MastodonDataset, MastodonEmulator, account, status

from structure import merged, missing_or_mistyped, recorded_loader, structure


@pytest.fixture
def recorded(shared_dir):
    return recorded_loader(shared_dir, "mastodon")


@pytest.fixture
def seeded(recorded):
    found, _ = recorded("accounts_lookup__found")
    first, _ = recorded("account_statuses__limit5_first_page")
    second, _ = recorded("account_statuses__limit5_max_id_next_page")
    statuses = {s["id"]: s for s in first + second}
    with MastodonEmulator(MastodonDataset("localhost", [found], list(statuses.values()))) as emulator:
        yield emulator, found


def test_account_statuses_structure_link_and_rate_headers(seeded, recorded):
    emulator, found = seeded
    body, meta = recorded("account_statuses__limit5_first_page")
    answer = requests.get(f"{emulator.url}/api/v1/accounts/{found['id']}/statuses", params={"limit": 5})
    assert answer.status_code == 200
    assert structure(answer.json()) == structure(body)
    assert [s["id"] for s in answer.json()] == [s["id"] for s in body]
    rels = {link["rel"]: link["url"] for link in requests.utils.parse_header_links(answer.headers["Link"])}
    recorded_rels = {link["rel"] for link in requests.utils.parse_header_links(meta["response"]["headers"]["link"])}
    assert set(rels) == recorded_rels == {"next", "prev"}
    for url in rels.values():  # the emulator's own host, not the recording's localhost:3000
        assert urlsplit(url).netloc == urlsplit(emulator.url).netloc
    assert "max_id=" + body[-1]["id"] in rels["next"] and "min_id=" + body[0]["id"] in rels["prev"]
    # Reset is ISO-8601 as recorded ("2026-08-01T13:55:00.212100Z").
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header.lower() in meta["response"]["headers"] and header in answer.headers
    datetime.fromisoformat(answer.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))


def test_following_next_gives_the_recorded_next_page(seeded, recorded):
    emulator, found = seeded
    body, _ = recorded("account_statuses__limit5_max_id_next_page")
    first = requests.get(f"{emulator.url}/api/v1/accounts/{found['id']}/statuses", params={"limit": 5})
    following = requests.get(first.links["next"]["url"])
    assert [s["id"] for s in following.json()] == [s["id"] for s in body]


def test_lookup_and_not_found_answers(seeded, recorded):
    emulator, found = seeded
    _, not_found_meta = recorded("accounts_lookup__not_found_404")
    not_found, _ = recorded("accounts_lookup__not_found_404")
    answer = requests.get(f"{emulator.url}/api/v1/accounts/lookup", params={"acct": found["acct"]})
    assert structure(answer.json()) == structure(found)
    missing = requests.get(f"{emulator.url}/api/v1/accounts/lookup", params={"acct": "nobody"})
    assert (missing.status_code, missing.json()) == (not_found_meta["response"]["status"], not_found)
    status_body, _ = recorded("status__not_found_404")
    gone = requests.get(f"{emulator.url}/api/v1/statuses/0")
    assert (gone.status_code, gone.json()) == (404, status_body)


def test_built_entities_match_the_recorded_ones(recorded):
    """The demo and tests build statuses with account()/status(): same keys, same types."""
    first, _ = recorded("account_statuses__limit5_first_page")
    reply, _ = recorded("status__reply_POST_response")
    reblog, _ = recorded("status__reblog_POST_response")
    quote, _ = recorded("status__quote_POST_response")
    found, _ = recorded("accounts_lookup__found")
    alice = account("1", "alice", "Alice", "example.social")
    bob = account("2", "bob", "Bob", "example.social")
    when = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    original = status(bob, "10", when, "<p>hi</p>")
    built = {
        "plain": (status(alice, "11", when, "<p>ok</p>"), merged(first)),
        "reply": (status(alice, "12", when, "<p>@bob ok</p>", reply_to=original), reply),
        "reblog": (status(alice, "13", when, "", reblog=original), reblog),
        "quote": (status(alice, "14", when, "<p>see</p>", quote=original), quote),
    }
    assert set(alice) == set(found)
    for kind, (entity, example) in built.items():
        assert set(entity) == set(example), kind
        assert missing_or_mistyped(entity, example) == [], kind
