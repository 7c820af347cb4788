"""A profile's results in a few tables and sentences, generated from the files `reproduce` wrote under
``results/<profile>/`` (seeds.csv, comparisons.csv, distillation.csv, floors.json, inference_cost.json,
conditions.json, stage_times.json): never typed, so a rerun cannot leave the text behind.

`summary_markdown` is what ``results/<profile>/README.md`` holds and what the kit's README shows between the markers
``<!-- generated: results <profile> -->`` and ``<!-- end generated -->`` (`replace_block`; tests/test_summary.py
checks that the README's block is the one the committed results give).
"""

import json
import re
from pathlib import Path

import pandas as pd

from ..core.inference import precision_name
from ..experiments.profiles import DataSettings
from ..glue.tasks import GLUE_TASKS
from .cells import MISSING
from .floors import dev_floors
from .distillation_report import describe_distillation
from .intervals import COMPARISONS, mean_sd
from .results import markdown_table
from .systems import SYSTEMS, in_sentence

NEAR_CHANCE = 5  # a Matthews correlation (×100) this close to 0 is flagged as no better than chance

FLOORS = "floors.json"  # {task: majority_floors' score}, written beside the tables by write_floors

START, END = "<!-- generated: results {profile} -->", "<!-- end generated -->"


def system_scores(seeds: pd.DataFrame) -> pd.DataFrame:
    """seeds.csv as one row per system (the papers' rows, systems.SYSTEMS) and seed: the task scores, `average`
    (over the system's tasks) and `average without WNLI`."""
    rows = []
    for name, stages in SYSTEMS:
        stage = next((s for s in stages if (seeds.stage == s).any()), None)
        if stage is None:
            continue
        cells = seeds[(seeds.stage == stage) & (seeds.task != "average")]
        table = cells.pivot(index="seed_index", columns="task", values="score").dropna(axis=1, how="all")
        tasks = table.columns
        table["average"] = table[tasks].mean(axis=1)
        table["average without WNLI"] = table[[t for t in tasks if t != "WNLI"]].mean(axis=1)
        table["tasks"] = len(tasks)
        rows.append(table.assign(system=name, stage=stage).reset_index())
    return pd.concat(rows, ignore_index=True)


def scores_markdown(systems: pd.DataFrame) -> str:
    """The systems' mean ± sd over seeds, one column per task, the two averages and the tasks averaged."""
    columns = [t for t in GLUE_TASKS if t in systems.columns] + ["average", "average without WNLI"]
    rows = []
    for (name, stage), cells in systems.groupby(["system", "stage"], sort=False):
        rows.append({"system": name, "stage": stage} | {
            c: mean_sd(cells[c]) if cells[c].notna().any() else MISSING for c in columns}
            | {"tasks": int(cells.tasks.iloc[0])})
    return markdown_table(pd.DataFrame(rows))


def floors_sentence(systems: pd.DataFrame, floors: dict[str, float]) -> str:
    """Which tasks every system scores at or below the score of always answering the majority class of the
    split (`floors`: task → that score), which systems score CoLA's Matthews correlation within 5 of 0 (no better
    than chance), and that both still count in the averages."""
    means = systems.groupby("system", sort=False).mean(numeric_only=True)
    parts = []
    for task, floor in floors.items():
        if task in means and (means[task].dropna() <= floor).all():
            low, high = means[task].min(), means[task].max()
            parts.append(f"every system scores {task} at or below its majority-class floor ({low:.1f}–{high:.1f} "
                         f"against {floor:.1f}: answering the majority class of its dev set)")
    if "CoLA" in means and "CoLA" in floors:  # its floor, a constant answer, has a correlation of 0
        near_zero = [f"{in_sentence(name)} {value:.1f}" for name, value in means.CoLA.dropna().items()
                     if abs(value) < NEAR_CHANCE]
        if near_zero:
            parts.append(f"CoLA's Matthews correlation is within {NEAR_CHANCE} of chance (0) for {', '.join(near_zero)}")
    if not parts:
        return ""
    return "Floors: " + "; ".join(parts) + ". These scores count in `average`, as in GLUE."


def comparisons_markdown(comparisons: pd.DataFrame) -> str:
    """Each comparison's average Δ with its interval and verdict, and where A is higher."""
    rows = []
    for name, cells in comparisons.groupby("comparison", sort=False):
        tasks, average = cells[cells.task != "average"], cells[cells.task == "average"]
        better = ", ".join(f"{r.task} {r.delta:+.1f}" for r in tasks.itertuples() if r.verdict == "better")
        worse = ", ".join(f"{r.task} {r.delta:+.1f}" for r in tasks.itertuples() if r.verdict == "worse")
        row = {"comparison (A − B)": name}
        if len(average):
            r = average.iloc[0]
            row["Δ average [95 % interval]"] = f"{r.delta:+.1f} [{r.low:.1f}, {r.high:.1f}]: {r.verdict}"
        rows.append(row | {"A higher on": f"{int((tasks.delta > 0).sum())} of {len(tasks)} tasks",
                           "interval above 0": better or "none", "interval below 0": worse or "none"})
    return markdown_table(pd.DataFrame(rows))


