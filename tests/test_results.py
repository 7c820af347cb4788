"""Published numbers (parsed from the packaged list, checked against the GLUE score) and the results tables:
the long scores table, the papers' layout with its split row, and the CSV/Markdown files, on hand-made runs."""

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.experiments.runs import write_json
from mtdnn_lite.glue.metrics import glue_score
from mtdnn_lite.glue.tasks import GLUE_TASKS
from mtdnn_lite.reporting import published
from mtdnn_lite.reporting.models import parameter_counts
from mtdnn_lite.reporting.results import paper_layout, scores_table, stage_summary, write_tables

REPO = Path(__file__).resolve().parents[1]
SHARED_LIST = REPO.parent / "shared" / "paper_numbers.md"


# --- published numbers ------------------------------------------------------------------------------------------

def test_packaged_list_is_a_verbatim_copy_of_the_shared_one():
    if not SHARED_LIST.is_file():
        pytest.skip(f"{SHARED_LIST} not present")
    assert published.paper_numbers_text() == SHARED_LIST.read_text(encoding="utf-8")


def test_the_list_ships_with_the_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "paper_numbers.md" in config["tool"]["setuptools"]["package-data"]["mtdnn_lite"]


def test_published_glue_scores_equal_the_mean_of_the_published_cells():
    table = published.glue_test_table()
    checked = 0
    for row in table.itertuples():
        metrics = published.published_task_metrics(row.model)
        if all(task in metrics for task in GLUE_TASKS):
            assert round(glue_score(metrics), 1) == pytest.approx(row.GLUE), row.model
            checked += 1
    assert checked == 3  # BERT-large, MT-DNN, MT-DNN-ensemble


def test_every_published_number_carries_its_source_and_split():
    test = published.glue_test_table()
    assert set(test.split) == {"test server"} and test.source.str.len().gt(0).all()
    mtdnn = test[test.model == "MT-DNN"].iloc[0]
    assert mtdnn["MRPC F1/Acc"] == "91.1/88.2" and "Table 2" in mtdnn.source and mtdnn.GLUE == 82.7
    # the list notes which planning document cites a row: not a source a reader can follow, so not shown
    assert test[test.model == "MT-DNN-ensemble"].iloc[0].source == "GLUE leaderboard entry"
    kd = test[test.model == "MT-DNN-KD"].iloc[0]  # a published GLUE score, no checked per-task cells
    assert kd.GLUE == 83.7 and kd.CoLA == published.MISSING and "1904.09482" in kd.source

    dev = published.small_encoder_dev_table()
    assert set(dev.split) == {"dev"} and "same" not in set(dev.source)
    assert dev.set_index("model").loc["MiniLM-L6-H384", "params"] == "22M"

    scores = published.published_scores()
    assert not scores.source.isna().any() and not scores.split.isna().any()
    minilm = scores[(scores.model == "MiniLM-L6-H384") & (scores.task == "MRPC")]
    assert minilm[["metric", "value"]].values.tolist() == [["accuracy", 88.9]]
    distil = scores[(scores.model == "DistilBERT-base-uncased") & (scores.task == "STS-B")]
    assert distil.metric.tolist() == ["unstated"]  # the list does not say which metric: none is invented
    assert published.published_task_metrics("MT-DNN")["MNLI"] == {"accuracy_m": 86.7, "accuracy_mm": 86.0}
    assert "Liu et al. 2019, ACL version, Table 2" in published.published_markdown()


# --- hand-made runs ---------------------------------------------------------------------------------------------

def info(split: str, used: int, available: int, official: int | None) -> dict:
    return {"split": split, "rows_used": used, "rows": available, "official_rows": official,
            "proxy": split == "validation_proxy"}


DATA = {"CoLA": {"validation": info("validation", 64, 1043, 1043)},
        "MRPC": {"validation": info("validation", 408, 408, 408)},
        "STS-B": {"validation": info("validation", 1500, 1500, 1500)},
        "MNLI": {"validation_proxy": info("validation_proxy", 1000, 1000, None)},
        "RTE": {"validation": info("validation", 277, 277, 277)}}


