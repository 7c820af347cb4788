"""Run artefacts to tables: one row per run, task, split and metric, with where each number came from;
and the GLUE dev table in the layout of the papers' tables, written as CSV and Markdown.

- `scores_table(root)`: the long table of every finished run's final dev scores;
- `stage_summary(table)`: one row per stage, one task score per column;
- `paper_layout(table)`: the papers' layout: one row per system (single-task baseline, MT-DNN without
  fine-tuning, MT-DNN, teacher ensemble, MT-DNN-KD), the task columns with their metrics as the papers print
  them ("88.2/84.1" for MRPC F1/Acc), the average over the tasks in the row, and a "split" row saying what
  every column was scored on (dev, a sample of dev, or dev-proxy);
- `write_tables(table, out_dir)`: ``<out_dir>/<profile>/glue_dev.csv``, ``glue_dev.md`` and ``scores.csv``.

The systems and the stages that give them are named in systems.py; a cell and its split note are written by
cells.py; the published numbers to show beside these are in published.py, each with its source.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.pipeline import SCORED_STAGES
from ..experiments.runs import read_json
from ..glue.data import split_label
from ..glue.metrics import task_score
from ..glue.tasks import GLUE_TASKS
from .cells import MISSING, column_name, one_profile, reported_splits, split_note, stage_rows, task_cell
from .models import parameter_counts
from .systems import SYSTEMS, systems_sentence

STAGE_ORDER = list(SCORED_STAGES)
"""The stages of scores_table's rows in the order of pipeline.STAGE_TABLE: every report's order."""

COLUMNS = ["profile", "stage", "run", "task", "split", "split_label", "rows", "metric", "value", "epoch",
           "rows_available", "official_rows", "encoder"]


def scores_table(root="runs") -> pd.DataFrame:
    """Final-epoch dev scores of every finished run under `root`, as a long table.

    Columns: profile, stage, run (folder), task, split (the split's name), split_label ("dev", "dev-m",
    "dev-mm", "dev-proxy"), rows (examples scored), metric, value (×100), epoch, rows_available (rows of the
    split before a profile's max_eval sample), official_rows (of the official GLUE split; None for a
    dev-proxy), encoder. A finished run without dev scores (e.g. soft targets) is left out.
    """
    records = []
    for done in sorted(Path(root).glob("**/done.json")):
        run = done.parent
        if not (run / "metrics.json").is_file() or not (run / "config.json").is_file():
            continue
        config, history = read_json(run / "config.json"), read_json(run / "metrics.json")
        data = read_json(run / "data.json") if (run / "data.json").is_file() else {}
        if not history or "dev" not in history[-1]:
            continue
        last = history[-1]
        for task, splits in last["dev"].items():
            for split, metrics in splits.items():
                info = data.get(task, {}).get(split, {})
                for metric, value in metrics.items():
                    records.append({"profile": config.get("profile"), "stage": config.get("stage", run.parent.name),
                                    "run": str(run), "task": task, "split": split,
                                    "split_label": split_label(split), "rows": info.get("rows_used"),
                                    "metric": metric, "value": value, "epoch": last.get("epoch"),
                                    "rows_available": info.get("rows"), "official_rows": info.get("official_rows"),
                                    "encoder": config.get("encoder")})
    return pd.DataFrame(records, columns=COLUMNS)


def _stage_key(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def stage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per stage, one column per task (its GLUE task score: metrics and MNLI m/mm averaged)
    and the GLUE-style average over the tasks present. Where a stage has several runs of a task (the K
    teachers), the cell is the mean of their scores: the mean teacher."""
    per_task = (table.groupby(["stage", "task", "split", "run"])  # one score per run: runs' metrics never mix
                .apply(lambda g: task_score(dict(zip(g.metric, g.value))), include_groups=False)
                .groupby(["stage", "task"]).mean().unstack("task"))
    per_task = per_task[[t for t in GLUE_TASKS if t in per_task.columns]]
    per_task = per_task.loc[sorted(per_task.index, key=_stage_key)]
    per_task["average"] = per_task.mean(axis=1)
    return per_task


