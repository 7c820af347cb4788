"""The distillation reading (distillation.py) in words and tables: ``results/<profile>/distillation.md`` and
``distillation.csv``, a paragraph for notebook 05, and the two ways to make them:

- `write_from_runs`: from the runs' per-example predictions (``reproduce`` calls it): every value with its paired
  bootstrap interval;
- `write_from_results`: from ``results/<profile>/seeds.csv`` alone, where the runs are gone: mean ± sd over seeds
  and each seed's value; the MT-DNN-KD − MT-DNN intervals of ``comparisons.csv`` beside it where it exists, the
  splits from ``scores.csv``.

Every number in the text is formatted here from the table; a difference whose interval contains 0 is written as
no difference.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.profiles import Profile
from ..glue.tasks import GLUE_TASKS
from .distillation import (ALL_TASKS, BOOTSTRAP, ENSEMBLE_GAIN, KD_GAIN, KD_VS_ENSEMBLE, KEPT_SHARE, LAST_TEACHER,
                           MEAN_TEACHER, OTHER_TASKS, TEACHER_TASKS, distillation_table, seed_distillation)
from .intervals import N_RESAMPLES
from .results import markdown_table

AVERAGES = (TEACHER_TASKS, OTHER_TASKS, ALL_TASKS)
ORDER = (KD_GAIN.name, ENSEMBLE_GAIN.name, KEPT_SHARE, MEAN_TEACHER.name, LAST_TEACHER, KD_VS_ENSEMBLE)
"""The readings' columns in the tables."""


def seed_values(row) -> np.ndarray:
    return np.array([row[c] for c in row.index if c.startswith("seed ") and row[c] == row[c]], dtype=float)


def stated(row) -> str:
    """A difference as a sentence says it: "no difference (+0.4, 95 % interval [−0.6, 1.3]; sd 0.4 over 3
    seeds)", "+1.2 (95 % interval [0.3, 2.1], above 0; …)", or from seed scores only "+0.7 ± 0.4 over 3 seeds
    (above 0 in 3)"."""
    value, seeds = f"{row.value:+.1f}", f"{row.seeds} seed{'s' if row.seeds > 1 else ''}"
    if row.source != BOOTSTRAP:
        spread = f" ± {row.sd_seeds:.1f}" if row.seeds > 1 else ""
        return f"{value}{spread} over {seeds} (above 0 in {int((seed_values(row) > 0).sum())} of {row.seeds})"
    bounds, sd = f"95 % interval [{row.low:.1f}, {row.high:.1f}]", f"; sd {row.sd_seeds:.1f} over {seeds}"
    if row.verdict == "no difference":
        return f"no difference ({value}, {bounds}{sd if row.seeds > 1 else ''})"
    side = "above" if row.verdict == "better" else "below"
    return f"{value} ({bounds}, {side} 0{sd if row.seeds > 1 else ''})"


def kept_share(row) -> str:
    """The kept share in words: "51 % of the ensemble's gain (95 % interval [20, 90] %; per seed 53, 90, 16 %)",
    with the reason where it cannot be read."""
    if np.isnan(row.value):
        return f"an undefined share of the ensemble's gain ({row.verdict})"
    notes = []
    if row.source == BOOTSTRAP:  # a resample where the ensemble gained nothing has no share: no interval then
        notes.append(f"95 % interval [{row.low:.0f}, {row.high:.0f}] %" if np.isfinite([row.low, row.high]).all()
                     else "no interval: in some resamples of the dev examples the ensemble gained nothing")
    per_seed = seed_values(row)
    if len(per_seed) > 1:
        notes.append(f"per seed {', '.join(f'{v:.0f}' for v in per_seed)} %")
    if row.verdict.startswith(("unstable", "undefined")):
        notes.append(row.verdict)
    return f"{row.value:.0f} % of the ensemble's gain" + (f" ({'; '.join(notes)})" if notes else "")


def listed(names) -> str:
    return ", ".join(names) if len(names) else "none"


def counted(names, noun: str) -> str:
    return f"{len(names)} {noun}{'' if len(names) == 1 else 's'}"


