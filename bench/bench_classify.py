"""Label 1,000,000 synthetic posts and report throughput and peak memory.

Usage: python bench/bench_classify.py [N]  (default 1,000,000). The posts are built
in-process from templates with a fixed seed, so runs are comparable. They are made in
batches of 10,000 and only the labelling is timed; batches keep the corpus out of the
peak memory figure.
"""

from __future__ import annotations

import itertools
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from tracker.label.rules import label_post

SEED = 20260105
ORIGINALS = (
    "Today we shipped {thing} to every {who} &amp; more is coming https://example.org/{n}",
    "Happy holidays to everyone celebrating this week!",
    "Congratulations to the {who} on a great season #proud",
    "Our {who} just passed {n} {unit}, thank you all",
    "We must do more for {who} in every community.",
    "Join us tonight at 7pm for a livestream about {thing}: https://example.org/live",
    "I introduced a bill today to help {who} with {thing}",
    "Thoughts and prayers with the families affected tonight.",
)
REPLIES = (
    ("@{user} It ships next week for all {who}, starting with the {thing} beta",
     "@leader when does {thing} ship for {who}?"),
    ("@{user} Thanks!", "Great talk today @leader"),
    ("@{user} That is not true, the {thing} numbers were audited twice", "Your {thing} is a failure"),
    ("@{user} 🤣🤣", "lol @leader look at this"),
    ("@{user} I understand the concern, but {thing} has passed every test", "Why do you keep pushing {thing}?"),
    ("@{user} Yes", "@leader will {thing} come to {who}?"),
)
THINGS = ("offline mode", "the new billing page", "dark mode", "the export tool", "version 2.4")
WHO = ("customers", "teachers", "small businesses", "nurses", "students", "veterans")
UNITS = ("users", "orders", "installs", "miles")


def synthetic_posts(n: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        fill = {"thing": rng.choice(THINGS), "who": rng.choice(WHO), "n": rng.randint(2, 99999),
                "unit": rng.choice(UNITS), "user": f"user{rng.randint(1, 5000)}"}
        roll = rng.random()
        post: dict[str, Any] = {"id": f"x:{i}", "platform": "x", "author": "leader",
                                "created_at": "2026-01-05T10:00:00Z", "lang": "en",
                                "in_reply_to": None, "quoted": None}
        if roll < 0.5:
            post.update(kind="original", text=rng.choice(ORIGINALS).format(**fill))
        elif roll < 0.95:
            text, parent = rng.choice(REPLIES)
            post.update(kind="reply", text=text.format(**fill),
                        in_reply_to={"author": fill["user"], "text": parent.format(**fill),
                                     "is_self": False})
        else:
            post.update(kind="repost", text=rng.choice(ORIGINALS).format(**fill))
        yield post


def main(n: int = 1_000_000, batch: int = 10_000) -> None:
    counts: Counter[str] = Counter()
    posts = synthetic_posts(n)
    elapsed = 0.0
    for _ in range(0, n, batch):
        chunk = list(itertools.islice(posts, batch))
        start = time.perf_counter()
        for post in chunk:
            for label in label_post(post):
                counts[label.name] += 1
        elapsed += time.perf_counter() - start
    # ru_maxrss is in KiB on Linux: the peak resident size of the whole process.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"posts: {n:,}  seconds: {elapsed:.1f}  posts/s: {n / elapsed:,.0f} "
          f"(labelling only, one core)")
    print(f"peak RSS: {peak_mib:.1f} MiB  labels: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
