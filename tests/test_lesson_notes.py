"""The sentences and flags the lessons compute from their tables (views data_notes, anatomy, batching, recipe,
score_notes; reporting floors, scoreboard, ablation): each says what its table says, on tables made up here."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from datasets import Dataset, DatasetDict

from mtdnn_lite.core import optim
from mtdnn_lite.experiments.profiles import Profile, get_profile
from mtdnn_lite.experiments.taskdata import prepare_task, select_rows
from mtdnn_lite.reporting import ablation, floors, scoreboard
from mtdnn_lite.views import anatomy, batching, data_notes, recipe, score_notes


def test_the_majority_floor_scores_a_constant_guess_in_the_tasks_own_metrics():
    assert floors.majority_floor("RTE", [0, 0, 1, 0]) == pytest.approx(75.0)  # accuracy of "entailment"
    # MRPC, positive majority: F1 = 2·2 / (2·2 + 1) = 80, accuracy 66.7; the task score is their mean
    assert floors.majority_floor("MRPC", [1, 1, 0]) == pytest.approx((80 + 200 / 3) / 2)
    assert floors.majority_floor("QQP", [0, 0, 1]) == pytest.approx((0 + 200 / 3) / 2)  # F1 0: no positive guess
    assert floors.majority_floor("CoLA", [1, 1, 1, 0]) == 0.0  # MCC of a constant
    assert floors.majority_floor("STS-B", [0.5, 4.0, 2.0]) == 0.0  # no correlation


def test_the_margin_is_two_standard_errors_of_no_skill():
    assert floors.guess_se("RTE", [0] * 50 + [1] * 50) == pytest.approx(5.0)  # 100·sqrt(.25 / 100)
    assert floors.guess_se("CoLA", [0] * 50 + [1] * 50) == pytest.approx(10.0)  # 100 / sqrt(100)


def test_scores_are_set_against_their_floor_and_the_note_names_them():
    task_floors = pd.DataFrame({"floor": [56.3, 0.0], "margin": [11.8, 6.2]}, index=["WNLI", "CoLA"])
    scores = pd.DataFrame({"system": ["A", "A", "B", "B"], "task": ["WNLI", "CoLA", "WNLI", "CoLA"],
                           "score": [30.0, 4.0, 60.0, 20.0]})
    flags = floors.floor_flags(scores, task_floors).set_index(["system", "task"])["vs floor"]
    assert flags[("A", "WNLI")] == floors.BELOW and flags[("A", "CoLA")] == floors.NEAR
    assert flags[("B", "WNLI")] == floors.NEAR and flags[("B", "CoLA")] == floors.ABOVE
    note = floors.floor_note(floors.floor_flags(scores, task_floors))
    assert "**WNLI** (floor 56.3" in note and "below the floor: A 30.0" in note and "B 60.0" in note
    assert "B 20.0" not in note
    table, _ = score_notes.floor_table(scores.assign(system=scores.system), task_floors.assign(
        split="dev", rows=[71, 1043]))
    assert table.loc["WNLI", "A"] == "30.0 ▼" and table.loc["CoLA", "B"] == "20.0"


def test_dev_floors_read_the_rows_a_profile_scores(glue_dir):
    prof = get_profile("tiny")
    table = floors.dev_floors(prof, glue_dir, ["RTE"])
    labels = np.asarray(prepare_task("RTE", prof, glue_dir).raw["validation"]["label"])
    assert table.loc["RTE", "rows"] == len(labels) == prof.max_eval
    assert table.loc["RTE", "floor"] == pytest.approx(100 * np.bincount(labels).max() / len(labels))


def test_select_rows_are_the_rows_prepare_task_tokenises(glue_dir):
    prof = get_profile("tiny")
    raw, info = select_rows("MRPC", prof, glue_dir)
    data = prepare_task("MRPC", prof, glue_dir)
    assert {s: ds["idx"] for s, ds in raw.items()} == {s: ds["idx"] for s, ds in data.raw.items()}
    assert info == data.info


def _scores(rows):
    return pd.DataFrame([{"stage": st, "system": st, "task": t, "score": v, "split_note": "dev", "run": f"r/{st}"}
                         for st, t, v in rows])


def test_averages_stand_beside_the_average_without_wnli():
    means = scoreboard.averages(_scores([("st", "RTE", 60.0), ("st", "WNLI", 30.0), ("mtl", "WNLI", 40.0)]))
    st, mtl = means.set_index("stage").loc["st"], means.set_index("stage").loc["mtl"]
    assert st.average == 45.0 and st["average without WNLI"] == 60.0
    assert math.isnan(mtl["average without WNLI"])
    sentence = score_notes.averages_sentence(means)
    assert "- st: 45.0 over 2 task(s); without WNLI 60.0 (+15.0)" in sentence and "- mtl: 40.0 over 1 task(s)" in sentence


def test_run_seeds_read_the_runs_configs(tmp_path):
    for name, seed in (("a", 0), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(f'{{"seed": {seed}}}')
    table = pd.DataFrame({"run": [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "gone")]})
    assert scoreboard.run_seeds(table) == [0, 2]
    assert scoreboard.seeds_label([0]) == "seed 0" and scoreboard.seeds_label([2, 0]) == "seeds 0, 2"


def _long(cells: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """An ablation table: {cell: {stage: [average of seed 0, seed 1, …]}}, one task."""
    return pd.DataFrame([{"cell": c, "stage": st, "seed": i, "task": "RTE", "score": v}
                         for c, stages in cells.items() for st, values in stages.items() for i, v in enumerate(values)])


def test_cell_gap_pairs_seeds_and_calls_a_gap_within_its_spread():
    long = _long({"adamw": {"st": [40, 44], "mtl": [50, 50]}, "mean": {"st": [41, 45], "mtl": [52, 55]}})
    gap = ablation.cell_gap(long, "adamw", "mean")
    assert gap.loc["st", "delta"] == 1 and gap.loc["st", "sd"] == 0 and not gap.loc["st", "within spread"]
    assert gap.loc["mtl", "delta"] == 3.5 and gap.loc["mtl", "within spread"] == (3.5 <= np.std([2, 5], ddof=1))
    assert "single-task +1.0" in recipe.readout_sentence(long)
    assert "not measured alone" in recipe.optimizer_sentence(long)


def test_the_paper_cell_sentence_names_the_task_that_falls_most():
    rows = [{"cell": c, "stage": st, "seed": s, "task": t, "score": v}
            for c, st, t, v in [("paper", "st", "STS-B", 5), ("paper", "mtl", "STS-B", 0), ("paper", "st", "RTE", 50),
                                ("paper", "mtl", "RTE", 48), ("mean", "st", "STS-B", 42), ("mean", "mtl", "STS-B", 50),
                                ("mean", "st", "RTE", 52), ("mean", "mtl", "RTE", 50)] for s in (0, 1)]
    text = recipe.paper_cell_sentence(pd.DataFrame(rows))
    assert "MTL − single-task is -3.5" in text and "**STS-B** (without multi-task learning too)" in text


def test_the_spike_table_measures_each_optimisers_fall():
    spike = {name: optim.steps_after_a_spike(name, steps=120) for name in ("adamax", "adamw")}
    table = recipe.spike_table(spike)
    assert table.loc["adamax", "largest fall (×)"] > table.loc["adamw", "largest fall (×)"] > 2
    assert table["back to half size from step"].isna().all()  # neither recovers within 120 steps
    assert "is still below half its usual size at step 120" in recipe.spike_sentence(table)
    assert recipe.spike_table({"adamw": optim.steps_after_a_spike("adamw", steps=50, spike=1.0)}).loc[
        "adamw", "back to half size from step"] == 1


def test_departures_compare_a_profile_with_the_papers_defaults():
    prof = Profile("x", optimizer="adamw", readout="mean", max_train=100, epochs_mtl=2, encoder="tiny")
    table = recipe.departures(prof).set_index("setting")
    assert set(table[table.kind == "recipe"].index) == {"optimizer", "readout"}
    assert set(table[table.kind == "budget"].index) == {"max_train", "epochs_mtl"}  # the encoder is not compared
    assert table.loc["optimizer", "varied by the ablation"]
    assert "`x` departs from the paper's recipe in 2 setting(s): `optimizer=adamw` (paper: adamax)" in \
        recipe.departures_sentence(prof)
    assert recipe.departures_sentence(Profile("y")).startswith("`y` keeps every setting")


def test_chance_sentence_lists_losses_at_a_uniform_guess():
    losses = pd.DataFrame([{"cell": "paper", "RTE": 0.70, "MNLI": 1.0, "STS-B": 5.6, "QNLI": 0.9}])
    assert recipe.chance_sentence(losses).endswith("- `paper`: RTE 0.700 (ln 2 = 0.693)")


def test_training_settings_say_where_a_profile_departs_from_the_paper():
    text = score_notes.training_settings(Profile("x", optimizer="adamw", lr_mtl=5e-5))
    assert "the optimiser adamw (the paper: adamax)" in text and "(5e-05 in the multi-task stages)" in text
    assert "fp32 throughout," in text and "(the paper: fp32" not in text


def test_published_gains_are_sorted_and_carry_the_training_sizes():
    text = score_notes.published_gain_sentence("MT-DNN", "BERT-large")
    assert text.split(": ", 1)[1].startswith("RTE +") and "RTE +11.3 (2,490 training rows), " in text


def test_the_padding_and_sampling_sentences_follow_their_tables():
    batches = {"CoLA": [[0, 1], [2, 3]], "RTE": [[0, 1]]}
    lengths = {"CoLA": [1, 2, 8, 9], "RTE": [10, 10]}
    grouped = batching.padding_table(batches, lengths, "grouped")
    random = batching.padding_table({"CoLA": [[0, 2], [1, 3]], "RTE": [[0, 1]]}, lengths, "random")
    text = batching.padding_sentence(pd.concat([grouped, random]), lengths)
    assert text.startswith("Length grouping saves the most computed tokens on CoLA (35 % fewer") and "least on RTE (0 %)" in text
    plan = batching.plan_table(batches, seed=0, steps=3)
    assert f"by step {plan.groupby('task').step.min().max()}" in batching.interleaving_sentence(plan)
    drawn = batching.sampling_shares(batches, seed=0)
    official = batching.expected_shares({"CoLA": 8551, "RTE": 2490}, 32)
    assert "Algorithm 1 gives CoLA (4 examples) 66.7 % of the steps and RTE (2) 33.3 %" in \
        batching.shares_sentence(drawn, official)


def test_the_data_notes_read_their_tables():
    glue = {"MRPC": DatasetDict({"validation": Dataset.from_dict({"label": [1, 1, 0]})}),
            "QQP": DatasetDict({"validation_proxy": Dataset.from_dict({"label": [0, 0, 1]})})}
    guess = data_notes.majority_guess(glue)
    assert guess.loc["MRPC", "f1"] == pytest.approx(80.0) and guess.loc["QQP", "f1"] == 0.0
    assert "on MRPC (dev, majority *equivalent*) F1 80.0 against accuracy 66.7" in data_notes.guess_sentence(guess)
    summary = pd.DataFrame({"split": "train", "median": [10.0, 50.0], "% over 128": [0.0, 12.5]},
                           index=["CoLA", "RTE"])
    assert "cuts RTE most often (12.5 %" in data_notes.length_sentence(summary, 128)


def test_the_model_sentences_follow_the_readout_and_the_steps():
    assert "as in the paper" in anatomy.readout_sentence("cls", "this model")
    assert "where the paper reads the contextual embedding of the [CLS] token" in anatomy.readout_sentence("mean", "m")
    P = torch.tensor([[0.8, 0.2], [0.6, 0.4]])
    text = anatomy.san_steps_sentence(P, ("yes", "no"), true_label=1, which="a model")
    assert "**yes** (P_r = 0.70, not the true label (no))" in text and "range over 0.20" in text
