"""The pretrained folder (core/pretrained.py): save_pretrained and from_pretrained round trip, a folder of another
format version or an incomplete one refused in one line, a hub repo id fetched by snapshot_download (mocked: no
network here), and predict on good and bad input (`python -m mtdnn_lite predict`: one line, exit code 2)."""

import json
import shutil

import pytest
import torch
from huggingface_hub.errors import LocalEntryNotFoundError

from mtdnn_lite import MTDNN, predict_texts
from mtdnn_lite.__main__ import cli
from mtdnn_lite.core import pretrained
from mtdnn_lite.core.encoder import load_encoder, load_tokenizer

TASKS = ["RTE", "STS-B", "QNLI", "CoLA", "MNLI"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("pretrained") / "model"
    model = MTDNN(load_encoder("tiny", seed=3), TASKS, readout="mean", tokenizer=load_tokenizer("tiny"),
                  max_length=32)
    model.save_pretrained(path)
    return path


def one_line_error(capsys, argv) -> str:
    capsys.readouterr()
    assert cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err


def test_the_folder_holds_everything_and_loads_to_the_same_model(folder):
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "mtdnn_lite" and config["format_version"] == pretrained.FORMAT_VERSION
    assert [h["task"] for h in config["heads"]] == TASKS and config["max_length"] == 32
    assert config["heads"][0] == {"task": "RTE", "kind": "SANHead", "num_labels": 2,
                                  "label_names": ["entailment", "not_entailment"]}
    assert {"model.safetensors", "tokenizer.json", "README.md"} <= {p.name for p in folder.iterdir()}
    loaded = MTDNN.from_pretrained(folder)
    original = MTDNN(load_encoder("tiny", seed=3), TASKS, readout="mean")
    assert not loaded.training and loaded.tasks == tuple(TASKS) and loaded.readout == "mean"
    assert loaded.max_length == 32 and loaded.tokenizer("a b")["input_ids"] == load_tokenizer("tiny")("a b")["input_ids"]
    for (name, a), b in zip(loaded.state_dict().items(), original.state_dict().values()):
        assert torch.equal(a, b), name


def test_predict_texts_gives_labels_probabilities_and_scores(folder):
    model = MTDNN.from_pretrained(folder)
    texts = [{"sentence1": "A man sleeps.", "sentence2": "Nobody sleeps."}] * 3
    pair = predict_texts(model, "RTE", texts, precision="float32")
    assert len(pair) == 3 and pair[0] == pair[2] and set(pair[0]["probabilities"]) == {"entailment", "not_entailment"}
    assert sum(pair[0]["probabilities"].values()) == pytest.approx(1, abs=1e-6)
    # auto: bf16 where the CPU computes it natively, whose 8-bit mantissa leaves the sum within about 1 %
    assert sum(predict_texts(model, "RTE", texts)[0]["probabilities"].values()) == pytest.approx(1, abs=1e-2)
    assert pair[0]["label"] == max(pair[0]["probabilities"], key=pair[0]["probabilities"].get)
    [score] = predict_texts(model, "stsb", [{"sentence1": "A man sleeps.", "sentence2": "A man is asleep."}])
    assert set(score) == {"score"} and isinstance(score["score"], float)
    with pytest.raises(KeyError, match="no head for task 'SST-2'"):
        predict_texts(model, "SST-2", [{"sentence": "fine"}])
    with pytest.raises(ValueError, match="example 1: field 'sentence2' is missing"):
        predict_texts(model, "RTE", [{"sentence1": "a", "sentence2": "b"}, {"sentence1": "a"}])


@pytest.mark.parametrize("damage, expected", [
    ("truncate weights", r"model\.safetensors: [\d,]+ bytes, expected [\d,]+ bytes as config\.json records"),
    ("drop tokenizer", r"tokenizer\.json: missing, expected [\d,]+ bytes"),
    ("drop config", r"no config\.json; expected a folder written by MTDNN\.save_pretrained"),
    ("truncate config", r"config\.json: not valid JSON"),
    ("version 2", r"field 'format_version' is 2 \(written by mtdnn_lite 9\.0\), this mtdnn_lite .* reads "
                  r"format_version 1"),
    ("drop field", r"config\.json: missing field\(s\) max_length"),
    ("other head", r"field 'heads' has .*ClassificationHead.*this mtdnn_lite builds .*SANHead"),
    ("unknown task", r"field 'heads' has \[\{'task': 'RTEE'.*expected one entry per task head"),
    ("other weights", r"model\.safetensors: does not fit config\.json \(.*Missing key"),
])
def test_a_damaged_or_foreign_folder_is_refused_in_one_line(folder, tmp_path, capsys, damage, expected):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "config.json").read_text())
    if damage == "truncate weights":
        data = (copy / "model.safetensors").read_bytes()
        (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif damage == "drop tokenizer":
        (copy / "tokenizer.json").unlink()
    elif damage == "drop config":
        (copy / "config.json").unlink()
    elif damage == "truncate config":
        (copy / "config.json").write_text((copy / "config.json").read_text()[:100])
    elif damage == "other weights":  # another model's weights, of a size the config records
        MTDNN(load_encoder("tiny"), ["RTE"], tokenizer=load_tokenizer("tiny"), max_length=32).save_pretrained(
            tmp_path / "other")
        shutil.copy(tmp_path / "other" / "model.safetensors", copy / "model.safetensors")
        config["files"]["model.safetensors"] = (copy / "model.safetensors").stat().st_size
        (copy / "config.json").write_text(json.dumps(config))
    else:
        if damage == "version 2":
            config |= {"format_version": 2, "mtdnn_lite_version": "9.0"}
        elif damage == "drop field":
            del config["max_length"]
        elif damage == "unknown task":
            config["heads"][0]["task"] = "RTEE"
        else:
            config["heads"][0]["kind"] = "ClassificationHead"
        (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises((ValueError, FileNotFoundError), match=expected):
        MTDNN.from_pretrained(copy)
    (tmp_path / "ex.jsonl").write_text('{"sentence1": "a", "sentence2": "b"}\n')
    assert str(copy) in one_line_error(capsys, ["predict", str(copy), "--task", "RTE", str(tmp_path / "ex.jsonl")])


def test_a_hub_repo_id_is_fetched_by_snapshot_download(folder, monkeypatch):
    calls = []

    def snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        if repo_id == "someone/missing":
            raise LocalEntryNotFoundError("Cannot find the requested files in the disk cache.")
        return str(folder)

    monkeypatch.setattr(pretrained, "snapshot_download", snapshot_download)
    model = MTDNN.from_pretrained("someone/mtdnn-rte", revision="v1", token=False)
    assert model.tasks == tuple(TASKS)
    assert calls == [("someone/mtdnn-rte", {"force_download": False, "token": False, "cache_dir": None,
                                            "local_files_only": False, "revision": "v1"})]
    with pytest.raises(FileNotFoundError, match="someone/missing: no such folder, and no model of that name on the "
                                                "Hugging Face hub \\(LocalEntryNotFoundError"):
        MTDNN.from_pretrained("someone/missing")


def test_saving_needs_the_tokenizer(tmp_path):
    with pytest.raises(ValueError, match="save_pretrained needs the model's tokenizer and max_length"):
        MTDNN(load_encoder("tiny"), ["RTE"]).save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / "config.json").exists()


def test_predict_reads_tsv_jsonl_and_stdin(folder, tmp_path, capsys, monkeypatch):
    import io

    (tmp_path / "ex.tsv").write_text("idx\tpremise\thypothesis\n0\tA man sleeps.\tNobody sleeps.\n"
                                     "1\tA dog runs.\tAn animal moves.\n")
    (tmp_path / "ex.jsonl").write_text('{"premise": "A man sleeps.", "hypothesis": "Nobody sleeps."}\n'
                                       '{"premise": "A dog runs.", "hypothesis": "An animal moves.", "idx": 1}\n')
    outputs = []
    for source in ("ex.tsv", "ex.jsonl", "-"):
        monkeypatch.setattr("sys.stdin", io.StringIO((tmp_path / "ex.jsonl").read_text()))
        capsys.readouterr()
        assert cli(["predict", str(folder), "--task", "MNLI", str(tmp_path / source) if source != "-" else "-",
                    "--precision", "float32"]) == 0
        outputs.append([json.loads(line) for line in capsys.readouterr().out.splitlines()])
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0]) == 2
    assert set(outputs[0][0]["probabilities"]) == {"entailment", "neutral", "contradiction"}