def dev(task: str, base: float) -> dict:
    metrics = {"CoLA": {"mcc": base}, "MRPC": {"f1": base + 4.11, "accuracy": base},
               "STS-B": {"pearson": base, "spearman": base - 1}, "MNLI": {"accuracy": base},
               "RTE": {"accuracy": base}}[task]
    return {split: metrics for split in DATA[task]}


def fake_run(root: Path, stage: str, tasks, base: float, folder: str | None = None, profile: str = "quick",
             data: dict = DATA) -> Path:
    run = root / profile / stage / (folder if folder is not None else tasks[0])
    config = {"stage": stage, "profile": profile, "encoder": "minilm", "tasks": list(tasks)}
    if stage != "ensemble":  # as soft_targets.score_ensemble writes it: no training settings
        config["max_train"] = 2000
    write_json(run / "config.json", config)
    write_json(run / "data.json", {t: data[t] for t in tasks})
    first = {t: {s: {m: 0.0 for m in ms} for s, ms in dev(t, base).items()} for t in tasks}
    write_json(run / "metrics.json", [{"epoch": 1, "dev": first},  # only the last epoch counts
                                      {"epoch": 2, "dev": {t: dev(t, base) for t in tasks}}])
    write_json(run / "done.json", {"config_hash": "x"})
    return run


TASKS = ("CoLA", "MRPC", "STS-B", "MNLI", "RTE")


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for task in TASKS:
        fake_run(root, "st", [task], 80.0)
        fake_run(root, "refine", [task], 84.1)
    mtl = fake_run(root, "mtl", TASKS, 82.0, folder="")
    MTDNN(load_encoder("tiny"), TASKS).save(mtl / "model")
    for task in ("MNLI", "RTE"):
        for k in (1, 2, 3):
            fake_run(root, "teacher", [task], 85.0 + k / 10, folder=f"{task}/{k}")
        fake_run(root, "ensemble", [task], 86.0)
    fake_run(root, "student", TASKS, 85.0, folder="mtl")
    write_json(root / "quick" / "soft_targets" / "MNLI" / "done.json", {"config_hash": "y"})  # no dev scores
    return root


def test_scores_table_reads_the_final_epoch_with_rows_and_encoder(runs):
    table = scores_table(runs)
    assert set(table.stage) == {"st", "mtl", "refine", "teacher", "ensemble", "student"}  # not soft_targets
    assert (table.epoch == 2).all() and (table.encoder == "minilm").all()
    cola = table[(table.stage == "st") & (table.task == "CoLA")].iloc[0]
    assert (cola.rows, cola.rows_available, cola.official_rows, cola.value) == (64, 1043, 1043, 80.0)
    assert set(table[table.task == "MNLI"].split_label) == {"dev-proxy"}
    summary = stage_summary(table)
    assert list(summary.index) == ["st", "mtl", "refine", "teacher", "ensemble", "student"]
    assert summary.loc["teacher", "RTE"] == pytest.approx(85.2)  # the mean of teachers 85.1, 85.2, 85.3


def test_paper_layout_has_the_papers_rows_columns_and_cells(runs):
    layout = paper_layout(scores_table(runs))
    assert list(layout.columns) == ["system", "stage", "CoLA", "MRPC F1/Acc", "STS-B P/S", "MNLI", "RTE",
                                    "avg", "n", "profile", "encoder"]
    assert list(layout.system) == ["split", "Single-task baseline", "MT-DNN, no fine-tuning", "MT-DNN",
                                   "Teacher ensemble", "MT-DNN-KD"]
    rows = layout.set_index("system")
    assert rows.loc["split", "CoLA"] == "dev (64 of 1,043 rows)"
    assert rows.loc["split", "MRPC F1/Acc"] == "dev"
    assert rows.loc["split", "MNLI"] == "dev-proxy (1,000 rows held out of train)"
    assert rows.loc["MT-DNN", "MRPC F1/Acc"] == "88.2/84.1"
    assert rows.loc["MT-DNN", "STS-B P/S"] == "84.1/83.1"
    # the average of the task scores: MRPC (f1 + acc)/2, STS-B (P + S)/2
    st = [80.0, 80.0 + 4.11 / 2, 79.5, 80.0, 80.0]
    assert rows.loc["Single-task baseline", "avg"] == f"{sum(st) / 5:.1f}"
    assert rows.loc["Single-task baseline", "n"] == "5"
    ensemble = rows.loc["Teacher ensemble"]  # its two tasks only
    assert ensemble.CoLA == "–" and ensemble.MNLI == "86.0" and ensemble.avg == "86.0" and ensemble.n == "2"
    assert rows.loc["MT-DNN-KD", "stage"] == "student"
    assert set(layout.profile) == {"quick"} and set(layout.encoder) == {"minilm"}


