"""`python -m mtdnn_lite reproduce` on the tiny profile: every stage, then the tables it promises (the session's
`tiny_reproduction`, tests/conftest.py)."""

import csv
import json
import shutil
import zipfile

import pytest
import torch

from mtdnn_lite.__main__ import main

# On one worker: the tests share the reproduction; another worker would only wait for it. Other tests that read
# tiny_reproduction join this group.
pytestmark = pytest.mark.xdist_group("tiny_reproduction")

TASKS = ["CoLA", "RTE", "QNLI"]


@pytest.fixture
def out(tiny_reproduction):
    return tiny_reproduction["results"] / "tiny"


def test_glue_dev_table_has_every_system_and_task(out):
    rows = list(csv.DictReader((out / "glue_dev.csv").open()))
    systems = {r["stage"]: r for r in rows}
    assert {"st", "mtl", "refine", "ensemble", "student_refine"} <= set(systems)
    assert systems["ensemble"]["n"] == "2"  # RTE and QNLI have teachers here
    assert systems["refine"]["n"] == str(len(TASKS))
    md = (out / "glue_dev.md").read_text()
    assert "tiny" in md and "python -m mtdnn_lite reproduce --profile tiny" in md
    assert "dev (24 of 277 rows)" in md  # RTE's capped dev split says so


def test_submission_inference_cost_and_stage_times(out):
    with zipfile.ZipFile(out / "submission" / "submission.zip") as z:
        names = set(z.namelist())
    assert {"CoLA.tsv", "RTE.tsv", "QNLI.tsv"} <= names
    cost = json.loads((out / "inference_cost.json").read_text())
    costs = cost if isinstance(cost, list) else cost["costs"]
    assert {c["task"] for c in costs} == {"RTE", "QNLI"}
    assert all(c["ensemble"]["models"] == 2 and c["student"]["models"] == 1 for c in costs)
    times = json.loads((out / "stage_times.json").read_text())
    assert list(times) == ["st", "mtl", "refine", "teacher", "student", "student_refine"]
    assert times["teacher"]["runs"] == 4  # 2 teachers × 2 teacher tasks
    conditions = json.loads((out / "conditions.json").read_text())
    assert conditions["precision"] == "float32" and conditions["cpus"] >= 1 and conditions["device"]
    training = sum(t["train_seconds"] for t in times.values())
    assert conditions["runs_wall_seconds"] > training  # evaluation and loading between the training steps
    # the command's own wall time, both seeds and the tables, beside the estimate its plan printed first
    assert conditions["wall_seconds"] > conditions["runs_wall_seconds"] and conditions["estimate_seconds"] > 0
    assert conditions["seeds"] == 2 and conditions["lanes"] == 1
    assert conditions["torch_threads"] == [torch.get_num_threads()]
    summary = (out / "README.md").read_text()
    assert f"took {conditions['runs_wall_seconds'] / 60:.0f} min from its first run's start" in summary


def test_seeds_have_their_own_runs_a_mean_sd_table_and_the_comparisons(out, tiny_reproduction):
    runs = tiny_reproduction["runs"]
    seed1 = json.loads((runs / "seed1" / "tiny" / "mtl" / "config.json").read_text())
    assert seed1["seed"] == 1 and json.loads((runs / "tiny" / "mtl" / "config.json").read_text())["seed"] == 0
    seeds = list(csv.DictReader((out / "seeds.csv").open()))
    assert {r["seed_index"] for r in seeds} == {"0", "1"}
    assert "±" in (out / "seeds.md").read_text()
    comparisons = list(csv.DictReader((out / "comparisons.csv").open()))
    names = {r["comparison"] for r in comparisons}
    assert names == {"MT-DNN − single-task", "MT-DNN-KD − MT-DNN", "ensemble − mean teacher"}
    for r in comparisons:
        assert float(r["low"]) <= float(r["delta"]) + 1e-9 and float(r["delta"]) <= float(r["high"]) + 1e-9
        assert r["seeds"] == "2"
    mt_dnn = {r["task"] for r in comparisons if r["comparison"] == "MT-DNN − single-task"}
    assert mt_dnn == {*TASKS, "average"}
    assert "95 % interval" in (out / "comparisons.md").read_text()


def test_a_second_reproduce_plans_nothing_and_reuses_every_run(tiny_reproduction, glue_dir, tmp_path, monkeypatch,
                                                              capsys):
    from mtdnn_lite.core import trainer
    shutil.copytree(tiny_reproduction["runs"], tmp_path / "runs")  # this reproduce writes its tables anew
    argv = ["reproduce", "--profile", "tiny", "--tasks", *TASKS, "--glue-dir", str(glue_dir), "--runs",
            str(tmp_path / "runs"), "--results", str(tmp_path / "results"), "--seeds", "2", "--set", "max_train=32",
            "--set", "max_eval=24"]
    monkeypatch.setattr(trainer, "train_epoch", lambda *a, **k: pytest.fail("a finished run was retrained"))
    capsys.readouterr()
    assert main(argv) == 0
    plan = capsys.readouterr().out
    assert "plan: profile tiny, 2 seed(s)" in plan and plan.count("every run needed is finished") == 2
