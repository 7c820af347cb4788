"""The distillation reading (reporting/distillation.py, distillation_report.py): on hand-made predictions whose
deltas and kept share are known, on a hand-made seeds.csv, and as `reproduce` and the CLI write it."""

import numpy as np
import pandas as pd
import pytest

from mtdnn_lite.__main__ import cli
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import write_json, write_predictions
from mtdnn_lite.reporting import intervals
from mtdnn_lite.reporting.distillation import (ALL_TASKS, BOOTSTRAP, ENSEMBLE_GAIN, KD_GAIN, KD_VS_ENSEMBLE,
                                               KEPT_SHARE, LAST_TEACHER, MEAN_TEACHER, OTHER_TASKS, TEACHER_TASKS,
                                               distillation_table, seed_distillation)
from mtdnn_lite.reporting.distillation_report import describe_distillation, kept_share, write_from_results

pytestmark = pytest.mark.xdist_group("tiny_reproduction")  # the session's tiny reproduction: one worker

LABELS = np.random.default_rng(0).integers(0, 2, 400)


@pytest.fixture(autouse=True)
def fewer_resamples(monkeypatch):
    monkeypatch.setattr(intervals, "N_RESAMPLES", 200)  # the intervals stay wide of these 5- to 10-point gaps


def scored_run(folder, task, wrong: int):
    """A finished run of `task` whose predictions get the first `wrong` of the 400 examples wrong."""
    predictions = LABELS.copy()
    predictions[:wrong] = 1 - predictions[:wrong]
    write_predictions(folder, task, "validation", [{"idx": i, "label": int(y), "prediction": int(p)}
                                                   for i, (y, p) in enumerate(zip(LABELS, predictions))])
    write_json(folder / "done.json", {"config_hash": "x"})


def hand_made_runs(tmp_path, kd_wrong=(60, 40), ensemble_wrong=40):
    """Two seeds. Teacher tasks RTE and QNLI: MT-DNN at 80 % accuracy, the ensemble at 100 − ensemble_wrong/4 %,
    its teachers at 90, 80 and 70 % (mean teacher 80 %), MT-DNN-KD at 85 % in seed 0 and 90 % in seed 1 (by
    default). WNLI, without teachers: MT-DNN 80 %, MT-DNN-KD 90 %."""
    roots = [tmp_path / f"seed{i}" for i in range(2)]
    for root, kd in zip(roots, kd_wrong):
        for task in ("RTE", "QNLI"):
            scored_run(root / "refine" / task, task, 80)
            scored_run(root / "student_refine" / task, task, kd)
            scored_run(root / "ensemble" / task, task, ensemble_wrong)
            for k, wrong in ((1, 40), (2, 80), (3, 120)):
                scored_run(root / "teacher" / task / str(k), task, wrong)
        scored_run(root / "refine" / "WNLI", "WNLI", 80)
        scored_run(root / "student_refine" / "WNLI", "WNLI", 40)
    return roots


def test_deltas_and_the_kept_share_on_hand_made_predictions(tmp_path):
    table = distillation_table(hand_made_runs(tmp_path), ["RTE", "QNLI", "WNLI"])
    rows = table.set_index(["quantity", "task"])
    expected = {(KD_GAIN.name, "RTE"): 7.5, (ENSEMBLE_GAIN.name, "RTE"): 10.0, (MEAN_TEACHER.name, "RTE"): 10.0,
                (KD_VS_ENSEMBLE, "RTE"): -2.5, (KD_GAIN.name, TEACHER_TASKS): 7.5, (KEPT_SHARE, TEACHER_TASKS): 75.0,
                (ENSEMBLE_GAIN.name, TEACHER_TASKS): 10.0, (MEAN_TEACHER.name, TEACHER_TASKS): 10.0,
                (KD_GAIN.name, "WNLI"): 10.0, (KD_GAIN.name, OTHER_TASKS): 10.0,
                (KD_GAIN.name, ALL_TASKS): (7.5 + 7.5 + 10) / 3}
    for key, value in expected.items():
        assert rows.loc[key, "value"] == pytest.approx(value), key
        assert rows.loc[key, "low"] <= rows.loc[key, "value"] <= rows.loc[key, "high"], key
    share = rows.loc[(KEPT_SHARE, TEACHER_TASKS)]
    assert (share["seed 0"], share["seed 1"]) == (pytest.approx(50.0), pytest.approx(100.0))  # 5/10 and 10/10
    assert share.verdict == "the ensemble's gain is above 0"
    assert rows.loc[(KD_GAIN.name, "RTE"), "sd_seeds"] == pytest.approx(np.std([5, 10], ddof=1))
    assert rows.loc[(KD_GAIN.name, TEACHER_TASKS), "verdict"] == "better" and (table.source == BOOTSTRAP).all()
    assert rows.loc[("MT-DNN-KD − MT-DNN", "RTE"), "split"] == "dev"
    assert (KEPT_SHARE, "RTE") not in rows.index  # read on the teacher tasks' average only
    text = describe_distillation(table)
    assert "the student keeps 75 % of the ensemble's gain" in text and "per seed 50, 100 %" in text
    assert "MT-DNN-KD is above MT-DNN on 3 of 3 tasks" in text


