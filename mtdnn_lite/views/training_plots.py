"""Notebook 03's figures: the task of each step (Algorithm 1), the sampling shares, padding, and the learning
curves (tables from batching and history).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..glue.tasks import GLUE_TASKS
from .plots import bar_offsets, colors, finish, stage_colors, task_colors


def plot_task_sequence(plan: pd.DataFrame, title: str) -> Figure:
    """The task of every training step, in order: one mark per step on its task's row, epoch boundaries dashed;
    `plan` from batching.plan_table (columns step, epoch, task)."""
    tasks = [t for t in GLUE_TASKS if t in set(plan.task)] + sorted(set(plan.task) - set(GLUE_TASKS))
    palette = task_colors(tasks)
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(tasks) + 1.8))
    y = plan.task.map({t: i for i, t in enumerate(tasks)})
    ax.scatter(plan.step, y, c=[palette[t] for t in plan.task], marker="|", s=160, linewidths=2)
    for step in plan.step[plan.epoch.diff().fillna(0) > 0]:
        ax.axvline(step - 0.5, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlim(0.5, plan.step.max() + 0.5)
    ax.grid(axis="x", visible=False)
    return finish(fig, ax, title,
                  "training step (one mini-batch of one task; dashed: a new epoch, reshuffled)",
                  "task of the step")


def plot_sampling_shares(shares: pd.DataFrame, title: str) -> Figure:
    """The share of training steps per task under each sampling option, grouped bars of the expected share
    (column "share"), with the share actually drawn in one epoch as a black diamond where `shares` has a
    column "drawn"; one panel per value of an optional column "data". `shares` from batching.expected_shares
    or batching.sampling_shares (columns label, task, share)."""
    panels = list(dict.fromkeys(shares["data"])) if "data" in shares else [None]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.4 * len(panels) + 0.8), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        rows = shares if panel is None else shares[shares["data"] == panel]
        tasks, labels = list(dict.fromkeys(rows.task)), list(dict.fromkeys(rows.label))
        (width, offsets), x = bar_offsets(len(labels)), np.arange(len(tasks))
        for k, (label, color, offset) in enumerate(zip(labels, colors(len(labels)), offsets)):
            r = rows[rows.label == label].set_index("task").loc[tasks]
            xs = x + offset
            ax.bar(xs, r.share, width, color=color, label=label)
            if "drawn" in r and r.drawn.notna().any():
                ax.scatter(xs, r.drawn, marker="D", s=14, color="black", zorder=3,
                           label="drawn in one epoch" if k == 0 else None)
        ax.set_xticks(x, tasks)
        ax.set_xlabel("task")
        ax.set_ylabel("share of the steps (%)")
        if panel is not None:
            ax.set_title(panel, fontsize=10)
        ax.legend(title="sampling (bars: expected share)", fontsize=8, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_padding(padding: pd.DataFrame, title: str) -> Figure:
    """Padding as a share of the tokens computed, per task, for each batching (grouped bars with the
    percentage written on each); `padding` from batching.padding_comparison."""
    batchings = list(dict.fromkeys(padding.batching))
    tasks = list(dict.fromkeys(padding.task))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width, offsets = bar_offsets(len(batchings))
    x = np.arange(len(tasks))
    for batching, color, offset in zip(batchings, colors(len(batchings)), offsets):
        rows = padding[padding.batching == batching].set_index("task").loc[tasks]
        bars = ax.bar(x + offset, rows["padding (%)"], width, color=color, label=batching)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(x, tasks)
    ax.set_xlabel("task (train split)")
    ax.set_ylabel("padding tokens (% of the tokens computed)")
    ax.legend(title="batches", fontsize=8, title_fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: pd.DataFrame, title: str, value: str = "score") -> Figure:
    """One panel per task: `value` ("score": dev score ×100; "train_loss") after each epoch, one line per run,
    coloured by stage, against epochs since the pretrained encoder (a refine run continues after the mtl
    epochs it starts from, joined to the mtl run's last epoch by a dotted line); `curves` from
    history.learning_curves."""
    tasks = [t for t in GLUE_TASKS if t in set(curves.task)]
    ncols = min(len(tasks), 5)
    nrows = -(-len(tasks) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols + 1.5, 2.8 * nrows + 1), squeeze=False,
                             sharex=True)
    palette, seen = stage_colors(), {}
    for ax, task in zip(axes.flat, tasks):
        rows = curves[curves.task == task]
        for run, run_rows in rows.groupby("run", sort=False):
            stage = run_rows.stage.iloc[0]
            color = palette.get(stage, "grey")
            parent = rows[rows.run == run_rows.starts_from.iloc[0]] if "starts_from" in rows else rows.iloc[:0]
            if len(parent):  # from the last epoch of the run it starts from
                last = parent[parent.epoch_total == parent.epoch_total.max()].iloc[0]
                ax.plot([last.epoch_total, run_rows.epoch_total.iloc[0]], [last[value], run_rows[value].iloc[0]],
                        color=color, linestyle=":", linewidth=1)
            line, = ax.plot(run_rows.epoch_total, run_rows[value], marker="o", markersize=4, color=color,
                            alpha=0.6 if stage == "teacher" else 1.0)
            seen.setdefault(stage, line)
        split = "/".join(dict.fromkeys(s for s in rows.split if s))
        ax.set_title(f"{task}" + (f" ({split})" if value == "score" and split else ""), fontsize=10)
        ax.set_ylabel("dev score (×100)" if value == "score" else "mean training loss")
    spare = list(axes.flat)[len(tasks):]
    for ax in spare:
        ax.axis("off")
    for ax in list(axes.flat)[max(0, len(tasks) - ncols):len(tasks)]:  # the lowest panel of each column
        ax.set_xlabel("epochs since the pretrained encoder")
        ax.tick_params(labelbottom=True)
    ax = axes.flat[0]
    ax.xaxis.get_major_locator().set_params(integer=True)
    order = [s for s in stage_colors() if s in seen]
    if spare:  # the legend in the first empty panel
        spare[0].legend([seen[s] for s in order], order, title="stage", loc="center", fontsize=9)
    else:
        fig.legend([seen[s] for s in order], order, title="stage", loc="center left", bbox_to_anchor=(1.0, 0.5),
                   fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
