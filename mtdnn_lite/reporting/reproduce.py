"""The whole reproduction in one call: every stage of pipeline.STAGE_TABLE, each once per seed, then
``results/<profile>/``.

    st → mtl → refine → teacher (+ ensemble) → soft_targets → student → student_refine

Finished runs are reused and interrupted ones resume (see train.py), so running it again after a stop
only does what is left. It then writes, under ``<results>/<profile>/``:

- ``glue_dev.csv`` / ``glue_dev.md``: the GLUE dev table in the papers' layout (results.py);
- ``scores.csv``: every score of every run, with its split and run folder;
- ``submission/``: GLUE test-server files for the test sets present, zipped (submission.py);
- ``inference_cost.json`` / ``.md``: the student against the teacher ensemble, examples/s (cost.py);
- ``README.md``: the summary of all of these in a few generated tables and sentences (summary.py);
- ``stage_times.json`` / ``.md``: the training seconds of each stage, summed over its runs' epochs, as
  the runs' metrics.json record them (evaluation excluded);
- ``conditions.json``: what the runs were made on and how long they took (`run_conditions`): the device, CPU
  cores, torch threads, lanes, precision, package versions, the wall time from the first run's start to the last
  one's end, and the command's own wall time beside the estimate its plan printed;
- ``seeds.csv`` / ``.md``, ``comparisons.csv`` / ``.md``: over all seeds, the mean ± sd and the papers'
  comparisons with their intervals; ``distillation.csv`` / ``.md``: the distillation reading
  (distillation_report.py).
"""

import os
import time
from pathlib import Path

import pandas as pd

from ..core import progress
from ..core.inference import precision_name
from ..experiments.layout import seed_runs
from ..experiments.pipeline import STAGES, run_stages
from ..experiments.profiles import Profile
from ..experiments.runs import read_json, write_json
from ..experiments.training_plan import duration, plan_training
from ..glue.tasks import GLUE_TASKS
from .cost import measure_costs, write_cost
from .distillation_report import write_from_runs
from .intervals import COMPARISONS, N_RESAMPLES, compare, mean_sd
from .models import finished_models
from .results import markdown_table, scores_table, stage_summary, write_tables
from .submission import write_submission
from .summary import write_floors, write_summary


def stage_times(root: Path) -> dict[str, dict]:
    """{stage: {"runs": n, "train_seconds": s, "eval_seconds": s}} from the finished runs' metrics.json."""
    times: dict[str, dict] = {}
    for done in sorted(Path(root).glob("**/done.json")):
        if not (done.parent / "model").is_dir():
            continue  # not a training run: an ensemble's scores or soft targets
        stage = read_json(done.parent / "config.json")["stage"]
        history = read_json(done.parent / "metrics.json")
        entry = times.setdefault(stage, {"runs": 0, "train_seconds": 0.0, "eval_seconds": 0.0})
        entry["runs"] += 1
        for kind in ("train_seconds", "eval_seconds"):
            entry[kind] += sum(e.get(kind, 0.0) for e in history)
    return {s: times[s] for s in STAGES if s in times}


def run_conditions(root: Path, profile: Profile) -> dict:
    """What a profile's runs under `root` were made on (the first run's environment.json), in which precision, with
    how many torch threads (every run's, lowest to highest: a run in a lane has its share), how many lanes, and
    their wall time: from the first run's start (its config.json, written when it starts) to the last finished
    run (its done.json, written last), as the files' modification times record them; the time of the tables
    after the runs is not in it."""
    started = sorted(Path(root).glob("**/config.json"), key=lambda p: p.stat().st_mtime)
    finished = [p.stat().st_mtime for p in Path(root).glob("**/done.json")]
    first = read_json(started[0].parent / "environment.json") if started else {}
    threads = sorted({read_json(p)["torch_threads"] for p in Path(root).glob("**/environment.json")})
    return {"device": first.get("device"), "cpus": os.cpu_count(), "torch_threads": threads,
            "lanes": profile.lanes, "precision": precision_name(profile.mixed_precision),
            "packages": first.get("packages"),
            "runs_wall_seconds": max(finished) - started[0].stat().st_mtime if started and finished else None}


