"""Write an X "download your data" archive from API-shaped tweets (tests, demo, benchmark).

The layout and format are those of the official archive: ``data/account.js`` and
``data/tweets.js`` (then ``data/tweets-part1.js``...), each one JavaScript assignment
``window.YTD.<name>.partN = [ ... ]`` of pretty-printed JSON with ``" : "`` separators,
v1.1 field names, ids and counts as strings and ``created_at`` like
``Wed Oct 10 20:19:24 +0000 2018``. Tweets are written one at a time, so a large archive
is produced without holding it in memory.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

SOURCE = '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>'


def archive_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An API v2 tweet (as the X emulator serves it) in the archive's v1.1 shape."""
    refs = {ref["type"]: str(ref["id"]) for ref in tweet.get("referenced_tweets") or []}
    created = datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00"))
    metrics = tweet.get("public_metrics") or {}
    text = str(tweet.get("text") or "")
    entities: dict[str, Any] = {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
    out: dict[str, Any] = {
        "edit_info": {"initial": {"editTweetIds": [str(tweet["id"])], "editableUntil": created.isoformat(),
                                  "editsRemaining": "5", "isEditEligible": False}},
        "retweeted": False, "source": SOURCE, "entities": entities,
        "display_text_range": ["0", str(len(text))],
        "favorite_count": str(metrics.get("like_count", 0)), "id_str": str(tweet["id"]), "truncated": False,
        "retweet_count": str(metrics.get("retweet_count", 0)), "id": str(tweet["id"]),
        "created_at": created.strftime("%a %b %d %H:%M:%S +0000 %Y"), "favorited": False,
        "full_text": text, "lang": tweet.get("lang", "en"),
    }
    if "replied_to" in refs:
        replied_user = users.get(str(tweet.get("in_reply_to_user_id")), {})
        out.update({"in_reply_to_status_id_str": refs["replied_to"], "in_reply_to_status_id": refs["replied_to"],
                    "in_reply_to_user_id": str(tweet.get("in_reply_to_user_id")),
                    "in_reply_to_user_id_str": str(tweet.get("in_reply_to_user_id")),
                    "in_reply_to_screen_name": replied_user.get("username", "")})
    if "quoted" in refs:
        # The archive keeps a quote only as the permalink behind a t.co link.
        entities["urls"].append({"url": "https://t.co/q" + refs["quoted"][-8:],
                                 "expanded_url": f"https://twitter.com/i/status/{refs['quoted']}",
                                 "display_url": f"twitter.com/i/status/{refs['quoted'][:8]}…",
                                 "indices": [str(len(text)), str(len(text) + 23)]})
    if "retweeted" in refs and text.startswith("RT @"):
        original_author = text[4:].split(":", 1)[0]
        entities["user_mentions"].append({"name": original_author, "screen_name": original_author,
                                          "indices": ["3", str(3 + len(original_author) + 1)], "id_str": "0",
                                          "id": "0"})
    return out


@contextmanager
def _writer(root: Path | zipfile.ZipFile, name: str) -> Iterator[IO[str]]:
    if isinstance(root, zipfile.ZipFile):
        with root.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
            yield text
    else:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as text:
            yield text


def _write_array(stream: IO[str], variable: str, items: Iterable[Any]) -> None:
    stream.write(f"{variable} = [")
    first = True
    for item in items:
        stream.write("\n  " if first else ",\n  ")
        stream.write(json.dumps(item, ensure_ascii=False, indent=2, separators=(",", " : ")).replace("\n", "\n  "))
        first = False
    stream.write("\n]" if not first else "]")


def write_archive(path: str | Path, tweets: Iterable[Mapping[str, Any]], *, account: Mapping[str, Any],
                  users: Mapping[str, Mapping[str, Any]] | None = None, zip: bool = True, parts: int = 1) -> Path:
    """Write ``tweets`` (API v2 shape, e.g. an XDataset's) of ``account`` (an API user) as an archive.

    ``zip=False`` writes the unpacked folder. ``parts`` > 1 splits the tweets over
    ``tweets.js``, ``tweets-part1.js``...
    """
    path = Path(path)
    users = users or {}
    root: Path | zipfile.ZipFile
    root = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) if zip else path
    try:
        account_entry = {"account": {"email": f"{account['username']}@example.invalid", "createdVia": "web",
                                     "username": account["username"], "accountId": str(account["id"]),
                                     "createdAt": "2015-03-01T12:00:00.000Z",
                                     "accountDisplayName": account.get("name", "")}}
        with _writer(root, "data/account.js") as stream:
            _write_array(stream, "window.YTD.account.part0", [account_entry])
        items = (archive_tweet(tweet, users) for tweet in tweets)
        if parts <= 1:
            with _writer(root, "data/tweets.js") as stream:
                _write_array(stream, "window.YTD.tweets.part0", ({"tweet": item} for item in items))
        else:
            chunks: list[list[dict[str, Any]]] = [[] for _ in range(parts)]
            for index, item in enumerate(items):
                chunks[index % parts].append(item)
            for number, chunk in enumerate(chunks):
                name = "data/tweets.js" if number == 0 else f"data/tweets-part{number}.js"
                with _writer(root, name) as stream:
                    _write_array(stream, f"window.YTD.tweets.part{number}", ({"tweet": item} for item in chunk))
    finally:
        if isinstance(root, zipfile.ZipFile):
            root.close()
    return path
