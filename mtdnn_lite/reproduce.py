"""The whole reproduction in one call: every stage, then ``results/<profile>/``.

    st → mtl → refine → teacher (+ ensemble) → soft_targets → student → student_refine

Finished runs are reused and interrupted ones resume (see train.py), so running it again after a stop
only does what is left. It then writes, under ``<results>/<profile>/``:

- ``glue_dev.csv`` / ``glue_dev.md``: the GLUE dev table in the papers' layout (results.py);
- ``scores.csv``: every score of every run, with its split and run folder;
- ``submission/``: GLUE test-server files for the test sets present, zipped (submission.py);
- ``inference_cost.json`` / ``.md``: the student against the teacher ensemble, examples/s (cost.py);
- ``stage_times.json`` / ``.md``: the training seconds of each stage, summed over its runs' epochs, as
  the runs' metrics.json record them (evaluation excluded).
"""

from pathlib import Path

import pandas as pd

from .cost import inference_cost, write_cost
from .encoder import load_tokenizer
from .pipeline import RUNNERS, STAGES, run_dir, task_data
from .profiles import Profile
from .results import markdown_table, scores_table, write_tables
from .runs import read_json, write_json
from .submission import finished_models, write_submission
from .taskdata import subsample
from .tasks import get_task

COST_EXAMPLES = 500  # dev examples timed per teacher task: enough for a stable examples/s


def stage_times(root: Path) -> dict[str, dict]:
    """{stage: {"runs": n, "train_seconds": s}} from the finished runs' metrics.json."""
    times: dict[str, dict] = {}
    for done in sorted(Path(root).glob("**/done.json")):
        if not (done.parent / "model").is_dir():
            continue  # not a training run: an ensemble's scores or soft targets
        stage = read_json(done.parent / "config.json")["stage"]
        history = read_json(done.parent / "metrics.json")
        entry = times.setdefault(stage, {"runs": 0, "train_seconds": 0.0})
        entry["runs"] += 1
        entry["train_seconds"] += sum(e.get("train_seconds", 0.0) for e in history)
    return {s: times[s] for s in STAGES if s in times}


def student_dir(root, profile: Profile, task: str) -> Path:
    refined = run_dir(root, profile, "student_refine", task)
    return refined if (refined / "done.json").is_file() else run_dir(root, profile, "student")


def reproduce(profile: Profile, glue_dir, runs="runs", results="results") -> Path:
    """Run every stage of `profile` and write its results folder; returns that folder."""
    for stage in STAGES:
        RUNNERS[stage](profile, glue_dir, runs)
    root, out = Path(runs) / profile.name, Path(results) / profile.name
    table = scores_table(root)
    write_tables(table[table.task.isin(profile.tasks)], results)
    write_submission(finished_models(runs, profile.name), out / "submission", profile, glue_dir)

    pad = load_tokenizer(profile.encoder).pad_token_id
    costs = []
    for task in (t for t in profile.tasks if get_task(t).has_teacher):
        data = task_data(task, profile, glue_dir)
        split = next(iter(data.evals))
        teachers = sorted(p for p in run_dir(runs, profile, "teacher", task).iterdir() if (p / "done.json").is_file())
        cost = inference_cost(student_dir(runs, profile, task), teachers, task,
                              subsample(data.evals[split], COST_EXAMPLES, profile.data_seed), pad)
        costs.append({**cost, "split": split})
    if costs:
        write_cost(costs, out)

    times = stage_times(root)
    write_json(out / "stage_times.json", times)
    rows = [{"stage": s, "runs": t["runs"], "training seconds": round(t["train_seconds"])} for s, t in times.items()]
    (out / "stage_times.md").write_text(
        f"# Training time per stage ({profile.name} profile)\n\nSummed over each stage's runs and epochs from their "
        "metrics.json (training steps only; evaluation and data loading excluded).\n\n"
        + markdown_table(pd.DataFrame(rows)) + "\n")
    return out
