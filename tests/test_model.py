"""MTDNN: routing each batch to its task's head, its loss (hard, or hard + soft), training through the shared
encoder, save and load; loading a pretrained encoder quietly."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel

from mtdnn_lite.core import kd
from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.glue.tasks import GLUE_TASKS, TASKS, TaskType

B, T = 4, 12


def random_batch(task: str, seed: int = 0) -> dict:
    """A batch as the collate function makes it: two sentences, padding, labels of the task's kind."""
    torch.manual_seed(seed)
    info = TASKS[task]
    positions = torch.arange(T)
    attention_mask = (positions < torch.tensor([12, 9, 7, 5])[:, None]).long()
    token_type_ids = ((positions >= 3) & attention_mask.bool()).long()
    if info.type is TaskType.SIMILARITY:
        labels = torch.rand(B) * 5
    else:
        labels = torch.randint(info.num_labels, (B,))
    batch = {"task": task, "input_ids": torch.randint(1000, 2000, (B, T)) * attention_mask,
             "attention_mask": attention_mask, "token_type_ids": token_type_ids, "labels": labels,
             "idx": torch.arange(B)}
    if info.type is TaskType.RANKING:
        batch["labels"] = torch.tensor([0, 1, 1, 0])
        batch["group"] = torch.tensor([0, 0, 1, 2])
    return batch


@pytest.fixture(scope="module")
def model():
    return MTDNN(load_encoder("tiny"), GLUE_TASKS)


def test_every_task_trains_its_head_and_the_shared_encoder(model):
    model.train()
    for task in GLUE_TASKS:
        model.zero_grad(set_to_none=True)
        batch = random_batch(task)
        loss = model.loss(batch)
        loss.backward()
        assert loss.ndim == 0 and torch.isfinite(loss), task
        for name, p in [*model.head(task).named_parameters(), *model.encoder.embeddings.named_parameters()]:
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{task}: {name}"
        assert model.encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0, task
        others = [p for name in GLUE_TASKS if name != task for p in model.head(name).parameters()]
        assert all(p.grad is None for p in others), f"{task} reached another task's head"


def test_outputs_and_probabilities_by_task(model):
    model.eval()
    for task in GLUE_TASKS:
        batch, info = random_batch(task), TASKS[task]
        with torch.no_grad():
            probabilities = model.probabilities(batch)
        if info.is_regression:
            assert probabilities.shape == (B,), task
        else:
            assert probabilities.shape == (B, info.num_labels), task
            assert torch.allclose(probabilities.sum(-1), torch.ones(B), atol=1e-5), task


def test_unknown_task_is_a_clear_error(model):
    with pytest.raises(KeyError, match="no head for task 'XNLI'; its tasks are CoLA, SST-2"):
        model(random_batch("MNLI") | {"task": "XNLI"})
    mnli_only = MTDNN(load_encoder("tiny"), ["mnli"])
    assert mnli_only.tasks == ("MNLI",)
    with pytest.raises(KeyError, match="no head for task 'SST-2'; its tasks are MNLI"):
        mnli_only.loss(random_batch("SST-2"))


def test_parameter_counts(model):
    counts = model.parameter_counts()
    assert list(counts) == ["shared", *GLUE_TASKS]
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters())
    assert counts["CoLA"] == 32 * 2 + 2


@pytest.mark.parametrize("san", [True, False])
def test_save_load_round_trip_is_exact(tmp_path, san):
    original = MTDNN(load_encoder("tiny", seed=1), ["MNLI", "STS-B", "QNLI"], san=san).eval()
    original.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["tasks"] == ["MNLI", "STS-B", "QNLI"] and config["san"] is san
    loaded = MTDNN.load(tmp_path)
    assert not loaded.training and loaded.san is san
    expected, actual = original.state_dict(), loaded.state_dict()
    assert list(actual) == list(expected)
    assert all(torch.equal(actual[k], expected[k]) for k in expected)
    with torch.no_grad():
        for task in original.tasks:
            assert torch.equal(loaded(random_batch(task)), original(random_batch(task))), task


def test_load_needs_both_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json and model.safetensors"):
        MTDNN.load(tmp_path)


def test_the_model_takes_the_distillation_loss_where_a_batch_carries_soft_targets(model):
    """MTDNN.loss: the head's own loss on a batch without soft targets; kd.distillation_loss with the α and T
    given where the batch has them; and the same through forward (what the training loop calls)."""
    model.eval()  # no dropout: the same output on every call
    for task in ("RTE", "QNLI", "CoLA"):
        batch = random_batch(task)
        head = model.head(task)
        with torch.no_grad():
            assert torch.equal(model.loss(batch), head.loss(model(batch), batch))
            soft = batch | {"soft_targets": torch.softmax(torch.randn(B, TASKS[task].num_labels), -1)}
            expected = kd.distillation_loss(head, model(soft), soft, 0.3, 2.0)
            assert torch.equal(model.loss(soft, kd_weight=0.3, kd_temperature=2.0), expected), task
            assert torch.equal(model(soft, return_loss=True, kd_weight=0.3, kd_temperature=2.0), expected), task
            assert not torch.equal(expected, head.loss(model(soft), soft)), task


def test_loading_a_pretrained_encoder_prints_only_what_is_missing(tmp_path, capfd):
    """A checkpoint with a pooler (as MiniLM's has; MT-DNN builds none) loads without transformers' load report or
    its "Loading weights" bar; one that lacks a weight the encoder needs says so in one line."""
    config = BertConfig(vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16)
    BertModel(config).save_pretrained(tmp_path / "with_pooler")  # add_pooling_layer defaults to True
    BertModel(config, add_pooling_layer=False).save_pretrained(tmp_path / "incomplete")
    weights = tmp_path / "incomplete" / "model.safetensors"
    kept = {k: v for k, v in load_file(weights).items() if "layer.0." not in k or "LayerNorm" not in k}
    save_file(kept, weights, metadata={"format": "pt"})

    def printed() -> list[str]:
        """What loading wrote, line by line."""
        out, err = capfd.readouterr()
        return [line for line in re.split(r"[\r\n]", out + err) if line.strip()]

    printed()
    assert not [name for name, _ in load_encoder(str(tmp_path / "with_pooler")).named_parameters() if "pooler" in name]
    assert printed() == []
    load_encoder(str(tmp_path / "incomplete"))
    [line] = printed()
    assert line.startswith(f"warning: encoder {tmp_path / 'incomplete'}: 4 weight(s) missing from its checkpoint, "
                           "randomly initialised: encoder.layer.0.attention.output.LayerNorm.bias"), line