# --- the papers' layout --------------------------------------------------------------------------------------

def paper_layout(table: pd.DataFrame, profile: str | None = None) -> pd.DataFrame:
    """The GLUE dev table in the papers' layout, from `scores_table` rows of one profile.

    Rows: first "split" (what each task column was scored on: "dev", "dev (N of M rows)", "dev-proxy (…)",
    "dev-m/dev-mm"), then one per system with finished runs, in the papers' order (systems.SYSTEMS):
    Single-task baseline (stage st), MT-DNN, no fine-tuning (mtl), MT-DNN (refine), Teacher ensemble
    (ensemble, its tasks only), MT-DNN-KD (student_refine, else student). Columns: system, stage, one per task
    in GLUE order headed as the papers head it ("MRPC F1/Acc", "STS-B P/S", "MNLI m/mm"), cells ×100 with one
    decimal ("–": not scored), avg (the mean of the task scores in the row), n (the tasks it averages),
    profile, encoder. All cells are text.
    """
    profile, table = one_profile(table, profile)
    tasks = [t for t in GLUE_TASKS if t in set(table.task)]
    splits = {t: reported_splits(table[table.task == t]) for t in tasks}
    headers = {t: column_name(t, splits[t]) for t in tasks}
    encoder = ", ".join(sorted(table.encoder.dropna().unique())) or "unknown"

    split_row = {"system": "split", "stage": ""}
    for task in tasks:
        task_rows = table[table.task == task]
        notes = []  # one per split; runs that saw different rows of a split are all named
        for split in splits[task]:
            split_rows = task_rows[task_rows.split == split]
            notes.append("; ".join(sorted({split_note(r) for _, r in split_rows.groupby("run")})))
        split_row[headers[task]] = "/".join(notes)
    records = [{**split_row, "avg": "", "n": ""}]

    for system, stages in SYSTEMS:
        stage = next((s for s in stages if (table.stage == s).any()), None)
        if stage is None:
            continue
        rows = stage_rows(table, stage)
        record, scores = {"system": system, "stage": stage}, []
        for task in tasks:
            task_rows = rows[rows.task == task]
            if task_rows.empty:
                record[headers[task]] = MISSING
                continue
            record[headers[task]], score = task_cell(task_rows, task, splits[task])
            if not math.isnan(score):
                scores.append(score)
        record["avg"] = f"{np.mean(scores):.1f}" if scores else MISSING
        record["n"] = str(len(scores))
        records.append(record)

    layout = pd.DataFrame(records, columns=["system", "stage", *headers.values(), "avg", "n"])
    layout["profile"], layout["encoder"] = profile, encoder
    return layout


# --- model size -------------------------------------------------------------------------------------------------

def _model_size(table: pd.DataFrame) -> str:
    """A sentence on the model size, from the weights of a run in `table` (the mtl run's if any: all heads)."""
    runs = sorted(table.run.unique(), key=lambda r: (table[table.run == r].stage.iloc[0] != "mtl", r))
    for run in runs:
        if (Path(run) / "model" / "model.safetensors").is_file():
            counts = parameter_counts(Path(run) / "model")
            heads = {k: v for k, v in counts.items() if k != "shared"}
            shared = counts.get("shared", 0)
            text = f"{shared / 1e6:.1f}M parameters in the shared encoder ({shared:,})"
            if heads:
                low, high = min(heads.values()), max(heads.values())
                text += f", plus one output layer per task ({low:,}{f' to {high:,}' if high > low else ''} parameters)"
            return text
    return "unknown (no saved model found among the runs)"


# --- writing ----------------------------------------------------------------------------------------------------

