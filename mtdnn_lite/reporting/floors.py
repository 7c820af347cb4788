"""What a task's score has to beat: the majority-class floor of the split it is scored on (notebooks 03, 06).

A model that answers the most frequent label of a dev split for every example scores that split's floor: the
label's share as accuracy; for F1 (MRPC, QQP) 2p/(1 + p) when the frequent label is the positive class and 0
when it is not; an MCC of 0 (CoLA); and no correlation at all for the similarity scores of STS-B (0). A score
below its floor learned less than counting the labels would; a score within two standard errors of it is not
told apart from guessing on that many rows. Every GLUE-style average counts such tasks like any other.

- `majority_floor`, `guess_se`: the floor of one split, and the standard error of a score of no skill on it;
- `dev_floors`: both for each task as a profile scores it (the same rows: `taskdata.select_rows`);
- `floor_flags`: a system × task score table with each score set against its floor;
- `floor_note`: what that table says, as one Markdown paragraph.
"""

import math
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..experiments.profiles import DataSettings
from ..experiments.taskdata import select_rows
from ..glue.data import split_label
from ..glue.metrics import task_metrics, task_score
from ..glue.tasks import get_task

CORRELATIONS = {"mcc", "pearson", "spearman"}
"""Metrics that are 0 for a score of no skill, whatever the labels."""

BELOW, NEAR, ABOVE = "below the floor", "within 2 se of the floor", "above the floor"


def majority_floor(task: str, labels) -> float:
    """The task score (×100, its metrics averaged as in the GLUE score) of predicting the most frequent label
    for every example; for a regression (STS-B) a constant prediction has no correlation: 0."""
    labels = np.asarray(labels)
    if get_task(task).is_regression:
        return 0.0
    majority = np.bincount(labels).argmax()
    return task_score(task_metrics(task, np.full_like(labels, majority), labels))


def guess_se(task: str, labels) -> float:
    """One standard error (×100) of a score of no skill on these n labels:

        accuracy, F1:                sqrt(p (1 − p) / n)     p: the majority label's share
        MCC, Pearson, Spearman:      1 / sqrt(n)             (the null distribution of a correlation)

    A task with both kinds of metric takes the larger."""
    labels, spec = np.asarray(labels), get_task(task)
    n = len(labels)
    ses = [1 / math.sqrt(n)] if CORRELATIONS & set(spec.metrics) else []
    if not spec.is_regression and set(spec.metrics) - CORRELATIONS:
        p = np.bincount(labels).max() / n
        ses.append(math.sqrt(p * (1 - p) / n))
    return 100 * max(ses)


def dev_floors(settings: DataSettings, glue_dir, tasks: Iterable[str]) -> pd.DataFrame:
    """Per task, on the evaluation rows the profile scores (`select_rows`; several splits, as MNLI's matched and
    mismatched, averaged as its score is): split, rows, majority share (%, none for a regression), floor (×100)
    and margin (2 `guess_se`)."""
    records = []
    for task in tasks:
        with warnings.catch_warnings():  # partial training splits: the loader's note, not the floor's business
            warnings.simplefilter("ignore", UserWarning)
            raw, _ = select_rows(task, settings, glue_dir)
        splits = [s for s in raw if s != "train"]
        labels = [np.asarray(raw[s]["label"]) for s in splits]
        regression = get_task(task).is_regression
        records.append({"task": get_task(task).name, "split": "/".join(split_label(s) for s in splits),
                        "rows": sum(map(len, labels)),
                        "majority share (%)": np.nan if regression else
                        float(np.mean([100 * np.bincount(y).max() / len(y) for y in labels])),
                        "floor": float(np.mean([majority_floor(task, y) for y in labels])),
                        "margin": float(np.mean([2 * guess_se(task, y) for y in labels]))})
    return pd.DataFrame(records).set_index("task")


def floor_flags(scores: pd.DataFrame, floors: pd.DataFrame) -> pd.DataFrame:
    """`scoreboard.stage_scores`-like rows (system, task, score) with the task's floor and margin beside each score
    and where it stands: `BELOW` (score < floor), `NEAR` (score < floor + margin) or `ABOVE`."""
    table = scores[["system", "task", "score"]].join(floors[["floor", "margin"]], on="task")
    table["vs floor"] = np.select([table.score < table.floor, table.score < table.floor + table.margin],
                                  [BELOW, NEAR], ABOVE)
    return table.reset_index(drop=True)


def floor_note(flags: pd.DataFrame) -> str:
    """The tasks whose score is below its floor, or within 2 se of it, for some system, as one Markdown
    paragraph (each with its floor and the systems' scores); say so where there are none."""
    parts = []
    for task, rows in flags[flags["vs floor"] != ABOVE].groupby("task", sort=False):
        floor = rows.floor.iloc[0]
        where = {kind: [f"{s} {v:.1f}" for s, v in zip(r.system, r.score)] for kind, r in rows.groupby("vs floor")}
        said = "; ".join(f"{kind}: {', '.join(where[kind])}" for kind in (BELOW, NEAR) if kind in where)
        parts.append(f"**{task}** (floor {floor:.1f}, margin ±{rows.margin.iloc[0]:.1f}) {said}")
    systems = flags.system.nunique()
    if not parts:
        return f"Every score of the {systems} system(s) is more than 2 standard errors above its task's floor."
    return (f"Scores at or near the majority-class floor ({len(parts)} task(s), {systems} system(s) shown): "
            + "; ".join(parts) + ". These tasks still count in every average.")
