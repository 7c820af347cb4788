"""Paired bootstrap intervals (intervals.py) on hand-made run folders whose differences are known."""

import numpy as np
import pytest

from mtdnn_lite.experiments.runs import write_json, write_predictions
from mtdnn_lite.reporting.intervals import COMPARISONS, Comparison, compare, mean_sd, system_runs, verdict

MT_DNN_VS_ST = COMPARISONS[0]


def make_run(folder, task, labels, predictions, split="validation"):
    """A finished run folder holding one task's predictions."""
    rows = [{"idx": i, "label": int(y), "prediction": int(p), "probabilities": [0.5, 0.5]}
            for i, (y, p) in enumerate(zip(labels, predictions))]
    write_predictions(folder, task, split, rows)
    write_json(folder / "metrics.json", [{"dev": {task: {split: {"accuracy": 0.0}}}}])
    write_json(folder / "done.json", {"config_hash": "x"})


@pytest.fixture
def labels():
    return np.random.default_rng(0).integers(0, 2, 400)


def test_identical_systems_differ_by_exactly_nothing(tmp_path, labels):
    for stage in ("st", "refine"):
        make_run(tmp_path / stage / "RTE", "RTE", labels, labels)
    row = compare([tmp_path], MT_DNN_VS_ST, ["RTE"]).iloc[0]
    assert (row.delta, row.low, row.high, row.verdict) == (0.0, 0.0, 0.0, "no difference")


def test_a_clearly_better_system_has_an_interval_above_zero(tmp_path, labels):
    worse = labels.copy()
    worse[:120] = 1 - worse[:120]  # 30 % wrong
    make_run(tmp_path / "st" / "RTE", "RTE", labels, worse)
    make_run(tmp_path / "refine" / "RTE", "RTE", labels, labels)
    row = compare([tmp_path], MT_DNN_VS_ST, ["RTE"]).iloc[0]
    assert row.a == 100.0 and row.b == pytest.approx(70.0) and row.delta == pytest.approx(30.0)
    assert 20 < row.low < 30 < row.high < 40 and row.verdict == "better"


def test_a_small_difference_on_few_examples_is_no_difference(tmp_path, labels):
    labels = labels[:60]
    slightly = labels.copy()
    slightly[:2] = 1 - slightly[:2]  # 2 of 60 examples
    make_run(tmp_path / "st" / "RTE", "RTE", labels, slightly)
    make_run(tmp_path / "refine" / "RTE", "RTE", labels, labels)
    row = compare([tmp_path], MT_DNN_VS_ST, ["RTE"]).iloc[0]
    assert row.delta == pytest.approx(100 * 2 / 60) and row.low <= 0 < row.high and row.verdict == "no difference"


def test_seeds_and_tasks_average_and_sd(tmp_path, labels):
    roots = [tmp_path / "s0", tmp_path / "s1"]
    for root, wrong in zip(roots, (40, 80)):  # MT-DNN better by 10 points in seed 0, by 20 in seed 1
        worse = labels.copy()
        worse[:wrong] = 1 - worse[:wrong]
        for task in ("RTE", "WNLI"):
            make_run(root / "st" / task, task, labels, worse)
            make_run(root / "refine" / task, task, labels, labels)
    table = compare(roots, MT_DNN_VS_ST, ["RTE", "WNLI"]).set_index("task")
    assert list(table.index) == ["RTE", "WNLI", "average"]
    assert table.delta.tolist() == pytest.approx([15.0, 15.0, 15.0])
    assert table.loc["RTE", "sd_seeds"] == pytest.approx(np.std([10, 20], ddof=1))
    assert (table.verdict == "better").all() and table.loc["average", "seeds"] == 2


def test_a_task_missing_a_run_is_left_out_and_other_examples_are_refused(tmp_path, labels):
    make_run(tmp_path / "st" / "RTE", "RTE", labels, labels)
    assert compare([tmp_path], MT_DNN_VS_ST, ["RTE"]).empty  # no refine run
    make_run(tmp_path / "refine" / "RTE", "RTE", labels[::-1], labels)
    with pytest.raises(ValueError, match="different examples"):
        compare([tmp_path], MT_DNN_VS_ST, ["RTE"])


def test_the_mean_teacher_averages_the_teachers_scores_on_each_resample(tmp_path, labels):
    for k, wrong in ((1, 40), (2, 80), (3, 120)):  # teachers at 90, 80 and 70 % accuracy: their mean is 80 %
        worse = labels.copy()
        worse[:wrong] = 1 - worse[:wrong]
        make_run(tmp_path / "teacher" / "RTE" / str(k), "RTE", labels, worse)
    make_run(tmp_path / "ensemble" / "RTE", "RTE", labels, labels)
    assert system_runs(tmp_path, "mean_teacher", "RTE") == [tmp_path / "teacher" / "RTE" / str(k) for k in (1, 2, 3)]
    assert system_runs(tmp_path, "student_refine", "RTE") == []
    row = compare([tmp_path], COMPARISONS[2], ["RTE"]).iloc[0]
    assert (row.comparison, row.a, row.b) == ("ensemble − mean teacher", 100.0, pytest.approx(80.0))
    assert 10 < row.low < 20 < row.high < 30 and row.verdict == "better"


def test_mean_sd_and_verdict():
    assert mean_sd(np.array([1.0, 2.0, 3.0])) == "2.0 ± 1.0" and mean_sd(np.array([4.0])) == "4.0"
    assert mean_sd(np.array([np.nan])) == "–"  # a system without a score on the task
    assert (verdict(0.1, 2), verdict(-2, -0.1), verdict(-1, 1)) == ("better", "worse", "no difference")


def test_b_from_other_roots_compares_one_system_under_two_settings(tmp_path, labels):
    worse = labels.copy()
    worse[:40] = 1 - worse[:40]  # 10 % wrong under the other setting
    make_run(tmp_path / "bf16" / "refine" / "RTE", "RTE", labels, labels)
    make_run(tmp_path / "fp32" / "refine" / "RTE", "RTE", labels, worse)
    same = Comparison("bf16 − fp32", "refine", "refine")
    row = compare([tmp_path / "bf16"], same, ["RTE"], b_roots=[tmp_path / "fp32"]).iloc[0]
    assert row.delta == pytest.approx(10.0) and row.verdict == "better"
    assert compare([tmp_path / "bf16"], same, ["RTE"]).iloc[0].delta == 0.0  # without b_roots: A against itself
