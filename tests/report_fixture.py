"""A database for report tests and the report benchmark: leaders, accounts, posts, runs,
post labels and metrics rows with plausible hand-set values.

``post_labels`` and ``metrics`` are created here with the statements of the pinned contract
of the metrics layer (migration ``m002_labels_metrics``), which this branch does
not have yet; once it lands, ``open_db`` creates them and ``create_labels_metrics_tables``
finds them there (CREATE TABLE IF NOT EXISTS).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlite_utils import Database

from tracker.config import Config, Leader
from tracker.months import month_bounds_utc, shift_month
from tracker.store import open_db, save_config

LABELS_METRICS_SQL = """
CREATE TABLE IF NOT EXISTS post_labels (
    post_id TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence REAL NOT NULL,
    evidence TEXT,
    classifier_version TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    PRIMARY KEY (post_id, label)
);
CREATE TABLE IF NOT EXISTS metrics (
    leader_id TEXT NOT NULL, month TEXT NOT NULL, platform TEXT NOT NULL, computed_at TEXT NOT NULL,
    posts INTEGER, originals INTEGER, replies INTEGER, threads INTEGER, quotes INTEGER, reposts INTEGER,
    answers INTEGER, questions_received INTEGER,
    questions_answered_share REAL, questions_answered_share_low REAL, questions_answered_share_high REAL,
    median_response_hours REAL,
    debates INTEGER, debate_share REAL, debate_share_low REAL, debate_share_high REAL,
    unique_counterparts INTEGER, external_replies INTEGER,
    external_reply_share REAL, external_reply_share_low REAL, external_reply_share_high REAL,
    progress INTEGER, progress_share REAL, progress_share_low REAL, progress_share_high REAL,
    active_weeks INTEGER, median_likes REAL,
    openness_index REAL, openness_index_low REAL, openness_index_high REAL,
    component_answer REAL, component_debate REAL, component_progress REAL, component_presence REAL,
    coverage TEXT NOT NULL, low_sample INTEGER NOT NULL, classifier_version TEXT,
    PRIMARY KEY (leader_id, month, platform)
);
"""

HOSTILE_TEXTS = [
    "Cost is $5 and $x_1^2$ \\alpha \\n _under_ ^caret^ \\\\ back\\slash {braces} %percent #hash",
    "Emoji 😀🎉👩‍👩‍👧‍👦🏳️‍🌈 and flags 🇬🇧 and skin tones 👍🏽 in a row 🚀🚀🚀",
    "CJK: 我们今天发布了新版本，感谢大家的反馈。日本語のテキストも。한국어 텍스트도 있습니다.",
    "RTL: שלום לכולם, השקנו היום גרסה חדשה. العربية: أطلقنا اليوم إصداراً جديداً من المنتج.",
    "Long: " + "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 6 + " https://example.com/" + "x" * 300,
    "Control\x00chars\x07and\ttabs\nand\r\nnewlines\u202eoverride\u200bzero-width\ufeffBOM \U000f0000 private",
]

PROFILES = {  # answers, debates, progress per month, on average
    "answerer": (14, 2, 4),
    "debater": (3, 9, 3),
    "narrator": (2, 1, 12),
    "broadcaster": (0, 0, 2),
    "quiet": (0, 0, 1),
}


@dataclass(frozen=True)
class SampleSetup:
    config: Config
    db_path: Path
    month: str
    leader_ids: tuple[str, ...]


def create_labels_metrics_tables(db: Database) -> None:
    for statement in LABELS_METRICS_SQL.split(";"):
        if statement.strip():
            db.execute(statement)


def make_config(tmp: Path, leaders: list[tuple[str, str]], organisation: str = "Northwind Robotics",
                peers: Sequence[tuple[str, str, str]] = ()) -> Config:
    return Config(
        path=tmp / "tracker.toml", database=tmp / "tracker.db", timezone="Europe/London",
        reports_dir=tmp / "reports", organisation_name=organisation, organisation_handles={},
        backfill_days=90,
        leaders=tuple(Leader(leader_id, name, "Chief Officer", "Group A" if i % 2 == 0 else "Group B",
                             {"x": f"{leader_id}_x"[:15]}) for i, (leader_id, name) in enumerate(leaders)),
        peers=tuple(Leader(peer_id, name, "Chief Officer", "", {"x": f"{peer_id}_x"[:15]}, company)
                    for peer_id, name, company in peers),
    )


def _wilson(successes: int, total: int) -> tuple[float | None, float | None, float | None]:
    if total == 0:
        return None, None, None
    z = 1.959963984540054
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / (1 + z * z / total)
    return round(p, 4), round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def metrics_row(leader_id: str, month: str, platform: str, profile: str, rng: random.Random,
                coverage: str = "full") -> dict[str, object]:
    row: dict[str, object] = {"leader_id": leader_id, "month": month, "platform": platform,
                              "computed_at": "2026-04-01T06:00:00Z", "coverage": coverage,
                              "classifier_version": "rules-1", "low_sample": 0}
    if coverage == "none":
        row["low_sample"] = 1
        return row  # no collection: every activity metric stays NULL ("no data", never 0)
    answers_avg, debates_avg, progress_avg = PROFILES[profile]
    answers = max(0, round(rng.gauss(answers_avg, 1.5)))
    debates = max(0, round(rng.gauss(debates_avg, 1.0)))
    progress = max(0, round(rng.gauss(progress_avg, 1.5)))
    originals = progress + rng.randint(1, 6)
    replies = answers + debates + rng.randint(0, 5)
    threads, quotes, reposts = rng.randint(0, 3), rng.randint(0, 2), rng.randint(0, 8)
    posts = originals + replies + threads + quotes
    questions = answers + rng.randint(0, 6)
    external = max(0, replies - rng.randint(0, 2))
    qa, qa_low, qa_high = _wilson(answers, questions)
    ds, ds_low, ds_high = _wilson(debates, replies + quotes)
    es, es_low, es_high = _wilson(external, replies)  # the metric's denominator: replies
    ps, ps_low, ps_high = _wilson(progress, originals + threads)
    components = {
        "component_answer": round(min(1.0, answers / 8), 3),
        "component_debate": round(min(1.0, debates / 4), 3),
        "component_progress": round(min(1.0, (ps or 0) / 0.5), 3),
        "component_presence": round(min(4, posts) / 4, 3),
    }
    index = round(100 * (0.3 * components["component_answer"] + 0.25 * components["component_debate"]
                         + 0.25 * components["component_progress"] + 0.1 * components["component_presence"]) / 0.9, 1)
    components = {key: round(100 * value, 1) for key, value in components.items()}  # stored 0-100
    spread = 6.0 if posts >= 10 else 18.0
    row.update(posts=posts, originals=originals, replies=replies, threads=threads, quotes=quotes, reposts=reposts,
               answers=answers, questions_received=questions, questions_answered=answers, questions_answered_share=qa,
               questions_answered_share_low=qa_low, questions_answered_share_high=qa_high,
               median_response_hours=round(rng.uniform(1.5, 30.0), 1) if answers else None,
               debates=debates, debate_share=ds, debate_share_low=ds_low, debate_share_high=ds_high,
               unique_counterparts=max(0, external - rng.randint(0, 3)), external_replies=external,
               external_reply_share=es, external_reply_share_low=es_low, external_reply_share_high=es_high,
               progress=progress, progress_share=ps, progress_share_low=ps_low, progress_share_high=ps_high,
               active_weeks=min(5, max(1 if posts else 0, posts // 3)), median_likes=float(rng.randint(0, 40)),
               openness_index=index, openness_index_low=round(max(0.0, index - spread), 1),
               openness_index_high=round(min(100.0, index + spread), 1),
               low_sample=int(posts < 10 or coverage == "partial"), **components)
    return row


def _insert(db: Database, table: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    columns = sorted({key for row in rows for key in row})
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [[row.get(column) for column in columns] for row in rows])


def build_sample(tmp: Path, n_leaders: int = 3, month: str = "2026-03", history: int = 13,
                 seed: int = 7, hostile: bool = False, posts_in_month: bool = True, n_peers: int = 0) -> SampleSetup:
    """A database with ``n_leaders`` leaders and ``history`` months of metrics ending at ``month``.

    Leader profiles cycle answerer, debater, narrator, broadcaster, quiet. The third leader
    (when there is one) has no collection two months before ``month`` and a partial one the
    month before; the fourth has a protected account and a failed run in ``month``.
    """
    rng = random.Random(seed)
    names = ["Maya Okafor", "Tomás Reyes", "Priya Natarajan", "James Whitfield", "Elena Sokolova"]
    leaders = [(f"leader{i:02d}", names[i] if i < len(names) else f"Leader Number {i:02d}") for i in range(n_leaders)]
    if hostile:
        leaders[0] = (leaders[0][0], "Ana $x_1^2$ \\ Ñúñez 😀 王芳 שרה")
    tmp.mkdir(parents=True, exist_ok=True)
    # Peers: two other companies, profiles cycling like the leaders'; metrics rows only.
    peers = [(f"peer{i:02d}", f"Peer Leader {i:02d}", "Helix Automation" if i % 2 == 0 else "Corvid Logistics")
             for i in range(n_peers)]
    config = make_config(tmp, leaders, peers=peers)
    db = open_db(config.database)
    create_labels_metrics_tables(db)
    save_config(db, config)
    profiles = list(PROFILES)
    months = [shift_month(month, -offset) for offset in range(history - 1, -1, -1)]
    metric_rows, posts, labels, runs = [], [], [], []
    for index, (leader_id, _name) in enumerate(leaders):
        profile = profiles[index % len(profiles)]
        for one in months:
            coverage = "full"
            if index == 2 and one == shift_month(month, -2):
                coverage = "none"
            elif index == 2 and one == shift_month(month, -1):
                coverage = "partial"
            all_row = metrics_row(leader_id, one, "all", profile, rng, coverage)
            metric_rows += [all_row, {**all_row, "platform": "x"}]
        if not posts_in_month:
            continue
        start, _end = month_bounds_utc(month, config.timezone)
        base = datetime.fromisoformat(start.replace("Z", "+00:00"))
        answers_avg, debates_avg, progress_avg = PROFILES[profile]
        count = answers_avg + debates_avg + progress_avg + 6
        for number in range(count):
            created = base + timedelta(hours=rng.randint(1, 29 * 24))
            stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            post_id = f"x:{index:03d}{number:04d}"
            if number < answers_avg:
                label, kind, text = "answer", "reply", f"Yes: the dock ships in May, existing units get it remotely ({number})."
            elif number < answers_avg + debates_avg:
                label, kind, text = "debate", "reply", f"I disagree: field data from 400 sites shows fewer stoppages ({number})."
            elif number < answers_avg + debates_avg + progress_avg:
                label, kind, text = "progress", "original", f"We shipped offline mode for the R2 arm today after 2,000 hours of tests ({number})."
            else:
                label, kind, text = "", rng.choice(["original", "repost", "quote"]), f"Great event today, thanks all ({number})."
            if hostile and index == 0:
                text = HOSTILE_TEXTS[number % len(HOSTILE_TEXTS)]
            posts.append({"id": post_id, "platform": "x", "native_id": post_id[2:], "leader_id": leader_id,
                          "account_id": f"{leader_id}:x", "created_at": stamp, "text": text, "kind": kind,
                          "url": f"https://x.com/{leader_id}_x/status/{post_id[2:]}",
                          "like_count": rng.randint(0, 60), "first_seen": stamp, "last_seen": stamp})
            if label:
                labels.append({"post_id": post_id, "label": label, "confidence": round(rng.uniform(0.6, 0.99), 2),
                               "evidence": json.dumps({"rules": [f"{label}.rule"]}), "classifier_version": "rules-1",
                               "labelled_at": "2026-04-01T06:00:00Z"})
        if index == 3:
            db.execute("UPDATE accounts SET status = 'protected', status_detail = 'the account is protected' "
                       "WHERE id = ?", [f"{leader_id}:x"])
            runs.append({"run_id": "r1", "account_id": f"{leader_id}:x", "platform": "x",
                         "started_at": start.replace("01T", "14T"), "finished_at": start.replace("01T", "14T"),
                         "status": "failed", "error": "account protected: @x is protected"})
        runs.append({"run_id": "r0", "account_id": f"{leader_id}:x", "platform": "x", "started_at": start,
                     "finished_at": start, "status": "ok"})
    for index, (peer_id, _name, _company) in enumerate(peers):
        for one in months:
            all_row = metrics_row(peer_id, one, "all", profiles[index % len(profiles)], rng)
            metric_rows += [all_row, {**all_row, "platform": "x"}]
    if peers:
        from tracker.metrics.peers import add_peer_positions

        organisations = {peer_id: company for peer_id, _name, company in peers}
        for row in metric_rows:
            row["organisation"] = organisations.get(str(row["leader_id"]), config.organisation_name)
        add_peer_positions(metric_rows, set(organisations))
    with db.atomic():
        _insert(db, "metrics", metric_rows)
        _insert(db, "posts", posts)
        _insert(db, "post_labels", labels)
        _insert(db, "runs", runs)
    db.close()
    return SampleSetup(config, config.database, month, tuple(leader_id for leader_id, _ in leaders))
