"""Notebook 02's figures: the shared layers against the task heads, and the SAN's reasoning steps.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .plots import bar_offsets, colors


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
    width, offsets = bar_offsets(C)
    fig, ax = plt.subplots(figsize=(8, 4))
    for c, (name, color, offset) in enumerate(zip(label_names, colors(C), offsets)):
        label = f"{name} (true label)" if c == true_label else name
        bars = ax.bar(x + offset, rows[:, c], width, color=color, label=label)
        bars[-1].set_hatch("//")
    ax.set_xticks(x, [f"step {k}\n$P_r^{{{k}}}$" for k in range(K)] + ["average\n$P_r$"])
    ax.set_ylim(0, 1)
    ax.set_xlabel("reasoning step k of the stochastic answer network")
    ax.set_ylabel("class probability")
    ax.legend(title="class", fontsize=8, loc="upper right")
    ax.set_title(title)
    fig.tight_layout()
    return fig