def describe_distillation(table: pd.DataFrame) -> str:
    """One paragraph on the reading: the teacher tasks (the student's gain, the ensemble's, the share kept, the
    ensemble against its mean teacher, the student against the ensemble), the other tasks and all, and on which
    tasks MT-DNN-KD is above MT-DNN."""
    rows = {(r.quantity, r.task): r for _, r in table.iterrows()}
    kd_tasks = table[(table.quantity == KD_GAIN.name) & ~table.task.isin(AVERAGES)]
    teacher_tasks = [t for t in kd_tasks.task if (ENSEMBLE_GAIN.name, t) in rows]
    other_tasks = [t for t in kd_tasks.task if t not in teacher_tasks]
    parts = []
    if (KD_GAIN.name, TEACHER_TASKS) in rows:
        members = MEAN_TEACHER.name if (MEAN_TEACHER.name, TEACHER_TASKS) in rows else LAST_TEACHER
        member_words = "its mean teacher" if members == MEAN_TEACHER.name else "its last teacher (one member)"
        parts.append(
            f"On the {counted(teacher_tasks, 'teacher task')} ({listed(teacher_tasks)}), where distillation acts, "
            f"MT-DNN-KD − MT-DNN is {stated(rows[(KD_GAIN.name, TEACHER_TASKS)])}, and the teacher ensemble − "
            f"MT-DNN is {stated(rows[(ENSEMBLE_GAIN.name, TEACHER_TASKS)])}: the student keeps "
            f"{kept_share(rows[(KEPT_SHARE, TEACHER_TASKS)])}. The ensemble − {member_words} is "
            f"{stated(rows[(members, TEACHER_TASKS)])}; MT-DNN-KD − the ensemble is "
            f"{stated(rows[(KD_VS_ENSEMBLE, TEACHER_TASKS)])}.")
    if (KD_GAIN.name, OTHER_TASKS) in rows:
        parts.append(f"On the {counted(other_tasks, 'task')} without teachers ({listed(other_tasks)}), MT-DNN-KD − "
                     f"MT-DNN is {stated(rows[(KD_GAIN.name, OTHER_TASKS)])}.")
    if (KD_GAIN.name, ALL_TASKS) in rows:
        parts.append(f"On all {len(kd_tasks)} tasks it is {stated(rows[(KD_GAIN.name, ALL_TASKS)])}.")
    if len(kd_tasks):
        higher = f"MT-DNN-KD is above MT-DNN on {int((kd_tasks.value > 0).sum())} of {len(kd_tasks)} tasks " \
                 f"({listed(kd_tasks.task[kd_tasks.value > 0])})"
        if (kd_tasks.source == BOOTSTRAP).all():
            higher += (f"; its interval is above 0 on {listed(kd_tasks.task[kd_tasks.verdict == 'better'])} and "
                       f"below 0 on {listed(kd_tasks.task[kd_tasks.verdict == 'worse'])}")
        parts.append(higher + ".")
    if (table.source != BOOTSTRAP).any():
        parts.append("A value given as ± sd comes from seed scores alone: without an interval over examples it "
                     "has no verdict.")
    return " ".join(parts) or "No task has the runs of both MT-DNN and MT-DNN-KD."


def cell(row) -> str:
    """A table cell: "+0.4 [−0.6, 1.3]" (a per-example interval), "+0.7 ± 0.4" (sd over seeds only),
    "89 % (no interval)" (a kept share some resamples leave undefined) or "undefined" (a kept share where the
    ensemble gained nothing)."""
    share = row.quantity == KEPT_SHARE
    if np.isnan(row.value):
        return "undefined"
    value = f"{row.value:.0f} %" if share else f"{row.value:+.1f}"
    if row.source == BOOTSTRAP and not np.isfinite([row.low, row.high]).all():
        return value + " (no interval)"  # a kept share: some resamples had no ensemble gain to divide by
    if row.source == BOOTSTRAP:
        return value + (f" [{row.low:.0f}, {row.high:.0f}]" if share else f" [{row.low:.1f}, {row.high:.1f}]")
    return value + ("" if row.sd_seeds != row.sd_seeds else f" ± {row.sd_seeds:.0f}" if share
                    else f" ± {row.sd_seeds:.1f}")


