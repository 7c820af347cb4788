"""Learning curves from the runs' per-epoch metrics.json (notebook 03).

Every training run records, after each epoch, the mean training loss of every task it trained and every
task's dev (or dev-proxy) scores (train.py). `learning_curves` lays them out as one long table, one row per
run, task and epoch, with the epoch counted both within the run and from the pretrained encoder: a refine
run starts from the mtl model, so its first epoch is the (mtl epochs + 1)-th epoch of training.
"""

import math
from pathlib import Path

import pandas as pd

from ..experiments.runs import read_json
from ..glue.data import EVAL_SPLITS, split_label
from ..glue.metrics import task_score
from ..glue.tasks import GLUE_TASKS
from ..reporting.results import STAGE_ORDER

COLUMNS = ["profile", "stage", "run", "task", "epoch", "epochs_before", "epoch_total", "train_loss", "score",
           "split", "rows", "finished", "starts_from"]


def _runs_by_hash(root: Path) -> dict[str, tuple[int, str]]:
    """{config_hash: (epochs, run folder)} of every finished training run under `root` (what a later stage's
    `init` names)."""
    runs = {}
    for done in Path(root).glob("**/done.json"):
        entry = read_json(done)
        if "epochs" in entry:
            runs[entry["config_hash"]] = (entry["epochs"], str(done.parent))
    return runs


def learning_curves(root="runs", tasks=None, stages=None) -> pd.DataFrame:
    """One row per training run, task and epoch under `root` (e.g. ``runs/quick``), finished or not.

    Columns: profile, stage, run (folder), task, epoch (within the run, from 1), epochs_before (the epochs of
    the run it started from: 0 from the pretrained encoder, the mtl run's epochs for refine and teacher runs,
    the student's for student_refine), epoch_total (epochs_before + epoch), train_loss (the task's mean
    training loss over the epoch's steps; the loss of the run's stage, e.g. hard + soft targets for a student),
    score (the task's GLUE score ×100 after the epoch: metrics, then splits, averaged), split ("dev", "dev-proxy",
    "dev-m/dev-mm"), rows (examples scored, from data.json), finished (done.json written), starts_from (the
    folder of the run it started from, "" from the pretrained encoder).
    Scored-only runs (a teacher ensemble) are left out: they have no training loss. `tasks`, `stages`: keep only those.
    """
    root = Path(root)
    parents = _runs_by_hash(root)
    records = []
    for metrics in sorted(root.glob("**/metrics.json")):
        run = metrics.parent
        if not (run / "config.json").is_file():
            continue
        config, history = read_json(run / "config.json"), read_json(metrics)
        stage = config.get("stage", run.parent.name)
        if stages is not None and stage not in stages:
            continue
        init = str(config.get("init", ""))
        offset, parent = (0, "") if init.startswith("encoder:") or ":" not in init else \
            parents.get(init.partition(":")[2], (0, ""))
        data = read_json(run / "data.json") if (run / "data.json").is_file() else {}
        for entry in history:
            if "train_loss" not in entry:
                continue
            for task, loss in entry["train_loss"].items():
                if tasks is not None and task not in tasks:
                    continue
                splits = [s for s in EVAL_SPLITS if s in entry.get("dev", {}).get(task, {})]
                scores = [task_score(entry["dev"][task][s]) for s in splits]
                rows = [data.get(task, {}).get(s, {}).get("rows_used") for s in splits]
                records.append({
                    "profile": config.get("profile"), "stage": stage, "run": str(run), "task": task,
                    "epoch": entry["epoch"], "epochs_before": offset, "epoch_total": offset + entry["epoch"],
                    "train_loss": loss, "score": sum(scores) / len(scores) if scores else math.nan,
                    "split": "/".join(split_label(s) for s in splits),
                    "rows": sum(r for r in rows if r) or None, "finished": (run / "done.json").is_file(),
                    "starts_from": parent})
    table = pd.DataFrame(records, columns=COLUMNS)
    order = {"task": {t: i for i, t in enumerate(GLUE_TASKS)}, "stage": {s: i for i, s in enumerate(STAGE_ORDER)}}
    return table.sort_values(["task", "stage", "run", "epoch"], kind="stable",
                             key=lambda c: c.map(order[c.name]).fillna(99) if c.name in order else c
                             ).reset_index(drop=True)
