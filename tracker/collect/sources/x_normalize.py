"""X API v2 answers as the project's posts: pure functions, no client library, no network.

The X source (``tracker.collect.sources.x``) and the X archive import share them: both
read X's post objects and must agree on kinds, text and ids. The archive import imports
this module, never the source's, so that it does not load tweepy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tracker.domain import AccountStatus, ContextPost, Post, PostKind, utc_iso

# The X API's bearer token; the archive import uses it, when set, to check the account's id.
TOKEN_ENV_VAR = "TRACKER_X_BEARER_TOKEN"


def classify_user_errors(errors: list[dict[str, Any]]) -> tuple[AccountStatus, str] | None:
    """Tell an unknown, suspended or protected account from an X ``errors`` list.

    X answers these with HTTP 200 and an ``errors`` list instead of a 4xx (recorded:
    users_1405327120163872777_tweets__user_not_found_200, users_45648666_mentions__user_suspended_200).
    Returns ``(reason, detail)`` or None when no error is about the account itself.
    """
    for error in errors:
        if error.get("resource_type") != "user" or error.get("parameter") not in ("id", "username"):
            continue
        detail = str(error.get("detail") or error.get("title") or "")
        if "suspended" in detail.lower():
            return AccountStatus.SUSPENDED, detail
        if str(error.get("type", "")).endswith("/not-authorized-for-resource"):
            return AccountStatus.PROTECTED, detail
        return AccountStatus.NOT_FOUND, detail
    return None


# X escapes exactly these three characters in post text, in API v2 answers (`text` and
# `note_tweet.text`) and in the archive's `full_text`; every `&` a person wrote arrives as
# `&amp;`, so one left-to-right pass over these three entities gives back what they wrote.
# Only these three: html.unescape would also decode entities X never writes (`&copy`,
# `&#38;`...) should any text reach us unescaped.
_X_ENTITIES = re.compile(r"&(amp|lt|gt);")
_X_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}


def unescape_x_text(text: str) -> str:
    """Post text as its author wrote it: X's ``&amp;``, ``&lt;`` and ``&gt;`` undone (pure)."""
    return _X_ENTITIES.sub(lambda match: _X_CHARACTERS[match.group(1)], text)


def _metric(metrics: Mapping[str, Any], key: str) -> int | None:
    value = metrics.get(key)
    return value if isinstance(value, int) else None


def _iso(created_at: Any) -> str:
    # X sends "2021-06-02T20:30:10.000Z"; store whole seconds like every other platform.
    text = str(created_at)
    return utc_iso(datetime.fromisoformat(text.replace("Z", "+00:00")))