def markdown_table(df: pd.DataFrame) -> str:
    """`df` as a GitHub Markdown table (columns as headers, the index left out)."""
    def cell(value) -> str:
        text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in df.columns) + " |", "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _config(table: pd.DataFrame) -> dict:
    """The settings of one trained run in `table` (they share the data settings; an ensemble's config has none)."""
    for run in sorted(table.run.unique()):
        if (Path(run) / "config.json").is_file():
            config = read_json(Path(run) / "config.json")
            if "max_train" in config:
                return config
    return {}


def _teachers(table: pd.DataFrame) -> str:
    teachers = table[table.stage == "teacher"].groupby("task").run.nunique()
    if teachers.empty:
        return "several teacher models per task"
    counts = sorted(set(teachers))
    return f"{'/'.join(map(str, counts))} teacher models per task"


def layout_markdown(table: pd.DataFrame, profile: str | None = None) -> str:
    """glue_dev.md: a short header (profile, encoder, model size, data, splits, the command) and the table."""
    profile, table = one_profile(table, profile)
    layout = paper_layout(table, profile)
    config = _config(table)
    encoder = layout.encoder.iloc[0]
    proxy = sorted({t for t, s in zip(table.task, table.split_label) if s == "dev-proxy"},
                   key=GLUE_TASKS.index)
    capped = config.get("max_train")
    training = f"up to {capped:,} examples per task (max_train)" if capped else "all training examples"
    shown = {stage for stage in layout.stage if stage}
    absent = [f"{system} ({'/'.join(stages)})" for system, stages in SYSTEMS if not shown & set(stages)]
    lines = [
        f"# GLUE dev results: profile `{profile}`",
        "",
        f"Written by `python -m mtdnn_lite reproduce --profile {profile}` from the runs of profile `{profile}`.",
        "",
        f"- **Encoder**: `{encoder}`; model size: {_model_size(table)}. Every model in the table has this size "
        f"(st and refine: one model per task; mtl and student: one model for all tasks); the teacher ensemble "
        f"runs {_teachers(table)} and averages their class probabilities.",
        f"- **Training data**: {training}"
        f"; the train files of this GLUE copy may be samples (see data.json of any run).",
        "- **Splits** (the `split` row): `dev` is the official GLUE dev set; `dev (N of M rows)` a seeded sample of "
        "it (the profile's max_eval); `dev-proxy` examples held out of the training data where no labeled dev "
        "set exists" + (f" (here {', '.join(proxy)})" if proxy else "") + ": not comparable with published dev "
        "or test-server numbers.",
        "- **Scores** ×100: CoLA Matthews correlation; MRPC and QQP F1/accuracy; STS-B Pearson/Spearman; MNLI "
        "matched/mismatched accuracy where both dev sets exist; the others accuracy. `avg` is the mean of the task "
        "scores in the row (a task's metrics averaged first) over `n` tasks: a GLUE score only when n = 9 and every "
        "split is the official dev set.",
        f"- **Systems**: {systems_sentence()}.",
    ]
    if absent:
        lines.append(f"- **Not in this table** (no finished runs yet): {'; '.join(absent)}.")
    lines += ["", markdown_table(layout.drop(columns=["profile", "encoder"])), ""]
    return "\n".join(lines)


def write_tables(table: pd.DataFrame, out_dir="results") -> list[Path]:
    """For each profile in `table` (a `scores_table`): ``<out_dir>/<profile>/glue_dev.csv`` (the paper layout),
    ``glue_dev.md`` (the same with a header) and ``scores.csv`` (the long table). Returns the paths written."""
    if table.empty:
        raise ValueError("no finished runs with dev scores: nothing to write")
    written = []
    for profile in sorted(table.profile.dropna().unique()):
        rows = table[table.profile == profile]
        folder = Path(out_dir) / profile
        folder.mkdir(parents=True, exist_ok=True)
        paper_layout(rows, profile).to_csv(folder / "glue_dev.csv", index=False)
        (folder / "glue_dev.md").write_text(layout_markdown(rows, profile))
        rows.to_csv(folder / "scores.csv", index=False)
        written += [folder / "glue_dev.csv", folder / "glue_dev.md", folder / "scores.csv"]
    return written
