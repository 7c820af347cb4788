"""Figures (matplotlib/seaborn) for the notebooks and the reproduction.

Every function takes the table it draws and a `title` saying which data, split and profile it shows, and
returns the matplotlib Figure; `save_figure` writes it to the figures folder. Colours come from seaborn's
colour-blind-safe "colorblind" palette; every axis is labelled with its unit.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

PALETTE = "colorblind"


def style() -> None:
    """The look of every figure: seaborn's white grid and the colour-blind-safe palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")


def colors(n: int) -> list:
    return sns.color_palette(PALETTE, n)


def save_figure(fig: Figure, figures_dir: str | Path, name: str, dpi: int = 120) -> Path:
    """Write `fig` as `figures_dir`/`name` (PNG unless `name` says otherwise); the folder is created."""
    path = Path(figures_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


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
    ax.set_xlabel("share of the split's examples (%)")
    ax.set_ylabel("task and split")
    ax.grid(axis="y", visible=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


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


def plot_parameter_counts(counts: dict[str, int], title: str) -> Figure:
    """Parameters of the shared layers against each task's own output layer (log scale), from
    MTDNN.parameter_counts."""
    names = list(counts)
    shared, own = colors(2)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(names) + 1.5))
    ax.barh(names, [counts[n] for n in names], color=[shared if n == "shared" else own for n in names])
    for y, n in enumerate(names):
        ax.text(counts[n] * 1.1, y, f"{counts[n]:,}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=max(counts.values()) * 8)
    ax.set_xlabel("parameters (count, log scale)")
    ax.set_ylabel("shared encoder / task head")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=shared), plt.Rectangle((0, 0), 1, 1, color=own)],
              labels=["shared by all tasks (lexicon + Transformer encoder)", "task-specific output layer"],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_san_steps(step_probabilities, label_names, title: str, true_label: int | None = None) -> Figure:
    """The SAN's K per-step class probabilities P_r^k (Float[K, C], one example) and their average P_r,
    as grouped bars: steps 0 … K−1, then "average"."""
    P = np.asarray(step_probabilities, dtype=float)
    K, C = P.shape
    rows = np.vstack([P, P.mean(0)])
    x = np.arange(K + 1) + np.r_[np.zeros(K), 0.5]  # a gap before the average
    width = 0.8 / C
    fig, ax = plt.subplots(figsize=(8, 4))
    for c, (name, color) in enumerate(zip(label_names, colors(C))):
        label = f"{name} (true label)" if c == true_label else name
        bars = ax.bar(x + (c - (C - 1) / 2) * width, rows[:, c], width, color=color, label=label)
        bars[-1].set_hatch("//")
    ax.set_xticks(x, [f"step {k}\n$P_r^{{{k}}}$" for k in range(K)] + ["average\n$P_r$"])
    ax.set_ylim(0, 1)
    ax.set_xlabel("reasoning step k of the stochastic answer network")
    ax.set_ylabel("class probability")
    ax.legend(title="class", fontsize=8, loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    return fig
