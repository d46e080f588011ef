"""X text as people wrote it: X's `&amp;`, `&lt;`, `&gt;` undone on the way in and in stored posts."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from conftest import ENV, TOKEN, make_tweet, make_user, write_config
from tracker import store
from tracker.cli import cli
from tracker.demo.emulators.x import XDataset, XEmulator
from tracker.demo.emulators.x_archive import write_archive
from tracker.store.migrations import migrations
from tracker.collect.sources.x import unescape_x_text

# As X sends them: every `&`, `<`, `>` the author wrote arrives escaped.
SENT = "relentless jamming attacks &amp; SpaceX &gt;10X GPS &amp; far stronger signal"
WRITTEN = "relentless jamming attacks & SpaceX >10X GPS & far stronger signal"


@pytest.mark.parametrize("sent, written", [
    (SENT, WRITTEN),
    ("a &lt;b&gt; c", "a <b> c"),
    ("I typed &amp;lt; literally", "I typed &lt; literally"),  # what the author wrote, not "<"
    ("&amp;amp;", "&amp;"),
    ("&copy; &#38; &quot; stay", "&copy; &#38; &quot; stay"),  # X never writes these: untouched
    ("no entities at all", "no entities at all"),
])
def test_unescape_undoes_exactly_what_x_escapes(sent, written):
    assert unescape_x_text(sent) == written


def test_collected_and_imported_posts_are_stored_as_written(tmp_path):
    users = [make_user("101", "alice"), make_user("900", "someone")]
    parent = make_tweet(900_001, "900", text="Q&amp;A at 5 &lt;3")
    tweets = [
        make_tweet(1_000_001, "101", text=SENT),
        make_tweet(1_000_002, "101", text="short &amp; cut", note_tweet={"text": "long &amp; whole &lt;note&gt;"}),
        make_tweet(1_000_003, "101", text="@someone yes &amp; no", in_reply_to_user_id="900",
                   referenced_tweets=[{"type": "replied_to", "id": "900001"}]),
        parent,
    ]
    dataset = XDataset(users=users, tweets=tweets)
    with XEmulator(dataset, bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"alice": "alice"})
        result = CliRunner().invoke(cli, ["--config", str(path), "collect"], env=ENV)
    assert result.exit_code == 0, result.output
    db = store.open_db(tmp_path / "tracker.db")
    try:
        texts = dict(db.execute("SELECT native_id, text FROM posts").fetchall())
        assert texts == {"1000001": WRITTEN, "1000002": "long & whole <note>", "1000003": "@someone yes & no"}
        assert db.execute("SELECT text FROM context_posts WHERE native_id = '900001'").fetchone()[0] == "Q&A at 5 <3"
        raw = json.loads(db.execute("SELECT raw FROM posts WHERE native_id = '1000001'").fetchone()[0])
        assert raw["text"] == SENT  # raw stays as X sent it
    finally:
        db.close()
    archive_tweets = [make_tweet(800_001, "101", text="archived &amp; kept &lt;3")]
    archive = write_archive(tmp_path / "a.zip", archive_tweets, account=users[0], users={"101": users[0]})
    result = CliRunner().invoke(cli, ["--config", str(path), "import", "x-archive", "--leader", "alice", str(archive)],
                                env=ENV)
    assert result.exit_code == 0, result.output
    db = store.open_db(tmp_path / "tracker.db")
    try:
        assert db.execute("SELECT text FROM posts WHERE native_id = '800001'").fetchone()[0] == "archived & kept <3"
    finally:
        db.close()


def test_the_migration_repairs_stored_posts_and_their_full_text_index(tmp_path):
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m006_history_floor")  # a database of the previous version
    db.execute("INSERT INTO leaders (id, name) VALUES ('alice', 'Alice')")
    db.execute("INSERT INTO accounts (id, leader_id, platform, handle) VALUES ('alice:x', 'alice', 'x', 'alice')")
    rows = [("x:1", "x", SENT), ("x:2", "x", "I typed &amp;lt; literally"), ("bluesky:3", "bluesky", "fish &amp; chips")]
    for post_id, platform, text in rows:
        db.execute("INSERT INTO posts (id, platform, native_id, leader_id, account_id, created_at, text, kind, raw, "
                   "first_seen, last_seen) VALUES (?, ?, ?, 'alice', 'alice:x', '2026-01-01T00:00:00Z', ?, 'original', "
                   "?, 'now', 'now')", [post_id, platform, post_id[-1], text, json.dumps({"text": text})])
    db.execute("INSERT INTO context_posts (id, platform, native_id, text, first_seen, last_seen) "
               "VALUES ('x:9', 'x', '9', 'Q&amp;A', 'now', 'now')")
    db.conn.commit()
    assert db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'amp'").fetchone()[0] == 3
    db.close()

    db = store.open_db(path)  # applies the pending migrations
    try:
        texts = dict(db.execute("SELECT id, text FROM posts").fetchall())
        assert texts == {"x:1": WRITTEN, "x:2": "I typed &lt; literally", "bluesky:3": "fish &amp; chips"}
        assert db.execute("SELECT text FROM context_posts").fetchone()[0] == "Q&A"
        assert json.loads(db.execute("SELECT raw FROM posts WHERE id = 'x:1'").fetchone()[0])["text"] == SENT
        # The index follows: "amp" is left only in the Bluesky post, which was written that way.
        found = [row[0] for row in db.execute(
            "SELECT p.id FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid WHERE posts_fts MATCH 'amp'")]
        assert found == ["bluesky:3"]
        assert db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'jamming AND stronger'").fetchone()[0] == 1
        db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")  # raises if out of step
    finally:
        db.close()


def test_the_report_prints_text_as_written(tmp_path):
    import pypdf

    progress = "We shipped the new billing API today &amp; it is live for all customers &gt;10x faster"
    tweets = [make_tweet(1_000_001 + n, "101", text=progress if n == 0 else f"Shipped update {n} today") for n in range(3)]
    dataset = XDataset(users=[make_user("101", "alice")], tweets=tweets)
    with XEmulator(dataset, bearer_token=TOKEN) as emulator:
        path = write_config(tmp_path, emulator.url, leaders={"alice": "alice"})
        assert CliRunner().invoke(cli, ["--config", str(path), "collect"], env=ENV).exit_code == 0
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["--config", str(path), "report", "--month", "2026-10", "--format", "pdf",
                                      "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(out / "report-2026-10.pdf").pages).split())
    assert "billing API today & it is live for all customers >10x faster" in text
    assert "&amp;" not in text and "&gt;" not in text
