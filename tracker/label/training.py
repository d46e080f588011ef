"""Train, cross-validate and adapt the learned labeller (``tracker train`` / ``tracker evaluate --cv``).

Training is deterministic (fixed fold seed, a deterministic solver). Every figure this module
reports is measured on posts the model being measured was not fitted to:

- calibration (Platt scaling) and the per-label thresholds are fitted on out-of-fold scores,
  so the probabilities are those of a model that had not seen the post;
- ``cross_validate`` retrains the whole model (its inner folds, calibration and thresholds
  included) once per outer fold and scores only the held-out fold;
- ``adapt`` reports, by cross-validation on the corrections, whether the adapted model beats
  the base model on posts neither was adapted to.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from tracker.label import reading
from tracker.errors import InputError
from tracker.label.jsonl import LabelledSet, LabelScore
from tracker.label.features import WordVectors, design_matrix, featurize, load_word_vectors
from tracker.label.model import LABELS, MODEL_FORMAT, Model, applicable, sigmoid

SEED = 20261207
C = 16.0
INNER_FOLDS = 5
Z95 = 1.96


def _strata(y: np.ndarray) -> np.ndarray:
    """One stratum per label combination (multi-label stratification)."""
    return y @ (1 << np.arange(y.shape[1]))


def folds(y: np.ndarray, k: int, seed: int = SEED, groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K folds on the label combination, or grouped K folds (e.g. by author)."""
    if len(y) < 2 * k or (groups is not None and len(set(groups)) < k):
        raise InputError(f"{len(y)} labelled posts are too few for {k} folds: label at least {2 * k}"
                         + (f" from {k} or more authors" if groups is not None else ""))
    if groups is not None:
        return list(GroupKFold(n_splits=k).split(np.zeros(len(y)), y, groups))
    strata = _strata(y)
    counts = np.bincount(strata)
    # A combination rarer than k posts joins the stratum of its first label (or none).
    strata = np.where(counts[strata] < k, (1 << y.argmax(axis=1)) * y.max(axis=1), strata)
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), strata))


# --- fitting ----------------------------------------------------------------------------------

