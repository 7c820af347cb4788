"""Notebook 03's tables: what the multi-task sampler does to an epoch (the batching itself is core/sampler.py
and glue/features.py; this module only lays it out for the notebook).

- `task_batches`: each task's mini-batches D_t as training packs them (`sampler.pack_batches`), from its
  token lengths (and QNLI's question groups);
- `plan_table`: the (task, batch) steps in training order (`sampler.epoch_plan`), epoch after epoch, with
  each batch's size and tokens;
- `sampling_shares`: the share of an epoch's steps each task gets under every sampling option, as drawn
  and as expected;
- `expected_shares`: the same expectation for any task sizes (e.g. the official GLUE training sets);
- `padding_table`: the tokens a model computes with length-grouped batches against random batches of the
  same size, and how many of them are padding;
- `interleaving_sentence`, `shares_sentence`, `padding_sentence`: what those tables show, in words.
"""

import math
from collections.abc import Mapping, Sequence
from itertools import groupby

import numpy as np
import pandas as pd

from ..core.sampler import SAMPLING, Batch, epoch_plan, pack_batches, task_probabilities
from ..glue.tasks import GLUE_TASKS

SAMPLING_LABELS = {
    "algorithm1": "Algorithm 1 (every batch once, shuffled)",
    "proportional": "proportional, p_t ∝ n_t",
    "temperature": "temperature, p_t ∝ n_t^(1/T)",
    "uniform": "uniform, p_t = 1/#tasks",
}
"""How tables and figures name each `sampler.SAMPLING` option."""


def _ordered(tasks) -> list[str]:
    return sorted(tasks, key=lambda t: (GLUE_TASKS.index(t) if t in GLUE_TASKS else len(GLUE_TASKS), t))


def task_batches(data: Mapping, batch_size: int, seed: int, pool: int = 50) -> dict[str, list[Batch]]:
    """{task: its mini-batches}, packed from each `TaskData`'s training split exactly as the training loop
    (`core.trainer.train`) packs them (`pool` = 1: random batches of the same size, the length grouping undone)."""
    return {task: pack_batches(d.train["length"], batch_size, seed,
                               d.train["group"] if "group" in d.train.column_names else None, pool=pool)
            for task, d in data.items()}


def plan_table(batches: Mapping[str, list[Batch]], seed: int, steps: int | None = None,
               sampling: str = "algorithm1", temperature: float = 2.0,
               lengths: Mapping[str, Sequence[int]] | None = None) -> pd.DataFrame:
    """The training order, one row per step: step (from 1), epoch (from 1), task, examples (rows in the batch)
    and, with `lengths` ({task: tokens per training row}), tokens (the batch padded to its longest row: rows ×
    longest). Whole epochs of `sampler.epoch_plan` are laid end to end until `steps` steps (None: one epoch)."""
    per_epoch = sum(map(len, batches.values()))
    if not per_epoch:
        raise ValueError("no batches: every task's training split is empty")
    steps = steps or per_epoch
    records, epoch = [], 0
    while len(records) < steps:
        for task, batch in epoch_plan(dict(batches), epoch, seed, sampling, temperature):
            record = {"step": len(records) + 1, "epoch": epoch + 1, "task": task, "examples": len(batch)}
            if lengths is not None:
                record["tokens"] = len(batch) * max(lengths[task][r] for r in batch)
            records.append(record)
            if len(records) == steps:
                break
        epoch += 1
    return pd.DataFrame(records)


def expected_shares(sizes: Mapping[str, int], batch_size: int, temperature: float = 2.0) -> pd.DataFrame:
    """The expected share of steps (%) per task and sampling option for tasks of `sizes` training examples:
    Algorithm 1 visits a task once per batch, ⌈n_t / batch_size⌉ / Σ_s ⌈n_s / batch_size⌉; the others draw
    task t with p_t (`sampler.task_probabilities`). Columns: sampling, label, task, examples, share (%)."""
    records = []
    batches = {t: math.ceil(n / batch_size) for t, n in sizes.items()}
    for sampling in SAMPLING:
        if sampling == "algorithm1":
            total = sum(batches.values())
            probs = {t: b / total for t, b in batches.items()}
        else:
            probs = task_probabilities(dict(sizes), sampling, temperature)
        records += [{"sampling": sampling, "label": SAMPLING_LABELS[sampling], "task": t, "examples": sizes[t],
                     "share": 100 * probs[t]} for t in _ordered(sizes)]
    return pd.DataFrame(records)


def sampling_shares(batches: Mapping[str, list[Batch]], seed: int, temperature: float = 2.0,
                    epoch: int = 0) -> pd.DataFrame:
    """The steps each task gets in epoch `epoch` under every sampling option (`sampler.SAMPLING`), as expected
    and as drawn by `sampler.epoch_plan`. Columns: sampling, label, task, examples (training rows), share (% of
    an epoch's steps, expected), steps (drawn), drawn (% of the epoch's steps, drawn), examples_seen (rows in the
    batches drawn; with a random sampler a task's batches can repeat or be left out within an epoch)."""
    sizes = {t: sum(map(len, bs)) for t, bs in batches.items()}
    total = sum(map(len, batches.values()))
    records = []
    for sampling in SAMPLING:
        plan = epoch_plan(dict(batches), epoch, seed, sampling, temperature)
        steps = pd.Series([task for task, _ in plan]).value_counts()
        seen = pd.Series({t: sum(len(b) for task, b in plan if task == t) for t in sizes})
        want = ({t: len(bs) / total for t, bs in batches.items()} if sampling == "algorithm1"
                else task_probabilities(sizes, sampling, temperature))
        records += [{"sampling": sampling, "label": SAMPLING_LABELS[sampling], "task": t, "examples": sizes[t],
                     "share": 100 * want[t], "steps": int(steps.get(t, 0)),
                     "drawn": 100 * steps.get(t, 0) / len(plan), "examples_seen": int(seen[t])}
                    for t in _ordered(sizes)]
    return pd.DataFrame(records)


