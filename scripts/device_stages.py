"""The stages on the GPU machine, one process each, under a hard time budget: step 3 of scripts/device_run.py.

`run_stages` runs ``python -m mtdnn_lite train --stage S`` for each stage of pipeline.STAGES in order, each
with what is left of the budget (less --reserve-s) as its timeout; a stage still running then gets SIGINT, and
SIGKILL after GRACE_S seconds (the trainer's checkpoints are atomic), and the stages after it are not started.
A stage that fails does not stop the next (each runs what it needs first: one that needs it fails too). When
every stage finished, ``python -m mtdnn_lite reproduce`` writes the results, every run reused.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from device_setup import ENCODER_DIR, DeviceRunError, Setup, child_env, one_line

GRACE_S = 20
"""Seconds a stage has to stop after SIGINT before it is killed."""

MIN_STAGE_S = 10
"""A stage is not started with less of the budget left than this."""

PARTIAL_S = 30
"""Seconds of the budget kept, while ``reproduce`` runs, for the partial table should it not finish."""

FINISHED, STOPPED, NOT_STARTED = "finished", "stopped at the budget", "not started (budget spent)"


class Clock:
    """The budget: seconds since the runner started and seconds left."""

    def __init__(self, budget_s: float):
        self.budget_s, self.start = budget_s, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


def stop(process: subprocess.Popen) -> str:
    """SIGINT (the trainer unwinds; its checkpoints are atomic), then SIGKILL after GRACE_S seconds; which one
    ended it."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=GRACE_S)
        return "SIGINT"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "SIGKILL"


def last_line(log: Path) -> str:
    """The log's last line of text (progress bars' carriage returns split too)."""
    lines = [line.strip() for line in log.read_text(errors="replace").replace("\r", "\n").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def run_step(name: str, command: list[str], env: dict, cwd: Path, log: Path, timeout: float) -> dict:
    """Run `command` with `timeout` seconds, its output to `log`: {"stage", "status", "wall_s", "log"}, with
    "stopped_by" (SIGINT or SIGKILL) for a stage stopped at the budget and "error" (its log's last line) for a
    failed one."""
    record = {"stage": name, "status": NOT_STARTED, "wall_s": 0.0, "log": f"logs/{log.name}"}
    if timeout < MIN_STAGE_S:
        return record
    start = time.monotonic()
    with open(log, "w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=timeout)
            record["status"] = FINISHED if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            record["status"], record["stopped_by"] = STOPPED, stop(process)
        finally:
            if process.poll() is None:  # the runner itself was interrupted
                process.kill()
                process.wait()
    record["wall_s"] = round(time.monotonic() - start, 1)
    if record["status"] not in (FINISHED, STOPPED):
        record["error"] = last_line(log)
    return record


def throughput(stage_dir: Path) -> dict:
    """Finished runs of a stage and its training examples/s, over every epoch its runs' metrics.json record."""
    examples = seconds = 0.0
    for metrics in stage_dir.glob("**/metrics.json"):
        for epoch in json.loads(metrics.read_text()):
            examples += epoch.get("train_examples", 0)
            seconds += epoch.get("train_seconds", 0.0)
    return {"finished_runs": len(list(stage_dir.glob("**/done.json"))), "train_examples": int(examples),
            "train_seconds": round(seconds, 1), "examples_per_s": round(examples / seconds, 1) if seconds else None}


def resolve_profile(args):
    """The profile that --profile, --tasks and --set name, and the --set arguments the stages get (the packed
    encoder in place of minilm)."""
    from mtdnn_lite.__main__ import parse_setting
    from mtdnn_lite.experiments.profiles import get_profile
    from mtdnn_lite.glue.tasks import get_task

    try:
        changes = dict(parse_setting(s) for s in args.set)
        if args.tasks:
            changes["tasks"] = tuple(get_task(t).name for t in args.tasks)
        profile = get_profile(args.profile, **changes)
    except (ValueError, KeyError, argparse.ArgumentTypeError) as e:
        raise DeviceRunError(f"--profile/--tasks/--set: {one_line(e)}") from None
    settings = list(args.set)
    if profile.encoder == "minilm":
        settings.append(f"encoder={ENCODER_DIR}")
        profile = profile.override(encoder=ENCODER_DIR)
    return profile, settings


def stage_commands(args, setup: Setup, settings: list[str]) -> tuple[list[str], list[str]]:
    """The command line of ``python -m mtdnn_lite`` and the options every stage and reproduce get."""
    options = ["--profile", args.profile, "--glue-dir", str(setup.glue), "--runs", "runs"]
    options += ["--tasks", *args.tasks] if args.tasks else []
    for setting in settings:
        options += ["--set", setting]
    return [sys.executable, "-m", "mtdnn_lite"], options


def run_stages(args, setup: Setup, settings: list[str], clock: Clock) -> tuple[list[dict], dict]:
    """Every stage of pipeline.STAGES in order under the budget, then the results; (stage records, results)."""
    from mtdnn_lite.experiments.pipeline import STAGES

    work, env = args.work, child_env(setup, args.work)
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    program, options = stage_commands(args, setup, settings)
    records = []
    for i, stage in enumerate(STAGES, 1):
        timeout = clock.left() - args.reserve_s - GRACE_S
        record = run_step(stage, [*program, "train", "--stage", stage, *options], env, work,
                          logs / f"{i}_{stage}.log", timeout)
        record.update(throughput(work / "runs" / args.profile / stage))
        records.append(record)
        print(f"{stage}: {record['status']} in {record['wall_s']:.0f} s", flush=True)
    results = {"folder": f"results/{args.profile}"}
    shutil.rmtree(work / results["folder"], ignore_errors=True)
    if all(r["status"] == FINISHED for r in records):
        step = run_step("reproduce", [*program, "reproduce", *options, "--results", "results"], env, work,
                        logs / f"{len(STAGES) + 1}_reproduce.log", clock.left() - PARTIAL_S - GRACE_S)
        results["reproduce"] = step
        if step["status"] == FINISHED:
            return records, {**results, "complete": True}
        shutil.rmtree(work / results["folder"], ignore_errors=True)
    return records, {**results, "complete": False}
