"""The task-specific output layers of MT-DNN (section 3), one for each task type.

Every head reads the shared encoder's contextual embeddings `hidden` (Float[B,T,H]) and has one contract:
- `forward(hidden, attention_mask, token_type_ids)`: its output, what the two methods below read: the logits
  (ClassificationHead), log P_r (SANHead), the relevance logit z with g = sigmoid(z) (RankingHead), or the
  score (SimilarityHead);
- `log_probabilities(output)`: log P Float[B,C], computed in log space, so exact and finite with no clamping
  (every head with classes; the distillation loss, kd.py, reads it);
- `probabilities(output)`: P = exp(log P) Float[B,C], what predictions are read from (for the regression of
  SimilarityHead, which has no classes, the score Float[B]);
- `loss(output, batch)`: its training loss against batch["labels"].

In the equations, x is the sequence's summary vector, read off `hidden` by `readout`: MT-DNN's x is the
contextual embedding of the [CLS] token, hidden[:, 0] (``readout="cls"``, the default); ``readout="mean"``
averages the real tokens instead, as sentence encoders such as all-MiniLM-L6-v2 were trained to be read
(a named departure of the quick profile, see the README).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..glue.tasks import Task, TaskType

READOUTS = ("cls", "mean")


def readout(hidden: Tensor, attention_mask: Tensor, kind: str = "cls") -> Tensor:
    """The summary x of each sequence, Float[B,H].

        cls:   x = h_[CLS] = hidden[:, 0]
        mean:  x = Σ_t m_t h_t / Σ_t m_t      (m: the attention mask, 1 on real tokens)
    """
    if kind == "cls":
        return hidden[:, 0]
    if kind == "mean":
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)
    raise ValueError(f"readout {kind!r}: expected one of {', '.join(READOUTS)}")


class ClassificationHead(nn.Module):
    """Single-sentence classification (CoLA, SST-2); also pairwise classification when SAN is off.

        P_r(c|X) = softmax(W_SST^T · x)
    """

    def __init__(self, hidden: int, num_labels: int, dropout: float, readout: str = "cls"):
        super().__init__()
        self.readout = readout  # how x is read off the encoder: see readout()
        self.dropout = nn.Dropout(dropout)
        self.W = nn.Linear(hidden, num_labels)  # W_SST

    def forward(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        x = self.dropout(readout(hidden, attention_mask, self.readout))
        return self.W(x)  # W_SST^T · x: the logits, Float[B,C]

    def log_probabilities(self, output: Tensor) -> Tensor:
        return output.log_softmax(-1)  # log P_r(c|X) = log softmax(W_SST^T · x)

    def probabilities(self, output: Tensor) -> Tensor:
        return output.softmax(-1)  # P_r(c|X) = softmax(W_SST^T · x)

    def loss(self, output: Tensor, batch: dict) -> Tensor:
        return F.cross_entropy(output, batch["labels"])  # −log P_r(c*|X), averaged over the batch


class SimilarityHead(nn.Module):
    """Text similarity regression (STS-B): a real-valued score, no activation, mean squared error.

        Sim(X_1, X_2) = w_STS^T · x
    """

    def __init__(self, hidden: int, dropout: float, readout: str = "cls"):
        super().__init__()
        self.readout = readout
        self.dropout = nn.Dropout(dropout)
        self.w = nn.Linear(hidden, 1)  # w_STS

    def forward(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        x = self.dropout(readout(hidden, attention_mask, self.readout))
        return self.w(x).squeeze(-1)  # Sim(X_1, X_2) = w_STS^T · x, Float[B]

    def probabilities(self, output: Tensor) -> Tensor:
        return output  # a regression has no classes: the score itself

    def loss(self, output: Tensor, batch: dict) -> Tensor:
        return F.mse_loss(output, batch["labels"].float())  # (Sim(X_1, X_2) − y)², averaged


def attend(scores: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
    """Σ_j a_j M_j with a_j = softmax_j(scores_j), over the positions j where mask is True: Float[B,H]."""
    a = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    return torch.einsum("bt,bth->bh", a, memory)


class SANHead(nn.Module):
    """Pairwise text classification (MNLI, RTE, WNLI, QQP, MRPC): the stochastic answer network (SAN).

    Rather than predicting once from [CLS], SAN reasons in K steps: a state s, started from a summary of
    the hypothesis, reads the premise again at each step and predicts; the K predictions are averaged.
    The memories are contextual embeddings: M^p, the premise, is the first sentence's tokens (segment 0,
    with [CLS] and its [SEP]); M^h, the hypothesis, is the second sentence's tokens (segment 1).

        s^0 = Σ_j α_j M^h_j,      α_j = softmax_j(w_1^T M^h_j)
        for k = 1 … K−1:
            x^k = Σ_j β_j M^p_j,  β_j = softmax_j(s^{k−1} W_2^T M^p_j)
            s^k = GRU(s^{k−1}, x^k)
        P_r^k = softmax(W_3^T [s^k; x^k; |s^k − x^k|; s^k ∘ x^k])      for k = 0 … K−1
        P_r = avg([P_r^0, P_r^1, …, P_r^{K−1}])

    So K = 5 steps means five predictions, from the states s^0 … s^4, linked by four GRU updates. The
    paper leaves x^0 undefined; we read it with s^0, as the official code's first turn does (so x^0 = x^1).

    Stochastic prediction dropout, in training only: each example drops each step's prediction with
    probability `prediction_dropout`, keeps at least one, and averages those it kept. At inference P_r
    averages all K. `forward` returns log P_r, so that exp(output) = P_r and the loss is the NLL; the
    average is taken in log space (a logsumexp of the steps' log P_r^k), so log P_r is finite even where
    a probability underflows.
    """

    def __init__(self, hidden: int, num_labels: int, dropout: float, steps: int = 5,
                 prediction_dropout: float = 0.1):
        super().__init__()
        self.steps = steps  # K
        self.prediction_dropout = prediction_dropout
        self.dropout = nn.Dropout(dropout)
        self.w_1 = nn.Linear(hidden, 1, bias=False)
        self.W_2 = nn.Linear(hidden, hidden, bias=False)
        self.gru = nn.GRUCell(hidden, hidden)
        self.W_3 = nn.Linear(4 * hidden, num_labels)

    def step_probabilities(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        """The K steps' predictions P_r^0 … P_r^{K−1}: Float[B,K,C]."""
        return self.step_log_probabilities(hidden, attention_mask, token_type_ids).exp()

    def step_log_probabilities(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        """The K steps' predictions in log space, log P_r^0 … log P_r^{K−1}: Float[B,K,C]."""
        memory = self.dropout(hidden)
        premise = attention_mask.bool() & (token_type_ids == 0)  # where M^p is
        hypothesis = attention_mask.bool() & (token_type_ids == 1)  # where M^h is
        s = attend(self.w_1(memory).squeeze(-1), memory, hypothesis)  # s^0 = Σ_j α_j M^h_j
        x = self.read(s, memory, premise)  # x^0, read with s^0
        log_P = [self.predict(s, x)]  # log P_r^0
        for _ in range(1, self.steps):
            x = self.read(s, memory, premise)  # x^k, read with s^{k−1}
            s = self.gru(x, s)  # s^k = GRU(s^{k−1}, x^k)
            log_P.append(self.predict(s, x))  # log P_r^k
        return torch.stack(log_P, 1)

    def read(self, s: Tensor, memory: Tensor, premise: Tensor) -> Tensor:
        """What state s reads from the premise: Σ_j β_j M^p_j with β_j = softmax_j(s W_2^T M^p_j)."""
        return attend(torch.einsum("bh,bth->bt", self.W_2(s), memory), memory, premise)

    def predict(self, s: Tensor, x: Tensor) -> Tensor:
        """log P_r^k = log softmax(W_3^T [s^k; x^k; |s^k − x^k|; s^k ∘ x^k])."""
        return self.W_3(torch.cat([s, x, (s - x).abs(), s * x], -1)).log_softmax(-1)

    def kept_steps(self, batch_size: int, device: torch.device) -> Tensor:
        """Stochastic prediction dropout: the steps each example keeps, Bool[B,K] (all of them at inference)."""
        if not self.training:
            return torch.ones(batch_size, self.steps, dtype=torch.bool, device=device)
        keep = torch.rand(batch_size, self.steps, device=device) >= self.prediction_dropout
        rescued = torch.randint(self.steps, (batch_size,), device=device)  # kept where all were dropped
        keep[torch.arange(batch_size, device=device), rescued] |= ~keep.any(1)
        return keep

    def forward(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        log_P = self.step_log_probabilities(hidden, attention_mask, token_type_ids)  # log P_r^k: Float[B,K,C]
        keep = self.kept_steps(len(log_P), log_P.device).unsqueeze(-1)
        # log P_r = log((1/|kept|) Σ_{k kept} P_r^k) = logsumexp_{k kept}(log P_r^k) − log |kept|
        return log_P.masked_fill(~keep, float("-inf")).logsumexp(1) - keep.sum(1).log()

    def log_probabilities(self, output: Tensor) -> Tensor:
        return output  # forward already gives log P_r

    def probabilities(self, output: Tensor) -> Tensor:
        return output.exp()  # P_r

    def loss(self, output: Tensor, batch: dict) -> Tensor:
        return F.nll_loss(output, batch["labels"])  # −log P_r(c*|X_1, X_2), averaged over the batch


class RankingHead(nn.Module):
    """Pairwise ranking (QNLI): is sentence A the answer to question Q?

        g(Q, A) = sigmoid(w_QNLI^T · x)                                  relevance
        P_r(A^+|Q) = exp(γ g(Q, A^+)) / Σ_{A' ∈ A} exp(γ g(Q, A'))        over Q's candidate answers A
        loss = −log P_r(A^+|Q)

    The softmax needs a question's candidates side by side: equal batch["group"] values mark the
    candidates of one question, and label 0 ("entailment") marks the answer A^+. GLUE's current QNLI is
    not grouped by question and most questions have a single candidate, over which the softmax is
    constant (loss 0, no gradient). So the loss is the mean of these terms:
    - one −log P_r(A^+|Q) for each group of ≥ 2 candidates with exactly one answer;
    - one binary cross-entropy of g against relevance for every other example (a singleton, or a
      group with no answer or several).
    A question ranked as a list thus weighs as much as one example scored alone.

    `forward` returns the relevance logit z = w_QNLI^T · x, so g = sigmoid(z) and, in the label order
    (entailment, not_entailment), P = (g, 1 − g) and log P = (logsigmoid(z), logsigmoid(−z)): exact in
    log space. The cross-entropy is computed from z by binary_cross_entropy_with_logits, which CUDA
    autocast allows (torch's binary_cross_entropy of g it refuses).
    """

    def __init__(self, hidden: int, dropout: float, gamma: float = 1.0, readout: str = "cls"):
        super().__init__()
        self.gamma = gamma  # γ
        self.readout = readout
        self.dropout = nn.Dropout(dropout)
        self.w = nn.Linear(hidden, 1)  # w_QNLI

    def forward(self, hidden: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        x = self.dropout(readout(hidden, attention_mask, self.readout))
        return self.w(x).squeeze(-1)  # z = w_QNLI^T · x, the logit of g(Q, A) = sigmoid(z): Float[B]

    def log_probabilities(self, output: Tensor) -> Tensor:
        # log P = (log g, log(1 − g)) = (logsigmoid(z), logsigmoid(−z)), as 1 − sigmoid(z) = sigmoid(−z)
        return F.logsigmoid(torch.stack([output, -output], -1))

    def probabilities(self, output: Tensor) -> Tensor:
        return torch.sigmoid(torch.stack([output, -output], -1))  # P = (g, 1 − g): (entailment, not_entailment)

    def loss(self, output: Tensor, batch: dict) -> Tensor:
        z, relevant = output.float(), (batch["labels"] == 0).float()  # float32 even under bf16 autocast
        g = torch.sigmoid(z)  # g(Q, A)
        questions, q = batch["group"].unique(return_inverse=True)  # q: each example's question, 0 … Q−1
        candidates = torch.bincount(q)[q]
        answers = torch.bincount(q, weights=relevant)[q]
        listwise = (candidates >= 2) & (answers == 1)
        # log Σ_{A'} exp(γ g(Q, A')), for each example's question
        log_normaliser = g.new_zeros(len(questions)).index_add(0, q, (self.gamma * g).exp()).log()[q]
        ranking = (log_normaliser - self.gamma * g)[listwise & (relevant == 1)]  # −log P_r(A^+|Q)
        # binary cross-entropy −(y log g + (1 − y) log(1 − g)), from z
        pointwise = F.binary_cross_entropy_with_logits(z[~listwise], relevant[~listwise], reduction="none")
        return torch.cat([ranking, pointwise]).mean()


def build_head(task: Task, hidden: int, san: bool = True, readout: str = "cls") -> nn.Module:
    """The output layer MT-DNN gives `task`, with the task's dropout; san=False puts a classifier of x in
    place of SAN for the pairwise tasks; `readout` says how the heads that read one vector x get it (SAN
    reads every token, so it has no readout)."""
    if readout not in READOUTS:
        raise ValueError(f"readout {readout!r}: expected one of {', '.join(READOUTS)}")
    match task.type:
        case TaskType.SINGLE:
            return ClassificationHead(hidden, task.num_labels, task.dropout, readout)
        case TaskType.SIMILARITY:
            return SimilarityHead(hidden, task.dropout, readout)
        case TaskType.PAIRWISE if san:
            return SANHead(hidden, task.num_labels, task.dropout)
        case TaskType.PAIRWISE:
            return ClassificationHead(hidden, task.num_labels, task.dropout, readout)
        case TaskType.RANKING:
            return RankingHead(hidden, task.dropout, readout=readout)
