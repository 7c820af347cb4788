"""Notebook 05, MT-DNN-KD's distillation (arXiv 1904.09482): the distillation loss on a toy batch, the student
against MT-DNN and the ensemble (and the share of the ensemble's gain it keeps: `distillation_reading`), and what
the student saves at inference; notebook 07 reads `system_scores` too.

Every table but the toy batch's reads what the pipeline wrote under ``<runs>/<profile>/`` (see layout.py and
runs.py); nothing here trains. Scores are ×100, as in results.py, and every score row keeps its split.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core import kd
from ..core.heads import build_head
from ..experiments.profiles import Profile
from ..experiments.runs import read_json
from ..glue.data import split_label
from ..glue.metrics import task_score
from ..glue.tasks import GLUE_TASKS, get_task
from ..reporting.cost import measure_costs
from ..reporting.distillation import distillation_table
from ..reporting.distillation_report import describe_distillation, shown_tables
from ..reporting.systems import SYSTEMS
from .kd_teachers import ENSEMBLE, entropy, task_scores

# --- the distillation loss on a toy batch --------------------------------------------------------------------

TOY_LOGITS = ((2.0, 0.0), (0.5, 0.0), (-1.0, 1.5), (0.2, -0.4))
TOY_SOFT_TARGETS = ((0.9, 0.1), (0.3, 0.7), (0.2, 0.8), (0.55, 0.45))
TOY_LABELS = (0, 1, 1, 0)
"""A toy batch of four two-class examples: a student's logits, the teachers' soft targets Q and the gold labels
(the second example: Q leans away from its gold label, as soft targets sometimes do)."""


def kd_loss_grid(weights, temperatures, logits=TOY_LOGITS, soft_targets=TOY_SOFT_TARGETS,
                 labels=TOY_LABELS) -> pd.DataFrame:
    """kd.distillation_loss on one batch for every α in `weights` and T in `temperatures`.

    The batch goes through a single-sentence classification head (P = softmax(logits)), so L_hard is the
    cross-entropy with the gold labels. Columns: alpha, temperature, loss (L = (1 − α) L_hard + α T² CE(Q_T, P_T)),
    hard (L_hard), soft (T² CE(Q_T, P_T)), soft_entropy (T² H(Q_T): the part of the soft term no student can
    lower), soft_kl (T² KL(Q_T ‖ P_T) = soft − soft_entropy: the part the student learns from), soft_grad
    (‖∂ soft / ∂ logits‖, the size of the soft term's gradient) and soft_grad_without_t2 (the same without the
    T² factor: it shrinks about as 1/T², which T² undoes)."""
    head = build_head(get_task("SST-2"), hidden=1, san=False).eval()
    output = torch.tensor(logits, dtype=torch.float)
    q = torch.tensor(soft_targets, dtype=torch.float)
    batch = {"labels": torch.tensor(labels), "soft_targets": q}
    records = []
    for temperature in temperatures:
        z = output.clone().requires_grad_(True)
        soft = kd.soft_cross_entropy(z.log_softmax(-1), q, temperature)  # T² CE(Q_T, P_T)
        (grad,) = torch.autograd.grad(soft, z)
        with torch.no_grad():
            soft_entropy = float(kd.soft_cross_entropy(q.log(), q, temperature))  # T² CE(Q_T, Q_T) = T² H(Q_T)
            hard = float(head.loss(output, batch))
            for alpha in weights:
                loss = float(kd.distillation_loss(head, output, batch, alpha, temperature))
                records.append({"alpha": float(alpha), "temperature": float(temperature), "loss": loss,
                                "hard": hard, "soft": float(soft), "soft_entropy": soft_entropy,
                                "soft_kl": float(soft) - soft_entropy, "soft_grad": float(grad.norm()),
                                "soft_grad_without_t2": float(grad.norm()) / temperature ** 2})
    return pd.DataFrame(records)


def toy_batch_table(logits=TOY_LOGITS, soft_targets=TOY_SOFT_TARGETS, labels=TOY_LABELS) -> pd.DataFrame:
    """The toy batch of `kd_loss_grid` as a table: the student's P = softmax(logits), Q and the gold label."""
    p = torch.tensor(logits).softmax(-1).numpy()
    return pd.DataFrame({"example": range(1, len(labels) + 1), "gold label": labels,
                         "student P": [np.round(r, 3).tolist() for r in p],
                         "soft target Q": [list(r) for r in soft_targets],
                         "H(Q) bits": np.round(entropy(soft_targets), 3)})


