"""Run artefacts to tables: one row per run, task, split and metric, with where each number came from."""

from pathlib import Path

import pandas as pd

from .data import split_label
from .metrics import task_score
from .runs import read_json
from .tasks import GLUE_TASKS

STAGE_ORDER = ["st", "mtl", "refine"]

def scores_table(root="runs") -> pd.DataFrame:
    """Final-epoch dev scores of every finished run under `root`, as a long table.

    Columns: profile, stage, run (folder), task, split (the split's name), split_label ("dev", "dev-m",
    "dev-mm", "dev-proxy"), rows (examples scored), metric, value (×100), epoch.
    """
    records = []
    for done in sorted(Path(root).glob("**/done.json")):
        run = done.parent
        config, history, data = (read_json(run / n) for n in ("config.json", "metrics.json", "data.json"))
        last = history[-1]
        for task, splits in last["dev"].items():
            for split, metrics in splits.items():
                for metric, value in metrics.items():
                    records.append({"profile": config["profile"], "stage": config["stage"], "run": str(run),
                                    "task": task, "split": split, "split_label": split_label(split),
                                    "rows": data[task][split]["rows_used"], "metric": metric, "value": value,
                                    "epoch": last["epoch"]})
    return pd.DataFrame(records, columns=["profile", "stage", "run", "task", "split", "split_label", "rows",
                                          "metric", "value", "epoch"])


def stage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per stage, one column per task (its GLUE task score: metrics and MNLI m/mm averaged)
    and the GLUE-style average over the tasks present."""
    per_task = (table.groupby(["stage", "task", "split"])
                .apply(lambda g: task_score(dict(zip(g.metric, g.value))), include_groups=False)
                .groupby(["stage", "task"]).mean().unstack("task"))
    per_task = per_task[[t for t in GLUE_TASKS if t in per_task.columns]]
    per_task = per_task.loc[sorted(per_task.index, key=STAGE_ORDER.index)]
    per_task["average"] = per_task.mean(axis=1)
    return per_task
