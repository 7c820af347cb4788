"""Notebook 08's numbers in words: each sentence built from the table or curve the notebook has just shown.

- `step_budget`, `step_sentence`: the multi-task steps of the paper's recipe, of a profile and of the ablation;
- `zero_prediction_loss`: STS-B's squared error before training, against a cross-entropy's ln C;
- `shipped_pooling`: how all-MiniLM-L6-v2's own package says to read a sentence vector off it;
- `spike_table`, `spike_sentence`: how far, and how long, one gradient spike shrinks each optimiser's steps;
- `paper_cell_sentence`, `readout_sentence`, `optimizer_sentence`, `chance_sentence`: what the ablation's cells
  and its multi-task losses say;
- `departures`, `departures_sentence`: where a profile's settings differ from the paper's (the Profile
  field defaults), and which of those the ablation measures.
"""

import dataclasses
import json
import math

import numpy as np
import pandas as pd

from ..core import optim
from ..core.encoder import minilm_path
from ..experiments.profiles import DataSettings, Profile
from ..experiments.taskdata import select_rows
from ..glue.data import OFFICIAL_ROWS
from ..glue.tasks import TaskType, get_task
from ..reporting.ablation import GRID, cell_gap

PAPER = Profile("paper")
"""The paper's settings (MT-DNN section 4.2): the Profile field defaults, but for the encoder, whose default is
the kit's (all-MiniLM-L6-v2) where the paper's is BERT."""

BUDGET_FIELDS = {f.name for f in dataclasses.fields(DataSettings)} - {"encoder"} | {"tasks", "teachers"}
"""Settings that size the experiment (tasks, data, epochs, teachers) rather than change the recipe."""

NOT_COMPARED = {"name", "encoder"}
"""Fields `departures` leaves out: a profile's name, and the encoder (no profile uses the paper's BERT)."""


def step_budget(profile: Profile, glue_dir, budget: dict | None = None) -> dict[str, int]:
    """Multi-task training steps, Σ_t ⌈n_t / B⌉ per epoch times the epochs (QNLI's question groups add a few):
    "paper" on the official training sets with the paper's batch size and epochs, the profile on the data at
    hand, and, with `budget` (the ablation's settings), the ablation's multi-task runs."""
    def steps(p: Profile, sizes) -> int:
        return p.epochs_mtl * sum(math.ceil(n / p.batch_size) for n in sizes)
    counts = {"paper": steps(PAPER, [OFFICIAL_ROWS[t]["train"] for t in profile.tasks])}
    settings = {profile.name: profile, **({"ablation": profile.override(**budget)} if budget else {})}
    for name, p in settings.items():
        counts[name] = steps(p, [len(select_rows(t, p, glue_dir)[0]["train"]) for t in p.tasks])
    return counts


def step_sentence(profile: Profile, glue_dir, budget: dict) -> str:
    """`step_budget` in one Markdown sentence, with the batch sizes and epochs behind each count."""
    steps, ablation = step_budget(profile, glue_dir, budget), profile.override(**budget)
    def cap(p: Profile) -> str:
        return "all the" if p.max_train is None else f"at most {p.max_train:,}"
    return (f"Multi-task steps, Σ_t ⌈n_t / B⌉ × epochs, over the profile's {len(profile.tasks)} tasks: the paper's "
            f"recipe on the official training sets {steps['paper']:,} (B = {PAPER.batch_size}, {PAPER.epochs_mtl} epochs); the `{profile.name}` profile on "
            f"the data at hand {steps[profile.name]:,} ({cap(profile)} examples a task, B = "
            f"{profile.batch_size}, {profile.epochs_mtl} epoch(s)); the ablation below {steps['ablation']:,} "
            f"({cap(ablation)} examples a task, {ablation.epochs_mtl} epoch(s)).")


def shipped_pooling() -> list[str]:
    """The pooling modes that all-MiniLM-L6-v2's package switches on (its 1_Pooling/config.json), e.g.
    ["mean_tokens"]: how its authors read a sentence vector off the encoder."""
    config = json.loads((minilm_path() / "1_Pooling" / "config.json").read_text())
    return [k.removeprefix("pooling_mode_") for k, on in config.items() if k.startswith("pooling_mode_") and on]


