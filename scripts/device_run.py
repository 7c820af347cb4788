"""Run a profile's stages on the GPU machine from the pack of scripts/device_pack.py, under a hard time budget.

On the machine (the repository's working tree, the pack carried as ``device/``, no network):

    python3 scripts/device_run.py --check      # ≤ 2 min: versions, GPU, pack, wheels, GLUE, weights, a forward pass
    python3 scripts/device_run.py              # the stages of --profile full, then the tables, in --out ($OUT)

The main mode, in order (everything except the three output files goes under --work, which a later call on the
same machine reuses: finished runs are kept and an interrupted one resumes from its last finished epoch):

1. verifies every file of the pack against its manifest (size, sha256); a missing or changed file stops it with
   one line naming the file and what was expected;
2. installs the packed wheels with pip, offline and without dependencies, into ``<work>/site``, which goes first
   on PYTHONPATH (the machine's torch, pandas and pyarrow stay in use); unpacks GLUE into ``<work>/data/glue``;
   upcasts the encoder's float16 weights to float32 into ``<work>/all-MiniLM-L6-v2-fp16``, the encoder of every
   run where the profile's is ``minilm``;
3. runs ``python -m mtdnn_lite train --stage S`` for each stage of pipeline.STAGES in order, each with what is
   left of the budget (less --reserve-s) as its timeout; a stage still running then gets SIGINT, and SIGKILL
   after GRACE_S seconds (the trainer's checkpoints are atomic), and the stages after it are not started. A
   stage that fails does not stop the next (each runs what it needs first: one that needs it fails too);
4. writes ``<work>/results/<profile>``: ``python -m mtdnn_lite reproduce`` (every run reused) when every stage
   finished; otherwise, or if that did not finish, the table of the runs that finished, with a note at the top of
   glue_dev.md naming the stages that did not finish;
5. writes into --out: ``device_run.json`` and ``device_run.md`` (wall time and training examples/s per stage, the
   total, the budget, the GPU, the versions, the GLUE dev table) and ``device_run.tar.gz`` (results/<profile>,
   every stage's log, every run's JSON files; no weights). Three files: the device tool brings back at most 8.

Exit status: 0 when every stage finished and ``reproduce`` wrote the results; 1 when the results are partial (a
stage stopped at the budget or failed); 2 for a missing or corrupt pack or a bad argument (one line on stderr).
"""

import argparse
import hashlib
import importlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from device_pack import sha256  # noqa: E402  (beside this script; the digest the pack's manifest was made with)

ENCODER_DIR = "all-MiniLM-L6-v2-fp16"
"""The folder (under --work) of the upcast weights, named as the runs' encoder: float16 values, held in float32."""

GRACE_S = 20
"""Seconds a stage has to stop after SIGINT before it is killed."""

MIN_STAGE_S = 10
"""A stage is not started with less of the budget left than this."""

PARTIAL_S = 30
"""Seconds of the budget kept, while ``reproduce`` runs, for the partial table should it not finish."""

FINISHED, STOPPED, NOT_STARTED = "finished", "stopped at the budget", "not started (budget spent)"

VERSIONS = ("torch", "transformers", "accelerate", "datasets", "pandas", "pyarrow", "fsspec", "huggingface-hub",
            "safetensors")

MARKER = ".made_from"
"""In each folder the runner makes (site, data, encoder): the sha256 of what it was made from."""

OUT_FILES = ("device_run.json", "device_run.md", "device_run.tar.gz")


class DeviceRunError(RuntimeError):
    """A missing or corrupt pack, a failed install or a bad argument: reported in one line."""


def one_line(error: BaseException) -> str:
    """An error's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


# --- the pack ---------------------------------------------------------------------------------------------------

def verify_pack(pack: Path) -> dict:
    """The pack's manifest, after checking that every file it lists is there with its size and sha256."""
    path = pack / "manifest.json"
    if not path.is_file():
        raise DeviceRunError(f"{path} not found: expected the pack that scripts/device_pack.py writes, carried "
                             f"to the machine (carry [\"{pack.name}\"])")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise DeviceRunError(f"{path} is not valid JSON ({e}): pack again with scripts/device_pack.py") from None
    missing = [k for k in ("glue", "encoder", "wheels", "files") if k not in manifest]
    if missing:
        raise DeviceRunError(f"{path} has no {', '.join(missing)} entry: pack again with scripts/device_pack.py")
    for name, expected in manifest["files"].items():
        file = pack / name
        if not file.is_file():
            raise DeviceRunError(f"{file} is missing: the manifest expects {expected['bytes']:,} bytes")
        if file.stat().st_size != expected["bytes"]:
            raise DeviceRunError(f"{file} has {file.stat().st_size:,} bytes, the manifest expects "
                                 f"{expected['bytes']:,}: pack again, or carry the whole pack")
        digest = sha256(file)
        if digest != expected["sha256"]:
            raise DeviceRunError(f"{file} has sha256 {digest[:16]}…, the manifest expects "
                                 f"{expected['sha256'][:16]}…: the file is corrupt; pack again")
    return manifest


