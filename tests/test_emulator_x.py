"""The X emulator speaks the real wire format: checked against real recorded responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tracker.demo.emulators.x import XDataset, XEmulator, decode_token, encode_token

# Fields the current API sends that the 2021 recordings predate (recorded/README.md, caveats).
NEWER_THAN_RECORDINGS = {"edit_history_tweet_ids"}


def shape_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path with its value type: the structure two answers must share."""
    if isinstance(value, dict):
        paths = {f"{prefix}:object"}
        for key, item in value.items():
            paths |= shape_paths(item, f"{prefix}.{key}")
        return paths
    if isinstance(value, list):
        paths = {f"{prefix}:array"}
        for item in value:
            paths |= shape_paths(item, f"{prefix}[]")
        return paths
    return {f"{prefix}:{type(value).__name__}"}


def seed_from(body: dict[str, Any], path: str, query: dict[str, str]) -> XDataset:
    includes = body.get("includes") or {}
    data = body.get("data")
    users = list(includes.get("users") or [])
    tweets = list(includes.get("tweets") or [])
    if isinstance(data, list) and data and "username" in data[0]:
        users += data
    elif isinstance(data, dict) and "username" in data:
        users.append(data)
    elif isinstance(data, list):
        # A default-fields timeline has no author_id; the emulator needs it to find them.
        owner = path.strip("/").split("/")[2]
        tweets += [{"author_id": owner, **tweet} for tweet in data]
    dataset = XDataset(users=users, tweets=tweets)
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[2].isdigit() and parts[2] not in dataset.users_by_id:
        user_id = parts[2]
        dataset.add_users([{"id": user_id, "username": f"user{user_id}", "name": "Someone"}])
        for error in body.get("errors") or []:
            if error.get("resource_id") == user_id and error.get("title") == "Forbidden":
                dataset.suspended.add(user_id)
            elif error.get("resource_id") == user_id:
                dataset.remove_user(user_id)
    if isinstance(data, list) and data and "username" not in data[0] and body.get("meta", {}).get("next_token"):
        # The recording had a next page: give the emulator older posts to page on to.
        oldest = min(data, key=lambda t: int(t["id"]))
        page_size = int(query.get("max_results", 10))
        dataset.add_tweets({"author_id": parts[2], **oldest, "id": str(int(oldest["id"]) - 1 - n)}
                           for n in range(page_size))
    return dataset


def recorded_cases(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "fixtures" / "recorded" / "x").glob("*.json") if not p.name.endswith(".meta.json"))


def test_every_recorded_response_has_the_same_structure_as_the_emulators(shared_dir):
    cases = recorded_cases(shared_dir)
    assert cases, "no recorded X responses found"
    for body_path in cases:
        meta = json.loads(body_path.with_name(body_path.stem + ".meta.json").read_text())
        recorded = json.loads(body_path.read_text())
        url = urlsplit(meta["request"]["url"])
        query = dict(parse_qsl(url.query))
        dataset = seed_from(recorded, url.path, query)
        with XEmulator(dataset) as emulator:
            answer = requests.get(f"{emulator.url}{url.path}", params=query, timeout=5)
        assert answer.status_code == meta["response"]["status"], body_path.name
        for header in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
            assert header in meta["response"]["headers"] and answer.headers[header].isdigit(), body_path.name
        theirs = shape_paths(recorded)
        ours = shape_paths(answer.json())
        missing = theirs - ours
        extra = {p for p in ours - theirs if not any(f".{name}" in p for name in NEWER_THAN_RECORDINGS)}
        assert not missing, f"{body_path.name}: the emulator lacks {sorted(missing)}"
        assert not extra, f"{body_path.name}: the emulator adds {sorted(extra)}"


def test_pagination_tokens_round_trip_and_reject_garbage():
    assert decode_token(encode_token("1400188008909922306")) == "1400188008909922306"
    assert decode_token("not-a-token") is None


def test_timeline_pages_since_id_and_fields(emulator, dataset):
    base = f"{emulator.url}/2/users/101/tweets"
    headers = {"Authorization": "Bearer test-bearer-token-5f1e2d"}
    first = requests.get(base, params={"max_results": 5, "tweet.fields": "created_at"}, headers=headers).json()
    assert [t["id"] for t in first["data"]] == ["1000002", "1000001", "1000000"]
    assert set(first["data"][0]) == {"id", "text", "created_at", "edit_history_tweet_ids"}
    assert first["meta"] == {"result_count": 3, "newest_id": "1000002", "oldest_id": "1000000"}
    newer = requests.get(base, params={"max_results": 5, "since_id": "1000001"}, headers=headers).json()
    assert [t["id"] for t in newer["data"]] == ["1000002"]
    none = requests.get(base, params={"max_results": 5, "since_id": "1000002"}, headers=headers).json()
    assert none == {"meta": {"result_count": 0}}
    bad = requests.get(base, params={"max_results": 500}, headers=headers)
    assert bad.status_code == 400 and bad.json()["title"] == "Invalid Request"
    unauthorized = requests.get(base, params={"max_results": 5})
    assert unauthorized.status_code == 401


def test_faults_answer_like_the_real_api(emulator):
    headers = {"Authorization": "Bearer test-bearer-token-5f1e2d"}
    emulator.add_fault("429", path="/tweets", reset_after=30)
    limited = requests.get(f"{emulator.url}/2/users/101/tweets", params={"max_results": 5}, headers=headers)
    assert limited.status_code == 429
    assert limited.json() == {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                              "status": 429}
    assert limited.headers["x-rate-limit-remaining"] == "0"
    emulator.add_fault("malformed")
    with pytest.raises(ValueError):
        requests.get(f"{emulator.url}/2/users/101/tweets", params={"max_results": 5}, headers=headers).json()


def test_emulators_stay_quiet_when_a_client_goes_away_but_report_real_errors(capsys):
    from http.server import BaseHTTPRequestHandler

    from tracker.demo.emulators.http import _Server

    server = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        for error in (BrokenPipeError(), ConnectionResetError(), KeyError("bug")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    printed = capsys.readouterr().err
    assert "BrokenPipeError" not in printed and "ConnectionResetError" not in printed
    assert "KeyError: 'bug'" in printed
