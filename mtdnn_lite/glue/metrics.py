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

scikit-learn (accuracy_score, f1_score, matthews_corrcoef) and scipy (pearsonr, rankdata) compute them; each
function keeps its formula in its docstring, and the degenerate cases above are decided here, explicitly.

A task's contribution to the GLUE score is the mean of its metrics (MRPC (F1 + acc)/2, STS-B (P + S)/2, MNLI the
mean of matched and mismatched accuracy); the GLUE score is the mean of the nine contributions, AX excluded.
"""

from collections.abc import Mapping

import numpy as np
from scipy.stats import pearsonr, rankdata
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from .tasks import GLUE_TASKS, get_task


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of predictions equal to the label."""
    return float(accuracy_score(labels, predictions))


def f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """F1 of the positive class 1: F1 = 2·TP / (2·TP + FP + FN); 0 where there is no true positive."""
    return float(f1_score(labels, predictions, pos_label=1, zero_division=0))


def mcc(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation, Gorodkin's K-class form (the two-class one for K = 2):

        MCC = (c·s − Σ_k p_k·t_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²))

    A constant prediction (or a split with one class) makes the denominator 0: MCC is then 0, set here rather
    than left to scikit-learn, which warns where predictions and labels hold a single class between them."""
    if len(np.unique(predictions)) < 2 or len(np.unique(labels)) < 2:
        return 0.0
    return float(matthews_corrcoef(labels, predictions))


def pearson(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Pearson's r = cov(x, y) / (σ_x·σ_y); NaN where either is constant (r is undefined: σ = 0), set here
    rather than left to scipy, which warns."""
    if np.ptp(predictions) == 0 or np.ptp(labels) == 0:
        return float("nan")
    return float(pearsonr(predictions, labels).statistic)


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank: [10, 20, 20, 30] → [1, 2.5, 2.5, 4]."""
    return rankdata(values, method="average")


def spearman(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Spearman's ρ: Pearson's r of the ranks (what scipy.stats.spearmanr computes); NaN where either is constant."""
    return pearson(ranks(predictions), ranks(labels))


METRICS = {"accuracy": accuracy, "f1": f1, "mcc": mcc, "pearson": pearson, "spearman": spearman}


def task_metrics(task: str, predictions, labels) -> dict[str, float]:
    """The GLUE metrics of `task`, ×100, e.g. {"f1": 88.1, "accuracy": 83.6} for MRPC.

    `predictions` are class indices (float scores for STS-B), one per example, aligned with `labels`.
    """
    spec = get_task(task)
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 1 or predictions.shape != labels.shape or not len(labels):
        raise ValueError(f"{spec.name}: expected as many predictions as labels, one per example, got shapes "
                         f"{predictions.shape} and {labels.shape}")
    if np.any(labels < 0):
        raise ValueError(f"{spec.name}: {np.sum(labels < 0)} labels are negative, i.e. unlabeled (a test split?); "
                         f"metrics need labeled data")
    return {name: 100 * METRICS[name](predictions, labels) for name in spec.metrics}


def task_score(metrics: Mapping[str, float]) -> float:
    """One task's contribution to the GLUE score: the mean of its metrics.

    MRPC and QQP average F1 and accuracy, STS-B Pearson and Spearman; for MNLI pass matched and mismatched
    accuracy, {"accuracy_m": .., "accuracy_mm": ..}, to get the leaderboard's m/mm average.
    """
    if not metrics:
        raise ValueError("expected at least one metric, got none")
    return float(np.mean(list(metrics.values())))


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
