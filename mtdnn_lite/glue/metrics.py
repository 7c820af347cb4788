"""GLUE metrics and the GLUE score, all ×100 as the leaderboard and the papers report them.

Each task is scored with the metrics its `Task.metrics` names (see tasks.py):

- "accuracy": the fraction of predictions equal to the label;
- "f1": F1 of the positive class 1, ``F1 = 2·TP / (2·TP + FP + FN)``;
- "mcc": Matthews correlation. For two classes ``MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``;
  for K classes (AX has 3) Gorodkin's generalisation, with c correct predictions out of s, t_k examples of
  class k and p_k predictions of class k:
  ``MCC = (c·s − Σ_k p_k·t_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²))``, the two-class formula when K = 2.
  A constant prediction makes the denominator 0: MCC is then 0;
- "pearson": the linear correlation ``cov(x, y) / (σ_x·σ_y)`` (undefined, so NaN, when either is constant);
- "spearman": Pearson's correlation of the ranks (tied values share their average rank).

Each metric is computed here with numpy from its formula: accuracy, F1 and MCC from the counts of the confusion
table, the correlations from their moments (scipy ranks for Spearman). Every function takes predictions and labels
of shape [..., N] and scores the last axis, so that one call scores a thousand bootstrap resamples of a dev set
at once (reporting/intervals.py); tests/test_metrics.py checks each against scikit-learn and scipy. The
degenerate cases above are decided here, explicitly.

A task's contribution to the GLUE score is the mean of its metrics (MRPC (F1 + acc)/2, STS-B (P + S)/2, MNLI the
mean of matched and mismatched accuracy); the GLUE score is the mean of the nine contributions, AX excluded.
"""

from collections.abc import Mapping

import numpy as np
from scipy.stats import rankdata

from .tasks import GLUE_TASKS, get_task


def ratio(numerator: np.ndarray, denominator: np.ndarray, undefined: float) -> np.ndarray:
    """numerator / denominator element-wise, `undefined` where the denominator is 0 (the degenerate cases above)."""
    defined = denominator > 0
    return np.where(defined, numerator / np.where(defined, denominator, 1.0), undefined)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The fraction of predictions equal to the label."""
    return np.mean(predictions == labels, axis=-1)


def f1(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """F1 of the positive class 1: F1 = 2·TP / (2·TP + FP + FN); 0 where there is no true positive."""
    tp = np.sum((predictions == 1) & (labels == 1), axis=-1)
    fp = np.sum((predictions == 1) & (labels != 1), axis=-1)
    fn = np.sum((predictions != 1) & (labels == 1), axis=-1)
    return ratio(2 * tp, 2 * tp + fp + fn, 0.0)  # 2·TP = 0 where there is no true positive


def mcc(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Matthews correlation, Gorodkin's K-class form (the two-class one for K = 2), with c correct predictions out
    of s, t_k examples and p_k predictions of class k:

        MCC = (c·s − Σ_k p_k·t_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²))

    A constant prediction (or a split with one class) makes the denominator 0: MCC is then 0."""
    classes = np.union1d(np.unique(predictions), np.unique(labels))
    s = predictions.shape[-1]
    c = np.sum(predictions == labels, axis=-1).astype(float)
    p = np.stack([np.sum(predictions == k, axis=-1) for k in classes], axis=-1).astype(float)
    t = np.stack([np.sum(labels == k, axis=-1) for k in classes], axis=-1).astype(float)
    numerator = c * s - np.sum(p * t, axis=-1)
    denominator = np.sqrt((s ** 2 - np.sum(p ** 2, axis=-1)) * (s ** 2 - np.sum(t ** 2, axis=-1)))
    return ratio(numerator, denominator, 0.0)


def pearson(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pearson's r = cov(x, y) / (σ_x·σ_y) = Σ (x − x̄)(y − ȳ) / sqrt(Σ (x − x̄)² · Σ (y − ȳ)²); NaN where either
    is constant (r is undefined: σ = 0). Computed in float64, whatever the inputs' precision."""
    predictions, labels = np.asarray(predictions, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    x = predictions - predictions.mean(axis=-1, keepdims=True)
    y = labels - labels.mean(axis=-1, keepdims=True)
    return ratio(np.sum(x * y, axis=-1), np.sqrt(np.sum(x * x, axis=-1) * np.sum(y * y, axis=-1)), np.nan)


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis, ties sharing their average rank: [10, 20, 20, 30] → [1, 2.5, 2.5, 4]."""
    return rankdata(values, method="average", axis=-1)


def spearman(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Spearman's ρ: Pearson's r of the ranks (what scipy.stats.spearmanr computes); NaN where either is constant."""
    return pearson(ranks(predictions), ranks(labels))


METRICS = {"accuracy": accuracy, "f1": f1, "mcc": mcc, "pearson": pearson, "spearman": spearman}


def task_metrics(task: str, predictions, labels) -> dict:
    """The GLUE metrics of `task`, ×100, e.g. {"f1": 88.1, "accuracy": 83.6} for MRPC.

    `predictions` are class indices (float scores for STS-B), one per example, aligned with `labels`. Given
    arrays [..., N] (e.g. resamples × examples), each metric is an array [...] of the scores along the last axis.
    """
    spec = get_task(task)
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim < 1 or predictions.shape != labels.shape or not labels.shape[-1]:
        raise ValueError(f"{spec.name}: expected as many predictions as labels, one per example, got shapes "
                         f"{predictions.shape} and {labels.shape}")
    if np.any(labels < 0):
        raise ValueError(f"{spec.name}: {np.sum(labels < 0)} labels are negative, i.e. unlabeled (a test split?); "
                         f"metrics need labeled data")
    values = {name: 100 * METRICS[name](predictions, labels) for name in spec.metrics}
    return {name: float(v) if np.ndim(v) == 0 else v for name, v in values.items()}


def task_score(metrics: Mapping):
    """One task's contribution to the GLUE score: the mean of its metrics (floats, or arrays of one shape: their
    element-wise mean).

    MRPC and QQP average F1 and accuracy, STS-B Pearson and Spearman; for MNLI pass matched and mismatched
    accuracy, {"accuracy_m": .., "accuracy_mm": ..}, to get the leaderboard's m/mm average.
    """
    if not metrics:
        raise ValueError("expected at least one metric, got none")
    score = np.mean([np.asarray(v, dtype=float) for v in metrics.values()], axis=0)
    return float(score) if np.ndim(score) == 0 else score


def average_score(scores: Mapping[str, Mapping[str, float]]) -> float:
    """The GLUE-style average over the tasks given ({task: metrics}): the mean of their task scores."""
    if not scores:
        raise ValueError("expected the metrics of at least one task, got none")
    return float(np.mean([task_score(metrics) for metrics in scores.values()]))


def glue_score(scores: Mapping[str, Mapping[str, float]]) -> float:
    """The GLUE score: the average over the nine GLUE tasks (keyed by GLUE name); AX and other keys are ignored."""
    missing = [task for task in GLUE_TASKS if task not in scores]
    if missing:
        raise ValueError(f"the GLUE score needs all of {', '.join(GLUE_TASKS)}; missing {', '.join(missing)}")
    return average_score({task: scores[task] for task in GLUE_TASKS})
