"""A trained system out of the kit: `export` writes one pretrained folder per task and a model card made from the
results; a fresh Python process with no runs folder loads them and gets the dev probabilities the runs stored
(exactly in float32, within BF16_TOLERANCE under bf16 autocast); the card's numbers are those of results/<profile>."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from huggingface_hub import ModelCard

from mtdnn_lite.__main__ import cli, main
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.runs import read_json, read_predictions
from mtdnn_lite.glue.tasks import get_task
from mtdnn_lite.reporting.models import final_run

pytestmark = pytest.mark.xdist_group("tiny_export_reproduction")  # the session's tiny reproduction: one worker

BF16_TOLERANCE = {"probabilities": 0.02, "score": 0.05}
"""Largest difference from the float32 predictions allowed under bf16 autocast (8 bits of mantissa: about 0.4 % per
operation): on class probabilities, and on an STS-B score (0–5)."""

FRESH_PROCESS = """
import json, sys
from mtdnn_lite import MTDNN, predict_texts

export, examples = sys.argv[1], json.loads(open(sys.argv[2]).read())
out = {}
for task, rows in examples.items():
    model = MTDNN.from_pretrained(f"{export}/{task}")
    out[task] = {p: predict_texts(model, task, rows, precision=p) for p in ("float32", "bf16")}
print(json.dumps(out))
"""


def offline_env() -> dict:
    """The environment of a user's process: no GLUE directory, no hub."""
    env = {k: v for k, v in os.environ.items() if k != "GLUE_DIR"}
    return env | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture(scope="module")
def exported(tiny_export_reproduction, tmp_path_factory):
    """MT-DNN-KD exported from the session's tiny reproduction by the command line."""
    out = tmp_path_factory.mktemp("export") / "mt-dnn-kd"
    r = tiny_export_reproduction
    assert main(["export", "--profile", "tiny", "--tasks", *r["profile"].tasks, "--system", "mt-dnn-kd",
                 "--runs", str(r["runs"]), "--results", str(r["results"]), str(out)]) == 0
    return out


def dev_examples(reproduction, glue_dir) -> dict[str, tuple[str, list[dict], list[dict]]]:
    """{task: (split, its dev examples as the hub's columns, MT-DNN-KD's stored predictions of them)}."""
    profile, found = reproduction["profile"], {}
    for task in profile.tasks:
        data = pipeline.task_data(task, profile, glue_dir)
        split = next(s for s in data.raw if s != "train")
        rows = [{field: r[field] for field in get_task(task).text_fields} for r in data.raw[split]]
        run = final_run(reproduction["runs"] / profile.name, "student_refine", task)
        found[task] = (split, rows, read_predictions(run, task, split))
    return found


def values(task: str, answers: list[dict]) -> np.ndarray:
    return np.array([a["score"] if get_task(task).is_regression else list(a["probabilities"].values())
                     for a in answers])


def test_a_fresh_process_with_the_folder_alone_predicts_what_the_runs_stored(exported, tiny_export_reproduction, glue_dir,
                                                                              tmp_path):
    elsewhere = tmp_path / "user"
    shutil.copytree(exported, elsewhere / "model")  # nothing beside it: no runs, no results, no GLUE
    for path in (elsewhere / "model").rglob("*.json"):
        assert str(tiny_export_reproduction["runs"]) not in path.read_text(), path  # the folder names no run
    examples = dev_examples(tiny_export_reproduction, glue_dir)
    (elsewhere / "examples.json").write_text(json.dumps({t: rows for t, (_, rows, _) in examples.items()}))
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, "model", "examples.json"], cwd=elsewhere,
                          env=offline_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    for task, (split, rows, stored) in examples.items():
        expected = np.array([r["probabilities"] for r in stored])
        assert values(task, got[task]["float32"]).tolist() == expected.tolist(), f"{task} {split}: not exact"
        kind = "score" if get_task(task).is_regression else "probabilities"
        assert np.abs(values(task, got[task]["bf16"]) - expected).max() <= BF16_TOLERANCE[kind], task
        if not get_task(task).is_regression:
            names = get_task(task).label_names
            assert [a["label"] for a in got[task]["float32"]] == [names[r["prediction"]] for r in stored]


