"""Schema migrations. Applied on every open; never edit one that has shipped, add a new one.

The schema is a public contract (documented in the README): users query it with SQL or
Datasette, so columns are only ever added.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

migrations = Migrations("tracker")


def _run(db: Database, statements: str) -> None:
    # One statement at a time: sqlite3's executescript() would COMMIT the migration's
    # transaction half-way through.
    buffer = ""
    for line in statements.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        db.execute(buffer)


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    _run(db, """
CREATE TABLE leaders (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    group_name TEXT NOT NULL DEFAULT '',
    in_config INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    platform TEXT NOT NULL,
    handle TEXT NOT NULL,
    platform_user_id TEXT,
    display_name TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    status_detail TEXT,
    resolved_at TEXT,
    last_success_at TEXT,
    in_config INTEGER NOT NULL DEFAULT 1,
    UNIQUE (leader_id, platform)
);
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    native_id TEXT NOT NULL,
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('original', 'reply', 'thread', 'quote', 'repost')),
    in_reply_to_id TEXT,
    in_reply_to_user_id TEXT,
    quoted_id TEXT,
    reposted_id TEXT,
    conversation_id TEXT,
    url TEXT,
    lang TEXT,
    like_count INTEGER,
    reply_count INTEGER,
    repost_count INTEGER,
    quote_count INTEGER,
    raw TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX idx_posts_leader_created ON posts (leader_id, created_at);
