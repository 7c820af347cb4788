"""Signal against noise: paired bootstrap intervals for the comparisons the papers make.

GLUE's dev sets are small (RTE: 277 examples), so a difference of a point or two between two systems can
be sampling noise. For two systems A and B scored on the same dev examples, the paired bootstrap resamples
the examples (with replacement, the same resample for both systems) and recomputes

    Δ* = score_A(resample) − score_B(resample)

many times; the 2.5th and 97.5th percentiles of Δ* are the 95 % interval of Δ. With several training
seeds, Δ is the mean over seeds of each seed's difference on the same resample, so the interval is over
examples and the spread over seeds is reported beside it (results.py). For the average over tasks, every
task's examples are resampled on their own and Δ* is the mean of the tasks' differences. A difference
whose interval contains 0 is reported as no difference. `scipy.stats.bootstrap` does the resampling.

The comparisons (COMPARISONS): MT-DNN against the single-task baseline (MT-DNN), MT-DNN-KD against MT-DNN
(MT-DNN-KD), and each teacher ensemble against its mean teacher: the mean of its K teachers' scores on the same
resample. (A best teacher picked on the split it is scored on would flatter the teacher; the teachers have no
score on a split held out of train to pick one fairly.) distillation.py reads the three together.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from ..experiments import layout
from ..experiments.runs import read_predictions
from ..glue.metrics import task_metrics, task_score
from ..glue.tasks import GLUE_TASKS

N_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    name: str  # e.g. "MT-DNN − single-task"
    a: str  # the system compared ...
    b: str  # ... against this one: each a stage, or "mean_teacher"


COMPARISONS = (
    Comparison("MT-DNN − single-task", "refine", "st"),
    Comparison("MT-DNN-KD − MT-DNN", "student_refine", "refine"),
    Comparison("ensemble − mean teacher", "ensemble", "mean_teacher"),
)


def system_runs(root: Path, system: str, task: str) -> list[Path]:
    """The finished run folders whose scores give `system` on `task` under a profile's runs `root` ([] if none).

    One run, but "mean_teacher": every finished teacher of `task` (layout.teacher_runs), their scores averaged.
    A stage's run is layout.system_run's ("student_refine", MT-DNN-KD: the student itself where it was not
    refined)."""
    if system == "mean_teacher":
        return layout.teacher_runs(root, task)
    run = layout.system_run(root, system, task)
    return [run] if run else []


def split_predictions(run: Path, task: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (labels, predictions)} of `task` in a run, from its last epoch's prediction files."""
    out = {}
    for path in sorted((Path(run) / "predictions").glob(f"{task}.*.jsonl")):
        split = path.name[len(task) + 1:-len(".jsonl")]
        rows = read_predictions(run, task, split)
        out[split] = (np.array([r["label"] for r in rows]), np.array([r["prediction"] for r in rows]))
    return out


def score(task: str, labels: np.ndarray, predictions: np.ndarray):
    """The task score (×100, its metrics averaged) of one split; of predictions Int[M, N] of M models (the K
    teachers), the mean of the M models' scores. With labels [B, N] and predictions [M, B, N] (B resamples of
    the split's rows), the B scores at once."""
    predictions = predictions if predictions.ndim > labels.ndim else predictions[np.newaxis]
    return np.mean([task_score(task_metrics(task, p, labels)) for p in predictions], axis=0)


@dataclass
class Paired:
    """One task's paired predictions: per split, the labels and each seed's predictions of A and of B, each
    Int[M, N] (M = 1 model, or the K teachers of the mean teacher)."""
    task: str
    splits: dict[str, tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]]

    def difference(self, indices: dict[str, np.ndarray]):
        """Δ on the rows `indices` of each split: mean over splits of the mean over seeds of A − B. Indices Int[N]
        give one Δ; Int[B, N], one resample per row, give the B Δs at once."""
        deltas = []
        for split, (labels, a, b) in self.splits.items():
            i = indices[split]
            deltas.append(np.mean([score(self.task, labels[i], pa[:, i]) - score(self.task, labels[i], pb[:, i])
                                   for pa, pb in zip(a, b)], axis=0))
        return np.mean(deltas, axis=0)

    def per_seed(self) -> tuple[np.ndarray, np.ndarray]:
        """Each system's score in each seed (mean over splits): Float[S], Float[S]."""
        a = [[score(self.task, labels, p) for p in pa] for labels, pa, _ in self.splits.values()]
        b = [[score(self.task, labels, p) for p in pb] for labels, _, pb in self.splits.values()]
        return np.mean(a, axis=0), np.mean(b, axis=0)


def paired(roots: list[Path], comparison: Comparison, task: str, b_roots: list[Path] | None = None) -> Paired | None:
    """The predictions of both systems on `task` in every seed's runs, or None where a run is missing; with
    `b_roots`, B's runs come from those (one per seed): the same system under other settings."""
    splits: dict[str, tuple[np.ndarray, list, list]] = {}
    for root, root_b in zip(roots, b_roots or roots):
        runs_a, runs_b = system_runs(root, comparison.a, task), system_runs(root_b, comparison.b, task)
        if not (runs_a and runs_b):
            return None
        pa, pb = ([split_predictions(run, task) for run in runs] for runs in (runs_a, runs_b))
        for split in pa[0]:
            labels = pa[0][split][0]
            for run, p in zip(runs_a + runs_b, pa + pb):
                if not np.array_equal(labels, p[split][0]):
                    raise ValueError(f"{runs_a[0]} and {run}: their {task} {split} predictions are on different "
                                     "examples; a paired comparison needs the same ones")
            entry = splits.setdefault(split, (labels, [], []))
            if not np.array_equal(entry[0], labels):
                raise ValueError(f"{root}: {task} {split} holds other examples than the first seed's runs")
            for predictions, by_run in zip(entry[1:], (pa, pb)):
                predictions.append(np.stack([p[split][1] for p in by_run]))  # Int[M, N]
    return Paired(task, splits) if splits else None