def test_the_cli_predicts_a_tsv_from_stdin_in_a_fresh_process(exported, tiny_export_reproduction, glue_dir):
    split, rows, stored = dev_examples(tiny_export_reproduction, glue_dir)["RTE"]
    tsv = "sentence1\tsentence2\n" + "".join(f"{r['sentence1']}\t{r['sentence2']}\n" for r in rows)
    done = subprocess.run([sys.executable, "-m", "mtdnn_lite", "predict", str(exported), "--task", "rte", "-",
                           "--precision", "float32"], input=tsv, env=offline_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert values("RTE", answers).tolist() == [r["probabilities"] for r in stored]


def card_table(card: ModelCard, heading: str) -> pd.DataFrame:
    """The Markdown table under `heading` of the card's body."""
    lines = card.text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    table = [line for line in lines if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    return pd.DataFrame(cells[2:], columns=cells[0])


def test_the_card_numbers_are_those_of_the_results(exported, tiny_export_reproduction):
    results = tiny_export_reproduction["results"] / "tiny"
    card = ModelCard.load(exported / "README.md")
    scores = pd.read_csv(results / "scores.csv")
    kd = scores[scores.stage == "student_refine"]
    assert len(card.data.eval_results) == len(kd)
    for r in card.data.eval_results:
        task = r.dataset_name.removeprefix("GLUE ")
        split = "validation_proxy" if r.dataset_split == "train" else r.dataset_split
        row = kd[(kd.task == task) & (kd.split == split)]
        metric = {"matthews_correlation": "mcc", "pearsonr": "pearson", "spearmanr": "spearman"}.get(
            r.metric_type, r.metric_type)
        assert r.metric_value == row[row.metric == metric].value.item()
        assert ("dev-proxy" in r.metric_name) == (split == "validation_proxy")
    comparisons = pd.read_csv(results / "comparisons.csv")
    shown = card_table(card, "Against the other systems")
    expected = comparisons[comparisons.comparison == "MT-DNN-KD − MT-DNN"]
    assert list(shown.task) == list(expected.task)
    assert [float(d) for d in shown["Δ"]] == [round(d, 1) for d in expected.delta]
    costs = json.loads((results / "inference_cost.json").read_text())
    cost = card_table(card, "Inference cost")
    assert list(cost["ensemble ÷ this model, time"]) == [f"{c['ensemble_over_student']:.2f}×" for c in costs]
    data = card_table(card, "Training data")
    runs = tiny_export_reproduction["runs"] / "tiny" / "student_refine"
    for row in data.itertuples():
        assert row[2].startswith(f"{read_json(runs / row.task / 'data.json')[row.task]['train']['rows_used']:,} of")


def test_the_card_names_dev_proxies_and_tasks_below_their_majority_floor(exported, tiny_export_reproduction):
    card, runs = (exported / "README.md").read_text(), tiny_export_reproduction["runs"] / "tiny" / "student_refine"
    limitations = card.split("## Limitations\n", 1)[1]
    assert "MNLI is scored on a dev-proxy" in limitations and "RTE is scored on a dev-proxy" not in limitations
    for task in ("MNLI", "RTE"):
        split = "validation_proxy" if task == "MNLI" else "validation"
        stored = read_predictions(runs / task, task, split)
        floor = max(Counter(r["label"] for r in stored).values()) / len(stored)
        accuracy = np.mean([r["label"] == r["prediction"] for r in stored])
        assert (f"{task} (dev" in limitations) == (accuracy < floor - 1e-12), task
    assert "at most 64 examples per task" in limitations and "tiny randomly initialised" in limitations


def test_each_system_exports_and_an_export_is_replaced_only_by_another(tiny_export_reproduction, tmp_path, capsys):
    r = tiny_export_reproduction
    common = ["--profile", "tiny", "--tasks", *r["profile"].tasks, "--runs", str(r["runs"]), "--results",
              str(r["results"])]
    for system, comparison in (("mt-dnn", "MT-DNN − single-task"), ("single-task", "MT-DNN − single-task")):
        out = tmp_path / system
        assert main(["export", *common, "--system", system, str(out)]) == 0
        assert sorted(p.name for p in out.iterdir()) == ["MNLI", "README.md", "RTE", "STS-B"]
        card = ModelCard.load(out / "README.md")
        assert comparison in card.text and "## Inference cost" not in card.text
        assert json.loads((out / "RTE" / "config.json").read_text())["heads"][0]["task"] == "RTE"
    assert main(["export", *common, "--system", "mt-dnn", str(tmp_path / "mt-dnn")]) == 0  # replaces the export
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert cli(["export", *common, "--system", "mt-dnn", str(tmp_path / "mine")]) == 2
    assert "is not an export" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert cli(["export", "--profile", "tiny", "--tasks", *r["profile"].tasks, "--runs", str(tmp_path / "none"),
                "--system", "mt-dnn", str(tmp_path / "x")]) == 2
    assert "no finished mt-dnn run for MNLI, RTE, STS-B" in capsys.readouterr().err


def test_a_card_is_refused_for_results_that_are_not_those_of_the_runs(exported, tiny_export_reproduction, tmp_path):
    from mtdnn_lite.reporting.export import export_system

    r = tiny_export_reproduction
    results = tmp_path / "results"
    shutil.copytree(r["results"], results)
    scores = pd.read_csv(results / "tiny" / "scores.csv")
    scores.loc[(scores.stage == "refine") & (scores.task == "RTE"), "value"] += 1.0
    scores.to_csv(results / "tiny" / "scores.csv", index=False)
    with pytest.raises(ValueError, match="RTE validation accuracy .* the results are not those of these runs"):
        export_system(r["profile"], "mt-dnn", r["runs"], results, tmp_path / "out")
    assert not (tmp_path / "out").exists()