def reproduce(profile: Profile, glue_dir, runs="runs", results="results", seeds: int = 1) -> Path:
    """Run every stage of `profile` for `seeds` training seeds (profile.seed, profile.seed + 1, …) and write its
    results folder; returns that folder.

    The first seed's runs and tables are the reference (``<results>/<profile>/glue_dev.md`` …, read by the
    notebooks); ``seeds.md`` gives the mean ± sd over the seeds of every system and task, and
    ``comparisons.md`` the papers' comparisons with their paired bootstrap intervals over all seeds."""
    if seeds < 1:
        raise ValueError(f"--seeds {seeds}: expected at least 1")
    profiles = [profile.override(seed=profile.seed + i) for i in range(seeds)]
    roots = [seed_runs(runs, i) for i in range(seeds)]
    started = time.perf_counter()
    plans = [plan_training(root, p, STAGES, glue_dir, calibrate=True) for root, p in zip(roots, profiles)]
    print(plan_text(profile, plans), flush=True)
    with progress.overall(sum(plan.examples for plan in plans), f"reproduce {profile.name}, {seeds} seed(s)"):
        for p, root in zip(profiles, roots):
            run_stages(STAGES, p, glue_dir, root)
    profile_roots = [root / profile.name for root in roots]
    tables = [scores_table(root) for root in profile_roots]
    out = write_reference(profiles[0], glue_dir, roots[0], results, tables[0])
    seed_table = seed_scores(tables, list(profile.tasks))
    seed_table.to_csv(out / "seeds.csv", index=False)
    (out / "seeds.md").write_text(seeds_markdown(seed_table, profile, seeds))
    comparisons = pd.concat([compare(profile_roots, c, profile.tasks) for c in COMPARISONS])
    comparisons.to_csv(out / "comparisons.csv", index=False)
    (out / "comparisons.md").write_text(comparisons_markdown(comparisons, profile, seeds))
    write_from_runs(profile, profile_roots, out,
                    f"python -m mtdnn_lite reproduce --profile {profile.name} --seeds {seeds}")
    write_floors(out, profile.data_settings(), glue_dir, profile.tasks)
    estimate = sum(plan.seconds for plan in plans if plan.runs)
    write_json(out / "conditions.json", run_conditions(roots[0] / profile.name, profiles[0])
               | {"seeds": seeds, "wall_seconds": time.perf_counter() - started,
                  "estimate_seconds": estimate if estimate == estimate else None})  # nan: nothing was left to train
    write_summary(out, profile.name)
    return out


def plan_text(profile: Profile, plans) -> str:
    """What a reproduction will train, per seed, and its estimated time."""
    lines = [f"plan: profile {profile.name}, {len(plans)} seed(s), stages {' → '.join(STAGES)}"]
    for i, plan in enumerate(plans):
        lines.append(f"  seed {profile.seed + i}: {plan.summary()}")
    seconds = sum(plan.seconds for plan in plans if plan.runs)
    if seconds == seconds:  # not nan
        lines.append(f"  in all about {duration(seconds)} (an estimate, evaluation and loading included)")
    return "\n".join(lines)


def write_reference(profile: Profile, glue_dir, runs: Path, results, table: pd.DataFrame) -> Path:
    """The first seed's tables from its `scores_table`: GLUE dev table, scores, submission, inference cost, stage
    times."""
    root, out = Path(runs) / profile.name, Path(results) / profile.name
    write_tables(table[table.task.isin(profile.tasks)], results)
    write_submission(finished_models(runs, profile.name), out / "submission", profile, glue_dir)

    costs = measure_costs(runs, profile, glue_dir)
    if costs:
        write_cost(costs, out)

    times = stage_times(root)
    write_json(out / "stage_times.json", times)
    rows = [{"stage": s, "runs": t["runs"], "training seconds": round(t["train_seconds"]),
             "evaluation seconds": round(t["eval_seconds"])} for s, t in times.items()]
    (out / "stage_times.md").write_text(
        f"# Time per stage ({profile.name} profile, seed {profile.seed})\n\nSummed over each stage's runs and epochs "
        "from their metrics.json: the training steps, and the dev evaluation after each epoch (0 for runs made "
        "before it was recorded); data loading, soft targets and the tables excluded.\n\n"
        + markdown_table(pd.DataFrame(rows)) + "\n")
    return out


