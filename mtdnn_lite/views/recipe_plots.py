"""Figures of the recipe and of the comparisons' intervals (notebooks 05, 06 and 08).

- `plot_ablation`: per ablation cell, the single-task and multi-task averages on the tuning split, mean ± sd
  over seeds (ablation.py);
- `plot_spike`: the step sizes of Adamax and AdamW after one large gradient (optim.steps_after_a_spike);
- `plot_intervals`: each comparison's Δ per task with its 95 % paired bootstrap interval (intervals.py).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import bar_offsets, colors


def plot_ablation(long: pd.DataFrame, title: str) -> Figure:
    """Bars: the average task score of st and mtl per cell (mean over seeds), error bars ±1 sd over seeds."""
    per_seed = long.groupby(["cell", "stage", "seed"], sort=False).score.mean().reset_index()
    stats = per_seed.groupby(["cell", "stage"], sort=False).score.agg(["mean", "std"]).reset_index()
    cells = list(dict.fromkeys(long.cell))
    fig, ax = plt.subplots(figsize=(1.6 * len(cells) + 2, 4))
    x, (width, offsets) = np.arange(len(cells)), bar_offsets(2)
    for offset, (stage, label), color in zip(offsets, (("st", "single-task"), ("mtl", "multi-task (MTL)")), colors(2)):
        rows = stats[stats.stage == stage].set_index("cell").reindex(cells)
        bars = ax.bar(x + offset, rows["mean"], width, yerr=rows["std"].fillna(0), capsize=3, color=color, label=label)
        for bar, value in zip(bars, rows["mean"]):
            ax.text(bar.get_x() + bar.get_width() / 2, value + 1, f"{value:.1f}", ha="center", fontsize=8)
    ax.set_xticks(x, cells)
    ax.set_xlabel("ablation cell (settings added from left to right; mean_no_san takes SAN out)")
    ax.set_ylabel("average task score on the tuning split (×100)")
    ax.legend(loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_spike(sizes: dict[str, list[float]], title: str) -> Figure:
    """|Δθ| per step for each optimiser, log scale: how long one gradient spike shrinks the steps."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for (name, values), color in zip(sizes.items(), colors(len(sizes))):
        ax.plot(np.arange(1, len(values) + 1), values, label=name, color=color)
    ax.set_yscale("log")
    ax.set_xlabel("step (gradient 100 at step 1, then 1)")
    ax.set_ylabel("|Δθ| per step, lr = 1 (log scale)")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_intervals(table: pd.DataFrame, title: str) -> Figure:
    """One panel per comparison: Δ = A − B per task (and the average) with its 95 % interval; a dot is filled
    where the interval excludes 0 (a difference) and hollow where it does not (no difference)."""
    names = list(dict.fromkeys(table.comparison))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 0.35 * table.task.nunique() + 2), squeeze=False)
    for ax, name, color in zip(axes[0], names, colors(len(names))):
        rows = table[table.comparison == name].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        ax.errorbar(rows.delta, y, xerr=[rows.delta - rows.low, rows.high - rows.delta], fmt="none", ecolor=color)
        significant = rows.verdict != "no difference"
        ax.scatter(rows.delta[significant], y[significant], color=color, zorder=3)
        ax.scatter(rows.delta[~significant], y[~significant], facecolors="white", edgecolors=color, zorder=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(y, rows.task)
        ax.set_xlabel("Δ task score (×100), 95 % interval")
        ax.set_title(name, fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
