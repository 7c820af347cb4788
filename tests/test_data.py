"""GLUE loading (mtdnn_lite.glue.glue_files, mtdnn_lite.glue.data) against the shared GLUE copy and damaged copies of it;
a task's prepared data (experiments.taskdata), kept once per value of the data settings (experiments.pipeline)."""

import dataclasses
import shutil
import typing
import warnings

import datasets
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.profiles import DataSettings, Profile, get_profile
from mtdnn_lite.experiments.taskdata import prepare_task
from mtdnn_lite.glue.data import (
    OFFICIAL_ROWS,
    eval_splits,
    fingerprint,
    glue_features,
    load_glue,
    split_info,
    split_label,
)
from mtdnn_lite.glue.glue_files import read_split, read_tsv
from mtdnn_lite.glue.tasks import AX, GLUE_TASKS, get_task

# Rows per split of the shared copy (MANIFEST.md), with the default 1000-row dev proxy held out of train
# where there is no dev file: MNLI 9999 - 1000; QQP 23497 - 1 malformed - 1000.
EXPECTED_ROWS = {
    "CoLA": {"train": 8551, "validation": 1043, "test": 1063},
    "SST-2": {"train": 67349, "validation": 872, "test": 1821},
    "MRPC": {"train": 3668, "validation": 408, "test": 1725},
    "STS-B": {"train": 5749, "validation": 1500, "test": 1379},
    "QQP": {"train": 22496, "validation_proxy": 1000},
    "MNLI": {"train": 8999, "validation_proxy": 1000},
    "QNLI": {"train": 9999, "validation": 5463, "test": 5463},
    "RTE": {"train": 2490, "validation": 277, "test": 3000},
    "WNLI": {"train": 635, "validation": 71, "test": 146},
    "AX": {"test": 1104},
}
PARTIAL = {("QQP", "train"), ("MNLI", "train"), ("QNLI", "train")}


@pytest.fixture(scope="module")
def load(glue_dir):
    """load(task) -> (DatasetDict, warnings raised while loading it), each task read once per module."""
    cache = {}

    def _load(task):
        if task not in cache:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cache[task] = load_glue(task, glue_dir), [str(w.message) for w in caught]
        return cache[task]
    return _load


@pytest.fixture
def rte_copy(glue_dir, tmp_path):
    """A GLUE directory in tmp_path holding a copy of RTE only, to damage."""
    shutil.copytree(glue_dir / "RTE", tmp_path / "RTE")
    return tmp_path


