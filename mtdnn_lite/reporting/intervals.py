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
(MT-DNN-KD), and each teacher ensemble against its best teacher (the teacher with the highest score on the
same split: a choice that favours the teacher).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from ..experiments import layout
from ..experiments.runs import read_json, read_predictions
from ..glue.metrics import task_metrics, task_score
from ..glue.tasks import GLUE_TASKS

N_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    name: str  # e.g. "MT-DNN − single-task"
    a: str  # the system compared ...
    b: str  # ... against this one: each a stage, or "best_teacher"


COMPARISONS = (
    Comparison("MT-DNN − single-task", "refine", "st"),
    Comparison("MT-DNN-KD − MT-DNN", "student_refine", "refine"),
    Comparison("ensemble − best teacher", "ensemble", "best_teacher"),
)


def system_run(root: Path, system: str, task: str) -> Path | None:
    """The finished run folder of `system` for `task` under a profile's runs `root`, or None.

    A stage's run is layout.system_run's ("student_refine", MT-DNN-KD: the student itself where it was not
    refined); "best_teacher" is the finished teacher of `task` (layout.teacher_runs) with the highest score on
    its first evaluation split."""
    if system == "best_teacher":
        return max(layout.teacher_runs(root, task), key=lambda t: _final_score(t, task), default=None)
    return layout.system_run(root, system, task)


def _final_score(run: Path, task: str) -> float:
    splits = read_json(run / "metrics.json")[-1]["dev"][task]
    return task_score(next(iter(splits.values())))


def split_predictions(run: Path, task: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (labels, predictions)} of `task` in a run, from its last epoch's prediction files."""
    out = {}
    for path in sorted((Path(run) / "predictions").glob(f"{task}.*.jsonl")):
        split = path.name[len(task) + 1:-len(".jsonl")]
        rows = read_predictions(run, task, split)
        out[split] = (np.array([r["label"] for r in rows]), np.array([r["prediction"] for r in rows]))
    return out


def score(task: str, labels: np.ndarray, predictions: np.ndarray) -> float:
    """The task score (×100, its metrics averaged) of one split."""
    return task_score(task_metrics(task, predictions, labels))


@dataclass
class Paired:
    """One task's paired predictions: per split, the labels and each seed's predictions of A and of B."""
    task: str
    splits: dict[str, tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]]

    def difference(self, indices: dict[str, np.ndarray]) -> float:
        """Δ on the rows `indices` of each split: mean over splits of the mean over seeds of A − B."""
        deltas = []
        for split, (labels, a, b) in self.splits.items():
            i = indices[split]
            deltas.append(np.mean([score(self.task, labels[i], pa[i]) - score(self.task, labels[i], pb[i])
                                   for pa, pb in zip(a, b)]))
        return float(np.mean(deltas))

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
        runs = system_run(root, comparison.a, task), system_run(root_b, comparison.b, task)
        if None in runs:
            return None
        pa, pb = split_predictions(runs[0], task), split_predictions(runs[1], task)
        for split in pa:
            (labels, a), (labels_b, b) = pa[split], pb[split]
            if not np.array_equal(labels, labels_b):
                raise ValueError(f"{runs[0]} and {runs[1]}: their {task} {split} predictions are on different "
                                 "examples; a paired comparison needs the same ones")
            entry = splits.setdefault(split, (labels, [], []))
            if not np.array_equal(entry[0], labels):
                raise ValueError(f"{root}: {task} {split} holds other examples than the first seed's runs")
            entry[1].append(a), entry[2].append(b)
    return Paired(task, splits) if splits else None


def _interval(statistic, sizes: list[int], seed: int) -> tuple[float, float]:
    """The percentile bootstrap interval of statistic(*row indices), each sample resampled on its own."""
    result = bootstrap(tuple(np.arange(n) for n in sizes), statistic, n_resamples=N_RESAMPLES,
                       confidence_level=CONFIDENCE, method="percentile", vectorized=False, paired=False,
                       rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mean_sd(values) -> str:
    """"mean ± sd" over seeds (sd with n − 1; "mean" alone for one seed); NaNs left out."""
    values = pd.Series(values, dtype=float).dropna()
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
        names = list(p.splits)
        low, high = _interval(lambda *idx, p=p, names=names: p.difference(dict(zip(names, idx))),
                              [len(p.splits[s][0]) for s in names], seed)
        seeds[p.task] = p.per_seed()
        rows.append(_row(p.task, *seeds[p.task], low, high))
    if len(pairs) > 1:
        keys = [(p, s) for p in pairs for s in p.splits]

        def average(*idx):
            by_task: dict[str, dict] = {}
            for (p, s), i in zip(keys, idx):
                by_task.setdefault(p.task, {})[s] = i
            return float(np.mean([p.difference(by_task[p.task]) for p in pairs]))

        low, high = _interval(average, [len(p.splits[s][0]) for p, s in keys], seed)
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
