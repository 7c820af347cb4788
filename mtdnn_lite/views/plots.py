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


# --- MT-DNN-KD: teachers, soft targets, distillation, student (notebooks 04, 05, 07) ----------------------------

def _bar_labels(ax, bars, values, fmt="{:.1f}", fontsize=7) -> None:
    for bar, value in zip(bars, values):
        if np.isfinite(value):
            ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, max(bar.get_height(), 0)),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=fontsize)


def _grouped_bars(ax, table: pd.DataFrame, group_cols: list[str], series_col: str, value_col: str,
                  series: list[str], hatches: dict | None = None, fmt="{:.1f}") -> list[str]:
    """Bars of `value_col`, one group per distinct `group_cols` row, one bar per `series` value in a group;
    returns the group labels (the group columns joined by a line break)."""
    groups = list(dict.fromkeys(tuple(r) for r in table[group_cols].itertuples(index=False)))
    width = 0.8 / max(len(series), 1)
    for k, (name, color) in enumerate(zip(series, colors(len(series)))):
        values = []
        for group in groups:
            match = table[(table[group_cols] == pd.Series(group, index=group_cols)).all(axis=1)
                          & (table[series_col] == name)]
            values.append(float(match[value_col].iloc[0]) if len(match) else np.nan)
        x = np.arange(len(groups)) + (k - (len(series) - 1) / 2) * width
        bars = ax.bar(x, np.nan_to_num(values), width, color=color, label=name,
                      hatch=(hatches or {}).get(name), edgecolor="white")
        _bar_labels(ax, bars, values, fmt)
        for xi in x[~np.isfinite(values)]:
            ax.annotate("n/a", (xi, 0), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color="grey")
    labels = ["\n".join(str(v) for v in g) for g in groups]
    ax.set_xticks(range(len(groups)), labels)
    return labels


