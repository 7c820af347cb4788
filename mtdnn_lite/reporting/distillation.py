"""Distillation as the MT-DNN-KD paper means it: one student keeps nearly all of what a task's teacher ensemble
gains over a single MT-DNN.

Teachers exist for four tasks only (MNLI, QQP, QNLI, RTE: `Task.has_teacher`), so distillation acts there; the
reading keeps those tasks and the others apart. With s(·) a system's task score (×100) on the same dev (or
dev-proxy) examples, for each teacher task and for the mean over the teacher tasks T:

    Δ_KD      = s(MT-DNN-KD) − s(MT-DNN)                 what distillation bought
    Δ_ens     = s(ensemble) − s(MT-DNN)                  what the teachers had to offer
    kept      = 100 · mean_T Δ_KD / mean_T Δ_ens         the share (%) of the ensemble's gain the student keeps
    Δ_members = s(ensemble) − (1/K) Σ_k s(teacher_k)     the ensemble against its mean teacher
    Δ_KD − Δ_ens = s(MT-DNN-KD) − s(ensemble)            what the student leaves behind

and Δ_KD on the tasks without teachers (averaged over them) and on all tasks, apart. `kept` is only read on the
average over T (a single task's Δ_ens is too small and noisy to divide by); where the interval of Δ_ens contains
0 the share is unstable, and where Δ_ens ≤ 0 it is undefined.

Two sources give one table (COLUMNS):
- `distillation_table(roots, tasks)`: the runs' per-example predictions. Each value has its 95 % paired bootstrap
  interval over examples (intervals.py): one resample of every task's examples serves every system, and the
  share's interval is the percentile interval of the ratio of the average gains on each resample;
- `seed_distillation(seeds)`: a seeds.csv table alone (reproduce.seed_scores: one score per seed, stage and
  task): the mean and sd over seeds and each seed's value, without an interval over examples; a comparisons.csv
  of the same runs lends the per-example intervals it holds (MT-DNN-KD − MT-DNN per task and over all tasks).

In both, a value is the mean over seeds (the share: the ratio of the mean gains), `sd_seeds` the sd of the seeds'
values (n − 1) and "seed i" the i-th seed's value.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..glue.data import split_label
from ..glue.tasks import GLUE_TASKS, get_task
from .intervals import COMPARISONS, Comparison, by_task, interval, paired, split_sizes, verdict
from .systems import SYSTEMS


def comparison(a: str, b: str) -> Comparison:
    """The comparison of intervals.COMPARISONS between systems `a` and `b`."""
    return next(c for c in COMPARISONS if (c.a, c.b) == (a, b))


KD_GAIN = comparison("student_refine", "refine")  # MT-DNN-KD − MT-DNN
ENSEMBLE_GAIN = Comparison("ensemble − MT-DNN", "ensemble", "refine")
MEAN_TEACHER = comparison("ensemble", "mean_teacher")  # ensemble − mean teacher
KEPT_SHARE, KD_VS_ENSEMBLE = "kept share (%)", "MT-DNN-KD − ensemble"
LAST_TEACHER = "ensemble − last teacher"
"""What Δ_members reads in a seeds.csv without a `runs` column (written before stage_summary averaged a stage's
runs): there the teacher row is the score of the task's last teacher in folder order, one member not chosen on
dev, not the mean of the K."""
TEACHER_TASKS, OTHER_TASKS, ALL_TASKS = "teacher tasks", "other tasks", "all tasks"
BOOTSTRAP, SEED_SCORES = "per-example bootstrap", "seed scores"
COLUMNS = ["quantity", "task", "split", "value", "low", "high", "sd_seeds", "verdict", "seeds", "source"]


def readings(kd, ens, members) -> np.ndarray:
    """[Δ_KD, Δ_ens, kept, Δ_members, Δ_KD − Δ_ens] from the three deltas (floats, or arrays over seeds)."""
    kd, ens, members = (np.asarray(v, dtype=float) for v in (kd, ens, members))
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where(ens > 0, 100 * kd / ens, np.nan)  # undefined where the ensemble gained nothing
    return np.array([kd, ens, kept, members, kd - ens])


def gain_only(kd) -> np.ndarray:
    """[Δ_KD]: the reading of a task without teachers."""
    return np.array([np.asarray(kd, dtype=float)])


def share_verdict(kept: float, ens_low: float, ens_per_seed: np.ndarray, source: str) -> str:
    """Whether the kept share can be read: the ensemble's gain it divides by must be above 0 (its interval, with
    per-example intervals; every seed's gain, with seed scores only)."""
    if np.isnan(kept):
        return "undefined: the ensemble gained nothing over MT-DNN"
    if source == BOOTSTRAP:
        return "the ensemble's gain is above 0" if ens_low > 0 else "unstable: the ensemble's gain is no difference"
    lost = [str(i) for i, v in enumerate(ens_per_seed) if not v > 0]
    return f"unstable: no ensemble gain in seed {', '.join(lost)}" if lost else "seed scores only"


