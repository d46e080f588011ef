"""Benchmark (run by hand, not in CI): label and compute a month for N synthetic posts.

    .venv/bin/python bench/bench_metrics.py [--posts 1000000] [--leaders 200]

Prints insert time, labelling posts/s, seconds for one month's metrics and peak memory.
Targets: labelling >= 20,000 posts/s, a month's metrics for 1,000,000 stored
posts in < 5 s on one core, memory flat in the number of posts.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker import store  # noqa: E402
from tracker.demo import people as demo  # noqa: E402
from tracker.config import parse_config  # noqa: E402
from tracker.label.stored import label_stored_posts  # noqa: E402
from tracker.metrics.monthly import compute_metrics  # noqa: E402

PLATFORMS = ("x", "bluesky")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def config_text(folder: Path, leaders: int) -> str:
    lines = ['[tracker]', f'database = "{folder / "bench.db"}"', 'timezone = "Europe/London"',
             '[organisation]', 'name = "Bench"', 'handles = { x = ["benchcorp"] }', '[collect]', 'backfill_days = 0']
    for i in range(leaders):
        lines += ['[[leaders]]', f'id = "l{i}"', f'name = "Leader {i}"', f'accounts = {{ x = "leader_{i}" }}']
    return "\n".join(lines)


def fill(rng: random.Random, template: str) -> str:
    return template.format(product=rng.choice(demo.PRODUCTS), feature=rng.choice(demo.FEATURES),
                           month=rng.choice(demo.MONTHS), version=f"{rng.randint(1, 30)}.{rng.randint(0, 9)}")


def generate(db, n_posts: int, n_leaders: int, start: datetime, days: int = 365, seed: int = 1) -> None:
    rng = random.Random(seed)
    seconds = days * 86400
    with db.atomic():
        for i in range(n_leaders):
            db.execute("UPDATE accounts SET platform_user_id = ?, status = 'ok' WHERE id = ?", [str(10_000 + i), f"l{i}:x"])
            db.execute("INSERT INTO accounts (id, leader_id, platform, handle, platform_user_id, status, in_config) "
                       "VALUES (?, ?, 'bluesky', ?, ?, 'ok', 1)", [f"l{i}:bluesky", f"l{i}", f"leader{i}.bsky", f"did:{i}"])
    now = store.now_iso()
    with db.atomic():
        # Every account's whole history was read: complete from before the first post.
        db.execute("UPDATE accounts SET complete_since = ?, history_limit = 'first_post'",
                   [start.strftime("%Y-%m-%dT%H:%M:%SZ")])
        db.conn.executemany("INSERT INTO runs (run_id, account_id, platform, started_at, finished_at, status) "
                            "VALUES ('bench', ?, ?, ?, ?, 'ok')",
                            [(f"l{i}:{p}", p, now, now) for i in range(n_leaders) for p in PLATFORMS])
    posts_sql = ("INSERT INTO posts (id, platform, native_id, leader_id, account_id, created_at, text, kind, "
                 "in_reply_to_id, in_reply_to_user_id, quoted_id, like_count, first_seen, last_seen) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    context_sql = ("INSERT INTO context_posts (id, platform, native_id, author_user_id, author_handle, created_at, "
                   "text, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    batch, context = [], []
    for n in range(n_posts):
        leader = rng.randrange(n_leaders)
        platform = PLATFORMS[0] if rng.random() < 0.7 else PLATFORMS[1]
        moment = start + timedelta(seconds=rng.randrange(seconds))
        created = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        post_id = f"{platform}:{n}"
        roll = rng.random()
        reply_to = reply_user = quoted = None
        if roll < 0.35:
            kind = "reply"
            asker = rng.randrange(50_000)
            question = rng.random() < 0.6
            parent = fill(rng, rng.choice(demo.QUESTIONS if question else demo.CRITICISMS))
            reply_to, reply_user = f"{platform}:c{n}", str(asker)
            context.append((reply_to, platform, f"c{n}", str(asker), f"user{asker}",
                            (moment - timedelta(hours=rng.uniform(0.5, 30))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            parent, now, now))
            text = fill(rng, rng.choice(demo.ANSWERS + demo.NON_ANSWERS if question else demo.REBUTTALS))
        elif roll < 0.45:
            kind, quoted = "quote", f"{platform}:c{n}"
            context.append((quoted, platform, f"c{n}", "77", "critic", created, fill(rng, rng.choice(demo.CRITICISMS)),
                            now, now))
            text = rng.choice(demo.QUOTE_REBUTTALS)
        elif roll < 0.55:
            kind, text = "repost", "RT @benchcorp: " + fill(rng, rng.choice(demo.COMPANY_POSTS))
        else:
            kind = "original"
            text = fill(rng, rng.choice(demo.PROGRESS + demo.ANNOUNCEMENTS))
        batch.append((post_id, platform, str(n), f"l{leader}", f"l{leader}:{platform}", created, text, kind,
                      reply_to, reply_user, quoted, rng.randrange(200), now, now))
        if len(batch) >= 20_000:
            with db.atomic():
                db.conn.executemany(posts_sql, batch)
                db.conn.executemany(context_sql, context)
            batch, context = [], []
    with db.atomic():
        db.conn.executemany(posts_sql, batch)
        db.conn.executemany(context_sql, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--leaders", type=int, default=200)
    parser.add_argument("--days", type=int, default=365, help="spread the posts over this many days from 2025-01-01")
    parser.add_argument("--month", default="2025-06", help="the month to compute")
    parser.add_argument("--keep", metavar="FOLDER", help="keep the database here; reuse it when it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        config = parse_config(config_text(folder, args.leaders), folder / "tracker.toml")
        fresh = not config.database.exists()
        db = store.open_db(config.database)
        if fresh:
            store.save_config(db, config)
            began = time.perf_counter()
            generate(db, args.posts, args.leaders, datetime(2025, 1, 1, tzinfo=timezone.utc), args.days)
            print(f"generated {args.posts:,} posts in {time.perf_counter() - began:.1f} s; peak {peak_mb():.0f} MB",
                  flush=True)
        stats = label_stored_posts(db, config)
        print(f"labelled {stats.posts_labelled:,} posts + {stats.context_labelled:,} context posts in "
              f"{stats.seconds:.1f} s: {stats.posts_labelled / stats.seconds:,.0f} posts/s "
              f"({(stats.posts_labelled + stats.context_labelled) / stats.seconds:,.0f} items/s); "
              f"peak {peak_mb():.0f} MB", flush=True)
        began = time.perf_counter()
        rows = compute_metrics(db, config, args.month)
        seconds = time.perf_counter() - began
        month_posts = sum(r["posts"] + r["reposts"] for r in rows if r["platform"] != "all")
        print(f"metrics for {args.month} ({month_posts:,} posts in the month, {len(rows)} rows): {seconds:.2f} s; "
              f"peak {peak_mb():.0f} MB")
        db.close()
        # What `tracker metrics` and `tracker report` do on a read-only database: the derived
        # tables (labels, metrics) are copied to memory first.
        began = time.perf_counter()
        read_only = store.db._open_read_only(config.database, "benchmark")
        opened = time.perf_counter() - began
        began = time.perf_counter()
        compute_metrics(read_only, config, args.month)
        print(f"read-only: open with temporary copies of the derived tables {opened:.2f} s, "
              f"then the month's metrics {time.perf_counter() - began:.2f} s; peak {peak_mb():.0f} MB")
        read_only.close()


if __name__ == "__main__":
    main()