def normalize_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Post:
    """Turn one tweet object from ``data`` into a Post (pure)."""
    native_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "")
    refs = {ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets") or []}
    in_reply_to_user_id = tweet.get("in_reply_to_user_id")
    if "retweeted" in refs:
        kind = PostKind.REPOST
    elif "replied_to" in refs:
        kind = PostKind.THREAD if in_reply_to_user_id and str(in_reply_to_user_id) == author_id else PostKind.REPLY
    elif "quoted" in refs:
        kind = PostKind.QUOTE
    else:
        kind = PostKind.ORIGINAL
    # Posts over 280 characters arrive truncated in `text`, whole in `note_tweet.text`.
    note = tweet.get("note_tweet") or {}
    text = unescape_x_text(note.get("text") or tweet.get("text") or "")
    metrics = tweet.get("public_metrics") or {}
    username = (users.get(author_id) or {}).get("username")
    url = f"https://x.com/{username or 'i'}/status/{native_id}"
    conversation_id = tweet.get("conversation_id")
    return Post(
        platform="x",
        native_id=native_id,
        created_at=_iso(tweet["created_at"]),
        text=text,
        kind=kind,
        in_reply_to_id=f"x:{refs['replied_to']}" if "replied_to" in refs else None,
        in_reply_to_user_id=str(in_reply_to_user_id) if in_reply_to_user_id else None,
        quoted_id=f"x:{refs['quoted']}" if "quoted" in refs else None,
        reposted_id=f"x:{refs['retweeted']}" if "retweeted" in refs else None,
        conversation_id=f"x:{conversation_id}" if conversation_id else None,
        url=url,
        lang=tweet.get("lang"),
        like_count=_metric(metrics, "like_count"),
        reply_count=_metric(metrics, "reply_count"),
        repost_count=_metric(metrics, "retweet_count"),
        quote_count=_metric(metrics, "quote_count"),
        raw=dict(tweet),
    )


def normalize_context(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> ContextPost:
    """Turn one tweet from ``includes.tweets`` into a ContextPost (pure)."""
    native_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "") or None
    author = users.get(author_id or "") or {}
    note = tweet.get("note_tweet") or {}
    text = note.get("text") or tweet.get("text")
    username = author.get("username")
    conversation_id = tweet.get("conversation_id")
    return ContextPost(
        platform="x",
        native_id=native_id,
        author_user_id=author_id,
        author_handle=username,
        author_name=author.get("name"),
        created_at=_iso(tweet["created_at"]) if tweet.get("created_at") else None,
        text=unescape_x_text(text) if text is not None else None,
        lang=tweet.get("lang"),
        in_reply_to_user_id=str(tweet["in_reply_to_user_id"]) if tweet.get("in_reply_to_user_id") else None,
        conversation_id=f"x:{conversation_id}" if conversation_id else None,
        url=f"https://x.com/{username or 'i'}/status/{native_id}",
        raw=dict(tweet),
    )


def normalize_page(body: Mapping[str, Any], leader_user_id: str) -> tuple[list[Post], list[ContextPost]]:
    """Split one timeline page into the leader's posts and the others' context posts (pure)."""
    includes = body.get("includes") or {}
    users = {str(user["id"]): user for user in includes.get("users") or []}
    posts = [normalize_tweet(tweet, users) for tweet in body.get("data") or []]
    context = [
        normalize_context(tweet, users)
        for tweet in includes.get("tweets") or []
        # A leader's own earlier posts belong in `posts`, never in the context table.
        if str(tweet.get("author_id")) != leader_user_id
    ]
    return posts, context


def normalize_mentions_page(body: Mapping[str, Any], leader_user_id: str) -> tuple[list[ContextPost], tuple[str, ...]]:
    """Split one mentions page into context posts and the ids of those that mention the leader (pure).

    A mention is someone else's post, so it is a context post, never the leader's. The
    posts it replies to or quotes come along in ``includes.tweets`` (billed too) and are kept
    as context as well, except the leader's own, which the timeline stores in ``posts``.
    """
    includes = body.get("includes") or {}
    users = {str(user["id"]): user for user in includes.get("users") or []}
    mentions = [normalize_context(tweet, users) for tweet in body.get("data") or []
                if str(tweet.get("author_id")) != leader_user_id]
    context = {post.id: post for post in mentions}
    for tweet in includes.get("tweets") or []:
        if str(tweet.get("author_id")) != leader_user_id and f"x:{tweet['id']}" not in context:
            post = normalize_context(tweet, users)
            context[post.id] = post
    return list(context.values()), tuple(post.id for post in mentions)


def check_object(body: Any) -> None:
    """Raise ValueError when a 200 body is not a JSON object (a malformed answer)."""
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")


def check_page_shape(body: Any) -> None:
    """Raise ValueError when a 200 body is not a timeline page (a malformed answer)."""
    check_object(body)
    if not isinstance(body.get("data", []), list) or not isinstance(body.get("meta", {}), dict):
        raise ValueError("`data` is not a list or `meta` is not an object")
    if not isinstance(body.get("includes", {}), dict):
        raise ValueError("`includes` is not an object")
    for tweet in body.get("data", []):
        if not isinstance(tweet, dict) or "id" not in tweet or "created_at" not in tweet:
            raise ValueError("a post has no `id` or `created_at`")


def count_walk(body: Mapping[str, Any], oldest: str | None) -> tuple[int, str | None]:
    """The posts on one timeline page, and the oldest post time read so far after it."""
    data = body.get("data") or []
    for tweet in data:
        try:
            created = _iso(tweet["created_at"])
        except (KeyError, TypeError, ValueError):
            continue  # normalize_page reports the unreadable post
        oldest = created if oldest is None or created < oldest else oldest
    return len(data), oldest


def posts_read(body: Mapping[str, Any]) -> int:
    """Billed post reads of one page: its posts and the referenced posts in ``includes``."""
    includes = body.get("includes") or {}
    return len(body.get("data") or []) + len(includes.get("tweets") or [])
