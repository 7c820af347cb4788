"""What scripts/device_run.py leaves: the partial table when the stages did not all finish, and its three files.

`write_partial` writes ``<work>/results/<profile>`` from the runs that finished, with a note at the top of
glue_dev.md naming the stages that did not finish; `write_out` writes into --out ``device_run.json`` and
``device_run.md`` (wall time and training examples/s per stage, the total, the budget, the GPU, the versions,
the GLUE dev table) and ``device_run.tar.gz`` (results/<profile>, every stage's log, every run's JSON files; no
weights). Three files: the device tool brings back at most 8.
"""

import json
import sys
import tarfile
from pathlib import Path

from device_stages import FINISHED, NOT_STARTED

OUT_FILES = ("device_run.json", "device_run.md", "device_run.tar.gz")


def unfinished_note(records: list[dict], results: dict, budget_s: float) -> str:
    """What a partial table says first: which stages did not finish and how each ended."""
    ended = [f"{r['stage']} ({r['status']} after {r['wall_s']:.0f} s)" for r in records
             if r["status"] not in (FINISHED, NOT_STARTED)]
    waiting = [r["stage"] for r in records if r["status"] == NOT_STARTED]
    parts = ended + ([f"not started, the budget spent: {', '.join(waiting)}"] if waiting else [])
    why = (f"Stages that did not finish: {'; '.join(parts)}." if parts
           else f"Every stage finished, but `reproduce` did not ({results['reproduce']['status']}).")
    return (f"> **Partial results.** Written by scripts/device_run.py from the runs that finished within its "
            f"{budget_s:.0f} s budget, not by `reproduce` (no submission files, inference cost or intervals). "
            f"{why} A stage that did not finish shows only the tasks of its finished runs, if any; a later call "
            "with the same --work reuses the finished runs and resumes an interrupted one.\n")


def write_partial(work: Path, profile, records: list[dict], results: dict, budget_s: float) -> None:
    """results/<profile> from the finished runs (results.scores_table, write_tables), glue_dev.md with the note
    under its title."""
    from mtdnn_lite.reporting.results import scores_table, write_tables

    folder = work / results["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    table = scores_table(work / "runs" / profile.name)
    table = table[table.task.isin(profile.tasks)]
    note = unfinished_note(records, results, budget_s)
    if table.empty:
        text = f"# GLUE dev results: profile `{profile.name}`\n\n{note}\nNo run finished: there is no table.\n"
    else:
        write_tables(table, work / "results")
        title, _, rest = (folder / "glue_dev.md").read_text().partition("\n")
        text = f"{title}\n\n{note}{rest}"
    (folder / "glue_dev.md").write_text(text)


def summary_markdown(summary: dict, glue_dev: str) -> str:
    """device_run.md: the machine, the budget, one row per stage, then the GLUE dev table."""
    import pandas as pd

    from mtdnn_lite.reporting.results import markdown_table

    machine, v = summary["machine"], summary["versions"]
    steps = list(summary["stages"])
    if "reproduce" in summary["results"]:
        steps.append(summary["results"]["reproduce"])
    rows = pd.DataFrame([{"stage": r["stage"], "status": r["status"], "wall s": r["wall_s"],
                          "finished runs": r.get("finished_runs", ""), "training examples": r.get("train_examples", ""),
                          "training s": r.get("train_seconds", ""), "examples/s": r.get("examples_per_s") or ""}
                         for r in steps])
    unfinished = summary["unfinished"]
    return "\n".join([
        f"# Device run: profile `{summary['profile']}`", "",
        f"- **Machine**: {machine['gpu'] or 'no GPU'} ({machine['device']}, {machine['cpus']} CPUs); Python "
        f"{v['python']}, torch {v['torch']}, transformers {v['transformers']}, accelerate {v['accelerate']}, "
        f"datasets {v['datasets']} (packed), pandas {v['pandas']}, pyarrow {v['pyarrow']}.",
        f"- **Budget**: {summary['budget_s']:.0f} s; used {summary['total_s']:.0f} s: setup {summary['setup_s']:.0f} s"
        f", stages {sum(r['wall_s'] for r in summary['stages']):.0f} s, the rest the tables.",
        f"- **Tasks**: {', '.join(summary['tasks'])}; settings: {', '.join(summary['settings']) or 'the profile'}.",
        "- **Finished**: every stage, and the tables by `reproduce`." if summary["results"]["complete"] else
        f"- **Not finished**: {', '.join(unfinished) or 'reproduce'}; the table below is partial.",
        f"- **Command**: `{summary['command']}`; logs and every run's JSON files in device_run.tar.gz.", "",
        "Wall time per stage includes starting Python and preparing the data; examples/s is training alone "
        "(metrics.json: train_examples / train_seconds over every epoch of the stage's runs).", "",
        markdown_table(rows), "", "## GLUE dev table", "", glue_dev])


def archive(work: Path, profile: str, out: Path) -> Path:
    """device_run.tar.gz: results/<profile>, logs/ and every run's JSON files (not models, checkpoints,
    predictions)."""
    path = out / "device_run.tar.gz"
    runs = work / "runs" / profile
    skipped = {"model", "predictions"}
    with tarfile.open(path, "w:gz") as tar:
        for folder in ("results/" + profile, "logs"):
            if (work / folder).is_dir():
                tar.add(work / folder, arcname=folder)
        for file in sorted(runs.glob("**/*.json")):
            parts = set(file.relative_to(runs).parts[:-1])
            if not parts & skipped and not any(p.startswith("checkpoint") for p in parts):
                tar.add(file, arcname=str(file.relative_to(work)))
    if path.stat().st_size > 16 * 2**20:
        print(f"warning: {path} is over the 16 MiB that one file may have to come back from the device tool",
              file=sys.stderr)
    return path


def write_out(args, summary: dict) -> None:
    """device_run.json, device_run.md and device_run.tar.gz into --out."""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "device_run.json").write_text(json.dumps(summary, indent=1) + "\n")
    table = args.work / summary["results"]["folder"] / "glue_dev.md"
    glue_dev = table.read_text() if table.is_file() else "No table was written.\n"
    (args.out / "device_run.md").write_text(summary_markdown(summary, glue_dev))
    archive(args.work, args.profile, args.out)
