"""What every figure of the notebooks shares: the look, the colours, saving, and grouped bars.

The figures themselves live beside the notebook that draws them: data_plots (01), model_plots (02),
training_plots (03), kd_plots (04, 05, 07), score_plots (06 and 03) and recipe_plots (08). Every figure function
takes the table it draws and a `title` saying which data, split and profile it shows, and returns the matplotlib
Figure; `save_figure` writes it to the figures folder. Colours come from seaborn's colour-blind-safe
"colorblind" palette; every axis is labelled with its unit.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..glue.tasks import GLUE_TASKS
from ..reporting.results import STAGE_ORDER

PALETTE = "colorblind"


def style() -> None:
    """The look of every figure: seaborn's white grid and the colour-blind-safe palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")


def colors(n: int) -> list:
    """`n` colours of the colour-blind-safe palette."""
    return sns.color_palette(PALETTE, n)


def stage_colors() -> dict[str, tuple]:
    """{stage: colour} for the stages in the papers' order (results.STAGE_ORDER): a stage keeps its colour
    in every figure."""
    return dict(zip(STAGE_ORDER, colors(len(STAGE_ORDER))))


def task_colors(tasks) -> dict[str, tuple]:
    """{task: colour}, a GLUE task keeping its colour in every figure (grey for any other)."""
    palette = colors(len(GLUE_TASKS))
    return {t: palette[GLUE_TASKS.index(t) % len(palette)] if t in GLUE_TASKS else "grey" for t in tasks}


def save_figure(fig: Figure, figures_dir: str | Path, name: str, dpi: int = 120) -> Path:
    """Write `fig` as `figures_dir`/`name` (PNG unless `name` says otherwise); the folder is created."""
    path = Path(figures_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def finish(fig: Figure, ax, title: str, xlabel: str, ylabel: str, legend: str | None = None) -> Figure:
    """Label the axes, put the legend (titled `legend`, if given) right of the axes, title and tighten `fig`."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(title=legend, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def bar_offsets(n: int, total: float = 0.8) -> tuple[float, np.ndarray]:
    """Grouped bars: the width of each of `n` bars in a group `total` wide, and each bar's offset from the
    group's centre, (k − (n − 1)/2) · width for k = 0 … n − 1."""
    width = total / max(n, 1)
    return width, (np.arange(n) - (n - 1) / 2) * width


def bar_labels(ax, bars, values, fmt="{:.1f}", fontsize=7) -> None:
    """Write each finite value of `values` above its bar."""
    for bar, value in zip(bars, values):
        if np.isfinite(value):
            ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, max(bar.get_height(), 0)),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=fontsize)


def grouped_bars(ax, table: pd.DataFrame, group_cols: list[str], series_col: str, value_col: str,
                 series: list[str], hatches: dict | None = None, fmt="{:.1f}") -> list[str]:
    """Bars of `value_col`, one group per distinct `group_cols` row, one bar per `series` value in a group
    ("n/a" where a group lacks it); returns the group labels (the group columns joined by a line break)."""
    groups = list(dict.fromkeys(tuple(r) for r in table[group_cols].itertuples(index=False)))
    width, offsets = bar_offsets(len(series))
    for name, color, offset in zip(series, colors(len(series)), offsets):
        values = []
        for group in groups:
            match = table[(table[group_cols] == pd.Series(group, index=group_cols)).all(axis=1)
                          & (table[series_col] == name)]
            values.append(float(match[value_col].iloc[0]) if len(match) else np.nan)
        x = np.arange(len(groups)) + offset
        bars = ax.bar(x, np.nan_to_num(values), width, color=color, label=name,
                      hatch=(hatches or {}).get(name), edgecolor="white")
        bar_labels(ax, bars, values, fmt)
        for xi in x[~np.isfinite(values)]:
            ax.annotate("n/a", (xi, 0), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color="grey")
    labels = ["\n".join(str(v) for v in g) for g in groups]
    ax.set_xticks(range(len(groups)), labels)
    return labels
