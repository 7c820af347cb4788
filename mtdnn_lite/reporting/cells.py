"""One task's cell of a score table as the papers print it, and the note saying what its split was: the pieces
that the papers' layout (results.py) and the per-system scores (scoreboard.py) share.

- `column_name`: how the papers head a task's column ("MRPC F1/Acc", "MNLI m/mm");
- `task_cell`: the cell ("88.2/84.1") and the task's score (its metrics, then its splits, averaged);
- `split_note`: what a split was ("dev", "dev (500 of 1,043 rows)", "dev-proxy (1,000 rows held out of train)");
- `reported_splits`, `stage_rows`, `one_profile`: which splits, runs and profile a table's rows are read from.

Every function reads rows of a `results.scores_table`.
"""

import math
import warnings

import numpy as np
import pandas as pd

from ..glue.data import EVAL_SPLITS, split_label
from ..glue.metrics import task_score
from ..glue.tasks import get_task

METRIC_ABBREVIATIONS = {"f1": "F1", "accuracy": "Acc", "pearson": "P", "spearman": "S", "mcc": "MCC"}

MISSING = "–"
"""The cell of a task a system did not score."""


def one_profile(table: pd.DataFrame, profile: str | None) -> tuple[str, pd.DataFrame]:
    """(`profile`, the rows of `table` of that profile); `profile` None: the table's only profile."""
    profiles = sorted(table.profile.dropna().unique())
    if profile is None:
        if len(profiles) != 1:
            raise ValueError(f"the table holds the profiles {profiles}: name the one to lay out")
        profile = profiles[0]
    rows = table[table.profile == profile]
    if rows.empty:
        raise ValueError(f"no finished runs of profile {profile!r} in the table (profiles: {profiles})")
    return profile, rows


def reported_splits(rows: pd.DataFrame) -> list[str]:
    """The evaluation splits in `rows`, in the order they are reported (matched before mismatched)."""
    present = set(rows.split)
    return [s for s in EVAL_SPLITS if s in present] + sorted(present - set(EVAL_SPLITS))


def column_name(task: str, splits: list[str]) -> str:
    """How the papers head a task's column: "MRPC F1/Acc", "STS-B P/S", "MNLI m/mm" (both dev sets),
    "CoLA", "MNLI" (one split, e.g. the dev-proxy)."""
    spec = get_task(task)
    if len(spec.metrics) > 1:
        return f"{spec.name} " + "/".join(METRIC_ABBREVIATIONS.get(m, m) for m in spec.metrics)
    if len(splits) > 1:
        return f"{spec.name} " + "/".join(split_label(s).removeprefix("dev-") for s in splits)
    return spec.name


def split_note(rows: pd.DataFrame) -> str:
    """What one split was: "dev", "dev (500 of 1,043 rows)", "dev-proxy (1,000 rows held out of train)"."""
    label = split_label(rows.split.iloc[0])
    used, available, official = (rows[c].iloc[0] for c in ("rows", "rows_available", "official_rows"))
    known = lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if label == "dev-proxy":
        if known(used) and known(available) and used < available:
            return f"dev-proxy ({int(used):,} of {int(available):,} rows held out of train)"
        return f"dev-proxy ({int(used):,} rows held out of train)" if known(used) else "dev-proxy"
    note = label
    if known(used) and known(available) and used < available:
        note += f" ({int(used):,} of {int(available):,} rows)"
    if known(available) and known(official) and available < official:
        note += f" (partial: {int(available):,} of the official {int(official):,} rows)"
    return note


def task_cell(rows: pd.DataFrame, task: str, splits: list[str]) -> tuple[str, float]:
    """The cell as the papers print it ("88.2/84.1") and the task's score (metrics, then splits, averaged)."""
    spec, values, scores = get_task(task), [], []
    for split in splits:
        metrics = dict(zip(rows[rows.split == split].metric, rows[rows.split == split].value))
        if not metrics:
            values += [math.nan] * len(spec.metrics)
            continue
        values += [metrics.get(m, math.nan) for m in spec.metrics]
        scores.append(task_score(metrics))
    cell = "/".join(MISSING if math.isnan(v) else f"{v:.1f}" for v in values)
    return cell, (float(np.mean(scores)) if scores else math.nan)


def stage_rows(table: pd.DataFrame, stage: str) -> pd.DataFrame:
    """The rows of `stage`, one run per task (with a warning where several runs scored the same task)."""
    rows = table[table.stage == stage]
    kept = []
    for task, task_rows in rows.groupby("task"):
        runs = sorted(task_rows.run.unique())
        if len(runs) > 1:
            warnings.warn(f"stage {stage!r} has {len(runs)} runs scoring {task} ({', '.join(runs)}); "
                          f"the table shows {runs[0]}", stacklevel=3)
        kept.append(task_rows[task_rows.run == runs[0]])
    return pd.concat(kept) if kept else rows
