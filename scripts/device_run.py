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

Each part is a module beside this script: device_setup.py (steps 1 and 2), device_stages.py (step 3, and step 4's
``reproduce``), device_report.py (step 4's partial table, and step 5) and device_check.py (--check, and what the
machine is); this one runs them in order and holds the command line.
"""

import argparse
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from device_check import accelerator, check, versions
from device_report import OUT_FILES, write_out, write_partial
from device_setup import REPO, DeviceRunError, one_line, prepare
from device_stages import FINISHED, Clock, resolve_profile, run_stages


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
               "stopped at the budget or failed); 2 a missing or corrupt pack or a bad argument. docs/reproduction.md: "
               "'On a GPU, or several'.")
    parser.add_argument("--check", action="store_true",
                        help="only check the machine and the pack (≤ 2 min): versions, CUDA and the GPU, every "
                             "file's sha256, the wheels install, GLUE unpacks and loads, the encoder loads "
                             "(float32) and runs a forward pass")
    parser.add_argument("--pack", type=Path, default=REPO / "device",
                        help="the pack's folder (default: device/ in the repository)")
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
                        help="hard wall-clock budget of the whole run, setup and tables included (default: 540 s; "
                             "a later call resumes what is left)")
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
