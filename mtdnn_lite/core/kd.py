"""Knowledge distillation (MT-DNN-KD, arXiv 1904.09482, section 3): the teachers' ensemble, its soft
targets, and the student's loss.

For a task t with a teacher (MNLI, QQP, QNLI, RTE), K MT-DNNs fine-tuned on t form an ensemble whose
prediction is the mean of their class probabilities:

    Q(c|X) = (1/K) Σ_k P_k(c|X)

Q of every training example, computed once, is the soft target. The student is one MT-DNN trained with
Algorithm 1, except that a task with a teacher has the loss

    L = (1 − α) · L_hard + α · T² · CE(Q_T, P_T),      CE(Q, P) = −Σ_c Q(c|X) log P(c|X)

where L_hard is the task's ordinary loss (for QNLI, the ranking loss), P the student's probabilities,
P_T = softmax(log P / T) and Q_T = softmax(log Q / T). The paper's loss is the plain average of the two
cross-entropies: α = 0.5, T = 1 (Hinton et al.'s T² keeps the soft gradients' scale when T ≠ 1).

This module is the maths only; scoring the ensemble on the dev splits and storing the soft targets in a
run folder are experiments/soft_targets.py's.
"""

import numpy as np
from torch import Tensor, nn


def ensemble_probabilities(members: list[np.ndarray]) -> np.ndarray:
    """Q(c|X) = (1/K) Σ_k P_k(c|X): the mean of the K teachers' probabilities Float[N, C]."""
    return np.mean(np.stack(members), axis=0)


def soft_cross_entropy(log_p: Tensor, q: Tensor, temperature: float = 1.0) -> Tensor:
    """T² · CE(Q_T, P_T) = −T² Σ_c Q_T(c|X) log P_T(c|X), averaged over the batch.

    `log_p`: the student's log P, Float[B, C]; `q`: the soft targets Q, Float[B, C]. Q_T = softmax(log Q / T)
    is computed as Q^{1/T} normalised, which needs no log of Q: exact where Q is 0 (there Q_T is 0 too).
    """
    log_p_t = (log_p / temperature).log_softmax(-1)  # log P_T = log softmax(log P / T)
    q_t = (q / q.amax(-1, keepdim=True)) ** (1 / temperature)  # ∝ Q^{1/T}; over max Q: the largest term is 1, no sum underflows
    q_t = q_t / q_t.sum(-1, keepdim=True)  # Q_T = Q^{1/T} / Σ_c Q^{1/T} = softmax(log Q / T)
    return -(temperature ** 2) * (q_t * log_p_t).sum(-1).mean()  # T² · (−Σ_c Q_T log P_T)


def distillation_loss(head: nn.Module, output: Tensor, batch: dict, weight: float = 0.5,
                      temperature: float = 1.0) -> Tensor:
    """L = (1 − α) · L_hard + α · T² · CE(Q_T, P_T), with α = `weight` and Q = batch["soft_targets"].

    L_hard is `head`'s ordinary loss and log P is head.log_probabilities(output), which every head with
    classes gives exactly (heads.py), so that every head counts alike.
    """
    hard = head.loss(output, batch)
    log_p = head.log_probabilities(output).float()
    soft = soft_cross_entropy(log_p, batch["soft_targets"].float(), temperature)
    return (1 - weight) * hard + weight * soft  # L = (1 − α) L_hard + α T² CE(Q_T, P_T)
