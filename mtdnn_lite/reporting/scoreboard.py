"""The kit's GLUE dev scores per system and task, ready to chart and to read beside the papers' (notebooks 03, 06).

- `load_scores`: the `results.scores_table` of one profile's runs, or, without runs, the ``scores.csv``
  that ``reproduce`` wrote under the results folder;
- `stage_scores`: one row per stage (system) and task: the task's score, the cell as the papers print it,
  and the split it was scored on ("dev", "dev (64 of 1,043 rows)", "dev-proxy (…)");
- `score_matrix`: the same as a system × task table of scores;
- `averages`: each system's GLUE-style average (and without WNLI), and whether it is a GLUE score (it is not
  unless all nine tasks were scored on their full official dev sets);
- `run_seeds`, `seeds_label`: the training seeds of the runs behind a table, and how a title names them;
- `missing_stages`: the stages of the papers' procedure that have no finished runs yet;
- `beside_published`: the kit's cells beside the papers' published cells, task by task, each column saying
  its split and source.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.runs import read_json
from ..glue.tasks import GLUE_TASKS, get_task
from .cells import MISSING, reported_splits, split_note, stage_rows, task_cell
from .published import column_metrics, glue_test_table, small_encoder_dev_table
from .results import COLUMNS, STAGE_ORDER, paper_layout, scores_table
from .systems import STAGE_DESCRIPTIONS, STAGE_LABELS, TEACHER_TASKS_ONLY


def load_scores(runs_dir, profile: str, tasks=None, results_dir=None) -> tuple[pd.DataFrame, str]:
    """(the scores table of `profile`, where it came from): the finished runs under ``runs_dir/profile``;
    where there are none, ``results_dir/profile/scores.csv`` if present; else an empty table. `tasks`: keep
    only those."""
    root = Path(runs_dir) / profile
    table, source = scores_table(root), f"the finished runs under {root}"
    if table.empty and results_dir is not None and (Path(results_dir) / profile / "scores.csv").is_file():
        path = Path(results_dir) / profile / "scores.csv"
        table, source = pd.read_csv(path), f"{path} (written by reproduce)"
    if table.empty:
        return pd.DataFrame(columns=COLUMNS), f"nothing: no finished runs under {root}"
    if tasks is not None:
        table = table[table.task.isin(tasks)]
    return table.reset_index(drop=True), source


def _short_split(rows: pd.DataFrame, splits: list[str]) -> str:
    """"dev", "dev-proxy", "dev-m/dev-mm"; with the rows scored where a split was sampled: "dev, 64 rows"."""
    labels, sampled = [], []
    for split in splits:
        first = rows[rows.split == split].iloc[0]
        labels.append(first.split_label)
        used, available = first["rows"], first["rows_available"]
        if pd.notna(used) and pd.notna(available) and used < available and first.split_label != "dev-proxy":
            sampled.append(int(used))
        elif first.split_label == "dev-proxy" and pd.notna(used):
            sampled.append(int(used))
    text = "/".join(labels)
    return f"{text}, {'/'.join(map(str, sorted(set(sampled))))} rows" if sampled else text


def stage_scores(table: pd.DataFrame, stages=None) -> pd.DataFrame:
    """One row per stage and task, in the papers' order of systems and GLUE's order of tasks.

    Columns: stage, system (`systems.STAGE_LABELS`), task, score (×100: the task's metrics, then its splits, averaged,
    as in the GLUE score), cell (the papers' format, "88.2/84.1" for MRPC F1/Acc), split (short: "dev",
    "dev-proxy", "dev, 64 rows" for a sample), split_note (`results`'s split row: "dev (64 of 1,043 rows)"),
    run. `stages`: which stages (default: those of `systems.STAGE_LABELS` that have runs). One run per task, as in
    `results.paper_layout`.
    """
    stages = [s for s in (stages or STAGE_LABELS) if (table.stage == s).any()]
    records = []
    for stage in sorted(stages, key=STAGE_ORDER.index):
        rows = stage_rows(table, stage)
        for task in [t for t in GLUE_TASKS if t in set(rows.task)]:
            task_rows = rows[rows.task == task]
            splits = reported_splits(task_rows)
            cell, score = task_cell(task_rows, task, splits)
            note = "/".join(split_note(task_rows[task_rows.split == s]) for s in splits)
            records.append({"stage": stage, "system": STAGE_LABELS.get(stage, stage), "task": task, "score": score,
                            "cell": cell, "split": _short_split(task_rows, splits), "split_note": note,
                            "run": task_rows.run.iloc[0]})
    return pd.DataFrame(records, columns=["stage", "system", "task", "score", "cell", "split", "split_note", "run"])


def score_matrix(scores: pd.DataFrame) -> pd.DataFrame:
    """`stage_scores` as a system × task table of scores (rows in the papers' order, tasks in GLUE's)."""
    matrix = scores.pivot(index="system", columns="task", values="score")
    systems = list(dict.fromkeys(scores.system))
    return matrix.loc[systems, [t for t in GLUE_TASKS if t in matrix.columns]]


def averages(scores: pd.DataFrame, leave_out: str = "WNLI") -> pd.DataFrame:
    """Each system's GLUE-style average: the mean of its task scores, over the tasks it has.

    Columns: system, stage, average (×100), "average without <leave_out>" (the same mean without that task, as
    often reported for WNLI, whose dev set is adversarial to its train set; NaN where the system has no
    other task), tasks (n), on dev-proxy (tasks scored on a split held out of
    train), on a dev sample (tasks scored on part of their dev set), GLUE score? (True only for all nine
    tasks, each on its full official dev split: only then is the average a GLUE dev score), why not (the
    reasons it is not, as text).
    """
    records = []
    for (stage, system), rows in scores.groupby(["stage", "system"], sort=False):
        proxy = [t for t, s in zip(rows.task, rows.split_note) if "dev-proxy" in s]
        sampled = [t for t, s in zip(rows.task, rows.split_note) if " of " in s and "dev-proxy" not in s]
        partial = [t for t, s in zip(rows.task, rows.split_note) if "partial" in s]
        reasons = ([f"{len(rows)} of the {len(GLUE_TASKS)} tasks"] if len(rows) < len(GLUE_TASKS) else []) \
            + ([f"dev-proxy for {', '.join(proxy)}"] if proxy else []) \
            + ([f"part of the dev set for {', '.join(sampled + partial)}"] if sampled or partial else [])
        rest = rows[rows.task != leave_out].score
        records.append({"system": system, "stage": stage, "average": float(np.mean(rows.score)),
                        f"average without {leave_out}": float(np.mean(rest)) if len(rest) else np.nan,
                        "tasks": len(rows), "on dev-proxy": ", ".join(proxy) or "–",
                        "on a dev sample": ", ".join(sampled + partial) or "–", "GLUE score?": not reasons,
                        "why not": "; ".join(reasons) or "–"})
    return pd.DataFrame(records)


def run_seeds(table: pd.DataFrame) -> list[int]:
    """The training seeds recorded in the config.json of the runs of a scores table (its `run` column); runs
    whose folder is not at hand (a scores.csv read without its runs) are skipped, and so are the teachers, whose
    seed s + k derives from the seed s of the runs they were fine-tuned from (layout.teacher_profile)."""
    paths = [Path(run) / "config.json" for run in dict.fromkeys(table.run)] if "run" in table else []
    configs = [read_json(path) for path in paths if path.is_file()]
    return sorted({int(c["seed"]) for c in configs if "seed" in c and c.get("stage") != "teacher"})  # ensembles: none


def seeds_label(seeds) -> str:
    """"seed 0", "seeds 0, 1, 2", or "seed unknown" for no seeds."""
    seeds = sorted(set(seeds))
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else "seed unknown"


def missing_stages(table: pd.DataFrame, tasks) -> pd.DataFrame:
    """The systems of `systems.STAGE_LABELS` without finished runs for some of `tasks` (the ensemble: for the tasks
    with a teacher only). Columns: stage, system, what it is, tasks missing (text)."""
    records = []
    for stage, system in STAGE_LABELS.items():
        wanted = [t for t in tasks if get_task(t).has_teacher] if stage in TEACHER_TASKS_ONLY else list(tasks)
        done = set(table[table.stage == stage].task)
        missing = [t for t in wanted if t not in done]
        if missing:
            records.append({"stage": stage, "system": system, "what it is": STAGE_DESCRIPTIONS[stage],
                            "tasks missing": "all" if len(missing) == len(wanted) else ", ".join(missing)})
    return pd.DataFrame(records, columns=["stage", "system", "what it is", "tasks missing"])


def _published_cells(table: pd.DataFrame, split: str) -> dict[str, dict[str, str]]:
    """{"model [split]": {task: cell with its metrics named}} of a published table."""
    columns = {}
    for row in table.to_dict("records"):
        cells = {}
        for column, cell in row.items():
            if column in ("model", "params", "source", "split", "GLUE"):
                continue
            task, _ = column_metrics(column)
            if task not in GLUE_TASKS:
                continue  # AX: not a GLUE dev task
            suffix = column.partition(" ")[2] or (column.rpartition("-")[2] if column.endswith(("-m", "-mm")) else "")
            cells[task] = cell if cell == MISSING or not suffix or "(" in cell else f"{cell} ({suffix})"
        if "GLUE" in row:
            cells["GLUE score / avg"] = f"{row['GLUE']:.1f}"
        columns[f"{row['model']} [{split}]"] = cells
    return columns


def beside_published(table: pd.DataFrame, profile: str | None = None) -> pd.DataFrame:
    """The kit's GLUE dev cells (`results.paper_layout` of `table`) beside the published ones, one row per
    task (GLUE's order) and a last row for the GLUE score / the kit's average (with its number of tasks).

    Columns: "split (this kit)", one per kit system ("<system> [this kit]"), then one per published model
    ("<model> [test server]" or "<model> [dev]"); a cell names its metrics where the task has several
    ("89.3/85.4 (F1/Acc)"). Sources: `published.glue_test_table` and `small_encoder_dev_table`.
    """
    columns: dict[str, dict[str, str]] = {}
    if not table.empty:
        layout = paper_layout(table, profile)
        headers = [c for c in layout.columns if c not in ("system", "stage", "avg", "n", "profile", "encoder")]
        tasks = {h: h.partition(" ")[0] for h in headers}
        split = layout[layout.system == "split"].iloc[0]
        columns["split (this kit)"] = {tasks[h]: split[h] for h in headers}
        for row in layout[layout.system != "split"].to_dict("records"):
            cells = {}
            for h in headers:
                suffix = h.partition(" ")[2]
                cells[tasks[h]] = row[h] if row[h] == MISSING or not suffix else f"{row[h]} ({suffix})"
            cells["GLUE score / avg"] = f"{row['avg']} (avg of {row['n']})"
            columns[f"{row['system']} [this kit]"] = cells
    columns.update(_published_cells(glue_test_table(), "test server"))
    columns.update(_published_cells(small_encoder_dev_table(), "dev"))
    index = [t for t in GLUE_TASKS if any(t in c for c in columns.values())] + ["GLUE score / avg"]
    out = pd.DataFrame({name: [cells.get(i, "not run" if "[this kit]" in name else "") for i in index]
                        for name, cells in columns.items()}, index=index)
    out.index.name = "task"
    return out.replace({math.nan: ""})


def stage_differences(scores: pd.DataFrame, baseline: str = "st") -> pd.DataFrame:
    """Task × stage scores from `stage_scores`, then each other stage minus `baseline` ("mtl − st", points
    ×100), and the split each task was scored on; tasks in GLUE's order, a last row "average" over the tasks
    every shown stage has."""
    wide = scores.pivot(index="task", columns="stage", values="score")
    wide = wide.loc[[t for t in GLUE_TASKS if t in wide.index], sorted(wide.columns, key=STAGE_ORDER.index)]
    if baseline in wide:
        for stage in [s for s in wide.columns if s != baseline]:
            wide[f"{stage} − {baseline}"] = wide[stage] - wide[baseline]
    common = wide.dropna()
    wide.loc["average"] = common.mean() if len(common) else np.nan
    wide["split"] = scores.drop_duplicates("task").set_index("task").split.reindex(wide.index).fillna(
        f"mean of {len(common)} tasks")
    return wide
