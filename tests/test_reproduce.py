"""`python -m mtdnn_lite reproduce` on the tiny profile: every stage, then the tables it promises."""

import csv
import json
import zipfile

import pytest

from mtdnn_lite.__main__ import main

TASKS = ["CoLA", "RTE", "QNLI"]


@pytest.fixture(scope="module")
def reproduced(glue_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("reproduce")
    argv = ["reproduce", "--profile", "tiny", "--tasks", *TASKS, "--glue-dir", str(glue_dir),
            "--runs", str(base / "runs"), "--results", str(base / "results"),
            "--set", "max_train=32", "--set", "max_eval=24"]
    assert main(argv) == 0
    return base / "results" / "tiny", argv


def test_glue_dev_table_has_every_system_and_task(reproduced):
    out, _ = reproduced
    rows = list(csv.DictReader((out / "glue_dev.csv").open()))
    systems = {r["stage"]: r for r in rows}
    assert {"st", "mtl", "refine", "ensemble", "student_refine"} <= set(systems)
    assert systems["ensemble"]["n"] == "2"  # RTE and QNLI have teachers here
    assert systems["refine"]["n"] == str(len(TASKS))
    md = (out / "glue_dev.md").read_text()
    assert "tiny" in md and "python -m mtdnn_lite reproduce --profile tiny" in md
    assert "dev (24 of 277 rows)" in md  # RTE's capped dev split says so


def test_submission_inference_cost_and_stage_times(reproduced):
    out, _ = reproduced
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


def test_a_second_reproduce_reuses_every_run(reproduced, monkeypatch):
    from mtdnn_lite import train
    _, argv = reproduced
    monkeypatch.setattr(train, "_train_epoch", lambda *a, **k: pytest.fail("a finished run was retrained"))
    assert main(argv) == 0