def plot_member_scores(scores: pd.DataFrame, title: str) -> Figure:
    """Each teacher, the ensemble and MT-DNN (refine) per teacher task and dev split, as grouped bars of the
    task score; `scores` from kd_analysis.member_scores."""
    models = list(dict.fromkeys(scores.model))
    groups = scores[["task", "split_label"]].drop_duplicates()
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(models) * len(groups) + 2), 4.5))
    _grouped_bars(ax, scores, ["task", "split_label"], "model", "score", models, hatches={"ensemble": "//"})
    ax.set_xlabel("teacher task and split (dev, or dev-proxy where no labeled dev set exists)")
    ax.set_ylabel("task score ×100 (accuracy; F1/acc. mean for QQP)")
    ax.legend(title="model", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_soft_target_entropy(table: pd.DataFrame, title: str, bins: int = 20) -> Figure:
    """Per teacher task, histograms of the soft targets' entropy H(Q) in bits (top) and of Q(gold label)
    (bottom), with where every hard (one-hot) target sits marked: H = 0, Q(gold) = 1; `table` from
    kd_analysis.soft_target_table."""
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
    `summary` from kd_analysis.disagreement_summary."""
    labels = [f"{t} {s}" for t, s in zip(summary.task, summary.split_label)]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.6))
    bars = ax.barh(labels, summary["disagree (%)"], color=colors(1)[0])
    for bar, n, total, k in zip(bars, summary.disagreements, summary.examples, summary.teachers):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{n} of {total:,} ({k} teachers)",
                va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 115)
    ax.set_xlabel("dev examples where the teachers' argmax classes differ (%)")
    ax.set_ylabel("teacher task and split")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_kd_loss(grid: pd.DataFrame, title: str) -> Figure:
    """The distillation loss L = (1 − α) L_hard + α T² CE(Q_T, P_T) against α, one line per temperature T
    (left); the soft term split into T² H(Q_T), which no student can lower, and T² KL(Q_T ‖ P_T), what the
    student learns from (middle); and the size of the soft term's gradient with and without the T² factor
    (right); `grid` from kd_analysis.kd_loss_grid."""
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
    teacher ensemble …); `scores` from kd_analysis.system_scores."""
    systems = systems or list(dict.fromkeys(scores.system))
    scores = scores[scores.system.isin(systems)]
    scores = scores.assign(label=[f"{t} · {m}" for t, m in zip(scores.task, scores.metric)])
    groups = scores[["label", "split_label"]].drop_duplicates()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(systems) * len(groups) + 2.5), 4.5))
    _grouped_bars(ax, scores, ["label", "split_label"], "system", "score", systems, hatches=SYSTEM_HATCHES)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("task · metric (several metrics: their mean), and split (dev, or dev-proxy)")
    ax.set_ylabel("task score ×100")
    ax.legend(title="system", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_inference_cost(costs: pd.DataFrame, title: str) -> Figure:
    """Examples per second of the student (one model) against the teacher ensemble (K models) per task, with
    how many times slower the ensemble is; `costs` from kd_analysis.cost_table."""
    tasks = list(dict.fromkeys(costs.task))
    fig, ax = plt.subplots(figsize=(max(5, 2.2 * len(tasks) + 2), 4.2))
    models = list(dict.fromkeys(costs.model))
    _grouped_bars(ax, costs.assign(label=[f"{t}\n{s}" for t, s in zip(costs.task, costs.split)]), ["label"],
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


# --- notebook 03 (multi-task training) and 06 (GLUE results) ---------------------------------------------------

def stage_colors() -> dict[str, tuple]:
    """{stage: colour} for the stages in the papers' order (results.STAGE_ORDER): a stage keeps its colour
    in every figure."""
    from ..reporting.results import STAGE_ORDER

    return dict(zip(STAGE_ORDER, colors(len(STAGE_ORDER))))


def _task_colors(tasks) -> dict[str, tuple]:
    from ..glue.tasks import GLUE_TASKS

    palette = colors(len(GLUE_TASKS))
    return {t: palette[GLUE_TASKS.index(t) % len(palette)] if t in GLUE_TASKS else "grey" for t in tasks}


def plot_task_sequence(plan: pd.DataFrame, title: str) -> Figure:
    """The task of every training step, in order: one mark per step on its task's row, epoch boundaries dashed;
    `plan` from batching.plan_table (columns step, epoch, task)."""
    from ..glue.tasks import GLUE_TASKS

    tasks = [t for t in GLUE_TASKS if t in set(plan.task)] + sorted(set(plan.task) - set(GLUE_TASKS))
    palette = _task_colors(tasks)
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(tasks) + 1.8))
    y = plan.task.map({t: i for i, t in enumerate(tasks)})
    ax.scatter(plan.step, y, c=[palette[t] for t in plan.task], marker="|", s=160, linewidths=2)
    for step in plan.step[plan.epoch.diff().fillna(0) > 0]:
        ax.axvline(step - 0.5, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlim(0.5, plan.step.max() + 0.5)
    ax.set_xlabel("training step (one mini-batch of one task; dashed: a new epoch, reshuffled)")
    ax.set_ylabel("task of the step")
    ax.grid(axis="x", visible=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


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
        width, x = 0.8 / len(labels), np.arange(len(tasks))
        for k, (label, color) in enumerate(zip(labels, colors(len(labels)))):
            r = rows[rows.label == label].set_index("task").loc[tasks]
            xs = x + (k - (len(labels) - 1) / 2) * width
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
    width = 0.8 / len(batchings)
    x = np.arange(len(tasks))
    for k, (batching, color) in enumerate(zip(batchings, colors(len(batchings)))):
        rows = padding[padding.batching == batching].set_index("task").loc[tasks]
        bars = ax.bar(x + (k - (len(batchings) - 1) / 2) * width, rows["padding (%)"], width, color=color,
                      label=batching)
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
    from ..glue.tasks import GLUE_TASKS

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


def plot_task_scores(scores: pd.DataFrame, title: str) -> Figure:
    """Grouped bars: each task's dev score per system, the value on each bar, the split under the task name;
    `scores` from scoreboard.stage_scores (columns stage, system, task, score, split)."""
    from ..glue.tasks import GLUE_TASKS

    tasks = [t for t in GLUE_TASKS if t in set(scores.task)]
    systems = list(dict.fromkeys(scores.system))
    stage_of = dict(zip(scores.system, scores.stage))
    palette = stage_colors()
    fig, ax = plt.subplots(figsize=(min(20, max(7, 1.3 * len(tasks) * max(1, len(systems) / 3) + 3)), 4.8))
    width = 0.84 / len(systems)
    x = np.arange(len(tasks))
    for k, system in enumerate(systems):
        rows = scores[scores.system == system].set_index("task")
        xs = [x[i] + (k - (len(systems) - 1) / 2) * width for i, t in enumerate(tasks) if t in rows.index]
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
    ax.set_xlabel("task (split scored)")
    ax.set_ylabel("system (stage)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
