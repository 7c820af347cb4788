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

The ensemble is scored on the dev splits like any run (``score_ensemble``), from its members'
prediction files. Soft targets are stored in ``<run>/probabilities.npy`` (Float[N, C], one row per
training example, in the split's order) beside ``<run>/meta.json`` (task, split, example idx, the
teachers' runs and config hashes, the data fingerprint); loading checks idx and fingerprint against
the data the student reads.
"""

import dataclasses
from pathlib import Path

import numpy as np
from torch import Tensor, nn

from ..experiments.runs import config_hash, read_json, read_predictions, write_json, write_predictions
from ..experiments.taskdata import TaskData
from .evaluation import score_split

PROBABILITIES = "probabilities.npy"
META = "meta.json"


def ensemble_probabilities(members: list[np.ndarray]) -> np.ndarray:
    """Q(c|X) = (1/K) Σ_k P_k(c|X): the mean of the K teachers' probabilities Float[N, C]."""
    return np.mean(np.stack(members), axis=0)


def score_ensemble(directory: Path, config: dict, teachers: list[Path], data: TaskData) -> None:
    """The ensemble of the `teachers` runs scored on `data`'s dev splits, written as a run's artefacts:
    config.json, data.json, predictions/, metrics.json (one entry, as a run's last epoch), done.json."""
    directory, task, scores = Path(directory), data.task, {}
    for split, encoded in data.evals.items():
        members = []
        for teacher in teachers:
            rows = read_predictions(teacher, task, split)
            if [r["idx"] for r in rows] != list(encoded["idx"]):
                raise ValueError(f"{teacher}/predictions/{task}.{split}.jsonl: its idx differ from the {split} "
                                 "split's; rerun that teacher on this data")
            members.append(np.array([r["probabilities"] for r in rows]))
        scores[split], predictions = score_split(task, ensemble_probabilities(members), encoded)
        write_predictions(directory, task, split, predictions)
    write_json(directory / "config.json", {**config, "config_hash": config_hash(config)})
    write_json(directory / "data.json", {task: data.info})
    write_json(directory / "metrics.json", [{"dev": {task: scores}}])
    write_json(directory / "done.json", {"config_hash": config_hash(config)})


def write_soft_targets(directory: Path, config: dict, probabilities: np.ndarray, data: TaskData) -> None:
    """Store Q for every row of `data.train`, with `config` (task, teachers, fingerprint) and the rows' idx."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / PROBABILITIES, probabilities.astype(np.float32))
    write_json(directory / META, {**config, "idx": list(data.train["idx"])})
    write_json(directory / "done.json", {"config_hash": config_hash(config)})


def load_soft_targets(directory: Path, data: TaskData) -> np.ndarray:
    """The soft targets stored in `directory`, after checking they were made for `data.train`'s rows."""
    meta_path = Path(directory) / META
    meta = read_json(meta_path)
    expected = {"task": data.task, "split": "train", "fingerprint": data.info["train"]["fingerprint"]}
    for field, value in expected.items():
        if meta[field] != value:
            raise ValueError(f"{meta_path}: {field} is {meta[field]!r}, expected {value!r} (the training data's); "
                             "rerun the soft_targets stage for this data")
    stored, idx = meta["idx"], list(data.train["idx"])
    if stored != idx:
        row = next((i for i, (a, b) in enumerate(zip(stored, idx)) if a != b), min(len(stored), len(idx)))
        raise ValueError(f"{meta_path}: idx differs from the training data's at row {row} ({len(stored)} ids "
                         f"stored, {len(idx)} in the data); rerun the soft_targets stage for this data")
    return np.load(Path(directory) / PROBABILITIES)


def with_soft_targets(data: TaskData, directory: Path) -> TaskData:
    """A copy of `data` whose training rows carry a "soft_targets" column (the cached `data` is unchanged)."""
    probabilities = load_soft_targets(directory, data)
    return dataclasses.replace(data, train=data.train.add_column("soft_targets", probabilities.tolist()))


def soft_cross_entropy(log_p: Tensor, q: Tensor, temperature: float = 1.0) -> Tensor:
    """T² · CE(Q_T, P_T) = −T² Σ_c Q_T(c|X) log P_T(c|X), averaged over the batch.

    `log_p`: the student's log P, Float[B, C]; `q`: the soft targets Q, Float[B, C].
    """
    log_p_t = (log_p / temperature).log_softmax(-1)  # log P_T = log softmax(log P / T)
    q_t = (q.clamp_min(1e-7).log() / temperature).softmax(-1)  # Q_T = softmax(log Q / T)
    return -(temperature ** 2) * (q_t * log_p_t).sum(-1).mean()  # T² · (−Σ_c Q_T log P_T)


def distillation_loss(head: nn.Module, output: Tensor, batch: dict, weight: float = 0.5,
                      temperature: float = 1.0) -> Tensor:
    """L = (1 − α) · L_hard + α · T² · CE(Q_T, P_T), with α = `weight` and Q = batch["soft_targets"].

    L_hard is `head`'s ordinary loss; log P comes from head.probabilities (clamped away from 0), so that
    every head counts alike: SAN outputs log P, classification logits, ranking the relevance g.
    """
    hard = head.loss(output, batch)
    log_p = head.probabilities(output).float().clamp_min(1e-7).log()
    soft = soft_cross_entropy(log_p, batch["soft_targets"].float(), temperature)
    return (1 - weight) * hard + weight * soft  # L = (1 − α) L_hard + α T² CE(Q_T, P_T)