def zero_prediction_loss(profile: Profile, glue_dir) -> float:
    """STS-B's squared error (y − ŷ)² averaged over the profile's training rows for ŷ = 0, roughly where a new
    head starts: the mean of y²."""
    labels = np.asarray(select_rows("STS-B", profile, glue_dir)[0]["train"]["label"])
    return float(np.mean(labels ** 2))


def spike_table(spike: dict[str, list[float]]) -> pd.DataFrame:
    """Per optimiser, from `optim.steps_after_a_spike` curves: each step's size against the same optimiser's
    step without the spike (gradient 1 from the first step), as a fall factor: the largest fall and its step,
    the fall at the last step, and the first step from which the step stays at least half its size."""
    rows = []
    for name, sizes in spike.items():
        sizes = np.asarray(sizes)
        plain = np.asarray(optim.steps_after_a_spike(name, steps=len(sizes), spike=1.0))
        fall = plain[1:] / sizes[1:]  # step 1 carries the spike itself
        low = np.flatnonzero(sizes < plain / 2)  # 0-based steps below half their size without the spike
        back = 1 if not len(low) else None if low[-1] == len(sizes) - 1 else int(low[-1]) + 2
        rows.append({"optimizer": name, "largest fall (×)": fall.max(), "at step": int(fall.argmax()) + 2,
                     f"fall at step {len(sizes)} (×)": fall[-1], "back to half size from step": back})
    return pd.DataFrame(rows).set_index("optimizer")


def spike_sentence(table: pd.DataFrame) -> str:
    """`spike_table` in one Markdown sentence per optimiser."""
    last = [c for c in table.columns if c.startswith("fall at step")][0]
    n = last.split()[3]
    lines = []
    for name, row in table.iterrows():
        back = row["back to half size from step"]
        recovery = (f"stays at least half its usual size from step {int(back)} on" if pd.notna(back)
                    else f"is still below half its usual size at step {n}")
        lines.append(f"- **{name}**: its step falls up to {row['largest fall (×)']:.1f}× (at step {row['at step']}), "
                     f"is {row[last]:.1f}× smaller at step {n}, and {recovery}.")
    return "\n".join(lines)


def _average(long: pd.DataFrame, cell: str, stage: str) -> tuple[float, float]:
    seeds = long[(long.cell == cell) & (long.stage == stage)].groupby("seed").score.mean()
    return seeds.mean(), seeds.std(ddof=1)


def paper_cell_sentence(long: pd.DataFrame, paper: str = "paper", recipe: str = "mean") -> str:
    """The `paper` cell's MTL − single-task gap (mean ± sd over seeds) and the task that falls most from the
    `recipe` cell to the paper's in both systems, with its scores."""
    if paper not in set(long.cell):
        return f"The ablation table has no `{paper}` cell."
    per_seed = long[long.cell == paper].groupby(["seed", "stage"]).score.mean().unstack()
    gap = per_seed["mtl"] - per_seed["st"]
    sd = gap.std(ddof=1)
    call = "within" if not abs(gap.mean()) > sd else "beyond"
    text = (f"With the `{paper}` cell's settings, MTL − single-task is {gap.mean():+.1f} ± {sd:.1f} (sd over "
            f"{len(gap)} seed(s)): {call} the seeds' spread.")
    if recipe not in set(long.cell):
        return text
    means = long.groupby(["cell", "stage", "task"]).score.mean()
    fall = (means[paper] - means[recipe]).unstack("stage")
    task = (fall["st"] + fall["mtl"]).idxmin()
    scores = {s: (means[paper][s][task], means[recipe][s][task]) for s in ("st", "mtl")}
    alone = " (without multi-task learning too)" if fall.loc[task, "st"] < 0 and fall.loc[task, "mtl"] < 0 else ""
    return (text + f" The task that falls most against `{recipe}`, both systems together, is **{task}**{alone}: "
            f"single-task {scores['st'][0]:.1f} (`{recipe}`: {scores['st'][1]:.1f}), MTL {scores['mtl'][0]:.1f} "
            f"(`{recipe}`: {scores['mtl'][1]:.1f}).")