def edit_lines(path, edit):
    """Rewrite a file with edit(list of its lines)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    edit(lines)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("task", [*GLUE_TASKS, "AX"])
def test_row_counts_of_every_split(load, task):
    dsd, _ = load(task)
    assert {name: len(ds) for name, ds in dsd.items()} == EXPECTED_ROWS[task]
    for name, ds in dsd.items():
        info = split_info(ds)
        assert info["rows"] == len(ds) and info["task"] == get_task(task).name and info["split"] == name
        assert ds.features == glue_features(get_task(task))


@pytest.mark.parametrize("task", [*GLUE_TASKS, "AX"])
def test_partial_splits_are_flagged_and_warned(load, task):
    dsd, caught = load(task)
    name = get_task(task).name
    for split in dsd:
        info = split_info(dsd[split])
        assert info["partial"] == ((name, split) in PARTIAL)
        assert info["official_rows"] == OFFICIAL_ROWS[name].get(split)
    partial_warnings = [m for m in caught if "is partial" in m]
    if (name, "train") in PARTIAL:
        assert len(partial_warnings) == 1 and partial_warnings[0].startswith(f"{name} train is partial")
    else:
        assert partial_warnings == []


def test_malformed_qqp_row_is_skipped_and_reported(glue_dir, load):
    with pytest.warns(UserWarning, match=r"QQP/train\.tsv line 2: skipped a malformed row \(5 .*expected 6\)"):
        read = read_split(glue_dir, get_task("QQP"), "train")
    assert len(read.columns["idx"]) == 23496
    dsd, caught = load("QQP")
    assert any("QQP/train.tsv line 2" in m for m in caught)
    assert split_info(dsd["train"])["skipped_rows"] == [
        {"file": str(glue_dir.resolve() / "QQP" / "train.tsv"), "line": 2,
         "reason": "5 tab-separated fields, expected 6"}]
    assert split_info(dsd["validation_proxy"])["skipped_rows"] == []


def test_mrpc_bom_is_stripped(glue_dir, load):
    assert read_tsv(glue_dir / "MRPC" / "train.tsv").header[0] == "Quality"
    dsd, _ = load("MRPC")
    for split in ("train", "validation"):
        assert set(dsd[split]["label"]) == {0, 1}
    assert dsd["train"][0]["sentence1"].startswith("Amrozi accused his brother")
    assert dsd["train"]["idx"][:3] == [0, 1, 2]  # no index column: the row number


def test_cola_headerless_train_and_dev(load):
    dsd, _ = load("CoLA")
    first = dsd["train"][0]
    assert first == {"sentence": "Our friends won't buy this analysis, let alone the next one we propose.",
                     "label": 1, "idx": 0}
    assert dsd["validation"][0]["sentence"] == "The sailors rode the breeze clear of the rocks."
    assert dsd["test"][0] == {"sentence": "Bill whistled past the house.", "label": -1, "idx": 0}


@pytest.mark.parametrize("task", [t for t in GLUE_TASKS if t != "STS-B"] + ["AX"])
def test_class_labels_are_ints_in_range(load, task):
    dsd, _ = load(task)
    n = get_task(task).num_labels
    for name, ds in dsd.items():
        labels = set(ds["label"])
        if name.startswith("test"):
            assert labels == {-1}
        else:
            assert labels <= set(range(n)) and all(type(x) is int for x in labels)


def test_stsb_labels_are_floats_in_0_5(load):
    dsd, _ = load("STS-B")
    for name in ("train", "validation"):
        labels = dsd[name]["label"]
        assert all(isinstance(x, float) and 0.0 <= x <= 5.0 for x in labels)
    assert dsd["train"][0]["label"] == 5.0
    assert set(dsd["test"]["label"]) == {-1.0}


def test_labels_by_name_follow_the_hub_order(load):
    mnli, _ = load("MNLI")
    assert mnli["train"][0]["label"] == 0  # gold_label "entailment"
    rte, _ = load("RTE")
    assert rte["train"][0]["label"] == 1  # "not_entailment"
    qqp, _ = load("QQP")
    assert qqp["train"]["idx"][0] != 0  # QQP's own id column


def test_dev_proxy_is_deterministic_disjoint_and_configurable(glue_dir, load):
    dsd, _ = load("MNLI")
    train_ids, proxy_ids = set(dsd["train"]["idx"]), set(dsd["validation_proxy"]["idx"])
    assert not train_ids & proxy_ids and len(train_ids | proxy_ids) == 9999
    info = split_info(dsd["validation_proxy"])
    assert (info["proxy"], info["proxy_of"], info["proxy_seed"], info["partial"]) == (True, "train", 0, False)
    assert split_info(dsd["train"])["proxy_seed"] == 0
    assert eval_splits(dsd) == ["validation_proxy"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = load_glue("MNLI", glue_dir)
        other = load_glue("MNLI", glue_dir, seed=1)
        small = load_glue("MNLI", glue_dir, dev_proxy_size=50)
        with pytest.raises(ValueError, match="dev_proxy_size=9999: expected 1 to 9998"):
            load_glue("MNLI", glue_dir, dev_proxy_size=9999)
    assert again["validation_proxy"]["idx"] == dsd["validation_proxy"]["idx"]
    assert fingerprint(again["train"]) == fingerprint(dsd["train"])
    assert set(other["validation_proxy"]["idx"]) != proxy_ids
    assert fingerprint(other["validation_proxy"]) != fingerprint(dsd["validation_proxy"])
    assert (len(small["train"]), len(small["validation_proxy"])) == (9949, 50)


def test_metadata_survives_select_and_map(load):
    ds = load("RTE")[0]["validation"]
    info = split_info(ds)
    assert info["source"].startswith("glue_dir:") and info["file"].endswith("RTE/dev.tsv")
    derived = ds.select(range(10)).map(lambda e: {"n": len(e["sentence1"])})
    assert split_info(derived) == info
    assert fingerprint(derived) == fingerprint(ds.select(range(10)))  # added columns do not count
    assert fingerprint(derived) != fingerprint(ds)


def test_split_labels_and_eval_splits(load):
    assert [split_label(s) for s in ("train", "validation", "validation_matched", "validation_mismatched",
                                     "validation_proxy", "test")] == [
        "train", "dev", "dev-m", "dev-mm", "dev-proxy", "test"]
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        split_label("dev")
    assert eval_splits(load("RTE")[0]) == ["validation"]
    assert eval_splits(load("AX")[0]) == []


def test_glue_dir_from_environment(rte_copy, monkeypatch):
    monkeypatch.setenv("GLUE_DIR", str(rte_copy))
    assert split_info(load_glue("RTE")["train"])["source"] == f"glue_dir:{rte_copy.resolve()}"


def test_missing_files(rte_copy, tmp_path):
    (rte_copy / "RTE" / "dev.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"expected .*RTE/dev\.tsv \(GLUE TSV layout"):
        read_split(rte_copy, get_task("RTE"), "validation")
    dsd = load_glue("RTE", rte_copy)  # a missing dev file: a dev proxy instead
    assert {k: len(v) for k, v in dsd.items()} == {"train": 1490, "validation_proxy": 1000, "test": 3000}
    (rte_copy / "RTE" / "train.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"expected .*RTE/train\.tsv"):
        load_glue("RTE", rte_copy)
    with pytest.raises(FileNotFoundError, match=r"no CoLA folder: expected .*/CoLA"):
        load_glue("CoLA", tmp_path)


def test_bad_label_names_file_line_and_expected_values(rte_copy):
    def misspell(lines):
        lines[4] = lines[4].rsplit("\t", 1)[0] + "\tentailmnet"
    edit_lines(rte_copy / "RTE" / "train.tsv", misspell)
    with pytest.raises(ValueError, match=r"RTE/train\.tsv line 5, field 'label': bad value 'entailmnet'; "
                                         r"expected one of entailment, not_entailment"):
        load_glue("RTE", rte_copy)


def test_many_truncated_rows_are_an_error(rte_copy):
    def truncate(lines):
        for i in range(1, 101):
            lines[i] = lines[i].rsplit("\t", 1)[0]
    edit_lines(rte_copy / "RTE" / "train.tsv", truncate)
    with pytest.raises(ValueError, match=r"RTE/train\.tsv: 100 of 2490 rows have the wrong number of fields"):
        load_glue("RTE", rte_copy)


def test_missing_column_lists_the_header(rte_copy):
    def rename_label(lines):
        lines[0] = "index\tsentence1\tsentence2\tlbl"
    edit_lines(rte_copy / "RTE" / "dev.tsv", rename_label)
    with pytest.raises(ValueError, match=r"RTE/dev\.tsv: no column 'label' .*header found: 'index', 'sentence1'"):
        load_glue("RTE", rte_copy)


def hub_like(rows: Dataset, task: str) -> Dataset:
    """`rows` as the hub would give them (its dtypes differ a little: idx int64 here)."""
    feats = Features({**glue_features(get_task(task)), "idx": Value("int64")})
    return Dataset.from_dict(rows.to_dict(), features=feats)


def test_hub_path_gives_the_same_schema(load, monkeypatch):
    rte, _ = load("RTE")
    hub = DatasetDict({s: hub_like(rte[s].select(range(5)), "RTE") for s in ("train", "validation", "test")})
    calls = []
    monkeypatch.delenv("GLUE_DIR", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: calls.append(args) or hub)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dsd = load_glue("rte")
    assert [str(w.message).split(",")[0] for w in caught] == [
        f"RTE {s} is partial: 5 rows" for s in ("train", "validation", "test")]
    assert calls == [("nyu-mll/glue", "rte")]
    assert list(dsd) == ["train", "validation", "test"]
    for split, ds in dsd.items():
        assert ds.features == rte[split].features
        assert fingerprint(ds) == fingerprint(rte[split].select(range(5)))
        info = split_info(ds)
        assert (info["source"], info["file"], info["rows"], info["partial"]) == ("hub:nyu-mll/glue", None, 5, True)
    assert isinstance(dsd["train"].features["label"], ClassLabel) and dsd["test"]["label"] == [-1] * 5


def test_hub_mnli_keeps_its_dev_splits(monkeypatch):
    texts = {"premise": ["a", "b"], "hypothesis": ["c", "d"], "idx": [0, 1]}
    hub = DatasetDict({s: Dataset.from_dict({**texts, "label": [0, 2] if "test" not in s else [-1, -1]},
                                            features=glue_features(get_task("MNLI")))
                       for s in OFFICIAL_ROWS["MNLI"]})
    monkeypatch.delenv("GLUE_DIR", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: hub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dsd = load_glue("MNLI")
    assert list(dsd) == list(OFFICIAL_ROWS["MNLI"])
    assert eval_splits(dsd) == ["validation_matched", "validation_mismatched"]
    assert [split_label(s) for s in eval_splits(dsd)] == ["dev-m", "dev-mm"]


def test_ax_has_test_only_and_uses_mnli_labels(load):
    dsd, _ = load("AX")
    assert list(dsd) == ["test"] and dsd["test"].features["label"].names == list(AX.label_names)
    assert dsd["test"][0]["premise"] == "The cat sat on the mat."


def test_prepare_task_reads_the_data_settings_alone(glue_dir):
    assert typing.get_type_hints(prepare_task)["settings"] is DataSettings
    settings = get_profile("tiny", max_train=8, max_eval=8).data_settings()
    assert type(settings) is DataSettings  # none of the profile's other fields: reading one would fail here
    data = prepare_task("RTE", settings, glue_dir)
    assert len(data.train) == 8 and len(data.evals["validation"]) == 8
    assert max(data.train["length"]) <= settings.max_length


def another(name: str, value):
    """A value of setting `name`'s type other than `value`."""
    if value is None:
        return {"max_train": 7, "max_eval": 7, "lr_mtl": 1.0, "teacher_dropouts": (0.1,)}[name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 7
    return {"encoder": "minilm"}.get(name, value[:1] if isinstance(value, tuple) else value + "x")


def test_the_data_cache_key_is_the_data_settings(tmp_path, monkeypatch):
    """A new value of any data setting prepares the data anew; of any other setting, reuses them."""
    prepared = []
    monkeypatch.setattr(pipeline, "prepare_task", lambda task, settings, glue_dir: prepared.append(settings) or settings)
    tiny = get_profile("tiny")
    first = pipeline.task_data("RTE", tiny, tmp_path)
    data_fields = [f.name for f in dataclasses.fields(DataSettings)]
    for name in data_fields:
        pipeline.task_data("RTE", tiny.override(**{name: another(name, getattr(tiny, name))}), tmp_path)
    assert len(prepared) == 1 + len(data_fields) and all(type(s) is DataSettings for s in prepared)
    for name in (f.name for f in dataclasses.fields(Profile) if f.name not in data_fields):
        assert pipeline.task_data("RTE", tiny.override(**{name: another(name, getattr(tiny, name))}), tmp_path) is first
    assert len(prepared) == 1 + len(data_fields)
