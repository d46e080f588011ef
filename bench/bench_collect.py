"""Collection throughput through tweepy against the local X emulator (run by hand).

    .venv/bin/python bench/bench_collect.py [POSTS_PER_LEADER]

Prints posts stored per second for a first collection of five accounts and the cost in
requests, then the time of an incremental run with nothing new.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from tracker.collect.run import collect
from tracker.config import load_config
from tracker.demo.emulators.x import XDataset, XEmulator

TOKEN = "bench-token"


def main(per_leader: int) -> None:
    users = [{"id": str(100 + n), "username": f"leader{n}", "name": f"Leader {n}"} for n in range(5)]
    tweets = [
        {"id": str(10_000_000 * (n + 1) + i), "author_id": str(100 + n), "text": f"post number {i} " * 8,
         "created_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.000Z", "lang": "en",
         "conversation_id": str(10_000_000 * (n + 1) + i),
         "public_metrics": {"retweet_count": 1, "reply_count": 1, "like_count": i % 50, "quote_count": 0}}
        for n in range(5) for i in range(per_leader)
    ]
    with tempfile.TemporaryDirectory() as folder, XEmulator(XDataset(users, tweets), bearer_token=TOKEN) as emulator:
        leaders = "\n".join(f'[[leaders]]\nid = "l{n}"\nname = "L{n}"\naccounts = {{ x = "leader{n}" }}\n' for n in range(5))
        path = Path(folder) / "tracker.toml"
        path.write_text(f'[organisation]\nname = "Bench"\n[collect]\nbackfill_days = 0\n'
                        f'[sources.x]\napi_base_url = "{emulator.url}"\n{leaders}')
        config = load_config(path)
        start = time.perf_counter()
        result = collect(config, env={"TRACKER_X_BEARER_TOKEN": TOKEN})
        first = time.perf_counter() - start
        stored = sum(r.new_posts for r in result.accounts)
        requests = sum(r.requests for r in result.accounts)
        start = time.perf_counter()
        again = collect(config, env={"TRACKER_X_BEARER_TOKEN": TOKEN})
        second = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"first run: {stored} posts in {first:.2f} s = {stored / first:,.0f} posts/s, {requests} requests")
    print(f"second run (nothing new): {second * 1000:.0f} ms, "
          f"{sum(r.requests for r in again.accounts)} requests for {len(again.accounts)} accounts")
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3200)
