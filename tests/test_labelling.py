"""Labelling stored posts with the real classifier: input built from the database, labels
stored with evidence, and incremental relabelling when the classifier version changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker import store
from tracker.label.model import load_model
from tracker.config import parse_config
from tracker.label.stored import build_post_input, label_stored_posts, organisation_handles
from tracker.domain import ContextPost, Post

CONFIG = """
[tracker]
database = "t.db"
[organisation]
name = "Acme"
handles = { x = ["acme"] }
[[leaders]]
id = "ada"
name = "Ada"
accounts = { x = "ada_x" }
[[leaders]]
id = "bo"
name = "Bo"
accounts = { x = "bo_x" }
"""
QUESTION = "@ada_x When will offline mode be available for the picking robot?"
ANSWER = ("@asker Offline mode ships for the picking robot in March; existing units get it through "
          "a remote update, no site visit needed.")


@pytest.fixture
def db_config(tmp_path: Path):
    config = parse_config(CONFIG, tmp_path / "tracker.toml")
    db = store.open_db(config.database)
    store.save_config(db, config)
    accounts = {a.leader_id: a for a in store.get_accounts(db)}
    store.save_context_posts(db, [
        ContextPost("x", "q1", "300", "asker", "Asker", "2025-01-08T10:00:00Z", QUESTION),
        ContextPost("x", "q2", "900", "acme", "Acme", "2025-01-08T10:00:00Z", QUESTION),
    ])
    store.save_posts(db, accounts["ada"], [
        Post("x", "a1", "2025-01-08T12:00:00Z", ANSWER, "reply", in_reply_to_id="x:q1", in_reply_to_user_id="300"),
        Post("x", "a2", "2025-01-08T12:00:00Z", ANSWER.replace("@asker", "@acme"), "reply",
             in_reply_to_id="x:q2", in_reply_to_user_id="900"),
        Post("x", "a3", "2025-01-09T12:00:00Z", "Good morning everyone, have a lovely day.", "original"),
        Post("x", "a4", "2025-01-09T12:05:00Z", "More details below.", "thread", in_reply_to_id="x:a3",
             in_reply_to_user_id="100"),
    ])
    yield db, config
    db.close()


def labels_of(db, post_id):
    return {row[0]: row[1:] for row in db.execute(
        "SELECT label, confidence, evidence, classifier_version FROM post_labels WHERE post_id = ?", [post_id])}


def test_labels_are_stored_with_evidence_and_version(db_config):
    db, config = db_config
    stats = label_stored_posts(db, config)
    assert (stats.posts_labelled, stats.context_labelled) == (4, 2)
    version = load_model().version
    answer = labels_of(db, "x:a1")["answer"]
    threshold = load_model().thresholds[0]
    assert answer[0] >= threshold and answer[2] == version
    evidence = json.loads(answer[1])
    assert evidence and set(evidence[0]) == {"reason", "text", "start", "end", "source", "weight"}
    texts = {"post": ANSWER, "parent": QUESTION}
    assert all(texts[e["source"]][e["start"]:e["end"]] == e["text"] for e in evidence)
    # Every post keeps its probabilities: the monthly counts are estimated from them.
    p_answer, = db.execute("SELECT p_answer FROM labelled_posts WHERE post_id = 'x:a1'").fetchone()
    assert p_answer == pytest.approx(answer[0], abs=1e-4)
    # The same words to the organisation's own account are internal: not an answer.
    assert "answer" not in labels_of(db, "x:a2")
    assert labels_of(db, "x:a3") == {}
    assert db.execute("SELECT count(*) FROM labelled_posts WHERE classifier_version = ? AND p_answer IS NOT NULL",
                      [version]).fetchone()[0] == 4
    assert db.execute("SELECT label FROM context_labels WHERE context_id = 'x:q1'").fetchall() == [("question",)]


def test_relabelling_is_incremental_and_follows_the_version(db_config):
    db, config = db_config
    label_stored_posts(db, config)
    assert label_stored_posts(db, config).posts_labelled == 0  # nothing new
    # A post labelled by an older classifier (with a label the current one would not give).
    with db.atomic():
        db.execute("UPDATE labelled_posts SET classifier_version = 'rules-0' WHERE post_id = 'x:a3'")
        db.execute("INSERT INTO post_labels VALUES ('x:a3', 'progress', 0.9, '[]', 'rules-0', '2020-01-01T00:00:00Z')")
    store.save_posts(db, store.get_accounts(db, ["bo"])[0],
                     [Post("x", "b1", "2025-01-10T12:00:00Z", "Hello.", "original")])
    stats = label_stored_posts(db, config, batch_size=1)
    assert stats.posts_labelled == 2 and stats.context_labelled == 0
    assert labels_of(db, "x:a3") == {}
    assert db.execute("SELECT DISTINCT classifier_version FROM labelled_posts").fetchall() == [(load_model().version,)]


def test_classifier_input_from_the_database(db_config):
    db, config = db_config
    assert {"acme", "ada_x", "bo_x"} <= organisation_handles(db, config)
    thread = build_post_input(("x:a4", "x", "ada_x", "t", "More", "thread", "en", "x:a3", None, "Good morning",
                               None, None, None))
    assert thread["in_reply_to"] == {"author": "ada_x", "text": "Good morning", "is_self": True}
    assert thread["quoted"] is None
    quote = build_post_input(("x:1", "x", "ada_x", "t", "No.", "quote", "en", None, None, None, "x:9", "bob", None))
    assert quote["in_reply_to"] is None and quote["quoted"] == {"author": "bob", "text": None}


def test_context_posts_are_labelled_once_whether_or_not_a_reply_reads_them(db_config):
    db, config = db_config
    accounts = {a.leader_id: a for a in store.get_accounts(db)}
    store.save_context_posts(db, [
        ContextPost("x", "q3", "301", "other", "Other", "2025-01-08T10:00:00Z", "Why won't the app sync offline?"),
        ContextPost("x", "m1", "302", "fan", "Fan", "2025-01-08T10:00:00Z", "Is the depot open on Sunday?"),
    ])
    store.save_posts(db, accounts["bo"], [  # two replies share one parent
        Post("x", f"b{i}", "2025-01-08T12:00:00Z", ANSWER, "reply", in_reply_to_id="x:q3",
             in_reply_to_user_id="301") for i in (1, 2)])
    stats = label_stored_posts(db, config)
    assert (stats.posts_labelled, stats.context_labelled) == (6, 4)  # q1, q2, q3 and the unreplied m1
    stored = {row[0]: row[1] for row in db.execute(
        "SELECT label, evidence FROM context_labels WHERE context_id = 'x:q3'")}
    assert set(stored) == {"question", "critical"}
    assert {e["source"] for e in json.loads(stored["critical"])} == {"post"}
    assert db.execute("SELECT label FROM context_labels WHERE context_id = 'x:m1'").fetchall() == [("question",)]
    assert "answer" in labels_of(db, "x:b1") and "answer" in labels_of(db, "x:b2")


def test_a_time_span_labels_only_its_posts_and_what_they_answer(db_config):
    db, config = db_config
    stats = label_stored_posts(db, config, created=("2025-01-08T00:00:00Z", "2025-01-09T00:00:00Z"))
    assert (stats.posts_labelled, stats.context_labelled) == (2, 2)  # a1, a2 and the questions they answer
    assert {row[0] for row in db.execute("SELECT post_id FROM labelled_posts")} == {"x:a1", "x:a2"}
    assert "answer" in labels_of(db, "x:a1")
    # The rest is labelled when a span (or a full run) covers it.
    assert label_stored_posts(db, config).posts_labelled == 2