def test_the_share_is_undefined_where_the_ensemble_gains_nothing(tmp_path):
    table = distillation_table(hand_made_runs(tmp_path, ensemble_wrong=80), ["RTE"])  # the ensemble = MT-DNN
    share = table.set_index(["quantity", "task"]).loc[(KEPT_SHARE, TEACHER_TASKS)]
    assert np.isnan(share.value) and share.verdict.startswith("undefined")
    assert "an undefined share of the ensemble's gain" in describe_distillation(table)
    gain = table.set_index(["quantity", "task"]).loc[(ENSEMBLE_GAIN.name, TEACHER_TASKS)]
    assert (gain.value, gain.verdict) == (0.0, "no difference")
    assert "no difference (+0.0, 95 % interval [0.0, 0.0]" in describe_distillation(table)


def seeds_table(runs: bool = True) -> pd.DataFrame:
    """Two seeds' scores: RTE (teachers) and CoLA; MT-DNN-KD of CoLA in seed 1 only from the unrefined student."""
    scores = {("refine", "RTE"): (60, 62), ("student_refine", "RTE"): (63, 63), ("ensemble", "RTE"): (66, 64),
              ("teacher", "RTE"): (63, 62), ("refine", "CoLA"): (10, 20), ("student_refine", "CoLA"): (12, None),
              ("student", "CoLA"): (0, 26)}
    rows = [{"stage": stage, "task": task, "score": s, "seed_index": i, "runs": 3 if stage == "teacher" else 1}
            for (stage, task), values in scores.items() for i, s in enumerate(values) if s is not None]
    table = pd.DataFrame(rows + [{"stage": "refine", "task": "average", "score": 40.0, "seed_index": 0}])
    return table if runs else table.drop(columns="runs")


def test_the_seed_scores_reading_of_a_hand_made_table():
    rows = seed_distillation(seeds_table()).set_index(["quantity", "task"])
    assert rows.loc[(KD_GAIN.name, "RTE"), ["seed 0", "seed 1"]].tolist() == [3.0, 1.0]
    assert rows.loc[(ENSEMBLE_GAIN.name, "RTE"), "value"] == pytest.approx(4.0)  # 6 and 2
    assert rows.loc[(KEPT_SHARE, TEACHER_TASKS), "value"] == pytest.approx(50.0)  # the mean gains 2 / 4
    assert rows.loc[(KEPT_SHARE, TEACHER_TASKS), ["seed 0", "seed 1"]].tolist() == [50.0, 50.0]
    assert rows.loc[(MEAN_TEACHER.name, "RTE"), ["seed 0", "seed 1"]].tolist() == [3.0, 2.0]
    assert rows.loc[(KD_GAIN.name, "CoLA"), ["seed 0", "seed 1"]].tolist() == [2.0, 6.0]  # the student in seed 1
    assert rows.loc[(KD_GAIN.name, OTHER_TASKS), "value"] == pytest.approx(4.0)
    assert rows.loc[(KD_GAIN.name, ALL_TASKS), "value"] == pytest.approx(3.0)  # (2 + 4) / 2
    assert rows.loc[(KD_GAIN.name, ALL_TASKS), "sd_seeds"] == pytest.approx(np.std([2.5, 3.5], ddof=1))
    assert rows.low.isna().all() and set(rows.verdict) == {"seed scores only"}
    old = seed_distillation(seeds_table(runs=False)).quantity
    assert LAST_TEACHER in set(old) and MEAN_TEACHER.name not in set(old)  # no `runs`: one teacher, named so