def seed_scores(tables: list[pd.DataFrame], tasks: list[str]) -> pd.DataFrame:
    """Every seed's task scores and average per stage, from each seed's `scores_table`: one row per seed, stage and
    task ("average" too), with `runs`, the number of runs a score averages (a task's K teachers: the mean teacher;
    empty for "average")."""
    frames = []
    for i, table in enumerate(tables):
        table = table[table.task.isin(tasks)]
        runs = table.groupby(["stage", "task"]).run.nunique().rename("runs")
        scores = stage_summary(table).stack().rename("score").reset_index()
        frames.append(scores.join(runs, on=["stage", "task"]).assign(seed_index=i))
    return pd.concat(frames, ignore_index=True).astype({"runs": "Int64"})


def seeds_markdown(table: pd.DataFrame, profile: Profile, seeds: int) -> str:
    """The mean ± sd over seeds of every stage's task scores, in the papers' task order."""
    columns = [t for t in (*GLUE_TASKS, "average") if t in set(table.task)]
    rows = []
    for stage in dict.fromkeys(table.stage):
        cells = table[table.stage == stage]
        row = {"stage": stage}
        for task in columns:
            values = cells[cells.task == task].score
            row[task] = mean_sd(values) + ("" if len(values) in (0, seeds) else f" ({len(values)} seeds)")
        rows.append(row)
    title = "Scores of one training seed" if seeds == 1 else f"Mean ± sd over {seeds} seeds"
    return (f"# {title} ({profile.name} profile)\n\n"
            f"Made by `python -m mtdnn_lite reproduce --profile {profile.name} --seeds {seeds}`: training seeds "
            f"{profile.seed}–{profile.seed + seeds - 1}, the same data (data_seed {profile.data_seed}). Task scores ×100 "
            "(metrics averaged) on each task's dev split, dev-proxy where there is no labeled dev set (MNLI and QQP "
            "here); sd over seeds (n − 1). `average` is the GLUE-style mean over the tasks of the stage.\n\n"
            + markdown_table(pd.DataFrame(rows)) + "\n")


def comparisons_markdown(table: pd.DataFrame, profile: Profile, seeds: int) -> str:
    """Each comparison: Δ per task and on average with its 95 % interval and verdict, and a count of wins."""
    parts = [f"# The papers' comparisons, with paired bootstrap intervals ({profile.name} profile, {seeds} seed(s))\n\n"
             "Δ = A − B in task score ×100 on the same dev (or dev-proxy) examples, averaged over the seeds; "
             f"[low, high]: the 95 % paired bootstrap interval over examples ({N_RESAMPLES} resamples, "
             "`scipy.stats.bootstrap`, percentile; intervals.py); sd: Δ's sd over seeds. A Δ whose interval "
             "contains 0 is no difference. Made by "
             f"`python -m mtdnn_lite reproduce --profile {profile.name} --seeds {seeds}`.\n"]
    for name, rows in table.groupby("comparison", sort=False):
        tasks = rows[rows.task != "average"]
        shown = pd.DataFrame({
            "task": rows.task, "A": rows.a.round(1), "B": rows.b.round(1), "Δ": rows.delta.round(1),
            "95 % interval": [f"[{lo:.1f}, {hi:.1f}]" for lo, hi in zip(rows.low, rows.high)],
            "sd over seeds": rows.sd_seeds.round(1), "verdict": rows.verdict})
        parts.append(f"## {name}\n\nA higher on {int((tasks.delta > 0).sum())} of {len(tasks)} tasks "
                     f"(interval above 0 on {int((tasks.verdict == 'better').sum())}, below 0 on "
                     f"{int((tasks.verdict == 'worse').sum())}).\n\n" + markdown_table(shown) + "\n")
    return "\n".join(parts)

