"""Notebook 04, MT-DNN-KD's teachers (arXiv 1904.09482) from their run artefacts: the teachers against their
ensemble, how confident the soft targets are, and where the teachers disagree; notebooks 05 and 07 read some of
these tables too.

Every function reads what the pipeline wrote under ``<runs>/<profile>/`` (see layout.py and runs.py) and
returns a pandas table; nothing here trains. Scores are ×100, as in results.py, and every score row keeps its
split ("dev", "dev-proxy", …).

Entropy is in bits: a one-hot (hard) target has H = 0, the uniform distribution over C classes H = log2 C.

    H(Q(·|X)) = −Σ_c Q(c|X) log2 Q(c|X)
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..core import kd
from ..experiments.layout import run_dir, teacher_runs, teacher_tasks, teachers_by_task
from ..experiments.pipeline import task_data
from ..experiments.profiles import Profile
from ..experiments.runs import is_finished, read_json, read_predictions
from ..experiments.soft_targets import load_soft_targets
from ..glue.data import EVAL_SPLITS, split_label
from ..glue.metrics import task_score
from ..glue.tasks import get_task
from ..reporting.results import scores_table
from ..reporting.systems import STAGE_LABELS

ENSEMBLE = "ensemble"


def entropy(probabilities, base: float = 2.0) -> np.ndarray:
    """H = −Σ_c p_c log p_c of each row of `probabilities` (Float[N, C]), in bits by default; 0 log 0 = 0."""
    p = np.asarray(probabilities, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(-1) / np.log(base)


def teacher_table(teachers: dict[str, list[Path]]) -> pd.DataFrame:
    """One row per teacher: task, teacher k, its training seed, task dropout, epochs, where it started and its
    run folder (what makes the K teachers of a task different models)."""
    records = []
    for task, runs in teachers.items():
        for run in runs:
            config = read_json(run / "config.json")
            records.append({"task": task, "teacher": config.get("teacher", int(run.name)), "seed": config.get("seed"),
                            "dropout": config.get("dropout"), "epochs": config.get("epochs"),
                            "init": config.get("init"), "run": str(run)})
    return pd.DataFrame(records, columns=["task", "teacher", "seed", "dropout", "epochs", "init", "run"])


def task_scores(table: pd.DataFrame) -> pd.DataFrame:
    """A `scores_table` reduced to one task score per run, task and split (metrics averaged, as GLUE does),
    with the metrics spelled out ("f1 80.0, accuracy 75.0")."""
    records = []
    for (stage, run, task, split), rows in table.groupby(["stage", "run", "task", "split"], sort=False):
        metrics = dict(zip(rows.metric, rows.value))
        records.append({"stage": stage, "run": run, "task": task, "split": split, "split_label": split_label(split),
                        "score": task_score(metrics), "metric": "/".join(metrics),
                        "metrics": ", ".join(f"{m} {v:.1f}" for m, v in metrics.items())})
    return pd.DataFrame(records, columns=["stage", "run", "task", "split", "split_label", "score", "metric",
                                          "metrics"])


def member_scores(root, profile: Profile) -> pd.DataFrame:
    """Each teacher, the ensemble, and MT-DNN (refine) for reference, on each teacher task's dev splits.

    Columns: task, split, split_label, model ("teacher 1" … "teacher K", "ensemble", "MT-DNN (refine)"), score
    (the task score ×100), metric, metrics, run."""
    table = scores_table(Path(root) / profile.name)
    table = table[table.task.isin(teacher_tasks(profile)) & table.stage.isin(["teacher", ENSEMBLE, "refine"])]
    scores = task_scores(table)
    names = {"teacher": lambda run: f"teacher {Path(run).name}", ENSEMBLE: lambda run: ENSEMBLE,
             "refine": lambda run: STAGE_LABELS["refine"]}
    scores["model"] = [names[stage](run) for stage, run in zip(scores.stage, scores.run)]
    order = {STAGE_LABELS["refine"]: 1e6, ENSEMBLE: 1e5}
    scores["_order"] = [order.get(m, int(m.split()[-1]) if m.startswith("teacher") else 0) for m in scores.model]
    scores["_task"] = [teacher_tasks(profile).index(t) for t in scores.task]
    scores = scores.sort_values(["_task", "split", "_order"]).drop(columns=["_order", "_task", "stage"])
    return scores[["task", "split", "split_label", "model", "score", "metric", "metrics", "run"]].reset_index(drop=True)


# --- soft targets -------------------------------------------------------------------------------------------

def soft_target_table(root, profile: Profile, glue_dir) -> pd.DataFrame:
    """One row per training example of each teacher task with stored soft targets Q (checked against the
    training data by soft_targets.load_soft_targets).

    Columns: task, idx, label (gold class), label_name, q_gold (Q of the gold class; a hard target has 1),
    q_max, soft_argmax, agrees (argmax Q = gold), entropy_bits (H(Q); a hard target has 0), max_entropy_bits
    (log2 C), probabilities (Q as a list)."""
    frames = []
    for task in teacher_tasks(profile):
        folder = run_dir(root, profile, "soft_targets", task)
        if not is_finished(folder):
            continue
        data = task_data(task, profile, glue_dir)
        q = load_soft_targets(folder, data)
        labels = np.asarray(data.train["labels"])
        names = get_task(task).label_names
        frames.append(pd.DataFrame({
            "task": task, "idx": data.train["idx"], "label": labels, "label_name": [names[y] for y in labels],
            "q_gold": q[np.arange(len(q)), labels], "q_max": q.max(-1), "soft_argmax": q.argmax(-1),
            "agrees": q.argmax(-1) == labels, "entropy_bits": entropy(q), "max_entropy_bits": np.log2(q.shape[1]),
            "probabilities": q.tolist()}))
    columns = ["task", "idx", "label", "label_name", "q_gold", "q_max", "soft_argmax", "agrees", "entropy_bits",
               "max_entropy_bits", "probabilities"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def soft_target_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per task, the soft targets against the hard ones: examples, mean and median H(Q) in bits (hard: 0) and
    its maximum log2 C, mean Q(gold) (hard: 1), and the share of examples whose argmax Q is the gold label."""
    rows = []
    for task, t in table.groupby("task", sort=False):
        rows.append({"task": task, "examples": len(t), "mean H(Q) bits": t.entropy_bits.mean(),
                     "median H(Q) bits": t.entropy_bits.median(), "max H bits (log2 C)": t.max_entropy_bits.iloc[0],
                     "hard targets H bits": 0.0, "mean Q(gold)": t.q_gold.mean(), "hard targets Q(gold)": 1.0,
                     "argmax Q = gold (%)": 100 * t.agrees.mean()})
    return pd.DataFrame(rows)