def split_sizes(pairs: list[Paired]) -> list[int]:
    """The examples of every split of every task of `pairs`, in order: the samples a bootstrap resamples, each
    on its own."""
    return [len(p.splits[s][0]) for p in pairs for s in p.splits]


def by_task(pairs: list[Paired], idx) -> dict[str, dict[str, np.ndarray]]:
    """One resample's row indices, a flat tuple in the order of `split_sizes`, as {task: {split: indices}}."""
    flat = iter(idx)
    return {p.task: {s: next(flat) for s in p.splits} for p in pairs}


BATCH = 100
"""Resamples scored in one call of the statistic: its arrays hold BATCH × a split's rows."""


def interval(statistic, sizes: list[int], seed: int):
    """The percentile bootstrap interval (low, high) of statistic(*row indices), each sample (a split of a task)
    resampled on its own; floats, or arrays where the statistic returns several values from one resample.

    The statistic is vectorised: scipy passes each sample's indices as Int[B, n], B resamples at once, and the
    statistic returns their B values (its last axis)."""
    result = bootstrap(tuple(np.arange(n) for n in sizes), lambda *idx, axis: statistic(*idx),
                       n_resamples=N_RESAMPLES, batch=BATCH, confidence_level=CONFIDENCE, method="percentile",
                       vectorized=True, paired=False, rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return (float(low), float(high)) if np.ndim(low) == 0 else (np.asarray(low), np.asarray(high))


def mean_sd(values) -> str:
    """"mean ± sd" over seeds (sd with n − 1; "mean" alone for one seed; "–" for none); NaNs left out."""
    values = pd.Series(values, dtype=float).dropna()
    if values.empty:
        return "–"
    return f"{values.mean():.1f}" if len(values) < 2 else f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def verdict(low: float, high: float) -> str:
    return "better" if low > 0 else "worse" if high < 0 else "no difference"


def _row(task: str, a: np.ndarray, b: np.ndarray, low: float, high: float) -> dict:
    """A table row from each seed's scores of A and B and the interval of Δ."""
    delta = a - b
    sd = float(np.std(delta, ddof=1)) if len(delta) > 1 else float("nan")
    return {"task": task, "a": float(a.mean()), "b": float(b.mean()), "delta": float(delta.mean()),
            "low": low, "high": high, "sd_seeds": sd}


def compare(roots: list[Path], comparison: Comparison, tasks=GLUE_TASKS, seed: int = 0,
            b_roots: list[Path] | None = None) -> pd.DataFrame:
    """One row per task with both systems' runs (and one for their average): A, B, Δ = A − B, its 95 %
    paired bootstrap interval, the sd of Δ over seeds, and the verdict. `b_roots`: see `paired`."""
    pairs = [p for p in (paired(roots, comparison, t, b_roots) for t in tasks) if p is not None]
    rows, seeds = [], {}
    for p in pairs:
        low, high = interval(lambda *idx, p=p: p.difference(by_task([p], idx)[p.task]), split_sizes([p]), seed)
        seeds[p.task] = p.per_seed()
        rows.append(_row(p.task, *seeds[p.task], low, high))
    if len(pairs) > 1:
        def mean_difference(*idx):
            indices = by_task(pairs, idx)
            return np.mean([p.difference(indices[p.task]) for p in pairs], axis=0)

        low, high = interval(mean_difference, split_sizes(pairs), seed)
        a, b = (np.mean([v[k] for v in seeds.values()], axis=0) for k in (0, 1))
        rows.append(_row("average", a, b, low, high))
    table = pd.DataFrame(rows, columns=["task", "a", "b", "delta", "low", "high", "sd_seeds"])
    table["verdict"] = [verdict(lo, hi) for lo, hi in zip(table.low, table.high)]
    return table.assign(comparison=comparison.name, seeds=len(roots))


def describe(table: pd.DataFrame) -> str:
    """One sentence per comparison in `compare`'s table: the average Δ with its interval and verdict, and on how
    many tasks A is higher, and significantly so."""
    sentences = []
    for name, rows in table.groupby("comparison", sort=False):
        tasks, average = rows[rows.task != "average"], rows[rows.task == "average"]
        head = f"{name}"
        if len(average):
            r = average.iloc[0]
            head += f": {r.delta:+.1f} on average, 95 % interval [{r.low:.1f}, {r.high:.1f}] → {r.verdict}"
        sentences.append(f"{head}; A higher on {int((tasks.delta > 0).sum())} of {len(tasks)} tasks (significantly on "
                         f"{int((tasks.verdict == 'better').sum())}, significantly lower on "
                         f"{int((tasks.verdict == 'worse').sum())}); {int(rows.seeds.iloc[0])} seed(s).")
    return "\n".join(sentences)
