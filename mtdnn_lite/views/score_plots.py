"""The GLUE scores' figures (notebooks 06 and 03): each task's dev score per system, and the system × task heatmap
(tables from scoreboard).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..glue.tasks import GLUE_TASKS
from .plots import bar_offsets, finish, stage_colors


def plot_task_scores(scores: pd.DataFrame, title: str) -> Figure:
    """Grouped bars: each task's dev score per system, the value on each bar, the split under the task name;
    `scores` from scoreboard.stage_scores (columns stage, system, task, score, split)."""
    tasks = [t for t in GLUE_TASKS if t in set(scores.task)]
    systems = list(dict.fromkeys(scores.system))
    stage_of = dict(zip(scores.system, scores.stage))
    palette = stage_colors()
    fig, ax = plt.subplots(figsize=(min(20, max(7, 1.3 * len(tasks) * max(1, len(systems) / 3) + 3)), 4.8))
    width, offsets = bar_offsets(len(systems), total=0.84)
    x = np.arange(len(tasks))
    for system, offset in zip(systems, offsets):
        rows = scores[scores.system == system].set_index("task")
        xs = [x[i] + offset for i, t in enumerate(tasks) if t in rows.index]
        values = [rows.loc[t, "score"] for t in tasks if t in rows.index]
        bars = ax.bar(xs, values, width, color=palette.get(stage_of[system], "grey"), label=system)
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1, rotation=90 if len(systems) > 3 else 0)
    splits = scores.groupby("task").split.agg(lambda s: " | ".join(dict.fromkeys(s)))
    ax.set_xticks(x, [f"{t}\n{splits[t]}" for t in tasks], fontsize=8)
    low = min(0.0, float(scores.score.min()))
    ax.set_ylim(low - (5 if low < 0 else 0), max(100.0, float(scores.score.max())) * 1.08)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("task (split scored)")
    ax.set_ylabel("GLUE task score (×100)")
    ax.legend(title="system", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_score_heatmap(matrix: pd.DataFrame, title: str, splits: dict[str, str] | None = None) -> Figure:
    """System × task heatmap of dev scores (×100), values written in the cells, "–" where a system has no
    score; `matrix` from scoreboard.score_matrix, `splits` ({task: split}) written under the task names."""
    fig, ax = plt.subplots(figsize=(1.1 * matrix.shape[1] + 4.5, 0.55 * matrix.shape[0] + 2))
    values = matrix.astype(float)
    sns.heatmap(values, annot=True, fmt=".1f", cmap="cividis", linewidths=0.5, linecolor="white",
                cbar_kws={"label": "GLUE task score (×100)"}, ax=ax)
    ax.grid(False)
    for (i, j) in zip(*np.where(values.isna().to_numpy())):
        ax.text(j + 0.5, i + 0.5, "–", ha="center", va="center", color="grey")
    if splits:
        ax.set_xticks(np.arange(matrix.shape[1]) + 0.5,
                      [f"{t}\n{splits.get(t, '')}" for t in matrix.columns], fontsize=8, rotation=0)
    return finish(fig, ax, title, "task (split scored)", "system (stage)")