# --- the student against MT-DNN and the ensemble --------------------------------------------------------------

def system_scores(table: pd.DataFrame, tasks=None, systems=None) -> pd.DataFrame:
    """The task score of each of the papers' systems (systems.SYSTEMS) per task and dev split, from a
    `scores_table`: for each task, a system is given by the first of its stages that scored that task
    (MT-DNN-KD: student_refine, else student). `systems` picks and orders the systems shown (default all).

    Columns: task, split, split_label, system, stage, score (×100), metric (the metrics averaged into the
    score, "f1/accuracy"), metrics (each one's value), run."""
    wanted = dict(SYSTEMS) if systems is None else {s: dict(SYSTEMS)[s] for s in systems}
    scores = task_scores(table)
    tasks = [t for t in GLUE_TASKS if t in set(scores.task)] if tasks is None else [get_task(t).name for t in tasks]
    records = []
    for task in tasks:
        rows = scores[scores.task == task]
        for system, stages in wanted.items():
            stage = next((s for s in stages if (rows.stage == s).any()), None)
            if stage is None:
                continue
            chosen = rows[rows.stage == stage]
            chosen = chosen[chosen.run == sorted(chosen.run)[0]]
            for _, r in chosen.iterrows():
                records.append({"task": task, "split": r.split, "split_label": r.split_label, "system": system,
                                "stage": stage, "score": r.score, "metric": r.metric, "metrics": r.metrics,
                                "run": r.run})
    return pd.DataFrame(records, columns=["task", "split", "split_label", "system", "stage", "score", "metric",
                                          "metrics", "run"])


def distillation_reading(roots, tasks=GLUE_TASKS) -> tuple[pd.DataFrame, str]:
    """The distillation reading (reporting/distillation.py) from the runs of each seed (`roots`: a profile's runs
    folder per seed): one row per task and per average (teacher tasks, other tasks, all tasks), one column per
    reading ("+0.4 [−0.6, 1.3]": the value and its 95 % paired bootstrap interval over the dev examples), and the
    paragraph that reads it."""
    table = distillation_table([Path(r) for r in roots], tasks)
    teacher, others, _ = shown_tables(table)
    return pd.concat([teacher, others], ignore_index=True).fillna(""), describe_distillation(table)


def history_table(run) -> pd.DataFrame:
    """A run's metrics.json as a table: one row per epoch, task and dev split, with the epoch's mean training
    loss on that task, its dev task score (×100) and the training seconds of the epoch."""
    records = []
    for entry in read_json(Path(run) / "metrics.json"):
        for task, splits in entry.get("dev", {}).items():
            for split, metrics in splits.items():
                records.append({"epoch": entry.get("epoch"), "task": task,
                                "train loss": entry.get("train_loss", {}).get(task),
                                "split": split_label(split), "dev score": task_score(metrics),
                                "train seconds": entry.get("train_seconds")})
    return pd.DataFrame(records)


# --- inference cost --------------------------------------------------------------------------------------------

def inference_costs(results_dir, runs_root, profile: Profile, glue_dir, examples: int = 64,
                    repeats: int = 2) -> tuple[list[dict], str]:
    """The student's inference cost against the teacher ensemble, per teacher task, and where it came from:
    ``<results_dir>/<profile>/inference_cost.json`` (written by ``reproduce``) if it exists; else measured now
    with cost.measure_costs on `examples` dev examples per task (`repeats` timed passes)."""
    stored = Path(results_dir) / profile.name / "inference_cost.json"
    if stored.is_file():
        costs = read_json(stored)
        return (costs if isinstance(costs, list) else costs["costs"]), f"read from {stored}"
    costs = measure_costs(runs_root, profile, glue_dir, examples=examples, repeats=repeats)
    return costs, f"measured now on ≤{examples} dev examples per task, median of {repeats} passes"


def cost_table(costs: list[dict]) -> pd.DataFrame:
    """`inference_costs` as a table: one row per task and model (student, ensemble of K), examples per second
    and seconds per 1,000 examples."""
    records = []
    for c in costs:
        for model in ("student", ENSEMBLE):
            m = c[model]
            records.append({"task": c["task"], "split": split_label(c.get("split", "validation")),
                            "examples": c["examples"], "model": "student (1 model)" if model == "student"
                            else f"ensemble ({m['models']} models)", "models": m["models"],
                            "examples/s": m["examples_per_second"], "s per 1,000 examples": m["seconds_per_1000"],
                            "ensemble ÷ student time": c["ensemble_over_student"], "device": c["device"]})
    return pd.DataFrame(records)
