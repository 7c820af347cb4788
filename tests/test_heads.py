"""The task-specific output layers, on a tiny random encoder and random tokens."""

import math

import pytest
import torch
import torch.nn.functional as F

from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.heads import ClassificationHead, RankingHead, SANHead, SimilarityHead, build_head
from mtdnn_lite.glue.tasks import TASKS

B, T, H = 4, 10, 32
LENGTHS = [10, 8, 7, 5]  # tokens per example; the rest is padding
FIRST = [4, 3, 4, 2]  # tokens of the first sentence, [CLS] and its [SEP] included


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("tiny")


@pytest.fixture
def inputs():
    torch.manual_seed(0)
    positions = torch.arange(T)
    attention_mask = (positions < torch.tensor(LENGTHS)[:, None]).long()
    token_type_ids = ((positions >= torch.tensor(FIRST)[:, None]) & attention_mask.bool()).long()
    input_ids = torch.randint(1000, 2000, (B, T)) * attention_mask
    return input_ids, attention_mask, token_type_ids


def run(head, encoder, inputs, labels, **batch):
    """The head's output and loss on the encoder's embeddings of `inputs`, after loss.backward()."""
    input_ids, attention_mask, token_type_ids = inputs
    encoder.zero_grad()
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask,
                     token_type_ids=token_type_ids).last_hidden_state
    output = head(hidden, attention_mask, token_type_ids)
    loss = head.loss(output, {"labels": labels, **batch})
    loss.backward()
    return output, loss


def assert_trains(head, encoder, loss):
    assert loss.ndim == 0 and torch.isfinite(loss)
    for name, p in [*head.named_parameters(), ("encoder word embeddings", encoder.embeddings.word_embeddings.weight)]:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def assert_distributions(probabilities, classes):
    assert probabilities.shape == (B, classes)
    assert torch.allclose(probabilities.sum(-1), torch.ones(B), atol=1e-6)


def test_classification_head(encoder, inputs):
    head = ClassificationHead(H, 3, dropout=0.1)
    output, loss = run(head, encoder, inputs, torch.tensor([0, 1, 2, 1]))
    assert_distributions(head.probabilities(output), 3)
    assert_trains(head, encoder, loss)


def test_similarity_head(encoder, inputs):
    head = SimilarityHead(H, dropout=0.1)
    labels = torch.tensor([0.0, 1.5, 4.0, 5.0])
    output, loss = run(head, encoder, inputs, labels)
    assert output.shape == (B,) and torch.equal(head.probabilities(output), output)
    assert torch.allclose(loss, ((output - labels) ** 2).mean())
    assert_trains(head, encoder, loss)


def test_san_head_averages_five_steps(encoder, inputs):
    head = SANHead(H, 3, dropout=0.1).eval()
    output, loss = run(head, encoder, inputs, torch.tensor([0, 1, 2, 1]))
    assert_distributions(head.probabilities(output), 3)
    assert_trains(head, encoder, loss)
    _, attention_mask, token_type_ids = inputs
    hidden = torch.randn(B, T, H)
    steps = head.step_probabilities(hidden, attention_mask, token_type_ids)
    assert steps.shape == (B, 5, 3)  # K = 5 predictions, P_r^0 … P_r^4
    assert torch.allclose(steps.sum(-1), torch.ones(B, 5), atol=1e-6)
    output = head(hidden, attention_mask, token_type_ids)
    assert torch.allclose(output.exp(), steps.mean(1), atol=1e-6)  # inference: P_r = avg of all K
    assert torch.equal(output, head(hidden, attention_mask, token_type_ids))  # and deterministic


def test_san_head_reads_only_its_memories(inputs):
    head = SANHead(H, 3, dropout=0.1).eval()
    _, attention_mask, token_type_ids = inputs
    hidden = torch.randn(B, T, H)
    output = head(hidden, attention_mask, token_type_ids)
    padding = ~attention_mask.bool()
    assert torch.equal(output, head(hidden + 5 * padding[..., None], attention_mask, token_type_ids))
    hypothesis = token_type_ids.bool()
    assert not torch.allclose(output, head(hidden + hypothesis[..., None], attention_mask, token_type_ids))


def test_san_prediction_dropout_in_training(inputs):
    head = SANHead(H, 3, dropout=0.0, prediction_dropout=0.5).train()  # no memory dropout: only steps drop
    _, attention_mask, token_type_ids = inputs
    hidden = torch.randn(B, T, H)
    steps = head.step_probabilities(hidden, attention_mask, token_type_ids)
    subsets = torch.tensor([[(mask >> k) & 1 for k in range(5)] for mask in range(1, 32)], dtype=torch.bool)
    subset_averages = (steps[:, None] * subsets[None, :, :, None]).sum(2) / subsets.sum(1)[None, :, None]
    torch.manual_seed(0)
    outputs = [head(hidden, attention_mask, token_type_ids).exp() for _ in range(20)]
    for P in outputs:  # each example averages a non-empty subset of its steps
        assert ((P[:, None] - subset_averages).abs().amax(-1) < 1e-6).any(1).all()
    assert any(not torch.allclose(P, steps.mean(1)) for P in outputs)
    assert any(not torch.allclose(P, outputs[0]) for P in outputs)