def test_comparisons_lend_their_intervals_and_must_match_the_seed_scores():
    comparisons = pd.DataFrame([{"comparison": KD_GAIN.name, "task": "RTE", "delta": 2.0, "low": -1.0, "high": 5.0,
                                 "verdict": "no difference", "seeds": 2}])
    rows = seed_distillation(seeds_table(), comparisons).set_index(["quantity", "task"])
    assert rows.loc[(KD_GAIN.name, "RTE"), ["low", "high", "source"]].tolist() == [-1.0, 5.0, BOOTSTRAP]
    assert np.isnan(rows.loc[(KD_GAIN.name, ALL_TASKS), "low"])  # the comparisons do not cover CoLA
    text = describe_distillation(rows.reset_index())
    assert "On the 1 teacher task (RTE)" in text and "on 2 of 2 tasks (RTE, CoLA)." in text  # no significance count
    with pytest.raises(ValueError, match="expected the two files of one reproduction"):
        seed_distillation(seeds_table(), comparisons.assign(delta=2.5))


def test_the_cli_writes_the_reading_from_a_seeds_csv(tmp_path, capsys):
    folder = tmp_path / "results" / "quick"
    folder.mkdir(parents=True)
    seeds_table().to_csv(folder / "seeds.csv", index=False)
    argv = ["distillation", "--profile", "quick", "--from-seeds-csv", "--results", str(tmp_path / "results")]
    assert cli(argv) == 0
    md = (folder / "distillation.md").read_text()
    assert "Made by `python -m mtdnn_lite distillation --profile quick --from-seeds-csv --results" in md
    assert "the student keeps 50 % of the ensemble's gain" in md and "From the seed scores only" in md
    assert len(pd.read_csv(folder / "distillation.csv")) == len(seed_distillation(seeds_table()))
    capsys.readouterr()
    assert cli(["distillation", "--profile", "quick", "--from-seeds-csv", "--results", str(tmp_path)]) == 2
    assert "seeds.csv not found" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        write_from_results(get_profile("quick"), tmp_path, "a command")


def test_reproduce_writes_the_reading_from_its_runs(tiny_reproduction):
    out = tiny_reproduction["results"] / tiny_reproduction["profile"].name
    table = pd.read_csv(out / "distillation.csv")
    assert set(table.task) == {"RTE", "QNLI", "CoLA", TEACHER_TASKS, OTHER_TASKS, ALL_TASKS}
    assert (table.source == BOOTSTRAP).all() and (table.seeds == 2).all()
    deltas = table[table.quantity != KEPT_SHARE]
    assert ((deltas.low <= deltas.value + 1e-9) & (deltas.value <= deltas.high + 1e-9)).all()
    md = (out / "distillation.md").read_text()
    assert "Made by `python -m mtdnn_lite reproduce --profile tiny --seeds 2`" in md
    assert "## Teacher tasks" in md and "training seeds 0–1" in md
    seeds = pd.read_csv(out / "seeds.csv")
    assert set(seeds[seeds.stage == "teacher"].runs.dropna()) == {2}  # the mean of the 2 teachers
    from_seeds = seed_distillation(seeds).set_index(["quantity", "task"])  # the same values from seed scores alone
    from_runs = table.set_index(["quantity", "task"]).loc[from_seeds.index]
    assert len(from_seeds) == len(table)
    assert from_seeds.value.to_numpy() == pytest.approx(from_runs.value.to_numpy(), nan_ok=True)


def test_a_kept_share_without_an_interval_says_why():
    row = pd.Series({"value": 89.0, "low": np.nan, "high": np.nan, "source": BOOTSTRAP, "seeds": 1,
                     "verdict": "the ensemble's gain is above 0", "seed 0": 89.0})
    text = kept_share(row)
    assert text.startswith("89 % of the ensemble's gain (no interval: in some resamples") and "nan" not in text
