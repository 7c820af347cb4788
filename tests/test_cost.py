"""The inference cost of a student against a teacher ensemble, on tiny models: the structure of the result
(timings are noisy, so no ratio is asserted)."""

import datasets
import pytest

from mtdnn_lite.core.encoder import load_encoder, load_tokenizer
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.glue.data import glue_features
from mtdnn_lite.glue.features import encode
from mtdnn_lite.glue.tasks import get_task
from mtdnn_lite.reporting.cost import cost_markdown, inference_cost, write_cost

N = 24


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cost")
    for name, seed in (("student", 0), ("teacher0", 1), ("teacher1", 2)):
        MTDNN(load_encoder("tiny", seed), ["RTE"]).save(root / name / "model")  # run folders
    rows = {"sentence1": [f"the cat number {i} sat on the mat" for i in range(N)],
            "sentence2": [f"a cat sat {'not ' * (i % 3)}on a mat" for i in range(N)],
            "label": [i % 2 for i in range(N)], "idx": list(range(N))}
    tokenizer = load_tokenizer("tiny")
    split = datasets.Dataset.from_dict(rows, features=glue_features(get_task("RTE")))
    return root, encode("RTE", split, tokenizer, 32), tokenizer.pad_token_id


def test_inference_cost_reports_both_sides(setup, tmp_path):
    root, encoded, pad = setup
    cost = inference_cost(root / "student", [root / "teacher0", root / "teacher1"], "RTE", encoded, pad,
                          repeats=2, batch_size=8, precision="bf16")
    assert {"task", "examples", "batch_size", "repeats", "precision", "device", "torch_threads", "student", "ensemble",
            "ensemble_over_student"} <= set(cost)
    assert cost["task"] == "RTE" and cost["examples"] == N and cost["batch_size"] == 8 and cost["device"]
    assert cost["student"]["models"] == 1 and cost["ensemble"]["models"] == 2
    for side in ("student", "ensemble"):
        numbers = cost[side]
        assert len(numbers["times"]) == 2 and all(t > 0 for t in numbers["times"])
        assert numbers["seconds"] > 0 and numbers["examples_per_second"] > 0
        assert numbers["seconds_per_1000"] == pytest.approx(1000 / numbers["examples_per_second"])
    assert cost["ensemble_over_student"] > 0

    written = write_cost([cost], tmp_path)
    assert [p.name for p in written] == ["inference_cost.json", "inference_cost.md"]
    assert cost["precision"] == "bf16"
    assert f"| RTE | 24 | {cost['device']} | bf16 | {cost['torch_threads']} |" in cost_markdown([cost])


def test_inference_cost_refuses_bad_inputs(setup):
    root, encoded, pad = setup
    with pytest.raises(ValueError, match="at least one teacher"):
        inference_cost(root / "student", [], "RTE", encoded, pad)
    with pytest.raises(KeyError, match="no head for task"):
        inference_cost(root / "student", [root / "teacher0"], "CoLA", encoded, pad, repeats=1)