def rows_of(names, label: str, split: str, value, low, high, per_seed: np.ndarray, source: str) -> list[dict]:
    """One table row per reading in `names` (None: left out) from the values, intervals and per-seed values."""
    rows = []
    for j, name in enumerate(names):
        if name is None:
            continue
        seeds = per_seed[j]
        sd = float(np.nanstd(seeds, ddof=1)) if np.isfinite(seeds).sum() > 1 else np.nan
        row = {"quantity": name, "task": label, "split": split, "value": float(value[j]), "low": float(low[j]),
               "high": float(high[j]), "sd_seeds": sd, "seeds": len(seeds), "source": source}
        if name == KEPT_SHARE:
            row["verdict"] = share_verdict(row["value"], float(low[1]), per_seed[1], source)
        else:
            row["verdict"] = verdict(row["low"], row["high"]) if source == BOOTSTRAP else "seed scores only"
        rows.append(row | {f"seed {i}": float(v) for i, v in enumerate(seeds)})
    return rows


TEACHER_ROWS = (KD_GAIN.name, ENSEMBLE_GAIN.name, KEPT_SHARE, MEAN_TEACHER.name, KD_VS_ENSEMBLE)
"""The readings of a teacher task, in the order `readings` returns them."""


def names_for(label: str, teacher: bool, members: str = MEAN_TEACHER.name) -> tuple:
    """The row names of a reading: a teacher task's (no kept share for one task alone), or Δ_KD alone."""
    if not teacher:
        return (KD_GAIN.name,)
    names = tuple(members if n == MEAN_TEACHER.name else n for n in TEACHER_ROWS)
    return names if label == TEACHER_TASKS else tuple(None if n == KEPT_SHARE else n for n in names)


# --- from the runs' per-example predictions --------------------------------------------------------------------

