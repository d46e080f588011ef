from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracker.config import Config, load_config
from tracker.demo.emulators.x import XDataset, XEmulator

SHARED_DIR = Path(os.environ.get("TRACKER_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
TOKEN = "test-bearer-token-5f1e2d"
ENV = {"TRACKER_X_BEARER_TOKEN": TOKEN}


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"the reference data is absent (looked in {SHARED_DIR}; set TRACKER_SHARED_DIR)")
    return SHARED_DIR


def make_user(user_id: str, username: str, **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "username": username, "name": username.title(), "protected": False, **extra}


def make_tweet(tweet_id: int, author_id: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
    # Ids grow with time like snowflakes; one minute apart is enough for these tests.
    minute = tweet_id % 100000
    created = f"2026-10-{1 + minute // 1440 % 28:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00.000Z"
    tweet = {"id": str(tweet_id), "author_id": author_id, "text": text or f"post {tweet_id}",
             "created_at": created, "conversation_id": str(tweet_id), "lang": "en",
             "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4}}
    tweet.update(extra)
    return tweet


def small_dataset(per_leader: int = 3) -> XDataset:
    users = [make_user("101", "alice"), make_user("102", "bob"), make_user("103", "carol"),
             make_user("900", "someone")]
    tweets = []
    for index, author in enumerate(("101", "102", "103")):
        base = 1_000_000 * (index + 1)
        tweets += [make_tweet(base + n, author) for n in range(per_leader)]
    return XDataset(users=users, tweets=tweets)


def write_config(folder: Path, api_base_url: str, *, leaders: dict[str, str] | None = None,
                 extra: str = "", timeout: float = 5) -> Path:
    leaders = leaders or {"alice": "alice", "bob": "bob", "carol": "carol"}
    blocks = "\n".join(
        f'[[leaders]]\nid = "{leader_id}"\nname = "{leader_id.title()}"\naccounts = {{ x = "{handle}" }}\n'
        for leader_id, handle in leaders.items()
    )
    path = folder / "tracker.toml"
    path.write_text(
        f'[tracker]\ndatabase = "tracker.db"\n\n[organisation]\nname = "Test Org"\n\n'
        f'[collect]\nbackfill_days = 0\n\n'
        f'[sources.x]\napi_base_url = "{api_base_url}"\nretry_backoff = 0\nmax_rate_limit_wait = 0\n'
        f"max_retries = 2\ntimeout = {timeout}\n{extra}\n{blocks}",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def dataset() -> XDataset:
    return small_dataset()


@pytest.fixture
def emulator(dataset: XDataset) -> Iterator[XEmulator]:
    with XEmulator(dataset, bearer_token=TOKEN) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, emulator: XEmulator) -> Config:
    return load_config(write_config(tmp_path, emulator.url))
