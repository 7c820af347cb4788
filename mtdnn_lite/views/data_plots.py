"""Notebook 01's figures: the GLUE tasks' split sizes, label balance and input lengths (tables from glue_stats).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .plots import colors, finish


def plot_split_sizes(table: pd.DataFrame, title: str, split: str = "train") -> Figure:
    """Rows of `split` per task here against the official GLUE count (log scale); `table` from
    glue_stats.split_table."""
    rows = table[(table.split == split) & table["official rows"].notna()]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))
    here, official = colors(2)
    ax.barh(y + 0.2, rows["official rows"].astype(float), height=0.4, color=official, label="official GLUE")
    ax.barh(y - 0.2, rows["rows"].clip(lower=0.8), height=0.4, color=here, label="in the data at hand")
    for yi, (n, share) in enumerate(zip(rows["rows"], rows["% of official"])):
        ax.text(max(n, 1) * 1.1, yi - 0.2, f"{n:,} ({share:g} %)", va="center", fontsize=8)
    ax.set_yticks(y, rows.task)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"{split} examples (count, log scale)")
    ax.set_ylabel("task")
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_label_balance(balance: pd.DataFrame, title: str) -> Figure:
    """One 100 % stacked bar per task and split: the share of each class (STS-B: of each score bin);
    `balance` from glue_stats.label_balance. Segments are coloured by class position, named in the bar."""
    groups = list(balance.groupby(["task", "split label"], sort=False))
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(groups) + 1.5))
    palette = colors(max(balance.groupby(["task", "split"]).size()))
    for y, ((task, split), rows) in enumerate(groups):
        left = 0.0
        for k, (name, share) in enumerate(zip(rows["class"], rows.fraction)):
            ax.barh(y, 100 * share, left=left, color=palette[k], edgecolor="white")
            if share >= 0.12:
                ax.text(left + 50 * share, y, f"{name} {100 * share:.0f}%", ha="center", va="center", fontsize=7)
            left += 100 * share
    ax.set_yticks(range(len(groups)), [f"{task} {split}" for task, split in (g for g, _ in groups)])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.grid(axis="y", visible=False)
    return finish(fig, ax, title, "share of the split's examples (%)", "task and split")


def plot_token_lengths(lengths: pd.DataFrame, title: str, max_length: int | None = None) -> Figure:
    """The distribution of tokens per example, one box per task (whiskers: 5th-95th percentile), with the
    truncation length `max_length` marked; `lengths` from glue_stats.token_lengths."""
    tasks = list(dict.fromkeys(lengths.task))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(tasks) + 1.5))
    sns.boxplot(data=lengths, x="tokens", y="task", hue="task", order=tasks, palette=colors(len(tasks)),
                whis=(5, 95), fliersize=1.5, legend=False, ax=ax)
    if max_length:
        ax.axvline(max_length, color="black", linestyle="--", linewidth=1,
                   label=f"max_length = {max_length}: longer inputs are truncated")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), fontsize=8, frameon=False, borderaxespad=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("tokens per example, [CLS] and [SEP] included (WordPiece tokens, log scale)")
    ax.set_ylabel("task")
    ax.set_title(title, pad=22 if max_length else None)
    fig.tight_layout()
    return fig