def bootstrap_reading(groups: dict, combine, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(value, low, high, per-seed values) of `combine`(deltas averaged over the tasks of `groups`), where
    `groups` is {task: [Paired, …]}, each task's comparisons on the same examples; one resample of every task's
    splits gives all of them on that resample."""
    firsts = [group[0] for group in groups.values()]

    def statistic(*idx):
        indices = by_task(firsts, idx)
        return combine(*np.mean([[p.difference(indices[t]) for p in g] for t, g in groups.items()], axis=0))

    low, high = interval(statistic, split_sizes(firsts), seed)
    deltas = np.mean([[np.subtract(*p.per_seed()) for p in g] for g in groups.values()], axis=0)  # Float[C, S]
    return combine(*deltas.mean(axis=1)), np.atleast_1d(low), np.atleast_1d(high), combine(*deltas)


def distillation_table(roots: list[Path], tasks=GLUE_TASKS, seed: int = 0) -> pd.DataFrame:
    """The distillation reading (module docstring) from the runs of every seed (`roots`: a profile's runs folder
    per seed), with per-example paired bootstrap intervals; tasks missing a system's runs are left out, which
    the `task` rows show."""
    teachers, others = {}, {}
    for task in tasks:
        if get_task(task).has_teacher:
            group = [paired(roots, c, task) for c in (KD_GAIN, ENSEMBLE_GAIN, MEAN_TEACHER)]
            if None not in group:
                teachers[task] = group
        elif (p := paired(roots, KD_GAIN, task)) is not None:
            others[task] = [p]
    rows = []
    for label, groups, combine in ((TEACHER_TASKS, teachers, readings), (OTHER_TASKS, others, gain_only)):
        for task, group in groups.items():
            split = "/".join(split_label(s) for s in group[0].splits)
            rows += rows_of(names_for(task, combine is readings), task, split,
                            *bootstrap_reading({task: group}, combine, seed), BOOTSTRAP)
        if groups:
            rows += rows_of(names_for(label, combine is readings), label, "",
                            *bootstrap_reading(groups, combine, seed), BOOTSTRAP)
    every = {t: g[:1] for t, g in {**teachers, **others}.items()}
    if every:
        rows += rows_of((KD_GAIN.name,), ALL_TASKS, "", *bootstrap_reading(every, gain_only, seed), BOOTSTRAP)
    return pd.DataFrame(rows).reindex(columns=[*COLUMNS, *(f"seed {i}" for i in range(len(roots)))])


# --- from the seed scores alone ---------------------------------------------------------------------------------

def system_scores(seeds: pd.DataFrame, system: str) -> pd.DataFrame:
    """Float[task, seed] of a system of systems.SYSTEMS from a seeds.csv table: per task and seed, the first of
    its stages with a score (MT-DNN-KD: student_refine, else student)."""
    wide = seeds.pivot_table(index="task", columns=["stage", "seed_index"], values="score", dropna=False)
    stages = [s for s in dict(SYSTEMS)[system] if s in wide.columns.get_level_values(0)]
    found = [wide[s] for s in stages] or [pd.DataFrame(index=wide.index)]
    return found[0].combine_first(found[1]) if len(found) > 1 else found[0]


def seed_distillation(seeds: pd.DataFrame, comparisons: pd.DataFrame | None = None,
                      splits: dict[str, str] | None = None) -> pd.DataFrame:
    """The distillation reading from seed scores alone: a seeds.csv table (columns stage, task, score,
    seed_index and, written since stage_summary averages a stage's runs, runs). `comparisons` (a comparisons.csv
    of the same runs) lends its MT-DNN-KD − MT-DNN intervals; `splits` names each task's split(s)."""
    missing = {"stage", "task", "score", "seed_index"} - set(seeds.columns)
    if missing:
        raise ValueError(f"seeds table: columns {sorted(missing)} missing (expected stage, task, score, seed_index)")
    seeds = seeds[seeds.task.isin(GLUE_TASKS)]
    members = MEAN_TEACHER.name if "runs" in seeds.columns else LAST_TEACHER
    kd, mt_dnn, ensemble = (system_scores(seeds, s) for s in ("MT-DNN-KD", "MT-DNN", "Teacher ensemble"))
    teacher = seeds[seeds.stage == "teacher"].pivot_table(index="task", columns="seed_index", values="score")
    indices = sorted(seeds.seed_index.unique())
    deltas = {}  # {task: Float[C, S]}
    for task in [t for t in GLUE_TASKS if t in set(seeds.task)]:
        kd_gain = (kd.reindex(index=[task], columns=indices) - mt_dnn.reindex(index=[task], columns=indices)).iloc[0]
        if get_task(task).has_teacher:
            rest = [(ensemble.reindex(index=[task], columns=indices) - other.reindex(index=[task], columns=indices))
                    .iloc[0] for other in (mt_dnn, teacher)]
            deltas[task] = np.array([kd_gain, *rest], dtype=float)
        else:
            deltas[task] = np.array([kd_gain], dtype=float)
    complete = {t: d for t, d in deltas.items() if np.isfinite(d).all()}  # every system in every seed
    teachers = {t: d for t, d in complete.items() if len(d) == 3}
    others = {t: d for t, d in complete.items() if len(d) == 1}
    rows = []
    for label, groups, combine in ((TEACHER_TASKS, teachers, readings), (OTHER_TASKS, others, gain_only)):
        blocks = [(t, (splits or {}).get(t, ""), {t: d}) for t, d in groups.items()]
        for name, split, chosen in blocks + ([(label, "", groups)] if groups else []):
            mean = np.mean(list(chosen.values()), axis=0)  # over the chosen tasks: Float[C, S]
            value = combine(*mean.mean(1))
            none = np.full(len(value), np.nan)  # no interval over examples from seed scores
            rows += rows_of(names_for(name, combine is readings, members), name, split, value, none, none,
                            combine(*mean), SEED_SCORES)
    if complete:
        mean = np.mean([d[0] for d in complete.values()], axis=0)
        rows += rows_of((KD_GAIN.name,), ALL_TASKS, "", [mean.mean()], [np.nan], [np.nan], [mean], SEED_SCORES)
    table = pd.DataFrame(rows).reindex(columns=[*COLUMNS, *(f"seed {i}" for i in range(len(indices)))])
    return table if comparisons is None else with_intervals(table, comparisons, list(complete))


def with_intervals(table: pd.DataFrame, comparisons: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """`table` with the per-example intervals of MT-DNN-KD − MT-DNN that `comparisons` (intervals.compare's
    table, as comparisons.csv) holds: per task, and its average where it covers the same `tasks` (all tasks).
    A Δ that differs from the seed scores' means the two files come from different runs: an error."""
    kd = comparisons[comparisons.comparison == KD_GAIN.name].set_index("task")
    covered = set(kd.index) - {"average"}
    table = table.copy()
    for i in table.index[table.quantity == KD_GAIN.name]:
        task = table.at[i, "task"]
        key = task if task in covered else "average" if task == ALL_TASKS and covered == set(tasks) else None
        if key is None or key not in kd.index:
            continue
        r = kd.loc[key]
        if abs(r.delta - table.at[i, "value"]) > 0.01 or int(r.seeds) != table.at[i, "seeds"]:
            raise ValueError(f"comparisons.csv: {KD_GAIN.name} on {task} is {r.delta:+.2f} over {int(r.seeds)} "
                             f"seed(s), the seed scores give {table.at[i, 'value']:+.2f} over {table.at[i, 'seeds']}: "
                             "expected the two files of one reproduction")
        table.loc[i, ["low", "high", "verdict", "source"]] = [r.low, r.high, r.verdict, BOOTSTRAP]
    return table