def _gap_words(long: pd.DataFrame, a: str, b: str) -> str:
    gap = cell_gap(long, a, b)
    parts = []
    for stage, name in (("st", "single-task"), ("mtl", "MTL")):
        r = gap.loc[stage]
        call = "within the seeds' spread" if r["within spread"] else "beyond the paired sd"
        parts.append(f"{name} {r['delta']:+.1f} (sd of the paired Δ {r['sd']:.1f}; each cell's own sd "
                     f"{r[f'{a} sd']:.1f} and {r[f'{b} sd']:.1f}: {call})")
    changed = ", ".join(f"{k} {GRID[a][k]} → {GRID[b][k]}" for k in GRID[a] if GRID[a][k] != GRID[b][k])
    return f"{' and '.join(parts)}, over {int(gap.seeds.max())} seed(s); the cells differ in {changed}"


def readout_sentence(long: pd.DataFrame, cls: str = "adamw", mean: str = "mean") -> str:
    """What the mean-of-tokens readout adds to the [CLS] one, cells `cls` → `mean`, per system."""
    if not {cls, mean} <= set(long.cell):
        return f"The ablation table lacks the `{cls}` or `{mean}` cell: the readout is not measured alone here."
    return f"The mean-of-tokens readout against [CLS] (`{cls}` → `{mean}`): {_gap_words(long, cls, mean)}."


def optimizer_sentence(long: pd.DataFrame, paper: str = "paper", adamw: str = "adamw") -> str:
    """What AdamW at one learning rate adds to the paper cell's Adamax, cells `paper` → `adamw`."""
    if not {paper, adamw} <= set(long.cell):
        return f"The ablation table lacks the `{paper}` or `{adamw}` cell: the optimiser is not measured alone here."
    return f"AdamW instead of Adamax (`{paper}` → `{adamw}`): {_gap_words(long, paper, adamw)}."


def chance_sentence(losses: pd.DataFrame) -> str:
    """Markdown, from `ablation.loss_table`: per cell, the classification tasks whose final multi-task training
    loss is at or above ln C, the cross-entropy of a uniform guess over C classes (STS-B's squared error and
    QNLI's ranking loss have no such value and are left out)."""
    lines = []
    for row in losses.to_dict("records"):
        stuck = [f"{t} {row[t]:.3f} (ln {get_task(t).num_labels} = {math.log(get_task(t).num_labels):.3f})"
                 for t in losses.columns if t != "cell" and get_task(t).type in (TaskType.SINGLE, TaskType.PAIRWISE)
                 and row[t] >= math.log(get_task(t).num_labels)]
        lines.append(f"- `{row['cell']}`: " + (", ".join(stuck) if stuck else "no task at or above its ln C"))
    return "Final losses at or above a uniform guess's, per cell:\n" + "\n".join(lines)


def departures(profile: Profile) -> pd.DataFrame:
    """The settings in which `profile` differs from the paper's (`PAPER`; `NOT_COMPARED` left out): setting,
    paper, profile, kind ("recipe", or "budget" for `BUDGET_FIELDS`), and whether the ablation's cells vary it."""
    name, varied = profile.name, {k for cell in GRID.values() for k in cell}
    rows = [{"setting": f.name, "paper": getattr(PAPER, f.name), name: getattr(profile, f.name),
             "kind": "budget" if f.name in BUDGET_FIELDS or f.name.startswith("epochs_") else "recipe",
             "varied by the ablation": f.name in varied}
            for f in dataclasses.fields(Profile)
            if f.name not in NOT_COMPARED and getattr(profile, f.name) != getattr(PAPER, f.name)]
    return pd.DataFrame(rows, columns=["setting", "paper", name, "kind", "varied by the ablation"])


def departures_sentence(profile: Profile) -> str:
    """`departures` of `profile` in one Markdown sentence: its recipe departures, which of them the ablation
    measures, and how many budget settings differ."""
    name, table = profile.name, departures(profile)
    recipe, budget = table[table.kind == "recipe"], table[table.kind == "budget"]
    if recipe.empty:
        said = f"`{name}` keeps every setting of the paper's recipe"
    else:
        said = f"`{name}` departs from the paper's recipe in {len(recipe)} setting(s): " + ", ".join(
            f"`{r['setting']}={r[name]}` (paper: {r['paper']})" for r in recipe.to_dict("records"))
        unmeasured = recipe[~recipe["varied by the ablation"]].setting.tolist()
        if unmeasured:
            said += f"; the ablation does not vary {', '.join(unmeasured)}"
    return (said + (f"; and it sizes the experiment differently in {len(budget)} setting(s) "
                    f"({', '.join(budget.setting)})." if len(budget) else "."))
