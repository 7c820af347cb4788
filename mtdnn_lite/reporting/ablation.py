"""Why the paper's recipe fails at the quick profile's scale, and what fixes it: a grid of settings, each
trained on the same budget with several seeds and scored on a tuning split held out of train.

Each cell of the grid is a named set of profile settings. The cells are cumulative, from the paper's
recipe (as the kit first ran it: Adamax, [CLS] readout, SAN) to the quick profile's, with knock-outs that
take one choice of the quick recipe back, so that every departure is measured alone:

    paper        Adamax, per-task lr 2e-4 and multi-task lr 5e-5, [CLS] readout, SAN
    adamw        + AdamW at lr 1e-4 for every stage
    mean         + the mean of the tokens as x (= the quick recipe)
    mean_adamax  the quick recipe with Adamax back (lr 1e-4)
    mean_no_san  the quick recipe without SAN (a classifier of x for the pairwise tasks)

The default cells are paper, adamw, mean and mean_no_san (DEFAULT_CELLS); mean_adamax is there to run
with ``--cells``.

For every cell and seed, the single-task baseline (``st``, one run per task) and multi-task learning
(``mtl``, Algorithm 1 over all tasks) are trained from the pretrained encoder; both are scored on each
task's ``validation_tune`` split (taskdata.py), never on the dev sets the results tables report. The table
gives the mean ± sd over seeds of each task score, the average, the MTL − single-task difference, and the
multi-task model's final training losses (a collapse shows as losses stuck at their starting values).

    python -m mtdnn_lite ablate --profile quick --seeds 2          # writes results/quick/ablation.{md,csv}
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.pipeline import run_mtl, run_st
from ..experiments.profiles import Profile
from ..experiments.runs import read_json
from ..glue.tasks import GLUE_TASKS
from .intervals import mean_sd
from .results import markdown_table, scores_table, stage_summary

PAPER = {"optimizer": "adamax", "lr": 2e-4, "lr_mtl": 5e-5, "readout": "cls", "san": True}
GRID: dict[str, dict] = {
    "paper": PAPER,
    "adamw": {**PAPER, "optimizer": "adamw", "lr": 1e-4, "lr_mtl": None},
    "mean": {**PAPER, "optimizer": "adamw", "lr": 1e-4, "lr_mtl": None, "readout": "mean"},
    "mean_adamax": {**PAPER, "optimizer": "adamax", "lr": 1e-4, "lr_mtl": None, "readout": "mean"},
    "mean_no_san": {**PAPER, "optimizer": "adamw", "lr": 1e-4, "lr_mtl": None, "readout": "mean", "san": False},
}
"""The cells, in the order the table shows them; each a set of profile settings."""

DEFAULT_CELLS = ("paper", "adamw", "mean", "mean_no_san")

BUDGET = {"max_train": 400, "tune_size": 300, "epochs_st": 2, "epochs_mtl": 2}
"""The default budget of every cell: training rows per task, tuning rows per task, epochs of st and mtl."""


def cell_profile(profile: Profile, cell: str, seed: int, budget: dict) -> Profile:
    """The profile of one cell and seed: `profile`, the budget, the cell's settings and the seed."""
    return profile.override(**budget, **GRID[cell], seed=seed)


def cell_root(runs, cell: str, seed: int) -> Path:
    return Path(runs) / "ablation" / cell / f"seed{seed}"


def run_cell(profile: Profile, glue_dir, runs, cell: str, seed: int, budget: dict) -> pd.DataFrame:
    """Train (or reuse) one cell's st and mtl runs; its tune-split scores, one row per stage and task."""
    p, root = cell_profile(profile, cell, seed, budget), cell_root(runs, cell, seed)
    run_st(p, glue_dir, root)
    mtl = run_mtl(p, glue_dir, root)
    summary = stage_summary(scores_table(root / p.name)).drop(columns="average")
    rows = summary.loc[["st", "mtl"]].stack().rename("score").reset_index()
    losses = read_json(mtl / "metrics.json")[-1]["train_loss"]
    rows["mtl_train_loss"] = [losses.get(t, np.nan) if s == "mtl" else np.nan for s, t in zip(rows.stage, rows.task)]
    return rows.assign(cell=cell, seed=seed)


def ablate(profile: Profile, glue_dir, runs="runs", results="results", seeds: int = 2,
           cells: list[str] | None = None, budget: dict | None = None) -> Path:
    """Every cell × seed (finished runs reused), then ``<results>/<profile>/ablation.{csv,md}``."""
    cells, budget = list(cells or DEFAULT_CELLS), {**BUDGET, **(budget or {})}
    unknown = sorted(set(cells) - set(GRID))
    if unknown:
        raise ValueError(f"unknown ablation cell(s) {unknown}; expected some of {list(GRID)}")
    long = pd.concat([run_cell(profile, glue_dir, runs, c, s, budget) for s in range(seeds) for c in cells])
    out = Path(results) / profile.name
    out.mkdir(parents=True, exist_ok=True)
    long.to_csv(out / "ablation.csv", index=False)
    (out / "ablation.md").write_text(ablation_markdown(long, profile, budget, seeds))
    return out / "ablation.md"