def part_digest(manifest: dict, prefix: str, extra: str = "") -> str:
    """One sha256 over the manifest's files under `prefix` (and `extra`): what a folder made from them depends on."""
    listed = sorted((name, f["sha256"]) for name, f in manifest["files"].items() if name.startswith(prefix))
    return hashlib.sha256(json.dumps([listed, extra]).encode()).hexdigest()


def made(target: Path, digest: str, make) -> Path:
    """`target`, made by ``make(folder)`` unless it was already made from `digest`; built aside and swapped in."""
    if (target / MARKER).is_file() and (target / MARKER).read_text() == digest:
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    make(tmp)
    (tmp / MARKER).write_text(digest)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def install_wheels(pack: Path, manifest: dict, folder: Path) -> None:
    """pip, offline, the packed requirements into `folder` (--target), no dependencies: nothing else changes."""
    command = [sys.executable, "-m", "pip", "--isolated", "install", "--quiet", "--disable-pip-version-check",
               "--no-index", "--no-deps", "--only-binary=:all:", "--no-compile", "--no-cache-dir",
               "--find-links", str(pack / manifest["wheels"]["folder"]), "--target", str(folder),
               *manifest["wheels"]["requirements"]]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or [done.stderr.strip()]
        raise DeviceRunError(f"pip could not install the packed wheels for Python {platform.python_version()}: "
                             f"{errors[-1]} (packed for {', '.join(manifest['wheels']['python_versions'])})")


def unpack_glue(pack: Path, manifest: dict, folder: Path) -> None:
    with tarfile.open(pack / manifest["glue"]["file"]) as tar:
        tar.extractall(folder, filter="data")


def upcast_encoder(pack: Path, manifest: dict, folder: Path) -> None:
    """The packed encoder with its float16 weights cast to float32 (what the trainer and bf16 autocast expect)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = pack / manifest["encoder"]["folder"]
    for file in source.iterdir():
        if file.name != "model.safetensors":
            shutil.copy2(file, folder / file.name)
    with safe_open(str(source / "model.safetensors"), "pt") as weights:
        tensors = {k: weights.get_tensor(k) for k in weights.keys()}
        meta = weights.metadata() or {}
    full = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(full, str(folder / "model.safetensors"), metadata={**meta, "format": "pt"})


@dataclass
class Setup:
    site: Path  # the packed wheels, installed
    glue: Path  # the GLUE directory
    encoder: Path  # the encoder, float32
    seconds: float


def prepare(pack: Path, work: Path) -> tuple[dict, Setup]:
    """Verify the pack and make (or reuse) the installed wheels, GLUE and the float32 encoder under `work`; the
    wheels' folder is put first on this process's sys.path."""
    start = time.monotonic()
    manifest = verify_pack(pack)
    work.mkdir(parents=True, exist_ok=True)
    python = f"{sys.implementation.name}{platform.python_version()}"
    site = made(work / "site", part_digest(manifest, manifest["wheels"]["folder"] + "/", python),
                lambda f: install_wheels(pack, manifest, f))
    data = made(work / "data", part_digest(manifest, manifest["glue"]["file"]),
                lambda f: unpack_glue(pack, manifest, f))
    encoder = made(work / ENCODER_DIR, part_digest(manifest, manifest["encoder"]["folder"] + "/"),
                   lambda f: upcast_encoder(pack, manifest, f))
    for path in (str(REPO), str(site)):
        if path not in sys.path:
            sys.path.insert(0, path)
    importlib.invalidate_caches()
    return manifest, Setup(site, data / "glue", encoder, time.monotonic() - start)


def child_env(setup: Setup, work: Path) -> dict:
    """The stages' environment: the packed wheels and the repository first on PYTHONPATH, the hub offline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(setup.site), str(REPO), env.get("PYTHONPATH"))))
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HOME=str(work / "hf_home"))
    return env


