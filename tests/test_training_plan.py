"""The notebooks' guard: which runs are missing, the estimated training time, and asking before training."""

import math

import pytest

from mtdnn_lite.experiments import pipeline, speed_probe, training_plan
from mtdnn_lite.experiments.profiles import get_profile

TASKS = ("CoLA", "RTE")  # RTE has teachers


@pytest.fixture(scope="module")
def profile():
    return get_profile("tiny", tasks=TASKS, max_train=40, max_eval=24, teachers=2)


def test_everything_a_stage_starts_from_is_planned_with_its_examples(profile, glue_dir, tmp_path):
    plan = training_plan.plan_training(tmp_path, profile, ["student_refine"], glue_dir)
    assert plan.stages() == ["mtl", "teacher", "soft_targets", "student", "student_refine"]
    per_run = {(stage, folder.relative_to(tmp_path / "tiny").as_posix()): n for stage, folder, n in plan.runs}
    assert per_run == {("mtl", "mtl"): 2 * 80, ("teacher", "teacher/RTE/1"): 40, ("teacher", "teacher/RTE/2"): 40,
                       ("soft_targets", "soft_targets/RTE"): 0, ("student", "student"): 2 * 80,
                       ("student_refine", "student_refine/CoLA"): 40, ("student_refine", "student_refine/RTE"): 40}
    known = training_plan.REFERENCE["tiny", "no"]
    speed, overhead = known.examples_per_second, known.overhead
    assert plan.examples_per_second == speed  # no runs yet to measure
    assert plan.overhead == overhead and plan.seconds == pytest.approx(480 / speed * (1 + overhead))
    summary = plan.summary()
    assert f"an estimate: 480 training examples at {speed:,.0f} examples/s per run, encoder tiny in float32 as measured" \
        in summary
    assert f"× {1 + overhead:.2f} for evaluation, loading, the tables and runs side by side" in summary
    assert summary.startswith("missing runs of profile tiny: mtl (1 run(s)), teacher (2 run(s))")


def test_finished_runs_are_not_planned_and_their_speed_is_used(profile, glue_dir, tmp_path):
    pipeline.run_mtl(profile, glue_dir, tmp_path)
    plan = training_plan.plan_training(tmp_path, profile, ["refine"], glue_dir)
    assert plan.stages() == ["refine"] and len(plan.runs) == 2
    assert plan.speed_source.startswith("measured over the finished runs") and plan.examples_per_second > 0
    changed = profile.override(epochs_mtl=1)  # other settings: the mtl run is not theirs
    assert training_plan.plan_training(tmp_path, changed, ["refine"], glue_dir).stages() == ["mtl", "refine"]
    pipeline.run_stage("refine", profile, glue_dir, tmp_path)
    done = training_plan.plan_training(tmp_path, profile, ["refine"], glue_dir)
    assert done.runs == [] and not training_plan.require_runs(done, False)
    assert done.summary() == "every run needed is finished (profile tiny)"


def test_the_guard_asks_before_training_except_on_tiny(profile, glue_dir, tmp_path):
    quick = get_profile("quick", tasks=TASKS)
    plan = training_plan.plan_training(tmp_path, quick, ["refine"], glue_dir)
    known = training_plan.reference(quick)
    speed, overhead = known.examples_per_second, known.overhead
    assert plan.examples == 2 * 2000 + 2 * 2000 + 2000 + 2000 and plan.examples_per_second == speed
    minutes = training_plan.duration(12_000 / speed * (1 + overhead))
    for answer in (None, False):
        with pytest.raises(training_plan.MissingRuns, match=rf"training them takes about {minutes}, an estimate: "
                                                            rf"12,000 training examples at {speed:,.0f} "
                                                            r".*set train_missing = True in the first cell"):
            training_plan.require_runs(plan, answer)
    assert training_plan.require_runs(plan, True)
    tiny = training_plan.plan_training(tmp_path, profile, ["refine"], glue_dir)
    assert training_plan.require_runs(tiny, None)  # seconds: no need to ask
    assert math.isnan(training_plan.TrainingPlan("x", [("st", tmp_path, 10)]).seconds)


def test_a_calibrated_plan_scales_the_reference_speed_by_the_probe(profile, monkeypatch):
    here = speed_probe.probe_speed(profile, steps=2)
    assert 0 < here < math.inf
    monkeypatch.setattr(training_plan, "probe_speed", lambda p: 2 * here)  # this machine twice the reference's
    monkeypatch.setitem(training_plan.REFERENCE, ("tiny", "no"), training_plan.Reference(100.0, 0.5, probe=here))
    plan = training_plan.plan_training("/nonexistent", profile, ["mtl"], calibrate=True)
    assert plan.examples_per_second == pytest.approx(200.0)
    assert "100 examples/s on the reference machine (training_plan.REFERENCE) × 2.00" in plan.summary()
    assert training_plan.plan_training("/nonexistent", profile, ["mtl"]).examples_per_second == 100.0  # not asked


def test_the_reference_speed_is_the_one_of_the_precision(profile):
    assert training_plan.reference(profile.override(mixed_precision="bf16")) is None  # tiny in bf16: not measured
    plan = training_plan.plan_training("/nonexistent", profile.override(mixed_precision="bf16"), ["mtl"])
    assert plan.examples_per_second is None and math.isnan(plan.seconds)
    assert "no speed known for encoder tiny in bf16" in plan.summary()
    assert training_plan.reference(get_profile("quick", mixed_precision="bf16")) != \
        training_plan.reference(get_profile("quick", mixed_precision="no"))


def test_durations_read_as_a_person_would():
    assert [training_plan.duration(s) for s in (12, 420, 9000)] == ["12 s", "7 min", "2.5 h"]