def ablation_table(long: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and stage (and the MTL − single-task difference): mean ± sd over seeds per task."""
    tasks = [t for t in GLUE_TASKS if t in set(long.task)]
    per_seed = long.pivot_table(index=["cell", "seed"], columns=["stage", "task"], values="score")
    rows = []
    for cell in dict.fromkeys(long.cell):
        seeds = per_seed.loc[cell]
        st, mtl = seeds["st"][tasks], seeds["mtl"][tasks]
        for name, scores in (("single-task", st), ("MTL", mtl), ("MTL − single-task", mtl - st)):
            rows.append({"cell": cell, "system": name, **{t: mean_sd(scores[t]) for t in tasks},
                         "avg": mean_sd(scores.mean(axis=1))})
    return pd.DataFrame(rows)


def loss_table(long: pd.DataFrame) -> pd.DataFrame:
    """The multi-task model's final-epoch training loss per task, mean over seeds, one row per cell."""
    mtl = long[long.stage == "mtl"]
    table = mtl.pivot_table(index="cell", columns="task", values="mtl_train_loss", sort=False)
    tasks = [t for t in GLUE_TASKS if t in table.columns]
    return table[tasks].round(3).reset_index()


def ablation_markdown(long: pd.DataFrame, profile: Profile, budget: dict, seeds: int) -> str:
    cells = "\n".join(f"- `{c}`: " + ", ".join(f"{k}={v}" for k, v in GRID[c].items()) for c in dict.fromkeys(long.cell))
    return (f"# Ablation: the paper's settings against the quick recipe ({profile.name} profile)\n\n"
            f"Made by `python -m mtdnn_lite ablate --profile {profile.name} --seeds {seeds}`. Every cell trains the "
            f"single-task baseline (st) and multi-task learning (mtl, Algorithm 1) from {profile.encoder} on "
            f"{budget['max_train']} training rows per task ({budget['epochs_st']} epochs st, {budget['epochs_mtl']} "
            f"mtl, batch {profile.batch_size}) and scores them on a **tuning split**: up to {budget['tune_size']} "
            "rows per task held out of train (a quarter of WNLI's), never the dev sets of the results tables. "
            f"Scores ×100 (task score: metrics averaged), mean ± sd over {seeds} seed(s) "
            "(the seed sets initialisation of the heads and batch order; the data are the same).\n\n"
            f"Cells (every other setting is the {profile.name} profile's):\n\n{cells}\n\n"
            + markdown_table(ablation_table(long))
            + "\n\nFinal-epoch training loss of the multi-task model per task (mean over seeds; chance: "
              "ln 2 = 0.693 for two classes, ln 3 = 1.099 for MNLI):\n\n" + markdown_table(loss_table(long)) + "\n")


def describe(long: pd.DataFrame) -> str:
    """One Markdown line per cell: its single-task and MTL averages and MTL − single-task, mean ± sd over seeds,
    called a difference only where |Δ| exceeds the seeds' sd."""
    per_seed = long.groupby(["cell", "stage", "seed"], sort=False).score.mean().unstack("stage")
    lines = []
    for cell, seeds in per_seed.groupby("cell", sort=False):
        gap = seeds["mtl"] - seeds["st"]
        d, sd = gap.mean(), gap.std(ddof=1)
        call = "no difference" if abs(d) <= (sd if sd == sd else 0) else ("MTL helps" if d > 0 else "MTL hurts")
        lines.append(f"- `{cell}`: single-task {seeds['st'].mean():.1f}, MTL {seeds['mtl'].mean():.1f}: "
                     f"MTL − single-task {d:+.1f} ± {sd:.1f} → {call}")
    return "\n".join(lines)


def cell_gap(long: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Cell `b` against cell `a`, per stage (st, mtl), over the seeds both cells ran: each cell's average task
    score (mean and sd over seeds), and Δ = b − a paired by seed (mean and sd); `within spread` is |Δ| ≤ the sd
    of Δ (the rule of `describe`), True too where one seed leaves no sd to compare with."""
    per_seed = long.groupby(["stage", "seed", "cell"]).score.mean().unstack("cell")
    rows = []
    for stage in ("st", "mtl"):
        pair = per_seed.loc[stage, [a, b]].dropna()
        gap = pair[b] - pair[a]
        d, sd = gap.mean(), gap.std(ddof=1)
        rows.append({"stage": stage, a: pair[a].mean(), f"{a} sd": pair[a].std(ddof=1), b: pair[b].mean(),
                     f"{b} sd": pair[b].std(ddof=1), "delta": d, "sd": sd, "seeds": len(gap),
                     "within spread": not abs(d) > sd})
    return pd.DataFrame(rows).set_index("stage")
