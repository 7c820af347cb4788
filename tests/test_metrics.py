"""The metrics agree with scikit-learn and scipy called directly, and keep their documented values on degenerate
inputs (no warnings); the GLUE score reproduces the papers' tables."""

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from mtdnn_lite.glue.metrics import average_score, glue_score, ranks, task_metrics, task_score
from mtdnn_lite.glue.tasks import GLUE_TASKS

CASES = [(seed, size) for seed in range(3) for size in (2, 7, 50, 1000)]


@pytest.mark.parametrize("seed,size", CASES)
@pytest.mark.parametrize("task,classes", [("CoLA", 2), ("AX", 3)])
def test_mcc_matches_sklearn(task, classes, seed, size):
    rng = np.random.default_rng(seed)
    labels, predictions = rng.integers(0, classes, size), rng.integers(0, classes, size)
    expected = 100 * matthews_corrcoef(labels, predictions)
    assert task_metrics(task, predictions, labels) == {"mcc": pytest.approx(expected)}


@pytest.mark.parametrize("seed,size", CASES)
@pytest.mark.parametrize("task", ["MRPC", "QQP"])
def test_f1_and_accuracy_match_sklearn(task, seed, size):
    rng = np.random.default_rng(seed)
    labels, predictions = rng.integers(0, 2, size), rng.integers(0, 2, size)
    got = task_metrics(task, predictions.tolist(), labels.tolist())
    assert list(got) == ["f1", "accuracy"]
    assert got["f1"] == pytest.approx(100 * f1_score(labels, predictions, zero_division=0))
    assert got["accuracy"] == pytest.approx(100 * accuracy_score(labels, predictions))


@pytest.mark.parametrize("task", ["SST-2", "MNLI", "QNLI", "RTE", "WNLI"])
def test_accuracy_tasks(task):
    assert task_metrics(task, [0, 1, 1, 0], [0, 1, 0, 0]) == {"accuracy": 75.0}


@pytest.mark.parametrize("seed,size", [case for case in CASES if case[1] > 2])  # 2 points always correlate ±1
@pytest.mark.parametrize("ties", [False, True])
def test_correlations_match_scipy(ties, seed, size):
    rng = np.random.default_rng(seed)
    labels, predictions = rng.uniform(0, 5, size), rng.normal(2.5, 1, size)
    if ties:  # STS-B gold scores repeat (0.2 steps); rounding makes ties on both sides
        labels, predictions = np.round(labels * 5) / 5, np.round(predictions)
    got = task_metrics("STS-B", predictions, labels)
    assert got["pearson"] == pytest.approx(100 * pearsonr(predictions, labels).statistic)
    assert got["spearman"] == pytest.approx(100 * spearmanr(predictions, labels).statistic)


def test_ranks_share_ties():
    assert ranks(np.array([10, 30, 20, 20])).tolist() == [1, 4, 2.5, 2.5]


@pytest.mark.filterwarnings("error")
def test_constant_prediction_gives_mcc_zero():
    assert task_metrics("CoLA", [1, 1, 1, 1], [0, 1, 0, 1]) == {"mcc": 0.0}
    assert task_metrics("AX", [2, 2, 2], [0, 1, 2]) == {"mcc": 0.0}
    assert task_metrics("CoLA", [1, 1], [1, 1]) == {"mcc": 0.0}  # one class in all: the denominator is 0 too


@pytest.mark.filterwarnings("error")
def test_constant_scores_have_no_correlation():
    got = task_metrics("STS-B", [2.0, 2.0, 2.0], [1.0, 2.5, 4.0])
    assert np.isnan(got["pearson"]) and np.isnan(got["spearman"])


@pytest.mark.filterwarnings("error")
def test_no_positive_prediction_gives_f1_zero():
    assert task_metrics("MRPC", [0, 0], [0, 1])["f1"] == 0.0
    assert task_metrics("MRPC", [0, 0], [0, 0])["f1"] == 0.0


@pytest.mark.parametrize("predictions,labels,message", [
    ([0, 1], [0, 1, 1], r"CoLA.*\(2,\).*\(3,\)"),
    ([], [], r"CoLA.*\(0,\)"),
    ([[0.1, 0.9]], [1], r"CoLA.*one per example"),
    ([0, 1], [-1, -1], r"CoLA.*unlabeled"),
])
def test_bad_inputs_raise(predictions, labels, message):
    with pytest.raises(ValueError, match=message):
        task_metrics("CoLA", predictions, labels)


def test_task_score_averages_metrics():
    assert task_score({"f1": 91.1, "accuracy": 88.2}) == pytest.approx(89.65)
    assert task_score({"accuracy_m": 86.7, "accuracy_mm": 86.0}) == pytest.approx(86.35)
    assert task_score({"accuracy": 93.1}) == 93.1
    with pytest.raises(ValueError, match="at least one metric"):
        task_score({})


def test_average_score_over_a_subset():
    assert average_score({"CoLA": {"mcc": 60.0}, "MRPC": {"f1": 90.0, "accuracy": 80.0}}) == 72.5
    with pytest.raises(ValueError, match="at least one task"):
        average_score({})


def paper_row(cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli):
    """A row of the GLUE test-server table in paper_numbers.md as {task: metrics}."""
    return {"CoLA": {"mcc": cola}, "SST-2": {"accuracy": sst2}, "MRPC": dict(zip(("f1", "accuracy"), mrpc)),
            "STS-B": dict(zip(("pearson", "spearman"), stsb)), "QQP": dict(zip(("f1", "accuracy"), qqp)),
            "MNLI": dict(zip(("accuracy_m", "accuracy_mm"), mnli)), "QNLI": {"accuracy": qnli},
            "RTE": {"accuracy": rte}, "WNLI": {"accuracy": wnli}}


# Inputs: the per-task cells of /work/shared/paper_numbers.md, "GLUE test server" table; expected: its GLUE column.
MT_DNN = paper_row(62.5, 95.6, (91.1, 88.2), (89.5, 88.8), (72.7, 89.6), (86.7, 86.0), 93.1, 81.4, 65.1)
BERT_LARGE = paper_row(60.5, 94.9, (89.3, 85.4), (87.6, 86.5), (72.1, 89.3), (86.7, 85.9), 92.7, 70.1, 65.1)
MT_DNN_ENSEMBLE = paper_row(68.4, 96.5, (92.7, 90.3), (91.1, 90.7), (73.7, 89.9), (87.9, 87.4), 96.0, 86.3, 89.0)


@pytest.mark.parametrize("row,published", [(MT_DNN, 82.7), (BERT_LARGE, 80.5), (MT_DNN_ENSEMBLE, 87.6)])
def test_glue_score_reproduces_the_papers(row, published):
    assert round(glue_score(row), 1) == published


def test_glue_score_ignores_ax():
    assert glue_score(MT_DNN | {"AX": {"mcc": 40.3}}) == glue_score(MT_DNN)


def test_glue_score_names_missing_tasks():
    partial = {task: MT_DNN[task] for task in GLUE_TASKS if task not in ("QQP", "WNLI")}
    with pytest.raises(ValueError, match="missing QQP, WNLI"):
        glue_score(partial)
