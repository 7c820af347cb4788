"""The MT-DNN vs MT-DNN-KD comparison (widgets.Comparison), driven through its callbacks without a browser, on
tiny runs of every stage (CoLA: single sentence, no teacher; RTE: a pair with teachers); and the kd_teachers
and kd_distillation tables of notebooks 04 and 05 on the same runs."""

import html
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import read_predictions
from mtdnn_lite.reporting.results import scores_table
from mtdnn_lite.views import comparison as comparison_data
from mtdnn_lite.views import kd_distillation, kd_teachers, widgets

pytestmark = pytest.mark.xdist_group("widgets")  # on one worker: the tests share the runs of `runs`

TASKS = ("CoLA", "RTE")


@pytest.fixture(scope="module")
def profile():
    return get_profile("tiny", tasks=TASKS, max_train=32, max_eval=24, teachers=2, epochs_mtl=1, epochs_student=1)


@pytest.fixture(scope="module")
def runs(profile, glue_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("widget_runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model gains nothing from threads, and loses much on a busy CPU
    try:
        pipeline.run_stages(["refine", "student_refine"], profile, glue_dir, root)  # and all they need, each once
    finally:
        torch.set_num_threads(threads)
    # Tiny models often predict one class everywhere, so they never disagree: flip MT-DNN-KD's prediction on
    # every third RTE dev example (the filter must find exactly those the files say differ).
    path = root / profile.name / "student_refine" / "RTE" / "predictions" / "RTE.validation.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows[::3]:
        r["probabilities"] = r["probabilities"][::-1]
        r["prediction"] = int(np.argmax(r["probabilities"]))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def comparison(runs, profile, glue_dir):
    return widgets.Comparison(runs, profile, glue_dir)


def _files(root, profile, task, stage):
    run = root / profile.name / stage / task
    return {r["idx"]: r for r in read_predictions(run, task, "validation")}


def test_task_switch_updates_the_example_list(comparison, runs, profile):
    assert comparison.tasks == list(TASKS)
    for task in ("RTE", "CoLA"):
        listed = comparison.select_task(task)
        files = _files(runs, profile, task, "refine")
        assert comparison.task == task and comparison.task_box.value == task
        assert list(listed.idx) == list(files) and len(comparison.example_box.options) == len(files)
        assert comparison.position == 0
    comparison.task_box.value = "RTE"  # the dropdown's callback
    assert comparison.task == "RTE"
    assert len(comparison.example_box.options) == len(_files(runs, profile, "RTE", "refine"))
    assert (comparison.text_b_box.layout.display is None) and comparison.select_task("CoLA") is not None
    assert comparison.text_b_box.layout.display == "none"  # CoLA: one sentence


@pytest.mark.parametrize("task", TASKS)
def test_disagreement_filter_gives_exactly_the_differing_examples(comparison, runs, profile, task):
    comparison.select_task(task)
    mtdnn, kd = _files(runs, profile, task, "refine"), _files(runs, profile, task, "student_refine")
    differ = [i for i in mtdnn if mtdnn[i]["prediction"] != kd[i]["prediction"]]
    if task == "RTE":
        assert differ  # the flipped rows
    assert list(comparison.toggle_disagreements(True).idx) == differ
    assert comparison.filter_box.value is True and len(comparison.example_box.options) == len(differ)
    assert len(comparison.toggle_disagreements().idx) == len(mtdnn)  # None flips it back off
    comparison.filter_box.value = True  # the checkbox's callback
    assert len(comparison.example_box.options) == len(differ)
    comparison.toggle_disagreements(False)


def test_show_example_gives_both_models_probabilities_from_the_files(comparison, runs, profile):
    comparison.select_task("RTE")
    comparison.toggle_disagreements(True)
    mtdnn, kd = _files(runs, profile, "RTE", "refine"), _files(runs, profile, "RTE", "student_refine")
    ensemble = _files(runs, profile, "RTE", "ensemble")
    for i in range(len(comparison.current_examples())):
        shown = comparison.show_example(i)
        idx = shown["idx"]
        assert shown["probabilities"]["MT-DNN"] == pytest.approx(mtdnn[idx]["probabilities"])
        assert shown["probabilities"]["MT-DNN-KD"] == pytest.approx(kd[idx]["probabilities"])
        assert shown["probabilities"]["ensemble"] == pytest.approx(ensemble[idx]["probabilities"])
        assert shown["label"] == mtdnn[idx]["label"] and shown["disagree"] and shown["text_b"]
        assert f"idx {idx}" in comparison.example_output.value
    comparison.example_box.value = 0  # the list's callback
    assert comparison.position == 0
    with pytest.raises(IndexError):
        comparison.show_example(10_000)
    comparison.toggle_disagreements(False)


def test_predict_text_gives_probability_vectors_for_a_pair_and_a_single_sentence(comparison, runs, profile):
    pair = comparison.predict_text("A man is playing a guitar.", "Nobody plays music.", task="RTE")
    single = comparison.predict_text("The book was read by the student.", task="CoLA")
    assert set(pair["probabilities"]) == {"MT-DNN", "MT-DNN-KD", "ensemble"}
    assert set(single["probabilities"]) == {"MT-DNN", "MT-DNN-KD"}
    for result in (pair, single):
        for p in result["probabilities"].values():
            assert len(p) == 2 and min(p) >= 0 and sum(p) == pytest.approx(1, abs=1e-5)
        assert set(result["predictions"].values()) <= {"entailment", "not_entailment", "unacceptable", "acceptable"}
    assert "MT-DNN-KD" in comparison.free_output.value
    # a dev example typed in is predicted as the run predicted it
    example = comparison.select_task("RTE").iloc[0]
    again = comparison.predict_text(example.text_a, example.text_b)
    assert again["probabilities"]["MT-DNN"] == pytest.approx(
        _files(runs, profile, "RTE", "refine")[example.idx]["probabilities"], abs=1e-4)
    with pytest.raises(ValueError):
        comparison.predict_text("only one sentence", task="RTE")


def test_score_bars_are_the_scores_table_values(comparison, runs, profile):
    data = comparison.data.score_data()
    table = scores_table(runs / profile.name)
    for stage, system in (("refine", "MT-DNN"), ("student_refine", "MT-DNN-KD"), ("ensemble", "Teacher ensemble")):
        for task in TASKS:
            expected = table[(table.stage == stage) & (table.task == task)]
            got = data[(data.system == system) & (data.task == task)]
            if stage == "ensemble" and task == "CoLA":
                assert got.empty  # no teachers for CoLA
                continue
            assert len(got) == 1 and got.score.iloc[0] == pytest.approx(expected.value.mean())
            assert got.split_label.iloc[0] == "dev"
    fig = comparison.data.score_figure()
    assert profile.name in fig.axes[0].get_title()
    assert comparison.draw_scores()[:8] == b"\x89PNG\r\n\x1a\n" == comparison.score_image.value[:8]


def test_the_kd_gain_is_shown_with_its_interval(comparison, runs, profile):
    from mtdnn_lite.reporting.intervals import compare
    expected = compare([runs / profile.name], comparison_data.KD_GAIN, TASKS).set_index("task")
    shown = comparison.data.intervals().set_index("task")
    assert list(shown.index) == [*TASKS, "average"]
    assert np.allclose(shown[["delta", "low", "high"]], expected[["delta", "low", "high"]])
    for task in TASKS:
        comparison.task_box.value = task  # the dropdown's callback refreshes the line
        row = expected.loc[task]
        assert f"on {task}: Δ {row.delta:+.1f} [{row.low:+.1f}, {row.high:+.1f}]" in comparison.interval_label.value
        assert row.verdict in comparison.interval_label.value
    comparison.draw_scores()
    assert all(f"<td>{task}</td>" in comparison.interval_table.value for task in (*TASKS, "average"))


def test_the_scores_tab_reads_distillation_as_the_paper_does(comparison, runs, profile):
    from mtdnn_lite.views.kd_distillation import distillation_reading
    reading, text = distillation_reading([runs / profile.name], TASKS)
    comparison.draw_scores()
    shown = comparison.interval_table.value
    assert "Distillation, read as the paper reads it." in shown and html.escape(text) in shown
    assert reading.to_html(index=False) in shown  # the kept share, the ensemble vs its mean teacher, ...
    assert "seed 0" in comparison.data.score_figure().axes[0].get_title()


# --- the data model alone (comparison.ComparisonData, comparison.OwnInput), no widget ----------------------------

@pytest.fixture(scope="module")
def data(runs, profile, glue_dir):
    return comparison_data.ComparisonData(runs, profile, glue_dir)


def test_the_data_model_needs_no_widgets():
    # one process (an import of the kit takes seconds): any `import ipywidgets` in it raises ImportError
    script = ("import sys; sys.modules['ipywidgets'] = None\n"
              "import mtdnn_lite.views.comparison\n"
              "print('comparison imported')\n"
              "import mtdnn_lite.views.widgets\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "comparison imported" in done.stdout, done.stderr
    assert done.returncode != 0 and "ipywidgets" in done.stderr  # the block works: the widgets module needs it
    assert comparison_data.COMPARED_SYSTEMS == ("MT-DNN", "MT-DNN-KD", "Teacher ensemble")


def test_the_data_model_lists_examples_and_disagreements(data, runs, profile):
    assert data.tasks == list(TASKS)
    mtdnn, kd = _files(runs, profile, "RTE", "refine"), _files(runs, profile, "RTE", "student_refine")
    differ = [i for i in mtdnn if mtdnn[i]["prediction"] != kd[i]["prediction"]]
    assert list(data.examples("RTE").idx) == list(mtdnn)
    assert list(data.listed("RTE", "validation", only_disagreements=True).idx) == differ
    shown = data.example("RTE", "validation", 0, only_disagreements=True)
    assert shown["idx"] == differ[0] and shown["disagree"]
    assert shown["probabilities"]["MT-DNN-KD"] == pytest.approx(kd[differ[0]]["probabilities"])
    table = data.example_table("RTE", "validation", 0, only_disagreements=True)
    assert list(table.columns) == ["MT-DNN", "MT-DNN-KD", "ensemble"]
    assert list(table.index) == ["entailment", "not_entailment", "prediction"]
    assert data.disagreement_summary().set_index("task").loc["RTE", "disagreements"] == len(differ)
    assert data.runs("CoLA")["ensemble"] is None and data.models("CoLA") == ["MT-DNN", "MT-DNN-KD"]
    with pytest.raises(IndexError):
        data.example("RTE", "validation", 10_000)


def test_own_input_predicts_without_the_widget(data):
    own = comparison_data.OwnInput(data)
    table = own.table("RTE", "A man is playing a guitar.", "Nobody plays music.")
    assert list(table.columns) == ["MT-DNN", "MT-DNN-KD", "ensemble"]
    assert set(table.loc["prediction"]) <= {"entailment", "not_entailment"}
    assert len(own.loaded("RTE")["ensemble"]) == 2  # the ensemble's two teachers
    with pytest.raises(ValueError):
        own.predict("RTE", "only one sentence")


# --- the tables behind notebooks 04 and 05 (kd_teachers, kd_distillation), on the same runs -----------------------

def test_entropy_and_the_kd_loss_grid():
    assert kd_teachers.entropy([[1.0, 0.0], [0.5, 0.5]]).tolist() == [0.0, 1.0]  # one-hot: 0 bits; uniform: log2 C
    assert kd_teachers.entropy([[1 / 3] * 3])[0] == pytest.approx(np.log2(3))
    grid = kd_distillation.kd_loss_grid([0.0, 0.5, 1.0], [1.0, 2.0])
    paper = grid[(grid.alpha == 0.5) & (grid.temperature == 1.0)].iloc[0]
    assert paper.loss == pytest.approx((paper.hard + paper.soft) / 2)  # MT-DNN-KD: the plain average
    assert (grid.soft_kl >= -1e-6).all() and np.allclose(grid.soft_entropy + grid.soft_kl, grid.soft)
    assert np.allclose(grid[grid.alpha == 0].loss, grid[grid.alpha == 0].hard)


def test_teacher_tables_match_the_run_files(runs, profile, glue_dir):
    [task] = kd_teachers.teacher_tasks(profile)  # RTE
    table = kd_teachers.teacher_predictions(runs, profile, task, "validation")
    ensemble = _files(runs, profile, task, "ensemble")
    assert np.allclose(table.ensemble.tolist(), [ensemble[i]["probabilities"] for i in table.idx], atol=1e-6)
    summary = kd_teachers.disagreement_summary(runs, profile).iloc[0]
    assert summary.disagreements == table.disagree.sum() and summary.teachers == 2
    loss = kd_teachers.member_log_loss(runs, profile).iloc[0]
    assert loss.ensemble <= loss["teachers' mean"] + 1e-9  # Jensen
    soft = kd_teachers.soft_target_table(runs, profile, glue_dir)
    stored = np.load(runs / profile.name / "soft_targets" / task / "probabilities.npy")
    assert np.allclose(soft.probabilities.tolist(), stored) and (soft.entropy_bits <= 1 + 1e-6).all()
    scores = kd_teachers.member_scores(runs, profile)
    assert list(scores.model) == ["teacher 1", "teacher 2", "ensemble", "MT-DNN (refine)"]
    assert set(scores.split_label) == {"dev"}
