"""The stage table: the stages run after what they need, each once, each runner given its needs' results; the
order of the plan and of the reports comes from it (no training here: the runners are stand-ins)."""

import dataclasses

import pytest

from mtdnn_lite.experiments import layout, pipeline
from mtdnn_lite.reporting import results, systems


@pytest.fixture
def entered(monkeypatch):
    """Every runner replaced by one that records its stage and what it was given, and returns its stage's name."""
    calls = []

    def stand_in(name):
        def run(profile, glue_dir, root, **needs):
            calls.append((name, needs))
            return f"result of {name}"
        return run

    table = tuple(dataclasses.replace(s, run=stand_in(s.name)) for s in pipeline.STAGE_TABLE)
    monkeypatch.setattr(pipeline, "STAGE_TABLE", table)
    return calls


def test_every_stage_runs_once_after_what_it_needs(entered):
    done = pipeline.run_stages(pipeline.STAGES, "profile", "glue", "runs")
    assert [name for name, _ in entered] == list(pipeline.STAGES)  # each stage entered once, in the table's order
    assert dict(entered)["student_refine"] == {"student": "result of student", "soft_targets": "result of soft_targets"}
    assert dict(entered)["refine"] == {"mtl": "result of mtl"} and dict(entered)["mtl"] == {}
    assert done == {name: f"result of {name}" for name in pipeline.STAGES}


def test_one_stage_runs_what_it_needs_first_and_nothing_else(entered):
    assert pipeline.run_stage("student", "profile", "glue", "runs") == "result of student"
    assert [name for name, _ in entered] == ["mtl", "teacher", "soft_targets", "student"]
    assert pipeline.required(["refine", "st"]) == ["st", "mtl", "refine"]
    with pytest.raises(ValueError, match="unknown stage 'ensemble'; expected one of st, mtl, refine"):
        pipeline.run_stage("ensemble", "profile", "glue", "runs")


def test_the_reports_order_comes_from_the_table():
    assert pipeline.STAGES == ("st", "mtl", "refine", "teacher", "soft_targets", "student", "student_refine")
    assert results.STAGE_ORDER == ["st", "mtl", "refine", "teacher", "ensemble", "student", "student_refine"]
    assert [s.stage for s in systems.STAGE_SYSTEMS] == [s for s in results.STAGE_ORDER if s != "teacher"]
    assert dict(systems.SYSTEMS)["MT-DNN-KD"] == ("student_refine", *layout.STANDS_IN.values())
    assert all(need in pipeline.STAGES[:pipeline.STAGES.index(s.name)] for s in pipeline.STAGE_TABLE for need in s.needs)


def test_mt_dnn_kd_is_the_refined_student_where_finished_else_the_student(tmp_path):
    for run in ("student", "student_refine/RTE", "refine/RTE", "teacher/RTE/2", "teacher/RTE/1"):
        (tmp_path / run).mkdir(parents=True)
        (tmp_path / run / "done.json").write_text("{}")
    (tmp_path / "student_refine" / "CoLA").mkdir()  # begun, not finished
    assert layout.student_dir(tmp_path, "RTE") == tmp_path / "student_refine" / "RTE"
    assert layout.student_dir(tmp_path, "CoLA") == tmp_path / "student"
    assert layout.system_run(tmp_path, "refine", "RTE") == tmp_path / "refine" / "RTE"
    assert layout.system_run(tmp_path, "refine", "CoLA") is None
    assert layout.teacher_runs(tmp_path, "RTE") == [tmp_path / "teacher" / "RTE" / k for k in ("1", "2")]