def test_ranking_head_trains(encoder, inputs):
    head = RankingHead(H, dropout=0.1)
    output, loss = run(head, encoder, inputs, torch.tensor([0, 1, 1, 0]), group=torch.tensor([3, 3, 5, 6]))
    g = torch.sigmoid(output)  # the output is the relevance logit z of g = sigmoid(z)
    assert output.shape == (B,) and ((0 < g) & (g < 1)).all()
    assert_distributions(head.probabilities(output), 2)
    assert torch.equal(head.probabilities(output)[:, 0], g)  # column 0 is "entailment": g
    assert_trains(head, encoder, loss)


def test_ranking_loss_by_hand():
    head = RankingHead(H, dropout=0.0, gamma=2.0)
    g = torch.tensor([0.3, 0.8, 0.6, 0.2, 0.9, 0.4])  # the head's output is z = logit(g)
    batch = {"labels": torch.tensor([1, 0, 0, 1, 0, 0]), "group": torch.tensor([7, 7, 9, 4, 4, 4])}
    # question 7: two candidates, the second one the answer: −log P_r(A^+|Q) = −log softmax(γ g)[1]
    listwise = -math.log(math.exp(2 * 0.8) / (math.exp(2 * 0.3) + math.exp(2 * 0.8)))
    # question 9: a single candidate, and question 4: two answers: binary cross-entropy of each example
    pointwise = [-math.log(0.6), -math.log(1 - 0.2), -math.log(0.9), -math.log(0.4)]
    expected = (listwise + sum(pointwise)) / 5
    assert head.loss(torch.logit(g), batch).item() == pytest.approx(expected, rel=1e-6)
    singleton = {"labels": torch.tensor([1]), "group": torch.tensor([0])}
    assert head.loss(torch.logit(torch.tensor([0.3])), singleton).item() == pytest.approx(-math.log(0.7), rel=1e-6)
    pair = {"labels": torch.tensor([0, 1]), "group": torch.tensor([2, 2])}
    expected = -F.log_softmax(2 * torch.tensor([0.3, 0.8]), 0)[0]
    assert head.loss(torch.logit(torch.tensor([0.3, 0.8])), pair).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("san", [True, False])
def test_build_head_follows_task_type(san, inputs):
    pairwise = SANHead if san else ClassificationHead
    expected = {"CoLA": ClassificationHead, "SST-2": ClassificationHead, "STS-B": SimilarityHead,
                "QNLI": RankingHead, **{name: pairwise for name in ("MNLI", "RTE", "WNLI", "QQP", "MRPC")}}
    _, attention_mask, token_type_ids = inputs
    for name, task in TASKS.items():
        head = build_head(task, H, san)
        assert type(head) is expected[name], name
        assert head.dropout.p == task.dropout
        output = head(torch.randn(B, T, H), attention_mask, token_type_ids)
        assert output.shape == ((B,) if type(head) in (SimilarityHead, RankingHead) else (B, task.num_labels))


@pytest.mark.parametrize("name", list(TASKS))
def test_log_probabilities_are_the_log_of_probabilities(name, inputs):
    """One contract: log_probabilities(output) is log P of the distribution probabilities(output) gives."""
    task = TASKS[name]
    if task.is_regression:
        pytest.skip("a regression has no class probabilities")
    _, attention_mask, token_type_ids = inputs
    head = build_head(task, H).eval()
    output = head(torch.randn(B, T, H), attention_mask, token_type_ids)
    log_p = head.log_probabilities(output)
    assert log_p.shape == (B, task.num_labels) and torch.isfinite(log_p).all()
    assert torch.allclose(log_p.exp(), head.probabilities(output), atol=1e-6)
    assert_distributions(log_p.exp(), task.num_labels)


def test_log_probabilities_stay_finite_where_probabilities_underflow(inputs):
    _, attention_mask, token_type_ids = inputs
    z = torch.tensor([200.0, -200.0, 0.0, 30.0])  # sigmoid(±200) is 1 or 0 in float32
    log_p = RankingHead(H, dropout=0.0).log_probabilities(z)
    assert torch.isfinite(log_p).all() and log_p[0, 1].item() == pytest.approx(-200.0)
    head = SANHead(H, 3, dropout=0.0).eval()
    with torch.no_grad():
        head.W_3.weight.mul_(1e4)  # confident steps: some P_r^k of exactly 0
        output = head(torch.randn(B, T, H), attention_mask, token_type_ids)
    assert (head.probabilities(output) == 0).any() and torch.isfinite(head.log_probabilities(output)).all()
