"""Benchmark: import a 96,000-post X archive, side by side with twitter-to-sqlite 0.22.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_archive.py [--posts 96000] [--twitter-to-sqlite /tmp/t2s-venv/bin/twitter-to-sqlite]

1. Writes a synthetic archive of one leader (originals, replies, threads, quotes,
   retweets over eight years) with tracker.demo.emulators.x_archive, as ``data/tweets.js`` in a
   zip, plus a copy whose file is named ``data/tweet.js`` (twitter-to-sqlite 0.22 reads only
   that older name).
2. Times ``tracker import x-archive`` (library call, fresh database, in a child process)
   and then, when ``tracker.metrics.monthly.refresh_metrics`` exists in this tree, labelling and
   the metrics of the archive's last month.
3. Times ``twitter-to-sqlite import db archive.zip`` on the same posts, if given.
4. Imports a quarter-size, the full-size and a double-size archive in child processes and
   reports their peak RSS: a streamed import keeps it flat (SQLite's page cache, capped at
   64 MB by store.tune_for_bulk_load, fills up over the first tens of thousands of posts).

twitter-to-sqlite must live in its own throwaway venv (it pins sqlite-utils < 4):
    python3 -m venv /tmp/t2s-venv && /tmp/t2s-venv/bin/pip install twitter-to-sqlite==0.22
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.demo.emulators.x_archive import write_archive  # noqa: E402

LEADER = {"id": "1100000000000000001", "username": "maya_okafor", "name": "Maya Okafor"}
OTHER = {"id": "1200000000000000001", "username": "robofan_ana", "name": "Robofan Ana"}
TEXTS = [
    "We shipped offline mode for the fleet dashboard today. Four months of work and 2,000 hours of testing.",
    "@robofan_ana Yes: the picking robot keeps working offline and syncs its logs within a minute.",
    "Details: calibration now runs automatically on start-up, so no site visit is needed.",
    "I disagree, but it is a fair challenge: our cold-room tests show 3% lower throughput, not 30%.",
    "RT @northwind: Meet the R2 arm, built for the toughest warehouses.",
]


def synthetic_tweets(count: int, seed: int = 5):
    """API v2-shaped tweets of one leader, newest last, mixing every kind."""
    rng = random.Random(seed)
    moment = datetime(2018, 1, 1, tzinfo=timezone.utc)
    step = timedelta(minutes=(8 * 365 * 24 * 60) // max(count, 1))
    previous = None
    for number in range(count):
        moment += step
        tweet_id = str(1000000000000000000 + number)
        kind = rng.random()
        tweet = {"id": tweet_id, "author_id": LEADER["id"], "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                 "lang": "en", "public_metrics": {"like_count": rng.randint(0, 50), "retweet_count": rng.randint(0, 9)}}
        if kind < 0.35:
            tweet["text"] = TEXTS[1]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": str(900000000000000000 + number)}]
            tweet["in_reply_to_user_id"] = OTHER["id"]
        elif kind < 0.45 and previous:
            tweet["text"] = TEXTS[2]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": previous}]
            tweet["in_reply_to_user_id"] = LEADER["id"]
        elif kind < 0.55:
            tweet["text"] = TEXTS[3]
            tweet["referenced_tweets"] = [{"type": "quoted", "id": str(800000000000000000 + number)}]
        elif kind < 0.65:
            tweet["text"] = TEXTS[4]
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(700000000000000000 + number)}]
        else:
            tweet["text"] = f"{TEXTS[0]} (note {number})"
        previous = tweet_id
        yield tweet


def make_archives(folder: Path, count: int) -> tuple[Path, Path]:
    users = {LEADER["id"]: LEADER, OTHER["id"]: OTHER}
    ours = write_archive(folder / f"archive-{count}.zip", synthetic_tweets(count), account=LEADER, users=users)
    theirs = folder / f"archive-{count}-tweet.js.zip"
    with zipfile.ZipFile(ours) as source, zipfile.ZipFile(theirs, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            with source.open(name) as member, target.open(name.replace("tweets.js", "tweet.js"), "w") as copy:
                shutil.copyfileobj(member, copy)
    return ours, theirs


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from tracker.collect.x_archive import import_x_archive
from tracker.config import load_config
config = load_config(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
result = import_x_archive(config, "maya", Path(sys.argv[2]))
imported, imported_cpu = time.perf_counter() - started, time.process_time() - cpu
metrics_seconds = None
try:
    # The metrics stage: labels the stored posts, then computes and stores the month.
    from tracker.metrics.monthly import refresh_metrics
except ImportError:
    refresh_metrics = None
if refresh_metrics is not None:
    from tracker.store import open_db
    db = open_db(config.database)
    month = db.execute("SELECT substr(max(created_at), 1, 7) FROM posts").fetchone()[0]
    db.close()
    started = time.perf_counter()
    refresh_metrics(config, month)
    metrics_seconds = time.perf_counter() - started
print(json.dumps({"posts": result.posts_read, "new": result.new_posts, "import_s": imported,
                  "import_cpu_s": imported_cpu, "metrics_s": metrics_seconds,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_tracker(folder: Path, archive: Path) -> dict:
    work = Path(tempfile.mkdtemp(dir=folder))
    config = work / "tracker.toml"
    config.write_text('[tracker]\ndatabase = "tracker.db"\n[organisation]\nname = "Bench"\n'
                      '[[leaders]]\nid = "maya"\nname = "Maya"\naccounts = { x = "maya_okafor" }\n')
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", CHILD, str(config), str(archive)], check=True,
                            capture_output=True, text=True, cwd=ROOT).stdout
    figures = json.loads(output)
    figures["wall_s"] = time.perf_counter() - started
    return figures


def run_twitter_to_sqlite(executable: str, folder: Path, archive: Path) -> float:
    database = folder / "t2s.db"
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([executable, "import", str(database), str(archive)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=96_000)
    parser.add_argument("--twitter-to-sqlite", dest="t2s", help="path of a twitter-to-sqlite 0.22 executable")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        started = time.perf_counter()
        small, _ = make_archives(folder, args.posts // 4)
        ours, theirs = make_archives(folder, args.posts)
        large, _ = make_archives(folder, args.posts * 2)
        print(f"archives written in {time.perf_counter() - started:.1f} s "
              f"({ours.stat().st_size / 1e6:.1f} MB zipped for {args.posts} posts)")
        full = run_tracker(folder, ours)
        quarter = run_tracker(folder, small)
        double = run_tracker(folder, large)
        print(f"tracker import x-archive: {full['posts']} posts in {full['import_s']:.2f} s "
              f"({full['import_cpu_s']:.2f} s of CPU: the figure to compare on a busy machine)")
        if full["metrics_s"] is not None:
            print(f"  + labelling and the last month's metrics (tracker.metrics.monthly.refresh_metrics): "
                  f"{full['metrics_s']:.2f} s")
        else:
            print("  (no tracker.metrics.monthly.refresh_metrics in this tree: metrics not timed)")
        print(f"  child wall time {full['wall_s']:.2f} s, interpreter start included")
        print("peak RSS: " + ", ".join(f"{run['max_rss_kb'] / 1024:.0f} MB for {run['posts']} posts"
                                       for run in (quarter, full, double)))
        if args.t2s:
            seconds = run_twitter_to_sqlite(args.t2s, folder, theirs)
            ours_total = full["wall_s"]
            print(f"twitter-to-sqlite 0.22 import: {seconds:.2f} s (wall, incl. interpreter start)")
            print(f"ratio tracker/twitter-to-sqlite (wall): {ours_total / seconds:.2f}")
        else:
            print("twitter-to-sqlite not given (--twitter-to-sqlite PATH): comparison skipped")


if __name__ == "__main__":
    main()