def shown_tables(table: pd.DataFrame, first_seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The reading as three tables: the teacher tasks (one column per reading), MT-DNN-KD − MT-DNN on the other
    tasks and all, and each seed's value of the averaged readings (columns named by training seed, the i-th
    seed being `first_seed` + i)."""
    def wide(rows):
        if rows.empty:
            return pd.DataFrame(columns=["task", "split"])
        cells = rows.assign(cell=[cell(r) for _, r in rows.iterrows()], split=rows.split.fillna(""))
        out = cells.pivot_table(index=["task", "split"], columns="quantity", values="cell", aggfunc="first", sort=False)
        return out[[q for q in ORDER if q in out.columns]].reset_index().fillna("")

    with_teachers = table.task.isin(set(table.task[table.quantity == ENSEMBLE_GAIN.name]))
    averages = table[table.task.isin(AVERAGES)]
    seeds = [c for c in table.columns if c.startswith("seed ")]
    per_seed = averages[["quantity", "task", *seeds]].round(1).rename(
        columns={c: f"seed {first_seed + int(c.split()[1])}" for c in seeds})
    per_seed.insert(2, "all seeds", [cell(r) for _, r in averages.iterrows()])
    return wide(table[with_teachers]), wide(table[~with_teachers]), per_seed.reset_index(drop=True)


def sources(rows: pd.DataFrame) -> str:
    """"MT-DNN-KD − MT-DNN on QQP, MNLI; ensemble − MT-DNN on teacher tasks": which rows of the table."""
    return "; ".join(f"{q} on {', '.join(r.task)}" for q, r in rows.groupby("quantity", sort=False))


def distillation_markdown(table: pd.DataFrame, profile: Profile, command: str) -> str:
    """distillation.md: what made it, where each number comes from, the paragraph, the three tables."""
    seeds = int(table.seeds.max()) if len(table) else 0
    bootstrapped = table.source == BOOTSTRAP
    parts = [f"# Distillation as the paper reads it ({profile.name} profile, {seeds} seed(s))\n",
             f"Made by `{command}`: profile `{profile.name}`, training seeds {profile.seed}–"
             f"{profile.seed + seeds - 1} (data_seed {profile.data_seed}). Task scores ×100 (metrics averaged) on "
             "the split the `split` column names: dev, or dev-proxy (examples held out of train) where the GLUE "
             "copy has no labeled dev set. "
             "MT-DNN-KD is `student_refine` (else `student`), MT-DNN `refine`, the ensemble the average of the "
             "teachers' probabilities, the mean teacher the mean of the teachers' scores; the kept share is "
             "(MT-DNN-KD − MT-DNN) / (ensemble − MT-DNN) on the teacher tasks' average (the ratio of the mean "
             "gains).\n"]
    if bootstrapped.any():
        parts += [f"From per-example predictions, with 95 % paired bootstrap intervals over examples "
                  f"({N_RESAMPLES} resamples, the same resample for every system; `[low, high]` in the tables, "
                  f"and the sd over seeds in distillation.csv): {sources(table[bootstrapped])}.", ""]
    if not bootstrapped.all():
        parts += ["From the seed scores only (`± sd` over seeds; no interval over examples, so no verdict): "
                  f"{sources(table[~bootstrapped])}.", ""]
    if LAST_TEACHER in set(table.quantity):
        parts += ["This seeds.csv has no `runs` column: it was written before a stage's runs were averaged, so "
                  "its teacher row is each task's last teacher (folder order), one member not chosen on dev. "
                  f"`{LAST_TEACHER}` compares the ensemble with that member, not with the mean teacher; "
                  f"`python -m mtdnn_lite reproduce --profile {profile.name}` writes the mean teacher from the "
                  "runs.", ""]
    teacher, others, per_seed = shown_tables(table, profile.seed)
    parts += [describe_distillation(table), ""]
    for title, shown in (("Teacher tasks", teacher), ("MT-DNN-KD − MT-DNN on the tasks without teachers, and on all",
                                                      others), ("Each seed's value of the averages", per_seed)):
        if len(shown):
            parts += [f"## {title}\n", markdown_table(shown), ""]
    return "\n".join(parts)


def write_distillation(table: pd.DataFrame, out: Path, profile: Profile, command: str) -> list[Path]:
    """``<out>/distillation.csv`` (the long table) and ``distillation.md``, each written whole (atomically)."""
    written = []
    for name, text in (("distillation.csv", table.to_csv(index=False)),
                       ("distillation.md", distillation_markdown(table, profile, command))):
        path, tmp = Path(out) / name, Path(out) / f"{name}.tmp"
        tmp.write_text(text)
        written.append(tmp.replace(path))
    return written


def write_from_runs(profile: Profile, roots: list[Path], out: Path, command: str) -> list[Path]:
    """The reading from the runs of every seed (`roots`: ``<runs>/<profile>`` per seed), written to `out`."""
    table = distillation_table(roots, profile.tasks)
    if table.empty:
        raise FileNotFoundError(f"no task has finished MT-DNN and MT-DNN-KD runs under {roots[0]}: train them "
                                f"(python -m mtdnn_lite reproduce --profile {profile.name}), or read the seed scores "
                                "of a results folder with --from-seeds-csv")
    return write_distillation(table, out, profile, command)


def write_from_results(profile: Profile, folder: Path, command: str) -> list[Path]:
    """The reading from ``<folder>/seeds.csv`` alone (with ``comparisons.csv``'s intervals and ``scores.csv``'s
    splits where those exist), written beside it."""
    folder = Path(folder)
    if not (folder / "seeds.csv").is_file():
        raise FileNotFoundError(f"{folder / 'seeds.csv'} not found: expected the seed scores that "
                                f"python -m mtdnn_lite reproduce --profile {profile.name} writes")
    seeds = pd.read_csv(folder / "seeds.csv")
    seeds = seeds[seeds.task.isin([*profile.tasks, "average"])] if "task" in seeds.columns else seeds
    comparisons = pd.read_csv(folder / "comparisons.csv") if (folder / "comparisons.csv").is_file() else None
    splits = None
    if (folder / "scores.csv").is_file():
        scores = pd.read_csv(folder / "scores.csv")
        splits = {t: "/".join(dict.fromkeys(rows.split_label)) for t, rows in scores.groupby("task")}
    table = seed_distillation(seeds, comparisons, splits)
    if table.empty:
        raise ValueError(f"{folder / 'seeds.csv'}: no task has scores of both MT-DNN (refine) and MT-DNN-KD "
                         "(student_refine or student) in every seed")
    return write_distillation(table, folder, profile, command)