# --- what the machine is ----------------------------------------------------------------------------------------

def versions() -> dict:
    """Python's version and the installed versions of VERSIONS (the packed ones once the wheels are installed)."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def accelerator() -> dict:
    """{"device": "cuda" or "cpu", "gpu": its name or None, "bf16": whether the GPU has it, "cpus": n}."""
    import torch

    if torch.cuda.is_available():
        return {"device": "cuda", "gpu": torch.cuda.get_device_name(), "bf16": torch.cuda.is_bf16_supported(),
                "cpus": os.cpu_count()}
    return {"device": "cpu", "gpu": None, "bf16": False, "cpus": os.cpu_count()}


def machine_packages(site: Path) -> str:
    """Which folder torch, pandas and pyarrow come from; an error if any of them comes from the packed wheels."""
    places = {}
    for name in ("torch", "pandas", "pyarrow", "transformers"):
        places[name] = Path(importlib.import_module(name).__file__).resolve()
        if site.resolve() in places[name].parents:
            raise DeviceRunError(f"{name} is imported from the packed wheels ({places[name]}), not the machine's")
    datasets = Path(importlib.import_module("datasets").__file__).resolve()
    if site.resolve() not in datasets.parents:
        raise DeviceRunError(f"datasets is imported from {datasets}, not from the packed wheels in {site}")
    return f"datasets from {site}; torch, pandas, pyarrow, transformers from {places['torch'].parents[1]}"


def glue_check(glue: Path, manifest: dict) -> str:
    """Load the smallest packed task through mtdnn_lite.glue.data.load_glue (datasets on the machine's pyarrow)."""
    from mtdnn_lite.glue.data import load_glue
    from mtdnn_lite.glue.tasks import GLUE_TASKS

    tasks = [t for t in manifest["glue"]["entries"] if t in GLUE_TASKS]
    if not tasks:
        raise DeviceRunError(f"the packed GLUE holds no task folder: {manifest['glue']['entries']}")
    task = min(tasks, key=lambda t: (glue / t / "train.tsv").stat().st_size)
    splits = load_glue(task, glue)
    sizes = ", ".join(f"{split} {len(rows):,}" for split, rows in splits.items())
    return f"{len(tasks)} task(s) unpacked in {glue}; {task}: {sizes}"


def forward_check(encoder: Path) -> str:
    """Load the upcast encoder and run one sentence pair through it on the GPU (bf16 autocast) or the CPU."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    model = AutoModel.from_pretrained(str(encoder)).to(device).eval()
    batch = tokenizer(["A man is playing a guitar."], ["Someone plays music."], return_tensors="pt").to(device)
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
        hidden = model(**batch).last_hidden_state
    if not torch.isfinite(hidden).all():
        raise DeviceRunError(f"the encoder in {encoder} gives non-finite outputs")
    dtype = next(model.parameters()).dtype
    return (f"{sum(p.numel() for p in model.parameters()):,} parameters ({dtype}), output {tuple(hidden.shape)} "
            f"on {device} with bf16 autocast in {time.perf_counter() - start:.2f} s")


def check(args) -> int:
    """The cheap first call: each check on one line, ok or FAIL; 0 if all passed, else 1 (the failure on stderr)."""
    state = {}

    def prepared():
        state["manifest"], state["setup"] = prepare(args.pack, args.work)
        setup = state["setup"]
        return f"pack verified; wheels, GLUE and float32 encoder ready under {args.work} in {setup.seconds:.1f} s"

    steps = [
        ("versions", lambda: ", ".join(f"{k} {v}" for k, v in versions().items() if v)),
        ("device", lambda: json.dumps(accelerator())),
        ("pack", prepared),
        ("packages", lambda: machine_packages(state["setup"].site)),
        ("datasets", lambda: f"datasets {versions()['datasets']}, fsspec {versions()['fsspec']} (packed)"),
        ("glue", lambda: glue_check(state["setup"].glue, state["manifest"])),
        ("encoder", lambda: forward_check(state["setup"].encoder)),
    ]
    start = time.monotonic()
    for name, step in steps:
        try:
            print(f"ok   {name}: {step()}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported as the check's one line
            print(f"FAIL {name}: {one_line(e)}", flush=True)
            print(f"error: {name}: {one_line(e)}", file=sys.stderr)
            return 1
    print(f"check passed in {time.monotonic() - start:.0f} s", flush=True)
    return 0


# --- the stages -------------------------------------------------------------------------------------------------

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


# --- the results ------------------------------------------------------------------------------------------------

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


def run(args) -> int:
    """The main mode (see the module's docstring)."""
    clock = Clock(args.budget_s)
    # A process started in the background (`cmd &`) ignores SIGINT, and so would the stages it starts, which could
    # then not be stopped cleanly: with a handler here, they start with SIGINT's default (KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    manifest, setup = prepare(args.pack, args.work)
    profile, settings = resolve_profile(args)
    print(f"setup: {setup.seconds:.0f} s; profile {profile.name}, tasks {' '.join(profile.tasks)}, "
          f"{clock.left():.0f} s of the budget left", flush=True)
    records, results = run_stages(args, setup, settings, clock)
    if not results["complete"]:
        write_partial(args.work, profile, records, results, args.budget_s)
    unfinished = [r["stage"] for r in records if r["status"] != FINISHED]
    summary = {"profile": profile.name, "tasks": list(profile.tasks), "settings": settings,
               "budget_s": args.budget_s, "reserve_s": args.reserve_s, "total_s": round(clock.elapsed(), 1),
               "setup_s": round(setup.seconds, 1), "stages": records, "unfinished": unfinished, "results": results,
               "machine": accelerator(), "versions": versions(),
               "pack": {k: manifest[k] for k in ("created", "glue", "encoder", "wheels")},
               "command": " ".join(["python3", "scripts/device_run.py", *sys.argv[1:]])}
    write_out(args, summary)
    state = "complete" if results["complete"] else f"partial (not finished: {', '.join(unfinished) or 'reproduce'})"
    print(f"results {state} in {args.work / results['folder']}; {', '.join(OUT_FILES)} in {args.out}; "
          f"{clock.elapsed():.0f} s of the {args.budget_s:.0f} s budget", flush=True)
    return 0 if results["complete"] else 1


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="On the GPU machine: check it (--check), or run a profile's stages from the pack of "
                    "scripts/device_pack.py one at a time under a hard time budget and write the results, the "
                    "time and training examples/s of every stage into --out.",
        epilog="Exit status: 0 every stage finished and reproduce wrote the results; 1 partial results (a stage "
               "stopped at the budget or failed); 2 a missing or corrupt pack or a bad argument. README: 'The full "
               "profile on a GPU lease'.")
    parser.add_argument("--check", action="store_true",
                        help="only check the machine and the pack (≤ 2 min): versions, CUDA and the GPU, every "
                             "file's sha256, the wheels install, GLUE unpacks and loads, the encoder loads "
                             "(float32) and runs a forward pass")
    parser.add_argument("--pack", type=Path, default=REPO / "device",
                        help="the pack's folder (default: device/ in the repository, as carried)")
    parser.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                        help="where device_run.json, device_run.md and device_run.tar.gz go (default: $OUT)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "mtdnn_device",
                        help="installed wheels, GLUE, the float32 encoder, runs, results/<profile> and logs; "
                             "reused by a later call (default: %(default)s)")
    parser.add_argument("--profile", default="full", help="the profile to run (default: full; tiny for the tests)")
    parser.add_argument("--tasks", nargs="+", metavar="TASK", help="GLUE tasks (default: the profile's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a profile setting for every stage, as python -m mtdnn_lite --set (repeatable)")
    parser.add_argument("--budget-s", type=float, default=540,
                        help="hard wall-clock budget of the whole run, setup and tables included (default: 540, "
                             "inside the device tool's 600 s per command)")
    parser.add_argument("--reserve-s", type=float, default=90,
                        help="seconds of the budget kept after the stages for the tables (default: 90)")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback, not one line")
    args = parser.parse_args(argv)
    if not args.check and args.out is None:
        parser.error("--out is needed where $OUT is not set")
    args.pack, args.work = args.pack.resolve(), args.work.resolve()
    args.out = args.out.resolve() if args.out else None
    return args


def main(argv=None) -> int:
    args = parse(argv)
    try:
        return check(args) if args.check else run(args)
    except DeviceRunError as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
