"""X archive import: streaming, same ids as the API, no duplicates either way round."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from tracker.collect.x_archive import ArchiveError, import_x_archive, iter_array, iter_archive_tweets
from tracker.cli import cli
from tracker.collect.run import collect
from tracker.demo.run import DEMO_TOKEN, LEADERS, build_dataset
from tracker.demo.emulators.x import XEmulator
from tracker.demo.emulators.x_archive import write_archive
from tracker.errors import ConfigError
from tracker.collect.sources.x import TOKEN_ENV_VAR, normalize_tweet

from platform_helpers import rows, write_config

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset(NOW)


def _leader(leader_id):
    return next(leader for leader in LEADERS if leader.id == leader_id)


def _archive(tmp_path, dataset, leader_id, **options):
    leader = _leader(leader_id)
    tweets = dataset.by_author[leader.user_id]
    path = tmp_path / (f"{leader_id}.zip" if options.get("zip", True) else leader_id)
    write_archive(path, tweets, account=dataset.users_by_id[leader.user_id], users=dataset.users_by_id, **options)
    return path, tweets


def _config(tmp_path, url="http://127.0.0.1:9", leaders=("maya", "james", "priya")):
    sources = f'[sources.x]\napi_base_url = "{url}"\nretry_backoff = 0.1'
    return write_config(tmp_path, {leader_id: {"x": _leader(leader_id).handle} for leader_id in leaders}, sources)


def test_import_gives_every_post_the_api_id_and_kind(tmp_path, dataset):
    config = _config(tmp_path)
    for leader_id in ("maya", "james", "priya"):
        path, tweets = _archive(tmp_path, dataset, leader_id, parts=2)
        result = import_x_archive(config, leader_id, path)
        assert (result.posts_read, result.new_posts) == (len(tweets), len(tweets))
        assert result.files == ["data/tweets.js", "data/tweets-part1.js"]
        users = dataset.users_by_id
        expected = {f"x:{t['id']}": (normalize_tweet(t, users).kind, normalize_tweet(t, users).created_at)
                    for t in tweets}
        stored = {row[0]: (row[1], row[2]) for row in
                  rows(config, "SELECT id, kind, created_at FROM posts WHERE leader_id = ?", [leader_id])}
        assert stored == expected
    [raw] = rows(config, "SELECT raw FROM posts WHERE id = ?", [f"x:{tweets[0]['id']}"])[0]
    assert json.loads(raw)["x_archive"]["tweet"]["id_str"] == tweets[0]["id"]  # the file's own element
    assert rows(config, "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'offline'")[0][0] > 0
    kinds = dict(rows(config, "SELECT kind, count(*) FROM posts GROUP BY kind"))
    assert {"original", "reply", "thread", "repost"} <= set(kinds)


def test_quotes_are_recognised_from_the_permalink(tmp_path, dataset):
    config = _config(tmp_path, leaders=("tomas",))
    path, tweets = _archive(tmp_path, dataset, "tomas")
    import_x_archive(config, "tomas", path)
    quotes = [t for t in tweets if any(r["type"] == "quoted" for r in t.get("referenced_tweets", []))]
    assert quotes
    stored = dict(rows(config, "SELECT id, quoted_id FROM posts WHERE kind = 'quote'"))
    assert stored == {f"x:{t['id']}": f"x:{t['referenced_tweets'][0]['id']}" for t in quotes}


def test_reimport_adds_nothing(tmp_path, dataset):
    config = _config(tmp_path)
    path, tweets = _archive(tmp_path, dataset, "maya", zip=False)
    import_x_archive(config, "maya", path)
    again = import_x_archive(config, "maya", path)
    assert (again.posts_read, again.new_posts) == (len(tweets), 0)
    assert rows(config, "SELECT count(*) FROM posts")[0][0] == len(tweets)


def test_archive_then_api_collect_adds_no_duplicate(tmp_path, dataset):
    with XEmulator(dataset, bearer_token=DEMO_TOKEN) as emulator:
        config = _config(tmp_path, emulator.url, leaders=("maya",))
        path, tweets = _archive(tmp_path, dataset, "maya")
        import_x_archive(config, "maya", path)
        result = collect(config, env={TOKEN_ENV_VAR: DEMO_TOKEN}, source_options={"sleep": lambda s: None})
    [account] = result.accounts
    assert account.status == "ok" and account.posts_read > 0
    assert account.new_posts == 0
    assert rows(config, "SELECT count(*) FROM posts")[0][0] == len(tweets)
    # The API's richer row replaced the archive's (conversation ids exist only in the API).
    assert rows(config, "SELECT count(*) FROM posts WHERE conversation_id IS NULL")[0][0] == 0


def test_api_collect_then_archive_keeps_the_api_rows(tmp_path, dataset):
    with XEmulator(dataset, bearer_token=DEMO_TOKEN) as emulator:
        config = _config(tmp_path, emulator.url, leaders=("maya",))
        collect(config, env={TOKEN_ENV_VAR: DEMO_TOKEN}, source_options={"sleep": lambda s: None})
    before = rows(config, "SELECT * FROM posts ORDER BY id")
    path, _ = _archive(tmp_path, dataset, "maya")
    result = import_x_archive(config, "maya", path)
    assert result.new_posts == 0
    assert rows(config, "SELECT * FROM posts ORDER BY id") == before


def test_archive_of_another_account_is_refused(tmp_path, dataset):
    config = _config(tmp_path)
    maya_path, _ = _archive(tmp_path, dataset, "maya")
    import_x_archive(config, "maya", maya_path)
    with XEmulator(dataset, bearer_token=DEMO_TOKEN) as emulator:
        config = _config(tmp_path, emulator.url)
        collect(config, leader_ids=["james"], env={TOKEN_ENV_VAR: DEMO_TOKEN})
    with pytest.raises(ArchiveError, match="the archive is of @maya_okafor"):
        import_x_archive(config, "james", maya_path)


def test_leader_without_x_account_is_a_config_error(tmp_path, dataset):
    config = write_config(tmp_path, {"maya": {"bluesky": "maya.test"}})
    path, _ = _archive(tmp_path, dataset, "maya")
    with pytest.raises(ConfigError, match="has no x account"):
        import_x_archive(config, "maya", path)


class Trickle(io.StringIO):
    """A stream that returns at most 7 characters per read, to cut values everywhere."""

    def read(self, size=-1):
        return super().read(7)


def test_streaming_parser_survives_any_chunk_boundary():
    text = 'window.YTD.tweets.part0 = [ {"tweet": {"id_str": "1", "n": 12345, "s": "a\\"b]"}},\n' \
           ' {"tweet": {"id_str": "2", "n": 1.5e3, "t": true, "x": null}} ]'
    assert list(iter_array(Trickle(text))) == [{"tweet": {"id_str": "1", "n": 12345, "s": 'a"b]'}},
                                               {"tweet": {"id_str": "2", "n": 1500.0, "t": True, "x": None}}]
    assert list(iter_array(Trickle("window.YTD.tweets.part0 = []"))) == []


@pytest.mark.parametrize("text", ['window.YTD.tweets.part0 = [ {"tweet": {"id_str": "1"',
                                  "window.YTD.tweets.part0 = ", 'window.YTD.tweets.part0 = [ {"a": } ]'])
def test_broken_files_raise_archive_error(text):
    with pytest.raises(ArchiveError):
        list(iter_array(Trickle(text)))


def test_older_archives_name_the_file_tweet_js(tmp_path):
    path = tmp_path / "old.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/tweet.js", 'window.YTD.tweet.part0 = [{"tweet": {"id_str": "5", '
                                          '"full_text": "hi", "created_at": "Wed Oct 10 20:19:24 +0000 2018"}}]')
    assert [tweet["id_str"] for _, tweet in iter_archive_tweets(path)] == ["5"]
    not_archive = tmp_path / "other.zip"
    with zipfile.ZipFile(not_archive, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ArchiveError, match="not an X archive"):
        list(iter_archive_tweets(not_archive))


def test_cli_import_prints_counts_and_exit_codes(tmp_path, dataset):
    config = _config(tmp_path)
    path, tweets = _archive(tmp_path, dataset, "maya")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config.path), "import", "x-archive", "--leader", "maya", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"Imported {len(tweets)} posts from 1 file(s) into maya:x: "
                             f"{len(tweets)} new, 0 already stored.\n")
    bad = runner.invoke(cli, ["--config", str(config.path), "import", "x-archive", "--leader", "nobody", str(path)])
    assert bad.exit_code == 2 and "no leader with id 'nobody'" in bad.output
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    broken = runner.invoke(cli, ["--config", str(config.path), "import", "x-archive", "--leader", "maya", str(junk)])
    assert broken.exit_code == 1 and "not a zip file or folder" in broken.output


def test_unreadable_tweet_stops_the_import_with_its_id(tmp_path):
    config = _config(tmp_path)
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"accountId": "1", '
                                            f'"username": "{_leader("maya").handle}"}}}}]')
        archive.writestr("data/tweets.js", 'window.YTD.tweets.part0 = [{"tweet": {"id_str": "5", "full_text": "hi", '
                                           '"created_at": "Wed Oct 10 20:19:24 +0000 2018"}}, '
                                           '{"tweet": {"id_str": "6", "full_text": "no date"}}]')
    with pytest.raises(ArchiveError, match="tweet '6' cannot be read"):
        import_x_archive(config, "maya", path, batch_size=1)
    # The batch handed over before the failure is saved; a fixed archive imports the rest.
    assert rows(config, "SELECT id FROM posts") == [("x:5",)]


def test_an_import_without_an_api_token_never_loads_tweepy(tmp_path, dataset):
    # The archive's own account id is checked against the API only when a token is set;
    # otherwise the X client library (a tenth of a second to load) stays unloaded.
    import os
    import subprocess
    import sys

    path, tweets = _archive(tmp_path, dataset, "maya")
    config = _config(tmp_path)
    code = ("import sys; from pathlib import Path; from tracker.config import load_config; "
            "from tracker.collect.x_archive import import_x_archive; "
            f"result = import_x_archive(load_config({str(config.path)!r}), 'maya', Path({str(path)!r})); "
            "print(result.new_posts, 'tweepy' in sys.modules)")
    env = {name: value for name, value in os.environ.items() if name != TOKEN_ENV_VAR}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).parents[1]).stdout
    assert out.split() == [str(len(tweets)), "False"]
