"""The trainer and the stages on the tiny profile: every stage runs, resume equals an uninterrupted run."""

import json

import pytest

import mtdnn_lite
from mtdnn_lite.core import trainer
from mtdnn_lite.core.encoder import load_tokenizer
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments import train as train_module
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import read_json
from mtdnn_lite.reporting.results import scores_table, stage_summary

pytestmark = pytest.mark.xdist_group("train")  # on one worker: the tests share the runs of `stages`

# one task of each output layer: single-sentence, similarity, pairwise (SAN), ranking
TASKS = ("CoLA", "STS-B", "RTE", "QNLI")


@pytest.fixture(scope="module")
def profile():
    return get_profile("tiny", tasks=TASKS, max_train=48, max_eval=32)


@pytest.fixture(scope="module")
def stages(profile, glue_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    pipeline.run_st(profile, glue_dir, root)
    pipeline.run_stage("refine", profile, glue_dir, root)  # runs mtl first
    return root


def test_every_stage_writes_its_artefacts(stages, profile):
    for stage, runs in (("st", TASKS), ("mtl", ("",)), ("refine", TASKS)):
        for run in runs:
            d = stages / "tiny" / stage / run
            for name in ("config.json", "environment.json", "data.json", "metrics.json", "done.json",
                         "model/model.safetensors"):
                assert (d / name).is_file(), d / name
            assert not (d / "checkpoint").exists()
            history = read_json(d / "metrics.json")
            assert len(history) == read_json(d / "config.json")["epochs"]
            assert history[-1]["examples_per_second"] > 0
    mtl = read_json(stages / "tiny" / "mtl" / "metrics.json")[-1]
    assert set(mtl["dev"]) == set(TASKS)
    assert set(mtl["train_loss"]) == set(TASKS)
    rows = (stages / "tiny" / "mtl" / "predictions" / "QNLI.validation.jsonl").read_text().splitlines()
    first = json.loads(rows[0])
    assert len(rows) == 32 and set(first) == {"idx", "label", "prediction", "probabilities"}
    assert sum(first["probabilities"]) == pytest.approx(1.0)
    data = read_json(stages / "tiny" / "mtl" / "data.json")
    assert data["QNLI"]["train"]["partial"] and data["QNLI"]["train"]["rows_used"] == 48


def test_scores_table_has_every_stage_task_and_metric(stages):
    table = scores_table(stages)
    assert set(table.stage) == {"st", "mtl", "refine"}
    assert set(table[table.stage == "refine"].task) == set(TASKS)
    assert set(table[table.task == "STS-B"].metric) == {"pearson", "spearman"}
    assert (table.split_label == "dev").all() and (table.rows == 32).all()
    summary = stage_summary(table)
    assert list(summary.columns) == ["CoLA", "STS-B", "QNLI", "RTE", "average"]  # GLUE order
    assert list(summary.index) == ["st", "mtl", "refine"]


def test_finished_runs_are_reused(stages, profile, glue_dir, monkeypatch):
    monkeypatch.setattr(trainer, "train_epoch", lambda *a, **k: pytest.fail("a finished run was retrained"))
    pipeline.run_mtl(profile, glue_dir, stages)


def test_changed_settings_make_a_new_run(stages, profile, glue_dir):
    mtl = stages / "tiny" / "mtl"
    before = read_json(mtl / "done.json")["config_hash"]
    pipeline.run_mtl(profile.override(tasks=("CoLA",), epochs_mtl=1), glue_dir, stages)
    assert read_json(mtl / "done.json")["config_hash"] != before


def test_resume_after_an_interruption_reaches_the_same_result(profile, glue_dir, tmp_path, monkeypatch):
    two_tasks = profile.override(tasks=("MRPC", "STS-B"), epochs_mtl=2)
    straight = pipeline.run_mtl(two_tasks, glue_dir, tmp_path / "straight")

    real_evaluate = train_module.evaluate_epoch
    calls = []

    def interrupted(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt  # stopped during epoch 2, after epoch 1's checkpoint
        calls.append(1)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_mtl(two_tasks, glue_dir, tmp_path / "resumed")
    resumed_dir = tmp_path / "resumed" / "tiny" / "mtl"
    assert (resumed_dir / "checkpoint").is_dir() and not (resumed_dir / "done.json").exists()
    monkeypatch.setattr(train_module, "evaluate_epoch", real_evaluate)
    pipeline.run_mtl(two_tasks, glue_dir, tmp_path / "resumed")

    a, b = read_json(straight / "metrics.json"), read_json(resumed_dir / "metrics.json")
    assert [e["dev"] for e in a] == [e["dev"] for e in b]
    assert [e["train_loss"] for e in a] == [e["train_loss"] for e in b]
    assert (straight / "predictions" / "STS-B.validation.jsonl").read_text() == \
           (resumed_dir / "predictions" / "STS-B.validation.jsonl").read_text()


def test_scoring_dev_after_the_last_epoch_only_changes_nothing_the_run_learns(profile, glue_dir, tmp_path):
    two_epochs = profile.override(tasks=("MRPC", "STS-B"), epochs_mtl=2)
    every = read_json(pipeline.run_mtl(two_epochs, glue_dir, tmp_path / "every") / "metrics.json")
    last = read_json(pipeline.run_mtl(two_epochs.override(eval_every_epoch=False), glue_dir, tmp_path / "last")
                     / "metrics.json")
    assert "dev" in every[0] and "dev" not in last[0] and "eval_seconds" not in last[0]
    assert every[-1]["dev"] == last[-1]["dev"] and [e["train_loss"] for e in every] == [e["train_loss"] for e in last]


def test_a_non_finite_loss_stops_with_task_and_step(profile, glue_dir, tmp_path):
    with pytest.raises(trainer.NonFiniteLoss, match=r"on task STS-B at step \d+"):
        pipeline.run_st(profile.override(tasks=("STS-B",), lr=1e30), glue_dir, tmp_path)


def test_the_core_loop_needs_no_run_folder(profile, glue_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = pipeline.task_data("RTE", profile, glue_dir).train
    model, history = mtdnn_lite.train(lambda: pipeline.new_model(profile, ["RTE"]), {"RTE": rows},
                                      profile.train_settings(), 1, load_tokenizer(profile.encoder).pad_token_id)
    assert isinstance(model, mtdnn_lite.MTDNN) and model.tasks == ("RTE",)
    assert [e["epoch"] for e in history] == [1] and set(history[0]["train_loss"]) == {"RTE"}
    assert history[0]["train_examples"] == len(rows) and not any(tmp_path.iterdir())  # nothing written