def current(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The rows of the comparisons the kit makes now (intervals.COMPARISONS), of a comparisons.csv that may be older."""
    return comparisons[comparisons.comparison.isin([c.name for c in COMPARISONS])]


def cost_sentence(costs: list[dict]) -> str:
    """How much longer the teacher ensemble takes than the student, with the conditions it was measured in."""
    ratios = [c["ensemble"]["seconds"] / c["student"]["seconds"] for c in costs]
    k = sorted({c["ensemble"]["models"] for c in costs})
    where = costs[0]
    return (f"Inference: the ensemble of {'/'.join(map(str, k))} teachers takes {min(ratios):.1f}–{max(ratios):.1f}× "
            f"the student's time on the {len(costs)} teacher tasks ({', '.join(c['task'] for c in costs)}; "
            f"{where['device']}, {precision_name(where.get('precision', 'no'))}, "
            f"{where['torch_threads']} threads, batch {where['batch_size']}, median of "
            f"{where['repeats']} passes; `inference_cost.md`).")


def time_sentence(conditions: dict, times: dict, profile: str) -> str:
    """What one seed of the reproduction cost, and on what (conditions.json, stage_times.json)."""
    train = sum(t["train_seconds"] for t in times.values())
    evaluation = sum(t["eval_seconds"] for t in times.values())
    torch_version = (conditions.get("packages") or {}).get("torch")
    threads = conditions["torch_threads"]
    threads = threads if isinstance(threads, list) else [threads]
    lanes = conditions.get("lanes", 1)
    how = (f"{max(threads)} torch threads per multi-task run, a stage's per-task runs {lanes} at a time with "
           f"{min(threads)} each" if lanes > 1 else f"{max(threads)} torch threads")
    where = (f"a {conditions['cpus']}-core machine ({conditions['device']}; {how}), {conditions['precision']}"
             f"{f', torch {torch_version}' if torch_version else ''}")
    wall, estimate = conditions.get("wall_seconds"), conditions.get("estimate_seconds")
    if wall and conditions.get("seeds", 1) == 1:
        spent = f"took {wall / 60:.0f} min, the tables included" + (
            f" (its plan's first estimate: {estimate / 60:.0f} min)" if estimate else "") + "; its runs spent "
    elif conditions.get("runs_wall_seconds"):
        runs = conditions["runs_wall_seconds"]
        spent = f"took {runs / 60:.0f} min from its first run's start to its last run's end: "
    else:
        spent = "spent "
    return (f"Time: one seed of `python -m mtdnn_lite reproduce --profile {profile}` on {where} {spent}"
            f"{train / 60:.0f} min in training steps and {evaluation / 60:.0f} min in evaluation, summed over the "
            f"runs (`results/{profile}/stage_times.md`).")


def summary_markdown(out: Path, profile: str) -> str:
    """The summary of ``results/<profile>/`` = `out` (see the module docstring)."""
    out = Path(out)
    floors = json.loads((out / FLOORS).read_text()) if (out / FLOORS).is_file() else None
    seeds = pd.read_csv(out / "seeds.csv")
    systems = system_scores(seeds)
    n = seeds.seed_index.nunique()
    command = f"python -m mtdnn_lite reproduce --profile {profile} --seeds {n}"
    scores = pd.read_csv(out / "scores.csv") if (out / "scores.csv").is_file() else pd.DataFrame(columns=["task", "split_label"])
    proxies = [t for t in GLUE_TASKS if t in set(scores[scores.split_label == "dev-proxy"].task)]
    proxy = f", or on the dev-proxy (rows held out of train) for {', '.join(proxies)}" if proxies else ""
    over = "one training seed" if n == 1 else f"mean ± sd over {n} training seeds on the same data"
    parts = [f"`{command}`: task scores ×100, {over}, on each task's "
             f"dev set{proxy}; last epoch, no selection on dev (`results/{profile}/seeds.md`).", "",
             scores_markdown(systems), ""]
    if floors:
        sentence = floors_sentence(systems, floors)
        parts += [sentence, ""] if sentence else []
    if (out / "comparisons.csv").is_file():
        averaged = "" if n == 1 else " averaged over the seeds"
        parts += [f"Paired comparisons: Δ{averaged} with its 95 % paired bootstrap interval over the dev "
                  f"examples; a Δ whose interval contains 0 is no difference (`results/{profile}/comparisons.md`).",
                  "", comparisons_markdown(current(pd.read_csv(out / "comparisons.csv"))), ""]
    if (out / "distillation.csv").is_file():
        parts += [f"Distillation where it acts, the teacher tasks, and elsewhere (`results/{profile}/distillation.md`): "
                  + describe_distillation(pd.read_csv(out / "distillation.csv")), ""]
    if (out / "inference_cost.json").is_file():
        parts += [cost_sentence(json.loads((out / "inference_cost.json").read_text())), ""]
    if (out / "conditions.json").is_file() and (out / "stage_times.json").is_file():
        parts += [time_sentence(json.loads((out / "conditions.json").read_text()),
                                json.loads((out / "stage_times.json").read_text()), profile), ""]
    return "\n".join(parts).rstrip() + "\n"


def replace_block(text: str, block: str, profile: str) -> str:
    """`text` with the part between the profile's markers (START, END) replaced by `block`; a text without the
    markers is an error naming them."""
    start = START.format(profile=profile)
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no block {start} … {END} to replace")
    return pattern.sub(lambda _: f"{start}\n{block}{END}", text)


def write_floors(out: Path, settings: DataSettings, glue_dir, tasks) -> None:
    """``<out>/floors.json``: each task's majority-class floor on the rows the profile scores (floors.dev_floors),
    for the summary to flag the tasks scored at or below it."""
    floors = dev_floors(settings, glue_dir, tasks)["floor"].to_dict()
    (Path(out) / FLOORS).write_text(json.dumps(floors, indent=1))


def write_summary(out: Path, profile: str) -> str:
    """``<out>/README.md``: `summary_markdown` under a title; returns the summary."""
    block = summary_markdown(out, profile)
    (Path(out) / "README.md").write_text(f"# Results: profile `{profile}`\n\n{block}")
    return block