def _fit_label(x: sp.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    if y.min() == y.max():  # a fold with one class: a constant score
        return np.zeros(x.shape[1], np.float32), 8.0 if y[0] else -8.0
    model = LogisticRegression(C=c, max_iter=2000, tol=1e-4)
    # BLAS splits its sums by thread: one thread gives the same weights, and so the same
    # model version, on every machine whatever its cores (the shipped model is checked so).
    with threadpool_limits(limits=1):
        model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if y.min() == y.max():
        return 1.0, 0.0
    with threadpool_limits(limits=1):
        fitted = LogisticRegression(C=1e4, max_iter=1000).fit(scores[:, None], y)
    return float(fitted.coef_[0, 0]), float(fitted.intercept_[0])


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold with the highest F1 (ties: the higher threshold, fewer false claims)."""
    best, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        f1 = _f1(p >= t, y)
        if f1 >= best_f1:
            best, best_f1 = float(t), f1
    return best


# --- training posts seen without their context ------------------------------------------------
# LinkedIn comments never carry the post they answer, and some months are mostly replies to
# a story whose text no source fetched. A model that always saw the context at training
# leans on it: without it, its progress count fell short by an eighth. Training on a fixed,
# seeded half of the posts that have a context with that context hidden keeps it reading
# the post's own words (`tracker evaluate --cv 5 --without-context` measures it).
HIDE_CONTEXT = 0.5


def context_hidden(posts: list[dict[str, Any]], seed: int, share: float = HIDE_CONTEXT) -> np.ndarray:
    """Which posts to train on without their context: a seeded ``share`` of those with one."""
    has_context = np.array([reading.without_context(p) != p for p in posts])  # hiding changes it
    return has_context & (np.random.default_rng(seed).random(len(posts)) < share)


def _matrix(posts: list[dict[str, Any]], vectors: WordVectors,
            hidden: np.ndarray | None = None) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """The design matrix (the ``hidden`` posts without their context), which labels apply,
    and how many posts the matrix shows as replies or quotes of an unknown text."""
    if hidden is not None:
        posts = [reading.without_context(p) if hide else p for p, hide in zip(posts, hidden)]
    features = [featurize(p, reading.OrgHandles()) for p in posts]
    unknown = sum(1 for f in features if "punknown" in f.cues or "qunknown" in f.cues)
    return design_matrix(features, vectors), applicable(features), unknown


def fit(data: LabelledSet, *, vectors: WordVectors | None = None, c: float = C, seed: int = SEED,
        inner_folds: int = INNER_FOLDS, version: str | None = None) -> Model:
    """Fit the labeller on ``data``: weights on every post, calibration and thresholds on
    out-of-fold scores, and the cross-validated figures of those out-of-fold predictions."""
    vectors = vectors or load_word_vectors()
    x, applies, unknown = _matrix(data.posts, vectors, context_hidden(data.posts, seed))
    model = _fit_matrix(x, data.y, data.sources, vectors.version, c=c, seed=seed, inner_folds=inner_folds,
                        version=version, authors=data.authors, applies=applies)
    model.meta["without_context"] = unknown  # posts it learned from without their replied-to or quoted text
    return model


def _grouped_count_error(x: sp.csr_matrix, y: np.ndarray, authors: np.ndarray, platt: np.ndarray, c: float,
                         k: int, applies: np.ndarray) -> dict[str, float]:
    """One author's count error for a leader the model never saw: out-of-fold probabilities
    with the folds grouped by author, the median relative error over authors with 10 or more
    hand labels, scaled to a standard deviation (1.48 x the median absolute error)."""
    if len(set(authors)) < k:
        return {name: 0.25 for name in LABELS}
    oof = np.zeros(y.shape)
    for train, test in folds(y, k, groups=authors):
        for j in range(y.shape[1]):
            w, b = _fit_label(x[train], y[train, j], c)
            oof[test, j] = x[test] @ w + b
    p = sigmoid(oof * platt[:, 0] + platt[:, 1]) * applies
    return {name: round(1.48 * _author_count_error(p[:, j], y[:, j], authors), 4) for j, name in enumerate(LABELS)}


def _author_count_error(p: np.ndarray, y: np.ndarray, authors: np.ndarray | None, min_labelled: int = 10) -> float:
    """Median over authors (with ``min_labelled`` hand labels or more) of the relative error of
    the estimated count: how far one leader's monthly count may be off."""
    if authors is None:
        return 0.15
    errors = []
    for author in np.unique(authors):
        mask = authors == author
        true = float(y[mask].sum())
        if true >= min_labelled:
            errors.append(abs(float(p[mask].sum()) - true) / true)
    return round(float(np.median(errors)), 4) if errors else 0.15


def _fit_matrix(x: sp.csr_matrix, y: np.ndarray, sources: list[dict[str, Any]], vectors_version: str, *,
                c: float, seed: int, inner_folds: int, version: str | None,
                authors: np.ndarray | None = None, applies: np.ndarray | None = None) -> Model:
    """Fit on ``x``; ``applies``: which labels each post can carry (``applicable``), so that the
    thresholds are chosen on the probabilities the labeller will give."""
    n_labels = y.shape[1]
    applies = np.ones(y.shape, dtype=bool) if applies is None else applies
    oof = np.zeros(y.shape)
    for train, test in folds(y, inner_folds, seed):
        for j in range(n_labels):
            w, b = _fit_label(x[train], y[train, j], c)
            oof[test, j] = x[test] @ w + b
    platt = np.array([_platt(oof[:, j], y[:, j]) for j in range(n_labels)])
    p_oof = sigmoid(oof * platt[:, 0] + platt[:, 1]) * applies
    thresholds = np.array([best_threshold(p_oof[:, j], y[:, j]) for j in range(n_labels)])
    weights = np.zeros((n_labels, x.shape[1]), np.float32)
    intercept = np.zeros(n_labels)
    for j in range(n_labels):
        weights[j], intercept[j] = _fit_label(x, y[:, j], c)
    meta = {
        "format": MODEL_FORMAT,
        "version": version or MODEL_FORMAT,
        "labels": list(LABELS),
        "trained_on": sources,
        "posts": int(len(y)),
        "seed": seed, "c": c, "inner_folds": inner_folds,
        "word_vectors": vectors_version,
        # Relative error (one standard deviation) of one leader's estimated count when the model
        # never saw that leader: the metrics' intervals include it.
        "count_error": (_grouped_count_error(x, y, authors, platt, c, inner_folds, applies) if authors is not None
                        else {name: 0.25 for name in LABELS}),
    }
    model = Model(weights, intercept, platt, thresholds, meta)
    if version is None:
        meta["version"] = f"{MODEL_FORMAT}-{model_digest(model)}"
    return model


def model_digest(model: Model) -> str:
    """Eight hex digits of the parameters as saved: two models that label alike share it."""
    digest = hashlib.sha256(model.weights.astype(np.float16).tobytes())
    for array in (model.intercept, model.platt, model.thresholds):
        digest.update(np.asarray(array, np.float64).tobytes())
    return digest.hexdigest()[:8]


# --- evaluation -----------------------------------------------------------------------------------

def _wilson(successes: float, n: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(max(0.0, p * (1 - p) / n + Z95 ** 2 / (4 * n * n))) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class LabelFigures(LabelScore):
    """A label's confusion counts (precision, recall, F1 from ``LabelScore``) with intervals and
    the estimated count against the true one."""

    f1_interval: tuple[float, float] = (0.0, 1.0)
    true_count: int = 0
    estimated_count: float = 0.0

    @property
    def precision_interval(self) -> tuple[float, float]:
        return _wilson(self.tp, self.tp + self.fp)

    @property
    def recall_interval(self) -> tuple[float, float]:
        return _wilson(self.tp, self.tp + self.fn)

    @property
    def count_error(self) -> float:
        """(estimated - true) / true: the sum of probabilities against the hand count."""
        return (self.estimated_count - self.true_count) / self.true_count if self.true_count else 0.0


@dataclass(frozen=True)
class Evaluation:
    n_posts: int
    folds: int
    grouped: bool
    model_version: str
    labels: tuple[LabelFigures, ...]
    calibration: dict[str, list[tuple[float, float, int]]]  # label -> [(mean predicted, observed, n)]
    group_errors: dict[str, list[tuple[str, int, float]]]   # label -> [(group, true, estimated)]
    without_context: bool = False  # held-out posts scored with their context texts hidden
    trained_without_context: int = 0  # posts the folds' models learned from without their context

    def figures(self, label: str) -> LabelFigures:
        return next(f for f in self.labels if f.label == label)

    def to_json(self) -> dict[str, Any]:
        return {
            "posts": self.n_posts, "folds": self.folds, "grouped_by_author": self.grouped,
            "without_context": self.without_context, "trained_without_context": self.trained_without_context,
            "model_version": self.model_version,
            "labels": {f.label: {
                "precision": round(f.precision, 3), "precision_95": [round(v, 3) for v in f.precision_interval],
                "recall": round(f.recall, 3), "recall_95": [round(v, 3) for v in f.recall_interval],
                "f1": round(f.f1, 3), "f1_95": [round(v, 3) for v in f.f1_interval],
                "true_count": f.true_count, "estimated_count": round(f.estimated_count, 1),
                "count_error": round(f.count_error, 4)} for f in self.labels},
            "calibration": {label: [{"predicted": round(a, 3), "observed": round(b, 3), "posts": n}
                                    for a, b, n in bins] for label, bins in self.calibration.items()},
        }


def _f1_interval(pred: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """95% percentile bootstrap interval of F1 (1,000 resamples of the posts)."""
    rng = np.random.default_rng(seed)
    values = []
    n = len(y)
    for _ in range(1000):
        pick = rng.integers(0, n, n)
        values.append(_f1(pred[pick], y[pick]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def calibration_table(p: np.ndarray, y: np.ndarray, bins: int = 5) -> list[tuple[float, float, int]]:
    """Mean predicted probability against the observed rate in ``bins`` equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        out.append((float(p[mask].mean()) if mask.any() else float((edges[b] + edges[b + 1]) / 2),
                    float(y[mask].mean()) if mask.any() else float("nan"), int(mask.sum())))
    return out


def cross_validate(data: LabelledSet, k: int = 5, *, by_author: bool = False, vectors: WordVectors | None = None,
                   c: float = C, seed: int = SEED, inner_folds: int = INNER_FOLDS, without_context: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """K-fold cross-validation with the whole model (inner folds, calibration, thresholds)
    retrained on each training part (some contexts hidden, as ``fit`` does) and scored on the
    held-out part only: as the posts are, or ``without_context``, every replied-to and quoted
    text hidden (how the model does for a source that never gives them)."""
    vectors = vectors or load_word_vectors()
    x, applies, _ = _matrix(data.posts, vectors, np.ones(len(data.posts), bool) if without_context else None)
    x_train, _, trained_blind = _matrix(data.posts, vectors, context_hidden(data.posts, seed))
    y = data.y
    authors = data.authors
    splits = folds(y, k, seed, groups=authors if by_author else None)
    probabilities = np.zeros(y.shape)
    predicted = np.zeros(y.shape, dtype=bool)
    for number, (train, test) in enumerate(splits, start=1):
        model = _fit_matrix(x_train[train], y[train], [], vectors.version, c=c, seed=seed,
                            inner_folds=inner_folds, version="cv", applies=applies[train])
        probabilities[test] = model.probabilities(x[test]) * applies[test]
        predicted[test] = probabilities[test] >= model.thresholds
        if progress:
            progress(number, len(splits))
    figures = []
    group_errors: dict[str, list[tuple[str, int, float]]] = {}
    for j, name in enumerate(LABELS):
        truth, pred = y[:, j], predicted[:, j]
        tp = int((pred & (truth == 1)).sum())
        fp = int((pred & (truth == 0)).sum())
        fn = int((~pred & (truth == 1)).sum())
        figures.append(LabelFigures(name, tp, fp, fn, len(truth) - tp - fp - fn, _f1_interval(pred, truth, seed),
                                    int(truth.sum()), float(probabilities[:, j].sum())))
        per_group = []
        for author in sorted(set(authors)):
            mask = authors == author
            per_group.append((author, int(truth[mask].sum()), float(probabilities[mask, j].sum())))
        group_errors[name] = per_group
    return Evaluation(len(y), k, by_author, MODEL_FORMAT, tuple(figures),
                      {name: calibration_table(probabilities[:, j], y[:, j]) for j, name in enumerate(LABELS)},
                      group_errors, without_context, trained_blind)


def author_count_error(evaluation: Evaluation, min_posts_labelled: int = 10) -> dict[str, float]:
    """Per label, the median relative count error over authors with enough labelled posts."""
    out = {}
    for name, rows in evaluation.group_errors.items():
        errors = [abs(est - true) / true for _, true, est in rows if true >= min_posts_labelled]
        out[name] = round(float(np.median(errors)), 4) if errors else 0.15
    return out


def format_evaluation(evaluation: Evaluation) -> str:
    """Plain-text tables: per-label figures with 95% intervals, counts, then calibration."""
    how = "grouped by author" if evaluation.grouped else "stratified"
    if evaluation.without_context:
        how += "; held-out posts without their replied-to or quoted text"
    lines = [f"{evaluation.n_posts} posts, {evaluation.folds}-fold cross-validation ({how}), "
             f"model retrained per fold ({evaluation.model_version})",
             f"{'label':<10}{'precision (95%)':>22}{'recall (95%)':>22}{'F1 (95%)':>22}{'true':>7}{'estimated':>11}{'error':>8}"]

    def cell(value: float, interval: tuple[float, float]) -> str:
        return f"{value:.3f} ({interval[0]:.2f}-{interval[1]:.2f})"

    for f in evaluation.labels:
        lines.append(f"{f.label:<10}{cell(f.precision, f.precision_interval):>22}{cell(f.recall, f.recall_interval):>22}"
                     f"{cell(f.f1, f.f1_interval):>22}{f.true_count:>7}{f.estimated_count:>11.1f}{f.count_error:>+8.1%}")
    lines.append("")
    lines.append("calibration: mean predicted probability / observed rate (posts), 5 bins")
    for name, bins in evaluation.calibration.items():
        cells = ["-" if n == 0 else f"{a:.2f}/{b:.2f} ({n})" for a, b, n in bins]
        lines.append(f"{name:<10}" + "  ".join(cells))
    if evaluation.grouped:
        lines.append("")
        lines.append("estimated count per author (authors with 10 or more hand labels): true / estimated")
        for name, rows in evaluation.group_errors.items():
            big = [f"{author} {true}/{est:.0f}" for author, true, est in rows if true >= 10]
            lines.append(f"{name:<10}" + (", ".join(big) if big else "-"))
        lines.append("median relative count error per author: "
                     + ", ".join(f"{k} {v:.1%}" for k, v in author_count_error(evaluation).items()))
    return "\n".join(lines)


# --- adapting a model to a team's corrections -------------------------------------------------

@dataclass(frozen=True)
class AdaptReport:
    corrections: int
    folds: int
    base_log_loss: dict[str, float]
    adapted_log_loss: dict[str, float]
    base_f1: dict[str, float]
    adapted_f1: dict[str, float]

    @property
    def better(self) -> bool:
        return sum(self.adapted_log_loss.values()) < sum(self.base_log_loss.values())


def _fold_in_calibration(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Weights whose plain sigmoid is the calibrated probability."""
    a, b = model.platt[:, 0], model.platt[:, 1]
    return model.weights * a[:, None], model.intercept * a + b


def _adapt_matrix(base_w: np.ndarray, base_b: np.ndarray, x: sp.csr_matrix, y: np.ndarray,
                  strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Continue training from the base weights with a penalty ``strength/2 * |w - w_base|^2``
    that keeps them close: a few corrections move the model, they do not replace it."""
    weights = base_w.copy()
    intercept = base_b.copy()
    for j in range(y.shape[1]):
        w0 = np.concatenate([base_w[j].astype(np.float64), [base_b[j]]])
        target = y[:, j].astype(np.float64)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ theta[:-1] + theta[-1]
            p = sigmoid(z)
            eps = 1e-12
            value = -float(np.sum(target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps)))
            diff = theta - w0
            grad = np.concatenate([x.T @ (p - target), [np.sum(p - target)]]) + strength * diff
            return value + 0.5 * strength * float(diff @ diff), grad

        with threadpool_limits(limits=1):
            result = minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        weights[j], intercept[j] = result.x[:-1].astype(np.float32), result.x[-1]
    return weights, intercept


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _f1(pred: np.ndarray, y: np.ndarray) -> float:
    denominator = float(pred.sum() + y.sum())
    return 2 * float((pred & (y == 1)).sum()) / denominator if denominator else 0.0


def adapt(base: Model, data: LabelledSet, *, strength: float = 1.0, k: int = 5, seed: int = SEED,
          vectors: WordVectors | None = None) -> tuple[Model, AdaptReport]:
    """Adapt ``base`` to a team's corrected labels from its parameters alone (no training
    texts needed), and measure by K-fold cross-validation on the corrections whether the
    adapted model is better than the base on them."""
    vectors = vectors or load_word_vectors()
    x, applies, _ = _matrix(data.posts, vectors)
    y = data.y
    base_w, base_b = _fold_in_calibration(base)
    k = max(2, min(k, len(y)))
    base_p = np.zeros(y.shape)
    adapted_p = np.zeros(y.shape)
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), _strata(y) if np.bincount(_strata(y)).min() >= k else np.zeros(len(y))):
        w, b = _adapt_matrix(base_w, base_b, x[train], y[train], strength)
        adapted_p[test] = sigmoid(np.asarray(x[test] @ w.T) + b) * applies[test]
        base_p[test] = sigmoid(np.asarray(x[test] @ base_w.T) + base_b) * applies[test]
    report = AdaptReport(
        len(y), k,
        {name: round(_log_loss(base_p[:, j], y[:, j]), 4) for j, name in enumerate(LABELS)},
        {name: round(_log_loss(adapted_p[:, j], y[:, j]), 4) for j, name in enumerate(LABELS)},
        {name: round(_f1(base_p[:, j] >= base.thresholds[j], y[:, j]), 3) for j, name in enumerate(LABELS)},
        {name: round(_f1(adapted_p[:, j] >= base.thresholds[j], y[:, j]), 3) for j, name in enumerate(LABELS)},
    )
    weights, intercept = _adapt_matrix(base_w, base_b, x, y, strength)
    tag = hashlib.sha256(json.dumps(data.sources, sort_keys=True).encode()).hexdigest()[:8]
    meta = dict(base.meta)
    meta.update({"version": f"{base.version}+adapted-{tag}", "base": base.version,
                 "adapted_on": data.sources, "adapt_strength": strength,
                 "adapt_cv": {"base_log_loss": report.base_log_loss, "adapted_log_loss": report.adapted_log_loss,
                              "base_f1": report.base_f1, "adapted_f1": report.adapted_f1}})
    identity = np.tile([1.0, 0.0], (len(LABELS), 1))
    return Model(weights, intercept, identity, base.thresholds.copy(), meta), report


def format_adapt_report(report: AdaptReport) -> str:
    lines = [f"{report.corrections} corrected posts, {report.folds}-fold cross-validation on them",
             f"{'label':<10}{'log loss base':>15}{'adapted':>9}{'F1 base':>9}{'adapted':>9}"]
    for name in LABELS:
        lines.append(f"{name:<10}{report.base_log_loss[name]:>15.4f}{report.adapted_log_loss[name]:>9.4f}"
                     f"{report.base_f1[name]:>9.3f}{report.adapted_f1[name]:>9.3f}")
    lines.append("The adapted model is " + ("better" if report.better else "NOT better")
                 + " than the base model on held-out corrections (total log loss).")
    return "\n".join(lines)