# --- where the teachers disagree ------------------------------------------------------------------------------

def eval_splits_of(run: Path, task: str) -> list[str]:
    """The evaluation splits with a prediction file in `run`, in the order they are reported."""
    return [s for s in EVAL_SPLITS if (Path(run) / "predictions" / f"{task}.{s}.jsonl").is_file()]


def teacher_predictions(root, profile: Profile, task: str, split: str) -> pd.DataFrame:
    """One row per dev example of `split`: idx, label, each teacher's probabilities and predicted class
    ("teacher k" and "teacher k pred"), the ensemble's (mean of the teachers'), and `disagree`: whether the
    teachers' argmax classes differ."""
    teachers = teacher_runs(Path(root) / profile.name, task)
    if not teachers:
        raise FileNotFoundError(f"no finished teacher runs for {task} under {run_dir(root, profile, 'teacher', task)}")
    frame = None
    for run in teachers:
        rows = read_predictions(run, task, split)
        name = f"teacher {run.name}"
        part = pd.DataFrame({"idx": [r["idx"] for r in rows], "label": [r["label"] for r in rows],
                             name: [r["probabilities"] for r in rows], f"{name} pred": [r["prediction"] for r in rows]})
        frame = part if frame is None else frame.merge(part.drop(columns="label"), on="idx", validate="1:1")
    members = [f"teacher {run.name}" for run in teachers]
    frame[ENSEMBLE] = kd.ensemble_probabilities([np.array(frame[m].tolist()) for m in members]).tolist()
    frame[f"{ENSEMBLE} pred"] = np.argmax(np.array(frame[ENSEMBLE].tolist()), -1)
    frame["disagree"] = frame[[f"{m} pred" for m in members]].nunique(axis=1) > 1
    return frame