def padding_table(batches: Mapping[str, list[Batch]], lengths: Mapping[str, Sequence[int]],
                  name: str = "length-grouped") -> pd.DataFrame:
    """Tokens per task when every batch is padded to its longest row (`features.collate`). Columns: batching
    (`name`), task, examples, batches, real tokens (Σ lengths), computed tokens (Σ rows × longest), padding
    tokens and padding (% of computed tokens); a last row "all tasks" sums them."""
    records = []
    for task in _ordered(batches):
        lens = lengths[task]
        real = sum(lens[r] for b in batches[task] for r in b)
        computed = sum(len(b) * max(lens[r] for r in b) for b in batches[task])
        records.append({"batching": name, "task": task, "examples": sum(map(len, batches[task])),
                        "batches": len(batches[task]), "real tokens": real, "computed tokens": computed})
    table = pd.DataFrame(records)
    total = table.sum(numeric_only=True).to_dict()
    table = pd.concat([table, pd.DataFrame([{"batching": name, "task": "all tasks", **total}])], ignore_index=True)
    table["padding tokens"] = table["computed tokens"] - table["real tokens"]
    table["padding (%)"] = 100 * table["padding tokens"] / table["computed tokens"]
    return table


def padding_comparison(data: Mapping, batch_size: int, seed: int) -> pd.DataFrame:
    """`padding_table` of the training batches as the training loop (`core.trainer.train`) packs them
    (length-grouped within pools of 50 batches) and of random batches of the same size (pool = 1: the same
    shuffle, no sorting), one below the other."""
    lengths = {task: d.train["length"] for task, d in data.items()}
    grouped = padding_table(task_batches(data, batch_size, seed), lengths, "length-grouped (pack_batches)")
    random = padding_table(task_batches(data, batch_size, seed, pool=1), lengths, "random")
    return pd.concat([grouped, random], ignore_index=True)


def interleaving_sentence(plan: pd.DataFrame) -> str:
    """Markdown: in the steps of `plan_table`, the step by which every task has had a batch, and the longest
    run of consecutive steps on one task."""
    first = plan.groupby("task").step.min()
    run, task = max((len(list(steps)), t) for t, steps in groupby(plan.task))
    return (f"In these {len(plan)} steps every one of the {len(first)} tasks has had a batch by step "
            f"{first.max()} (the last to come: {first.idxmax()}), and the longest run of one task's batches in a "
            f"row is {run} step(s) ({task}).")


def shares_sentence(drawn: pd.DataFrame, official: pd.DataFrame) -> str:
    """Markdown: how far the sampling options differ on the profile's data (`sampling_shares`) and on the
    official sizes (`expected_shares`): per data, the largest gap between two options' expected shares of one
    task, and the smallest and largest task's share under Algorithm 1 and under uniform sampling."""
    lines = []
    for name, table in (("On this profile's data", drawn), ("On the official training sets", official)):
        wide = table.pivot(index="task", columns="sampling", values="share")
        gap = (wide.max(axis=1) - wide.min(axis=1))
        sizes = table.drop_duplicates("task").set_index("task").examples
        small, large = sizes.idxmin(), sizes.idxmax()
        ties = [t for t in sizes.index if sizes[t] == sizes[large]]
        largest = f"{large} ({sizes[large]:,} examples)" if len(ties) == 1 else \
            f"each of {', '.join(ties)} ({sizes[large]:,} examples each)"
        shares = (f"every task the same share, {wide.loc[large, 'algorithm1']:.1f} % of the steps" if small in ties else
                  f"{largest} {wide.loc[large, 'algorithm1']:.1f} % of the steps and {small} ({sizes[small]:,}) "
                  f"{wide.loc[small, 'algorithm1']:.1f} %")
        lines.append(f"{name} the options' expected shares of one task differ by up to {gap.max():.1f} points "
                     f"({gap.idxmax()}); Algorithm 1 gives {shares}, where uniform sampling gives every task "
                     f"{wide.loc[large, 'uniform']:.1f} %.")
    return " ".join(lines)


def padding_sentence(padding: pd.DataFrame, lengths: Mapping[str, Sequence[int]]) -> str:
    """Markdown: from `padding_comparison`, the share of computed tokens that length grouping saves per task
    (largest and smallest), and whether the saving follows how much a task's lengths vary relative to their
    mean (Spearman's ρ between the saving and the coefficient of variation sd/mean, over the tasks)."""
    tokens = padding[padding.task != "all tasks"].pivot(index="task", columns="batching", values="computed tokens")
    grouped = [c for c in tokens.columns if c != "random"][0]
    saving = 100 * (1 - tokens[grouped] / tokens["random"])
    variation = pd.Series({t: float(np.std(lengths[t]) / np.mean(lengths[t])) for t in saving.index})
    text = (f"Length grouping saves the most computed tokens on {saving.idxmax()} ({saving.max():.0f} % fewer than "
            f"random batches) and the least on {saving.idxmin()} ({saving.min():.0f} %).")
    if len(saving) > 2:
        rho = saving.rank().corr(variation.rank())
        text += (f" Lengths vary most relative to their mean (sd/mean {variation.max():.2f}) in "
                 f"{variation.idxmax()}, least ({variation.min():.2f}) in {variation.idxmin()}; across the "
                 f"{len(saving)} tasks, Spearman's ρ between the saving and sd/mean is {rho:+.2f}.")
    return text
