"""normalize_* are pure: a page in the API's shape becomes exact rows."""

from __future__ import annotations

import json
from pathlib import Path

from tracker.collect.sources.x import classify_user_errors, normalize_page

PAGE = json.loads((Path(__file__).parent / "fixtures" / "x" / "timeline_page.json").read_text())


def test_kinds_ids_and_metrics():
    posts, _ = normalize_page(PAGE, "42")
    assert [(p.id, p.kind) for p in posts] == [
        ("x:1800000000000000004", "thread"),
        ("x:1800000000000000003", "original"),
        ("x:1800000000000000002", "reply"),
        ("x:1800000000000000001", "repost"),
        ("x:1800000000000000000", "quote"),
    ]
    reply = posts[2]
    assert (reply.in_reply_to_id, reply.in_reply_to_user_id, reply.conversation_id) == (
        "x:1799999999999999990", "77", "x:1799999999999999990")
    assert (reply.created_at, reply.url) == ("2026-03-01T18:00:00Z", "https://x.com/lead_dev/status/1800000000000000002")
    assert (reply.like_count, reply.reply_count, reply.repost_count, reply.quote_count) == (2, 1, 0, 0)
    assert posts[3].reposted_id == "x:1799999999999999980"
    assert posts[4].quoted_id == "x:1799999999999999990"


def test_long_posts_use_the_full_note_text():
    posts, _ = normalize_page(PAGE, "42")
    assert posts[1].text.endswith("the sync engine had to be rewritten.")


def test_context_holds_other_peoples_posts_only():
    _, context = normalize_page(PAGE, "42")
    assert [(c.id, c.author_handle, c.author_name) for c in context] == [
        ("x:1799999999999999990", "critic_kim", "Kim"),
        ("x:1799999999999999980", "acme", "Acme"),
    ]
    assert context[0].text == "@lead_dev Why is offline mode a quarter late?"


def test_user_errors_in_a_200_answer():
    not_found = [{"resource_type": "user", "parameter": "id", "title": "Not Found Error",
                  "detail": "Could not find user with id: [1].",
                  "type": "https://api.twitter.com/2/problems/resource-not-found"}]
    suspended = [{"resource_type": "user", "parameter": "id", "title": "Forbidden",
                  "detail": "User has been suspended: [1].",
                  "type": "https://api.twitter.com/2/problems/resource-not-found"}]
    protected = [{"resource_type": "user", "parameter": "id", "title": "Authorization Error",
                  "detail": "Sorry, you are not authorized to see the user with id: [1].",
                  "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]
    expansion_only = [{"resource_type": "tweet", "parameter": "referenced_tweets.id", "title": "Not Found Error"}]
    assert classify_user_errors(not_found)[0] == "not_found"
    assert classify_user_errors(suspended)[0] == "suspended"
    assert classify_user_errors(protected)[0] == "protected"
    assert classify_user_errors(expansion_only) is None