CREATE INDEX idx_posts_account_created ON posts (account_id, created_at);
CREATE TABLE context_posts (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    native_id TEXT NOT NULL,
    author_user_id TEXT,
    author_handle TEXT,
    author_name TEXT,
    created_at TEXT,
    text TEXT,
    lang TEXT,
    in_reply_to_user_id TEXT,
    conversation_id TEXT,
    url TEXT,
    raw TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE cursors (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    platform TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    posts_read INTEGER NOT NULL DEFAULT 0,
    new_posts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX idx_runs_account_started ON runs (account_id, started_at);
CREATE VIRTUAL TABLE posts_fts USING FTS5 (text, content=[posts]);
CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER posts_au AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO posts_fts (rowid, text) VALUES (new.rowid, new.text);
END;
""")


# Post labels with evidence, and the monthly metrics table. `post_labels`,
# `labelled_posts`, `context_labels` and `metrics` are pinned: the report code reads them.
@migrations(name="m002_labels_metrics")
def m002_labels_metrics(db: Database) -> None:
    _run(db, """
CREATE TABLE post_labels (
    post_id TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence REAL NOT NULL,
    evidence TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    PRIMARY KEY (post_id, label)
);
CREATE INDEX idx_post_labels_label ON post_labels (label, post_id);
CREATE TABLE labelled_posts (
    post_id TEXT PRIMARY KEY,
    classifier_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL
);
CREATE TABLE context_labels (
    context_id TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence REAL NOT NULL,
    evidence TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    PRIMARY KEY (context_id, label)
);
CREATE TABLE labelled_context (
    context_id TEXT PRIMARY KEY,
    classifier_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL
);
CREATE INDEX idx_posts_created ON posts (created_at);
CREATE TABLE metrics (
    leader_id TEXT NOT NULL,
    month TEXT NOT NULL,
    platform TEXT NOT NULL,
    posts INTEGER,
    originals INTEGER,
    replies INTEGER,
    threads INTEGER,
    quotes INTEGER,
    reposts INTEGER,
    answers INTEGER,
    questions_received INTEGER,
    questions_answered INTEGER,
    questions_answered_share REAL,
    questions_answered_share_low REAL,
    questions_answered_share_high REAL,
    median_response_hours REAL,
    debates INTEGER,
    unique_critics INTEGER,
    debate_share REAL,
    debate_share_low REAL,
    debate_share_high REAL,
    unique_counterparts INTEGER,
    external_replies INTEGER,
    external_reply_share REAL,
    external_reply_share_low REAL,
    external_reply_share_high REAL,
    progress INTEGER,
    progress_share REAL,
    progress_share_low REAL,
    progress_share_high REAL,
    active_weeks INTEGER,
    median_likes REAL,
    cross_posts INTEGER,
    openness_index REAL,
    openness_index_low REAL,
    openness_index_high REAL,
    component_answer REAL,
    component_debate REAL,
    component_progress REAL,
    component_presence REAL,
    coverage TEXT NOT NULL,
    low_sample INTEGER NOT NULL,
    classifier_version TEXT,
    index_version TEXT,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (leader_id, month, platform)
);
""")


@migrations(name="m003_ops")
def m003_ops(db: Database) -> None:
    # When `tracker purge` removed a context post's third-party text (data care);
    # NULL while the text is kept.
    _run(db, """
ALTER TABLE context_posts ADD COLUMN purged_at TEXT;
CREATE INDEX idx_context_posts_first_seen ON context_posts (first_seen);
CREATE INDEX idx_runs_platform_started ON runs (platform, started_at);
""")


# Posts that mention a leader (X GET /2/users/:id/mentions). The posts
# themselves are context posts (someone else's); this table says whose mention each is.
# The index on posts.in_reply_to_id finds the leader's replies to a mention.
@migrations(name="m004_mentions")
def m004_mentions(db: Database) -> None:
    _run(db, """
CREATE TABLE mentions (
    context_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    created_at TEXT,
    PRIMARY KEY (context_id, account_id)
);
CREATE INDEX idx_mentions_created ON mentions (created_at);
CREATE INDEX idx_posts_in_reply_to ON posts (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
ALTER TABLE metrics ADD COLUMN mentions_questions INTEGER;
ALTER TABLE metrics ADD COLUMN mentions_questions_answered INTEGER;
ALTER TABLE metrics ADD COLUMN mentions_answer_share REAL;
ALTER TABLE metrics ADD COLUMN mentions_answer_share_low REAL;
ALTER TABLE metrics ADD COLUMN mentions_answer_share_high REAL;
""")


# The learned labeller: each labelled post keeps its calibrated probability per label (the
# monthly counts are estimated from them) and why it was not labelled ("language": a post
# the model cannot read is "not labelled", never "no behaviour"). Metrics gain the
# estimated counts with their 95% intervals.
@migrations(name="m005_learned_labeller")
def m005_learned_labeller(db: Database) -> None:
    _run(db, """
ALTER TABLE labelled_posts ADD COLUMN p_answer REAL;
ALTER TABLE labelled_posts ADD COLUMN p_debate REAL;
ALTER TABLE labelled_posts ADD COLUMN p_progress REAL;
ALTER TABLE labelled_posts ADD COLUMN not_labelled TEXT;
ALTER TABLE metrics ADD COLUMN answers_est REAL;
ALTER TABLE metrics ADD COLUMN answers_est_low REAL;
ALTER TABLE metrics ADD COLUMN answers_est_high REAL;
ALTER TABLE metrics ADD COLUMN questions_answered_est REAL;
ALTER TABLE metrics ADD COLUMN debates_est REAL;
ALTER TABLE metrics ADD COLUMN debates_est_low REAL;
ALTER TABLE metrics ADD COLUMN debates_est_high REAL;
ALTER TABLE metrics ADD COLUMN progress_est REAL;
ALTER TABLE metrics ADD COLUMN progress_est_low REAL;
ALTER TABLE metrics ADD COLUMN progress_est_high REAL;
ALTER TABLE metrics ADD COLUMN not_labelled_language INTEGER;
""")


# From when each account's stored posts are complete (see tracker.domain.HistoryEnd):
# months before it have no data, instead of looking like months without activity. Accounts
# collected before this version are complete since their oldest stored post (the safe
# claim), and stored metrics, computed without it, are dropped to be computed again.
@migrations(name="m006_history_floor")
def m006_history_floor(db: Database) -> None:
    _run(db, """
ALTER TABLE accounts ADD COLUMN complete_since TEXT;
ALTER TABLE accounts ADD COLUMN history_limit TEXT;
UPDATE accounts SET
    complete_since = (SELECT min(p.created_at) FROM posts p WHERE p.account_id = accounts.id),
    history_limit = 'oldest_post'
WHERE EXISTS (SELECT 1 FROM posts p WHERE p.account_id = accounts.id)
  AND EXISTS (SELECT 1 FROM runs r WHERE r.account_id = accounts.id AND r.status = 'ok');
DELETE FROM metrics;
""")


# X escapes `&`, `<` and `>` in post text (API v2 and the archive); posts stored before
# this version keep `&amp;`, `&lt;` and `&gt;`. Undo exactly that, `&amp;` last so that a
# written "&lt;" (sent as "&amp;lt;") stays as written. The posts_au trigger updates the
# full-text index with each changed row. `raw` stays byte for byte as X sent it.
@migrations(name="m006_unescape_x_text")
def m006_unescape_x_text(db: Database) -> None:
    for table in ("posts", "context_posts"):
        db.execute(f"""
UPDATE {table} SET text = replace(replace(replace(text, '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
WHERE platform = 'x' AND text IS NOT NULL
  AND (instr(text, '&amp;') OR instr(text, '&lt;') OR instr(text, '&gt;'))
""")


# Peers: leaders of other organisations, collected to compare with. `leaders.organisation`
# is '' for the organisation's own leaders and the peer's company otherwise; the metrics
# rows carry the organisation and the leader's position against the peer cohort.
PEER_MEASURES = ("index", "answer", "debate", "progress", "presence")


@migrations(name="m008_peers")
def m008_peers(db: Database) -> None:
    columns = [f"peer_{measure}_{stat} REAL" for measure in PEER_MEASURES
               for stat in ("q1", "median", "q3", "percentile")]
    _run(db, "ALTER TABLE leaders ADD COLUMN organisation TEXT NOT NULL DEFAULT '';\n"
             "ALTER TABLE metrics ADD COLUMN organisation TEXT;\n"
             "ALTER TABLE metrics ADD COLUMN peer_count INTEGER;\n"
             + "".join(f"ALTER TABLE metrics ADD COLUMN {column};\n" for column in columns))


# File imports that have no API behind them (a leader's LinkedIn data export): one row per
# imported export, so the unattended job never imports the same file twice and `status`
# shows each account's newest export; and the span an account's imports cover, from the
# oldest item of its exports to the newest export's date (months outside it have no data).
@migrations(name="m009_exports")
def m009_exports(db: Database) -> None:
    _run(db, """
CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    exported_at TEXT,
    first_item_at TEXT,
    last_item_at TEXT,
    rows_read INTEGER NOT NULL,
    new_posts INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (account_id, fingerprint)
);
ALTER TABLE accounts ADD COLUMN covered_from TEXT;
ALTER TABLE accounts ADD COLUMN covered_until TEXT;
""")


# The full-text index of posts.text as sqlite-utils sets it up (`enable_fts` with its
# triggers) instead of triggers written by hand: the same table (posts_fts) and column,
# rebuilt from every stored post. sqlite-utils' update trigger fires on any change to a
# post, not only to its text; `disable_fts` would miss the old triggers (it finds them by
# sqlite-utils' own quoting), so they are dropped by name.
@migrations(name="m010_fts_by_sqlite_utils")
def m010_fts_by_sqlite_utils(db: Database) -> None:
    for trigger in ("posts_ai", "posts_ad", "posts_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS posts_fts")
    db.table("posts").enable_fts(["text"], create_triggers=True)
