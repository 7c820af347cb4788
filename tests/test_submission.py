"""GLUE test-server files on a small copy of the real test sets: names, header, one row per example, the
prediction format of each task, the zip, and every missing task named (never silently dropped)."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.reporting.models import finished_models, model_dir
from mtdnn_lite.reporting.submission import format_predictions, write_submission

ROWS = 7  # test rows kept per task
COPIED = {"CoLA": ("train.tsv", "dev.tsv", "test.tsv"), "STS-B": ("train.tsv", "dev.tsv", "test.tsv"),
          "RTE": ("train.tsv", "dev.tsv", "test.tsv"), "QNLI": ("train.tsv", "dev.tsv", "test.tsv"),
          "SST-2": ("train.tsv", "dev.tsv"), "diagnostic": ("diagnostic.tsv",)}  # SST-2: no test file


@pytest.fixture(scope="module")
def small_glue(glue_dir, tmp_path_factory) -> Path:
    """The first rows of a few tasks' files; MNLI, QQP, MRPC and WNLI absent."""
    root = tmp_path_factory.mktemp("glue")
    for folder, names in COPIED.items():
        (root / folder).mkdir()
        for name in names:
            lines = (glue_dir / folder / name).read_text(encoding="utf-8").split("\n")
            (root / folder / name).write_text("\n".join(lines[:ROWS + 1]) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("run") / "model"
    MTDNN(load_encoder("tiny"), ["CoLA", "STS-B", "RTE", "QNLI", "MNLI"]).save(path)
    return path.parent  # a run folder: the model is in <run>/model


@pytest.fixture(scope="module")
def submission(small_glue, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("submission")
    runs = {task: model for task in ("CoLA", "STS-B", "RTE", "QNLI", "MNLI", "SST-2")}
    with pytest.warns(UserWarning) as caught:
        result = write_submission(runs, out, get_profile("tiny"), small_glue)
    return out, result, [str(w.message) for w in caught]


def read(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_every_test_set_present_is_written_in_the_official_format(submission, small_glue):
    out, result, _ = submission
    assert set(result["files"]) == {"CoLA", "STS-B", "RTE", "QNLI", "AX"}
    allowed = {"CoLA": {"0", "1"}, "RTE": {"entailment", "not_entailment"},
               "QNLI": {"entailment", "not_entailment"}, "AX": {"entailment", "neutral", "contradiction"}}
    for stem in result["files"]:
        rows = read(out / f"{stem}.tsv")
        assert rows[0] == ["index", "prediction"]
        assert len(rows) == ROWS + 1 == result["files"][stem] + 1
        source = small_glue / ("diagnostic/diagnostic.tsv" if stem == "AX" else f"{stem}/test.tsv")
        ids = [line.split("\t")[0] for line in source.read_text().splitlines()[1:]]
        assert [r[0] for r in rows[1:]] == ids  # index = the test file's own index, in order
        predictions = [r[1] for r in rows[1:]]
        if stem == "STS-B":
            assert all(0.0 <= float(p) <= 5.0 for p in predictions)
        else:
            assert set(predictions) <= allowed[stem]


def test_the_zip_holds_the_files_at_its_root(submission):
    out, result, _ = submission
    with zipfile.ZipFile(result["zip"]) as z:
        assert sorted(z.namelist()) == sorted(f"{stem}.tsv" for stem in result["files"])
        assert z.read("RTE.tsv").decode() == (out / "RTE.tsv").read_text()


def test_missing_and_partial_test_sets_are_named_and_warned(submission):
    out, result, warned = submission
    assert set(result["missing"]) == {"SST-2", "MRPC", "QQP", "MNLI-m", "MNLI-mm", "WNLI"}
    assert result["missing"]["SST-2"] == "no SST-2 test split in the data"
    assert result["missing"]["MNLI-m"] == "no MNLI test_matched split in the data"
    assert set(result["partial"]) == set(result["files"])  # 7 rows of each official test set
    readme = result["readme"].read_text()
    for stem in (*result["missing"], *result["files"]):
        assert f"{stem}.tsv" in readme
        assert any(f"{stem}.tsv" in w for w in warned)


def test_a_task_without_a_model_is_missing_and_a_model_without_the_head_is_an_error(small_glue, model, tmp_path):
    with pytest.warns(UserWarning) as caught:
        result = write_submission({"STS-B": model}, tmp_path / "a", get_profile("tiny"), small_glue)
    assert any("no RTE.tsv (no model given for RTE)" in str(w.message) for w in caught)
    assert result["missing"]["RTE"] == "no model given for RTE"
    assert result["missing"]["AX"] == "no model given for MNLI"
    other = tmp_path / "cola_only"
    MTDNN(load_encoder("tiny"), ["CoLA"]).save(other)
    with pytest.raises(ValueError, match="no RTE head"):
        write_submission({"RTE": other}, tmp_path / "b", get_profile("tiny"), small_glue)


def test_prediction_formats():
    assert format_predictions("STS-B", np.array([-0.4, 2.5, 7.0])) == ["0.000", "2.500", "5.000"]
    assert format_predictions("MNLI", np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])) == ["contradiction", "entailment"]
    assert format_predictions("QNLI", np.array([[0.3, 0.7]])) == ["not_entailment"]
    assert format_predictions("WNLI", np.array([[0.3, 0.7]])) == ["1"]
    assert format_predictions("SST-2", np.array([[0.9, 0.1]])) == ["0"]


def test_model_dir_accepts_a_run_or_a_model_folder(model, tmp_path):
    assert model_dir(model) == model / "model" and model_dir(model / "model") == model / "model"
    with pytest.raises(FileNotFoundError, match="no saved model"):
        model_dir(tmp_path)


def test_finished_models_prefer_the_first_stage_with_the_task(tmp_path):
    def run(path: Path, tasks) -> Path:
        MTDNN(load_encoder("tiny"), tasks).save(path / "model")
        (path / "done.json").write_text("{}")
        return path

    root = tmp_path / "runs"
    run(root / "tiny" / "refine" / "RTE", ["RTE"])
    run(root / "tiny" / "refine" / "CoLA", ["CoLA"])
    run(root / "tiny" / "student", ["RTE", "MNLI"])
    (root / "tiny" / "student_refine" / "CoLA").mkdir(parents=True)  # unfinished: no done.json
    assert finished_models(root, "tiny") == {"CoLA": root / "tiny" / "refine" / "CoLA",
                                             "RTE": root / "tiny" / "student", "MNLI": root / "tiny" / "student"}
    assert finished_models(root, "tiny", stages=("refine",)) == {"CoLA": root / "tiny" / "refine" / "CoLA",
                                                                 "RTE": root / "tiny" / "refine" / "RTE"}
