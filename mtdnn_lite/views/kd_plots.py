"""MT-DNN-KD's figures (notebooks 04, 05 and 07): the teachers and their ensemble, the soft targets, the
distillation loss, the student against MT-DNN, and the inference cost (tables from kd_teachers and kd_distillation).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import colors, finish, grouped_bars


def plot_member_scores(scores: pd.DataFrame, title: str) -> Figure:
    """Each teacher, the ensemble and MT-DNN (refine) per teacher task and dev split, as grouped bars of the
    task score; `scores` from kd_teachers.member_scores."""
    models = list(dict.fromkeys(scores.model))
    groups = scores[["task", "split_label"]].drop_duplicates()
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(models) * len(groups) + 2), 4.5))
    grouped_bars(ax, scores, ["task", "split_label"], "model", "score", models, hatches={"ensemble": "//"})
    return finish(fig, ax, title,
                  "teacher task and split (dev, or dev-proxy where no labeled dev set exists)",
                  "task score ×100 (accuracy; F1/acc. mean for QQP)",
                  legend="model")


def plot_soft_target_entropy(table: pd.DataFrame, title: str, bins: int = 20) -> Figure:
    """Per teacher task, histograms of the soft targets' entropy H(Q) in bits (top) and of Q(gold label)
    (bottom), with where every hard (one-hot) target sits marked: H = 0, Q(gold) = 1; `table` from
    kd_teachers.soft_target_table."""
    tasks = list(dict.fromkeys(table.task))
    fig, axes = plt.subplots(2, len(tasks), figsize=(3.6 * len(tasks) + 1, 6), squeeze=False)
    soft, hard = colors(2)
    for col, task in enumerate(tasks):
        t = table[table.task == task]
        h_max = float(t.max_entropy_bits.iloc[0])
        top, bottom = axes[0, col], axes[1, col]
        top.hist(t.entropy_bits, bins=np.linspace(0, h_max, bins + 1), color=soft, label="soft targets Q")
        top.axvline(0, color=hard, linewidth=3, label="hard targets (all at 0)")
        top.axvline(h_max, color="black", linestyle=":", linewidth=1, label=f"uniform: log2 C = {h_max:g}")
        top.set_xlabel("entropy H(Q) (bits)")
        top.set_title(f"{task} (train, n = {len(t):,})", fontsize=10)
        bottom.hist(t.q_gold, bins=np.linspace(0, 1, bins + 1), color=soft, label="soft targets Q")
        bottom.axvline(1, color=hard, linewidth=3, label="hard targets (all at 1)")
        bottom.set_xlabel("Q(gold label) (probability)")
        for ax in (top, bottom):
            ax.set_ylabel("training examples (count)")
        if col == 0:
            top.legend(fontsize=7, loc="upper left")
            bottom.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_teacher_disagreement(summary: pd.DataFrame, title: str) -> Figure:
    """The share of dev examples on which the teachers' predicted classes differ, per teacher task and split;
    `summary` from kd_teachers.disagreement_summary."""
    labels = [f"{t} {s}" for t, s in zip(summary.task, summary.split_label)]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.6))
    bars = ax.barh(labels, summary["disagree (%)"], color=colors(1)[0])
    for bar, n, total, k in zip(bars, summary.disagreements, summary.examples, summary.teachers):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{n} of {total:,} ({k} teachers)",
                va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 115)
    return finish(fig, ax, title,
                  "dev examples where the teachers' argmax classes differ (%)",
                  "teacher task and split")


def plot_kd_loss(grid: pd.DataFrame, title: str) -> Figure:
    """The distillation loss L = (1 − α) L_hard + α T² CE(Q_T, P_T) against α, one line per temperature T
    (left); the soft term split into T² H(Q_T), which no student can lower, and T² KL(Q_T ‖ P_T), what the
    student learns from (middle); and the size of the soft term's gradient with and without the T² factor
    (right); `grid` from kd_distillation.kd_loss_grid."""
    temperatures = sorted(grid.temperature.unique())
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.4))
    for temperature, color in zip(temperatures, colors(len(temperatures))):
        rows = grid[grid.temperature == temperature].sort_values("alpha")
        left.plot(rows.alpha, rows.loss, marker="o", markersize=3, color=color, label=f"T = {temperature:g}")
    left.axhline(grid.hard.iloc[0], color="black", linestyle="--", linewidth=1, label="L_hard alone (α = 0)")
    left.axvline(0.5, color="grey", linestyle=":", linewidth=1, label="MT-DNN-KD: α = 0.5, T = 1")
    left.set_xlabel("α, the soft targets' weight in the loss")
    left.set_ylabel("loss L (nats, mean over the batch)")
    left.set_title("L against α", fontsize=10)
    left.legend(fontsize=8)
    per_t = grid.drop_duplicates("temperature").sort_values("temperature")
    c = colors(3)
    middle.plot(per_t.temperature, per_t.soft, marker="o", color=c[0], label="T² · CE(Q_T, P_T), the soft term")
    middle.plot(per_t.temperature, per_t.soft_entropy, marker="s", color=c[1], linestyle="--",
                label="T² · H(Q_T): fixed by the teachers")
    middle.plot(per_t.temperature, per_t.soft_kl, marker="^", color=c[2],
                label="T² · KL(Q_T ‖ P_T): the student's part")
    middle.set_yscale("log")
    middle.set_xlabel("temperature T")
    middle.set_ylabel("nats, mean over the batch (log scale)")
    middle.set_title("the soft term against T", fontsize=10)
    middle.legend(fontsize=8)
    right.plot(per_t.temperature, per_t.soft_grad, marker="o", color=c[0], label="with T² (kd.soft_cross_entropy)")
    right.plot(per_t.temperature, per_t.soft_grad_without_t2, marker="s", color=c[1], linestyle="--",
               label="without T²: shrinks about as 1/T²")
    right.set_xlabel("temperature T")
    right.set_ylabel("‖∂ soft term / ∂ logits‖ (gradient norm)")
    right.set_title("gradient of the soft term", fontsize=10)
    right.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


SYSTEM_HATCHES = {"Teacher ensemble": "//", "MT-DNN-KD": ".."}


def plot_system_scores(scores: pd.DataFrame, title: str, systems: list[str] | None = None) -> Figure:
    """Grouped bars of the task score per task and dev split, one bar per system (MT-DNN, MT-DNN-KD, the
    teacher ensemble …); `scores` from kd_distillation.system_scores."""
    systems = systems or list(dict.fromkeys(scores.system))
    scores = scores[scores.system.isin(systems)]
    scores = scores.assign(label=[f"{t} · {m}" for t, m in zip(scores.task, scores.metric)])
    groups = scores[["label", "split_label"]].drop_duplicates()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(systems) * len(groups) + 2.5), 4.5))
    grouped_bars(ax, scores, ["label", "split_label"], "system", "score", systems, hatches=SYSTEM_HATCHES)
    ax.axhline(0, color="black", linewidth=0.8)
    return finish(fig, ax, title,
                  "task · metric (several metrics: their mean), and split (dev, or dev-proxy)",
                  "task score ×100",
                  legend="system")


def plot_inference_cost(costs: pd.DataFrame, title: str) -> Figure:
    """Examples per second of the student (one model) against the teacher ensemble (K models) per task, with
    how many times slower the ensemble is; `costs` from kd_distillation.cost_table."""
    tasks = list(dict.fromkeys(costs.task))
    fig, ax = plt.subplots(figsize=(max(5, 2.2 * len(tasks) + 2), 4.2))
    models = list(dict.fromkeys(costs.model))
    grouped_bars(ax, costs.assign(label=[f"{t}\n{s}" for t, s in zip(costs.task, costs.split)]), ["label"],
                  "model", "examples/s", models, fmt="{:.0f}")
    ratios = costs.drop_duplicates("task")["ensemble ÷ student time"]
    ax.set_xticks(range(len(tasks)), [f"{t} ({s})\nensemble time ÷ student time: {r:.1f}" for t, s, r in
                                      zip(tasks, costs.drop_duplicates("task").split, ratios)])
    ax.set_xlabel("task (split timed)")
    ax.set_ylabel("throughput (examples per second)")
    ax.legend(title="model", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