def disagreement_summary(root, profile: Profile) -> pd.DataFrame:
    """Per teacher task and dev split: examples, how many the teachers disagree on (argmax differs) and that
    share in %, and the ensemble's accuracy where they agree and where they disagree."""
    records = []
    for task, teachers in teachers_by_task(root, profile).items():
        for split in eval_splits_of(teachers[0], task):
            t = teacher_predictions(root, profile, task, split)
            correct = t[f"{ENSEMBLE} pred"] == t.label
            records.append({"task": task, "split": split, "split_label": split_label(split),
                            "teachers": len(teachers), "examples": len(t), "disagreements": int(t.disagree.sum()),
                            "disagree (%)": 100 * t.disagree.mean(),
                            "ensemble acc. where teachers agree (%)": 100 * correct[~t.disagree].mean()
                            if (~t.disagree).any() else np.nan,
                            "ensemble acc. where they disagree (%)": 100 * correct[t.disagree].mean()
                            if t.disagree.any() else np.nan})
    return pd.DataFrame(records)


def member_log_loss(root, profile: Profile) -> pd.DataFrame:
    """Per teacher task and dev split, the mean negative log-likelihood of the gold label (nats) of each teacher
    and of the ensemble, from the prediction files. Since −log is convex, the ensemble's is never above the
    teachers' mean (Jensen): −log (1/K) Σ_k P_k(y|X) ≤ (1/K) Σ_k −log P_k(y|X)."""
    records = []
    for task, teachers in teachers_by_task(root, profile).items():
        for split in eval_splits_of(teachers[0], task):
            t = teacher_predictions(root, profile, task, split)
            labels = t.label.to_numpy()
            record = {"task": task, "split_label": split_label(split)}
            for model in [f"teacher {run.name}" for run in teachers] + [ENSEMBLE]:
                p = np.array(t[model].tolist())[np.arange(len(t)), labels]
                record[model] = float(-np.log(np.clip(p, 1e-7, 1)).mean())
            members = [f"teacher {run.name}" for run in teachers]
            record["teachers' mean"] = float(np.mean([record[m] for m in members]))
            records.append(record)
    return pd.DataFrame(records)


def texts(profile: Profile, glue_dir, task: str, split: str) -> pd.DataFrame:
    """The raw dev texts of `split` as the runs saw them: idx, text_a, text_b (None for single sentences)."""
    spec, raw = get_task(task), task_data(task, profile, glue_dir).raw[split]
    return pd.DataFrame({"idx": raw["idx"], "text_a": raw[spec.text_fields[0]],
                         "text_b": raw[spec.text_fields[1]] if len(spec.text_fields) > 1 else None})


def format_probabilities(p, label_names) -> str:
    """"entailment 0.62 · not_entailment 0.38" (a regression score as "3.41")."""
    if not label_names:
        return f"{float(np.ravel(p)[0]):.2f}"
    return " · ".join(f"{name} {float(v):.2f}" for name, v in zip(label_names, p))


def disagreement_examples(root, profile: Profile, glue_dir, task: str, split: str, n: int = 3,
                          seed: int = 0) -> pd.DataFrame:
    """Up to `n` dev examples of `split` on which the teachers disagree (most contested first: the smallest
    margin of the ensemble), with their texts, the gold label and each teacher's and the ensemble's
    probabilities."""
    predictions = teacher_predictions(root, profile, task, split)
    members = [c for c in predictions.columns if c.startswith("teacher ") and not c.endswith(" pred")]
    contested = predictions[predictions.disagree].copy()
    if contested.empty:
        return pd.DataFrame(columns=["task", "idx", "text_a", "text_b", "gold", *members, ENSEMBLE])
    q = np.sort(np.array(contested[ENSEMBLE].tolist()), -1)
    contested["margin"] = q[:, -1] - q[:, -2]
    contested = contested.sort_values(["margin", "idx"]).head(n).merge(texts(profile, glue_dir, task, split), on="idx")
    names = get_task(task).label_names
    out = contested[["idx", "text_a", "text_b"]].copy()
    out.insert(0, "task", task)
    out["gold"] = [names[y] for y in contested.label]
    for m in (*members, ENSEMBLE):
        out[m] = [format_probabilities(p, names) for p in contested[m]]
    return out.reset_index(drop=True)
