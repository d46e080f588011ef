"""Benchmark: import a LinkedIn data export of 100,000 rows (posts and comments).

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_linkedin.py [--rows 100000] [--repeat 3]

Writes a synthetic export of one leader with tracker.demo.emulators.linkedin_export, in
LinkedIn's format (multi-line posts with re-quoted lines, repeated rows, backslash-escaped
quotes in comments; 40% Shares.csv, 60% Comments.csv) as a zip, then times
``tracker.collect.linkedin.import_linkedin_export`` into a fresh database (the checking pass, the
saving pass and the fingerprint included), and a second import of the same zip (nothing
new). The target is under 5 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.config import load_config  # noqa: E402
from tracker.demo.emulators.linkedin_export import Comment, Share, share_link, write_export  # noqa: E402
from tracker.collect.linkedin import import_linkedin_export  # noqa: E402

POSTS = [
    "We shipped offline mode for the fleet dashboard today.\n\nFour months of work and 2,000 hours of testing.\n\n"
    "What should we build next?",
    "Three things our support team learnt this quarter:\n\n1. Most questions come in week one.\n2. Videos beat "
    "manuals.\n3. \"Offline\" means different things on different sites.",
    "Proud of the team: the R2 arm passed 1,000 sites this month.",
    "",
]
COMMENTS = [
    "Lena Fischer Yes, it ships in March; existing units get it through a remote update.",
    "Omar Haddad Good question. Hold the service button for ten seconds, then pick \"previous firmware\".",
    "Thanks, Sofia!",
    "Daniel Mensah Three to four weeks to most of Europe right now,\nand one week from Rotterdam soon.",
]


def synthetic_export(rows: int, seed: int = 3) -> tuple[list[Share], list[Comment]]:
    rng = random.Random(seed)
    start = datetime(2016, 1, 1, tzinfo=timezone.utc)
    step = timedelta(minutes=(9 * 365 * 24 * 60) // max(rows, 1))
    shares, comments = [], []
    for number in range(rows):
        moment = (start + number * step).strftime("%Y-%m-%d %H:%M:%S")
        if number % 5 < 2:
            text = rng.choice(POSTS)
            share = Share(moment, share_link("share", 7_000_000_000_000_000_000 + number), f"{text} #{number}"
                          if text else "", "https://example.com/a" if not text else "")
            shares.append(share)
            if number % 1000 == 0 and len(shares) > 1:  # LinkedIn repeats some rows
                shares[-1] = shares[-2]
        else:
            comments.append(Comment(moment, share_link("activity", 7_100_000_000_000_000_000 + number // 3),
                                    f"{rng.choice(COMMENTS)} ({number})"))
    return shares[::-1], comments[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        shares, comments = synthetic_export(args.rows)
        started = time.perf_counter()
        path = write_export(base / "Complete_LinkedInDataExport_01-01-2025.zip", shares, comments, ("Ada", "Example"))
        print(f"wrote {len(shares):,} share rows and {len(comments):,} comment rows "
              f"({path.stat().st_size / 1e6:.1f} MB zip) in {time.perf_counter() - started:.1f} s")
        timings = []
        for run in range(args.repeat):
            work = base / f"run{run}"
            work.mkdir()
            (work / "tracker.toml").write_text(
                '[tracker]\ndatabase = "tracker.db"\n[organisation]\nname = "Bench"\n'
                '[[leaders]]\nid = "ada"\nname = "Ada Example"\naccounts = { linkedin = "ada-example" }\n',
                encoding="utf-8")
            config = load_config(work / "tracker.toml")
            started, cpu = time.perf_counter(), time.process_time()
            result = import_linkedin_export(config, "ada", [path])
            first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
            started = time.perf_counter()
            again = import_linkedin_export(config, "ada", [path])
            second = time.perf_counter() - started
            timings.append(first)
            print(f"run {run + 1}: {result.rows_read:,} rows -> {result.new_posts:,} posts + {result.new_comments:,} "
                  f"comments in {first:.2f} s (CPU {first_cpu:.2f} s, {result.rows_read / first:,.0f} rows/s); "
                  f"second import {second:.2f} s, {again.new_posts + again.new_comments} new")
        best = min(timings)
        print(f"best: {best:.2f} s for {args.rows:,} rows: {'under' if best < 5 else 'OVER'} the 5 s target "
              f"(load average {os.getloadavg()[0]:.1f}: other processes share the CPU)")


if __name__ == "__main__":
    main()