@pytest.mark.parametrize("task, text, expected", [
    ("RTE", "sentence1\tsentence2\nA man sleeps.\n", "ex line 2: field 'sentence2' is missing (RTE needs "
                                                   "sentence1 and sentence2)"),
    ("RTE", '{"sentence1": "A man sleeps."}\n', "ex line 1: field 'sentence2' is missing"),
    ("RTE", '{"sentence1": "A", "sentence2": ""}\n', "ex line 1: field 'sentence2' is empty"),
    ("RTE", '{"sentence1": "A", "sentence2": "B"}\n{"sentence1": "A", \n', "ex line 2: not a JSON object"),
    ("RTE", "", "ex: no examples"),
    ("RTE", "sentence1\tsentence2\n", "ex: no examples"),
    ("RTE", "premise\thypothesis\nA\tB\n", "ex line 1 (header): no column 'sentence1', 'sentence2'; RTE needs"),
    ("RTE", "sentence1\tsentence2\nA\tB\tC\n", "ex line 2: 3 tab-separated fields, the header has 2"),
    ("WNLI", '{"sentence1": "A", "sentence2": "B"}\n', "this MTDNN has no head for task 'WNLI'; its tasks are"),
    ("RTEE", '{"sentence1": "A", "sentence2": "B"}\n', "unknown GLUE task 'RTEE'"),
])
def test_bad_input_is_one_line_naming_the_line_and_field(folder, tmp_path, capsys, task, text, expected):
    (tmp_path / "ex").write_text(text)
    error = one_line_error(capsys, ["predict", str(folder), "--task", task, str(tmp_path / "ex")])
    assert expected in error


def test_a_task_missing_from_an_export_is_named(folder, tmp_path, capsys):
    shutil.copytree(folder, tmp_path / "export" / "RTE")
    (tmp_path / "ex.jsonl").write_text('{"sentence": "fine"}\n')
    error = one_line_error(capsys, ["predict", str(tmp_path / "export"), "--task", "CoLA", str(tmp_path / "ex.jsonl")])
    assert "no model for CoLA" in error and "this one holds RTE" in error
