"""Notebook 01's tables in words, each sentence computed from the table the notebook has just shown
(`glue_stats` makes the tables), and what a majority-class guess scores on each dev split.

- `split_summary`: which training sets are samples, which tasks are scored on a dev-proxy, what is missing;
- `size_sentence`: the spread of the training-set sizes and the tasks that supply most of Algorithm 1's updates;
- `balance_sentence`: each task's class ratio, and how far each dev-proxy's balance lies from its train split's;
- `length_sentence`: typical lengths of single sentences and pairs, and where truncation cuts most;
- `majority_guess`, `guess_sentence`: what always answering the most frequent label scores, in every metric.
"""

from collections.abc import Iterable

import numpy as np
import pandas as pd
from datasets import DatasetDict

from ..glue.data import split_label
from ..glue.metrics import task_metrics
from ..glue.tasks import AX, get_task
from ..reporting.floors import majority_floor
from .glue_stats import labelled


def _tasks(names) -> str:
    return ", ".join(names) if names else "none"


def split_summary(sizes: pd.DataFrame) -> str:
    """`split_table` in two Markdown sentences: which training splits are partial samples (their share of the
    official rows), which tasks have no labeled dev set and are scored on a dev-proxy, and which splits are missing."""
    train = sizes[sizes.split == "train"]
    partial = [f"{r.task} ({r.rows:,} of {r['official rows']:,} rows, {r['% of official']:.1f} %)"
               for _, r in train[train.status.str.startswith("partial")].iterrows()]
    proxy = sizes[sizes.split == "validation_proxy"]
    missing = sizes[sizes.status == "missing"].groupby("task", sort=False).label.agg(", ".join)
    lines = [f"Partial training sets (a sample of the official split): {_tasks(partial)}.",
             f"Scored on a dev-proxy (no labeled dev set here): "
             f"{_tasks([f'{r.task} ({r.rows:,} rows held out of train)' for _, r in proxy.iterrows()])}.",
             f"Missing splits: {_tasks([f'{task} ({labels})' for task, labels in missing.items()])}."]
    return " ".join(lines)


def _most_updates(rows: pd.Series) -> list[str]:
    """The fewest tasks that hold more than half of all rows, largest first."""
    ordered, taken = rows.sort_values(ascending=False), []
    for task in ordered.index:
        taken.append(task)
        if ordered[taken].sum() > ordered.sum() / 2:
            return taken
    return taken


def size_sentence(sizes: pd.DataFrame, split: str = "train") -> str:
    """The spread of the training-set sizes, official and at hand (before a profile's `max_train` cap), in
    Markdown: smallest, largest, the orders of magnitude between them, and the fewest tasks that would supply
    most of Algorithm 1's updates (their share of the rows)."""
    rows = sizes[(sizes.split == split) & sizes["official rows"].notna()].set_index("task")
    lines = []
    for name, column in (("official GLUE release", "official rows"), ("data at hand", "rows")):
        n = rows[column].astype(float)
        n = n[n > 0]
        top = _most_updates(n)
        share = f"{100 * n[top].sum() / n.sum():.0f} %"
        lines.append(f"In the {name} the {split} sets run from {n.idxmin()}'s {int(n.min()):,} to {n.idxmax()}'s "
                     f"{int(n.max()):,} examples ({np.log10(n.max() / n.min()):.1f} orders of magnitude); "
                     f"{' and '.join(top)} {'hold' if len(top) > 1 else 'holds'} {share} of them, so Algorithm 1 "
                     f"on all of it would give {'them' if len(top) > 1 else 'it'} {share} of the updates.")
    return " ".join(lines)


def balance_sentence(balance: pd.DataFrame) -> str:
    """Markdown: each classification task's largest-to-smallest class ratio on train, most balanced first, and
    how far each dev-proxy's majority share lies from its train split's."""
    train = balance[(balance.split == "train") & ~balance.task.map(lambda t: get_task(t).is_regression)]
    ratio = train.groupby("task", sort=False).fraction.agg(lambda f: f.max() / f.min()).sort_values()
    text = ("Largest to smallest class on train, most balanced first: "
            + ", ".join(f"{task} {r:.1f}:1" for task, r in ratio.items()) + ".")
    majority = balance.groupby(["task", "split"], sort=False).fraction.max().unstack()
    if "validation_proxy" in majority:
        gaps = (100 * (majority.validation_proxy - majority.train)).dropna()
        text += (" Majority share of each dev-proxy minus its train split's: "
                 + ", ".join(f"{task} {gap:+.1f} points" for task, gap in gaps.items()) + ".")
    return text


def length_sentence(summary: pd.DataFrame, max_length: int) -> str:
    """`length_summary` in Markdown: the median tokens of single-sentence and of pair tasks, and the task that
    truncation at `max_length` cuts most often."""
    single = [t for t in summary.index if t != AX.name and len(get_task(t).text_fields) == 1]
    pairs = [t for t in summary.index if t not in single]
    over = summary[f"% over {max_length}"]
    text = "; ".join(f"{kind} median {summary.loc[ts, 'median'].min():.0f}–{summary.loc[ts, 'median'].max():.0f} "
                     f"tokens ({', '.join(ts)})" for kind, ts in (("single sentences:", single), ("pairs:", pairs))
                     if ts)
    if over.max() > 0:
        return (f"{text[0].upper()}{text[1:]}. Truncation at {max_length} tokens cuts {over.idxmax()} most often "
                f"({over.max():.1f} % of its examples measured; the next: "
                f"{', '.join(f'{t} {v:.1f} %' for t, v in over.drop(over.idxmax()).nlargest(2).items())}).")
    return f"{text[0].upper()}{text[1:]}. No example measured is longer than {max_length} tokens."


def majority_guess(glue: dict[str, DatasetDict],
                   splits: Iterable[str] = ("validation", "validation_matched", "validation_proxy")) -> pd.DataFrame:
    """What answering the most frequent label of a labeled dev split (dev-proxy where there is none) for every
    example scores there: task, split label, majority label, each GLUE metric (×100; STS-B has no classes and
    is left out) and the task score (`reporting.floors.majority_floor`)."""
    rows = []
    for task, dsd in glue.items():
        t = get_task(task)
        for split in [s for s in labelled(dsd, splits) if not t.is_regression]:
            labels = np.asarray(dsd[split]["label"])
            majority = int(np.bincount(labels).argmax())
            rows.append({"task": task, "split": split_label(split), "majority label": t.label_names[majority],
                         **task_metrics(task, np.full_like(labels, majority), labels),
                         "task score": majority_floor(task, labels)})
    return pd.DataFrame(rows).set_index("task")


def guess_sentence(guess: pd.DataFrame) -> str:
    """Markdown, from `majority_guess`: the F1 a constant guess earns on each task scored by F1, against its
    accuracy (a positive majority inflates F1, a negative one gives 0), and CoLA's MCC."""
    parts = [f"on {task} ({row.split}, majority *{row['majority label']}*) F1 {row.f1:.1f} against accuracy "
             f"{row.accuracy:.1f}" for task, row in guess.iterrows() if "f1" in row and row.f1 == row.f1]
    parts += [f"on {task} MCC {row.mcc:.1f}" for task, row in guess.iterrows() if "mcc" in row and row.mcc == row.mcc]
    return "A constant majority guess scores " + ("; ".join(parts) or "no F1 or MCC here") + "."
