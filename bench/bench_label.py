"""`tracker label` end to end on 100,000 real posts: throughput and peak memory.

Usage: python bench/bench_label.py POSTS.jsonl [N]  (N default 100,000; POSTS is any file in
the `tracker label` input shape, e.g. the labelled training posts). The labelled file is repeated (labels dropped) to N lines in a temporary file,
then `tracker label --input FILE > /dev/null` runs in a child process: the time includes
start-up and loading the model, and the peak memory is the child's maximum resident size.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    source = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    rows = []
    with open(source, encoding="utf-8") as handle:
        for line in handle:
            post = json.loads(line)
            post.pop("labels", None)
            post.pop("note", None)
            rows.append(post)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posts.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for i in range(n):
                post = dict(rows[i % len(rows)])
                post["id"] = f"bench:{i}"
                out.write(json.dumps(post, ensure_ascii=False) + "\n")
        tracker = Path(sys.executable).parent / "tracker"
        started = time.perf_counter()
        subprocess.run([str(tracker), "label", "--input", str(path)], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{n} posts in {seconds:.1f} s: {n / seconds:,.0f} posts/s end to end (start-up included), "
          f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