def test_student_refine_is_preferred_and_missing_stages_are_left_out(tmp_path):
    root = tmp_path / "runs"
    fake_run(root, "st", ["RTE"], 70.0)
    layout = paper_layout(scores_table(root))
    assert list(layout.system) == ["split", "Single-task baseline"]
    fake_run(root, "student", ["RTE"], 71.0, folder="mtl")
    fake_run(root, "student_refine", ["RTE"], 72.0)
    rows = paper_layout(scores_table(root)).set_index("system")
    assert rows.loc["MT-DNN-KD", "stage"] == "student_refine" and rows.loc["MT-DNN-KD", "RTE"] == "72.0"


def test_mnli_with_both_dev_sets_is_shown_m_mm(tmp_path):
    data = {"MNLI": {"validation_matched": info("validation_matched", 9815, 9815, 9815),
                     "validation_mismatched": info("validation_mismatched", 9832, 9832, 9832)}}
    run = fake_run(tmp_path, "refine", ["MNLI"], 0.0, data=data)
    write_json(run / "metrics.json", [{"epoch": 1, "dev": {"MNLI": {"validation_matched": {"accuracy": 84.04},
                                                                    "validation_mismatched": {"accuracy": 84.52}}}}])
    layout = paper_layout(scores_table(tmp_path)).set_index("system")
    assert layout.loc["split", "MNLI m/mm"] == "dev-m/dev-mm"
    assert layout.loc["MT-DNN", "MNLI m/mm"] == "84.0/84.5" and layout.loc["MT-DNN", "avg"] == "84.3"


def test_several_profiles_need_a_choice(runs):
    fake_run(runs, "st", ["RTE"], 60.0, profile="tiny")
    table = scores_table(runs)
    with pytest.raises(ValueError, match="name the one"):
        paper_layout(table)
    assert list(paper_layout(table, "tiny").system) == ["split", "Single-task baseline"]


def test_write_tables_writes_csv_and_markdown_per_profile(runs, tmp_path):
    table = scores_table(runs)
    written = write_tables(table, tmp_path / "results")
    folder = tmp_path / "results" / "quick"
    assert sorted(written) == sorted(folder / n for n in ("glue_dev.csv", "glue_dev.md", "scores.csv"))
    csv = pd.read_csv(folder / "glue_dev.csv", dtype=str, keep_default_na=False)
    assert csv.equals(paper_layout(table).astype(str))
    assert len(pd.read_csv(folder / "scores.csv")) == len(table)
    md = (folder / "glue_dev.md").read_text()
    shared = parameter_counts(runs / "quick" / "mtl" / "model")["shared"]
    for text in ("profile `quick`", "`python -m mtdnn_lite reproduce --profile quick`", "`minilm`",
                 f"({shared:,})", "here MNLI", "up to 2,000 examples per task",
                 "runs 3 teacher models per task", "| split |  | dev (64 of 1,043 rows) |",
                 "| MT-DNN | refine | 84.1 | 88.2/84.1 |"):
        assert text in md, text
    assert "Not in this table" not in md  # every system has runs


def test_parameter_counts_match_the_model(tmp_path):
    model = MTDNN(load_encoder("tiny"), ["CoLA", "RTE"])
    model.save(tmp_path / "m")
    assert parameter_counts(tmp_path / "m") == model.parameter_counts()
