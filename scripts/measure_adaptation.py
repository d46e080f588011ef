"""How far do a team's corrections fix the counts of a leader the model never saw?

The labeller is trained on every labelled post except one leader's; then it is adapted
(`tracker train --base`'s method) to N of that leader's hand-labelled posts, drawn at random
(seeded), and measured on the leader's posts that were never among the corrections. Only
those held-out posts are scored, so the figures are evidence, not a fit.

Run by hand (minutes; the figures are in docs/methodology.md):

    python scripts/measure_adaptation.py --labels train.jsonl --labels dev.jsonl --leader elonmusk
"""

from __future__ import annotations

import argparse

import numpy as np

from tracker.label.jsonl import LabelledSet, LabelScore, read_labelled
from tracker.label.model import LABELS, Labeller, Model
from tracker.label.training import adapt, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="append", required=True, help="hand-labelled JSON Lines (repeatable)")
    parser.add_argument("--leader", required=True, help="the author to hold out")
    parser.add_argument("--sizes", default="50,100,200,400", help="numbers of corrections to adapt on")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data = read_labelled(args.labels)
    authors = data.authors
    sizes = [int(n) for n in args.sizes.split(",")]
    order = np.random.default_rng(args.seed).permutation(np.flatnonzero(authors == args.leader))
    if len(order) <= max(sizes) + 50:
        parser.error(f"{args.leader} has {len(order)} labelled posts: too few for corrections of {max(sizes)}")
    held_out = order[max(sizes):]  # the same posts scored at every size

    def subset(rows: np.ndarray) -> LabelledSet:
        return LabelledSet([data.posts[i] for i in rows], data.y[rows], data.sources)

    def report(name: str, model: Model) -> None:
        predictions = Labeller(model).predict([data.posts[i] for i in held_out], evidence=False)
        p = np.array([[pr.probabilities[label] if pr.probabilities else 0.0 for label in LABELS]
                      for pr in predictions])
        given = np.array([[label in pr.labels for label in LABELS] for pr in predictions])
        y = data.y[held_out] == 1
        cells = []
        for j, label in enumerate(LABELS):
            true, estimate = int(y[:, j].sum()), float(p[:, j].sum())
            g, t = given[:, j], y[:, j]
            score = LabelScore(label, int((g & t).sum()), int((g & ~t).sum()), int((~g & t).sum()), int((~g & ~t).sum()))
            cells.append(f"{label} {true}/{estimate:.0f} ({(estimate - true) / max(1, true):+.0%}) "
                         f"P {score.precision:.2f} R {score.recall:.2f}")
        print(f"{name:28s} " + "   ".join(cells), flush=True)

    print(f"{args.leader}: {len(order)} labelled posts, {len(held_out)} held out; per label: true/estimated count")
    base = fit(subset(np.flatnonzero(authors != args.leader)), version="base")
    report("never saw the leader", base)
    for n in sizes:
        adapted, _ = adapt(base, subset(order[:n]))
        report(f"adapted on {n} corrections", adapted)


if __name__ == "__main__":
    main()
