"""What notebooks 03 and 06 show, on hand-made data: the sampler's epoch tables and padding (batching), the
learning curves from metrics.json (history), the per-system scores, averages and the published side by side
(scoreboard), and that their figures draw (training_plots, score_plots)."""

import random
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest
from datasets import Dataset

from mtdnn_lite.experiments.runs import config_hash, read_json, write_json
from mtdnn_lite.reporting import scoreboard
from mtdnn_lite.reporting.results import scores_table
from mtdnn_lite.views import batching, history, score_plots, training_plots

matplotlib.use("Agg")


# --- batching ---------------------------------------------------------------------------------------------------

def task(n: int, seed: int, groups: bool = False) -> SimpleNamespace:
    rng = random.Random(seed)
    columns = {"length": [rng.randint(5, 120) for _ in range(n)]}
    if groups:
        columns["group"] = [i // 2 for i in range(n)]  # two candidate sentences per question
    return SimpleNamespace(train=Dataset.from_dict(columns))


DATA = {"CoLA": task(320, 0), "RTE": task(96, 1), "QNLI": task(160, 2, groups=True)}


def test_plan_table_lays_epochs_end_to_end_with_each_batch_once_per_epoch():
    batches = batching.task_batches(DATA, 32, seed=0)
    per_epoch = sum(map(len, batches.values()))
    lengths = {t: d.train["length"] for t, d in DATA.items()}
    plan = batching.plan_table(batches, seed=0, steps=per_epoch + 5, lengths=lengths)
    assert list(plan.step) == list(range(1, per_epoch + 6))
    assert (plan.epoch == 1).sum() == per_epoch and (plan.epoch == 2).sum() == 5
    first = plan[plan.epoch == 1]
    assert first.task.value_counts().to_dict() == {t: len(b) for t, b in batches.items()}
    assert first.groupby("task").examples.sum().to_dict() == {t: len(d.train) for t, d in DATA.items()}
    assert (plan.tokens >= plan.examples * 5).all()


def test_expected_shares_per_option():
    shares = batching.expected_shares({"A": 1000, "B": 100}, batch_size=10, temperature=2.0)
    assert shares.groupby("sampling").share.sum().round(6).eq(100).all()
    by = shares.set_index(["sampling", "task"]).share
    assert by["algorithm1", "A"] == pytest.approx(100 * 100 / 110)  # batches: 100 and 10
    assert by["proportional", "A"] == pytest.approx(100 * 1000 / 1100)
    assert by["uniform", "A"] == by["uniform", "B"] == pytest.approx(50)
    assert by["proportional", "B"] < by["temperature", "B"] < by["uniform", "B"]


def test_sampling_shares_draws_one_epoch_per_option():
    batches = batching.task_batches(DATA, 32, seed=0)
    shares = batching.sampling_shares(batches, seed=0)
    assert set(shares.sampling) == {"algorithm1", "proportional", "temperature", "uniform"}
    steps = sum(map(len, batches.values()))
    assert shares.groupby("sampling").steps.sum().eq(steps).all()
    algorithm1 = shares[shares.sampling == "algorithm1"].set_index("task")
    assert (algorithm1.drawn - algorithm1.share).abs().max() < 1e-9  # every batch exactly once
    assert (algorithm1.examples_seen == algorithm1.examples).all()


def test_length_grouping_pads_less_than_random_batches():
    table = batching.padding_comparison(DATA, 32, seed=0)
    assert set(table.batching) == {"length-grouped (pack_batches)", "random"}
    total = table[table.task == "all tasks"].set_index("batching")
    assert total.loc["length-grouped (pack_batches)", "padding (%)"] < total.loc["random", "padding (%)"] / 2
    assert (total["real tokens"].nunique(), total["examples"].nunique()) == (1, 1)  # the same data, batched two ways
    per_task = table[table.task != "all tasks"]
    assert (per_task["computed tokens"] == per_task["real tokens"] + per_task["padding tokens"]).all()


# --- hand-made runs ---------------------------------------------------------------------------------------------

INFO = {"CoLA": {"validation": {"rows_used": 64, "rows": 1043, "official_rows": 1043}},
        "MNLI": {"validation_proxy": {"rows_used": 1000, "rows": 1000, "official_rows": None}},
        "RTE": {"validation": {"rows_used": 277, "rows": 277, "official_rows": 277}}}
METRIC = {"CoLA": "mcc", "MNLI": "accuracy", "RTE": "accuracy"}


def run(root: Path, stage: str, tasks, scores: list[float], folder: str, init: str = "encoder:tiny",
        losses: bool = True) -> Path:
    """A finished run: one epoch per score, every task scored `scores[epoch]` on its split."""
    directory = root / "tiny" / folder
    config = {"stage": stage, "profile": "tiny", "encoder": "tiny", "tasks": list(tasks), "init": init,
              "folder": folder}
    write_json(directory / "config.json", {**config, "config_hash": config_hash(config)})
    write_json(directory / "data.json", {t: INFO[t] for t in tasks})
    history_ = []
    for epoch, score in enumerate(scores, 1):
        entry = {"epoch": epoch, "dev": {t: {s: {METRIC[t]: score} for s in INFO[t]} for t in tasks}}
        if losses:
            entry = {"epoch": epoch, "train_loss": {t: 1.0 / epoch for t in tasks}, **entry}
        history_.append(entry)
    write_json(directory / "metrics.json", history_)
    write_json(directory / "done.json", {"config_hash": config_hash(config), "epochs": len(scores)})
    return directory


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    tasks = ("CoLA", "MNLI", "RTE")
    for t in tasks:
        run(root, "st", [t], [40.0, 50.0], f"st/{t}")
    mtl = run(root, "mtl", tasks, [45.0, 55.0], "mtl")
    parent = f"mtl:{read_json(mtl / 'done.json')['config_hash']}"  # as pipeline.run_refine names its init
    for t in tasks:
        run(root, "refine", [t], [60.0], f"refine/{t}", init=parent)
    for t in ("MNLI", "RTE"):
        run(root, "ensemble", [t], [65.0], f"ensemble/{t}", losses=False)
    return root


def test_learning_curves_count_epochs_from_the_pretrained_encoder(runs):
    curves = history.learning_curves(runs / "tiny")
    assert set(curves.stage) == {"st", "mtl", "refine"}  # the ensemble has no training loss
    refine = curves[(curves.stage == "refine") & (curves.task == "RTE")].iloc[0]
    assert (refine.epoch, refine.epochs_before, refine.epoch_total) == (1, 2, 3)
    assert refine.starts_from == str(runs / "tiny" / "mtl")
    mnli = curves[(curves.stage == "mtl") & (curves.task == "MNLI")]
    assert mnli.split.tolist() == ["dev-proxy", "dev-proxy"] and mnli.score.tolist() == [45.0, 55.0]
    assert mnli.train_loss.tolist() == [1.0, 0.5] and (mnli.rows == 1000).all()
    assert list(dict.fromkeys(curves.task)) == ["CoLA", "MNLI", "RTE"]  # GLUE's order
    assert history.learning_curves(runs / "tiny", tasks=["RTE"], stages=["st"]).run.nunique() == 1


def test_stage_scores_name_every_split(runs):
    table = scores_table(runs / "tiny")
    scores = scoreboard.stage_scores(table)
    assert list(dict.fromkeys(scores.stage)) == ["st", "mtl", "refine", "ensemble"]
    cola = scores[(scores.stage == "st") & (scores.task == "CoLA")].iloc[0]
    assert (cola.score, cola.split, cola.split_note) == (50.0, "dev, 64 rows", "dev (64 of 1,043 rows)")
    assert scores[scores.task == "MNLI"].split.iloc[0] == "dev-proxy, 1000 rows"
    matrix = scoreboard.score_matrix(scores)
    assert matrix.shape == (4, 3) and pd.isna(matrix.loc["teacher ensemble (ensemble)", "CoLA"])
    diff = scoreboard.stage_differences(scores)
    assert diff.loc["RTE", "refine − st"] == 10.0 and diff.loc["average", "mtl − st"] == 5.0


def test_averages_say_why_they_are_not_a_glue_score(runs):
    means = scoreboard.averages(scoreboard.stage_scores(scores_table(runs / "tiny"))).set_index("stage")
    assert means.loc["refine", "average"] == 60.0 and means.loc["ensemble", "tasks"] == 2
    assert not means["GLUE score?"].any()
    why = means.loc["st", "why not"]
    assert "3 of the 9 tasks" in why and "dev-proxy for MNLI" in why and "part of the dev set for CoLA" in why


def test_missing_stages_and_the_published_side_by_side(runs):
    table = scores_table(runs / "tiny")
    missing = scoreboard.missing_stages(table, ["CoLA", "MNLI", "RTE"]).set_index("stage")
    assert list(missing.index) == ["student", "student_refine"]  # the ensemble exists for its tasks
    beside = scoreboard.beside_published(table, "tiny")
    assert beside.loc["MNLI", "split (this kit)"].startswith("dev-proxy")
    assert beside.loc["MNLI", "MT-DNN [test server]"] == "86.7/86.0 (m/mm)"
    assert beside.loc["MRPC", "MiniLM-L6-H384 [dev]"] == "88.9 (acc)"
    assert beside.loc["SST-2", "MT-DNN [this kit]"] == "not run"
    assert beside.loc["GLUE score / avg", "MT-DNN [test server]"] == "82.7"
    assert beside.loc["GLUE score / avg", "MT-DNN [this kit]"] == "60.0 (avg of 3)"
    published_only = scoreboard.beside_published(table.iloc[:0])
    assert not any("[this kit]" in c for c in published_only.columns)


def test_load_scores_falls_back_on_scores_csv(runs, tmp_path):
    table, source = scoreboard.load_scores(runs, "tiny", ["RTE"])
    assert set(table.task) == {"RTE"} and "finished runs" in source
    results = tmp_path / "results"
    (results / "tiny").mkdir(parents=True)
    scores_table(runs / "tiny").to_csv(results / "tiny" / "scores.csv", index=False)
    table, source = scoreboard.load_scores(tmp_path / "nothing", "tiny", None, results)
    assert "scores.csv" in source and len(scoreboard.stage_scores(table)) == 11
    table, source = scoreboard.load_scores(tmp_path / "nothing", "tiny")
    assert table.empty and source.startswith("nothing")


# --- figures ----------------------------------------------------------------------------------------------------

def test_the_figures_draw_with_their_titles(runs):
    batches = batching.task_batches(DATA, 32, seed=0)
    scores = scoreboard.stage_scores(scores_table(runs / "tiny"))
    curves = history.learning_curves(runs / "tiny")
    figures = {
        "sequence": training_plots.plot_task_sequence(batching.plan_table(batches, 0, steps=40), "sequence"),
        "shares": training_plots.plot_sampling_shares(batching.sampling_shares(batches, 0).assign(data="drawn"),
                                                      "shares"),
        "padding": training_plots.plot_padding(batching.padding_comparison(DATA, 32, 0), "padding"),
        "loss": training_plots.plot_learning_curves(curves, "loss", value="train_loss"),
        "score": training_plots.plot_learning_curves(curves, "score"),
        "bars": score_plots.plot_task_scores(scores, "bars"),
        "heatmap": score_plots.plot_score_heatmap(scoreboard.score_matrix(scores), "heatmap", splits={"CoLA": "dev"}),
    }
    for title, fig in figures.items():
        texts = [fig._suptitle.get_text()] if fig._suptitle else []
        texts += [ax.get_title() for ax in fig.axes]
        assert title in texts, f"{title}: no title"
        matplotlib.pyplot.close(fig)


def test_show_gives_the_source_of_the_core():
    from mtdnn_lite.core.sampler import epoch_plan
    from mtdnn_lite.views.source import show

    code = show(epoch_plan, batching.plan_table)
    assert code.data.startswith("def epoch_plan(") and "\n\ndef plan_table(" in code.data
    assert "<span class=\"nf\">epoch_plan</span>" in code._repr_html_()  # highlighted in a notebook
