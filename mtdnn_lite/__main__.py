"""Command line: python -m mtdnn_lite {train,evaluate,reproduce} --help

A mistake of the user's (a missing or malformed file, a bad setting, missing runs) ends in one line,
`error: ...` on stderr, and exit code 2; `--debug` shows the traceback instead.
"""

import argparse
import ast
import sys
import time
from pathlib import Path

import pandas as pd

from .core.trainer import NonFiniteLoss
from .experiments import pipeline
from .experiments.pipeline import STAGES
from .experiments.profiles import PROFILES, get_profile
from .glue.data import resolve_glue_dir
from .glue.tasks import GLUE_TASKS, get_task
from .reporting import results

USER_ERRORS = (FileNotFoundError, NotADirectoryError, ValueError, KeyError, ImportError, NonFiniteLoss)
"""What a user's mistake raises (files, settings, runs): reported in one line, not as a traceback."""


class UsageError(ValueError):
    """A command line that argparse cannot parse."""


class Parser(argparse.ArgumentParser):
    """argparse, its errors raised as UsageError (for `cli` to report in one line) instead of printed with the
    usage text."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def parse_setting(text: str) -> tuple[str, object]:
    """One ``--set KEY=VALUE``: the value as a Python literal where it is one, else the plain string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a plain string, e.g. encoder=bert-base-uncased


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick",
                   help="named settings: tiny (random tiny encoder, seconds; for tests), quick (pretrained "
                        "MiniLM on subsampled data, a 2-core CPU), full (all data; meant for a GPU)")
    p.add_argument("--tasks", nargs="+", metavar="TASK", default=None,
                   help=f"GLUE tasks to use (default: the profile's, all nine: {' '.join(GLUE_TASKS)})")
    p.add_argument("--glue-dir", type=Path, default=None,
                   help="a GLUE directory in the original TSV layout (default: $GLUE_DIR; "
                        "without either, GLUE is read from the Hugging Face hub, nyu-mll/glue)")
    p.add_argument("--runs", type=Path, default=Path("runs"),
                   help="where run folders are written and reused (default: ./runs)")
    p.add_argument("--set", dest="overrides", type=parse_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override one profile setting, e.g. --set epochs_mtl=3 --set sampling=temperature "
                        "(repeatable; see mtdnn_lite/experiments/profiles.py for every setting)")
    p.add_argument("--debug", action="store_true", help="on an error, show the full traceback, not one line")


def _profile(args):
    changes = dict(args.overrides)
    if args.tasks:
        changes["tasks"] = tuple(get_task(t).name for t in args.tasks)
    return get_profile(args.profile, **changes)


def main(argv=None) -> int:
    parser = Parser(prog="python -m mtdnn_lite",
                                     description="MT-DNN and MT-DNN-KD on GLUE: train, evaluate, reproduce.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="run one stage of the paper's procedure",
                             description="Run one stage; finished runs with the same settings are reused and "
                                         "interrupted ones resume from their last finished epoch.")
    p_train.add_argument("--stage", required=True, choices=STAGES,
                         help="st: single-task baseline (fine-tune the pretrained encoder per task); "
                              "mtl: multi-task learning (Algorithm 1); refine: the MTL model fine-tuned "
                              "once more per task (the paper's MT-DNN); teacher: K teachers per teacher task "
                              "fine-tuned from the MTL model with other seeds, and their ensemble scored; "
                              "soft_targets: the ensemble's probabilities on the training data; student: "
                              "MT-DNN-KD trained on hard + soft targets; student_refine: the student fine-tuned "
                              "per task. Each stage runs the stages it needs first.")
    _common(p_train)
    p_eval = sub.add_parser("evaluate", help="print the dev scores of finished runs",
                            description="Print the final dev (or dev-proxy) scores of every finished run of a "
                                        "profile, per run and as a per-stage summary with the GLUE-style average.")
    _common(p_eval)
    p_rep = sub.add_parser("reproduce", help="run every stage and write the results tables",
                           description="Run every stage (single-task baseline, MTL, refine, teachers, soft "
                                       "targets, student, student refine), reusing finished runs and resuming "
                                       "interrupted ones, then write results/<profile>/: the GLUE dev table in the "
                                       "papers' layout (CSV and Markdown), GLUE test-server submission files, "
                                       "the student's inference cost against the ensemble, and stage times.")
    _common(p_rep)
    p_rep.add_argument("--results", type=Path, default=Path("results"), help="where tables go (default: ./results)")
    p_rep.add_argument("--seeds", type=int, default=1,
                       help="training seeds (default 1): seed, seed+1, …; the first seed's runs go to --runs, the "
                            "others' to <runs>/seed<i>; writes seeds.md (mean ± sd) and comparisons.md (paired "
                            "bootstrap intervals over all seeds)")
    p_abl = sub.add_parser("ablate", help="the paper's settings against the quick recipe, on a tuning split",
                           description="Train the single-task baseline and multi-task learning for every cell of "
                                       "the ablation grid (ablation.GRID: the paper's Adamax/[CLS]/SAN recipe, then "
                                       "each departure of the quick profile added or taken back), with several "
                                       "seeds, on a small budget; score them on a split held out of train (never the "
                                       "dev sets) and write results/<profile>/ablation.md and .csv with mean ± sd.")
    _common(p_abl)
    p_abl.add_argument("--results", type=Path, default=Path("results"), help="where tables go (default: ./results)")
    p_abl.add_argument("--seeds", type=int, default=2, help="training seeds per cell (default: 2)")
    p_abl.add_argument("--cells", nargs="+", default=None, metavar="CELL",
                       help="cells of the grid to run (default: paper adamw mean mean_no_san; also: mean_adamax)")
    args = parser.parse_args(argv)
    profile = _profile(args)

    start, glue_dir = time.perf_counter(), resolve_glue_dir(args.glue_dir, "--glue-dir")
    if args.command == "train":
        pipeline.run_stage(args.stage, profile, glue_dir, args.runs)
        print(f"stage {args.stage} ({profile.name}) finished in {time.perf_counter() - start:.0f} s")
    if args.command == "ablate":
        from .reporting.ablation import ablate
        out = ablate(profile, glue_dir, args.runs, args.results, args.seeds, args.cells)
        print(out.read_text())
        print(f"ablation ({profile.name}) finished in {time.perf_counter() - start:.0f} s; table in {out}")
        return 0
    if args.command == "reproduce":
        from .reporting.reproduce import reproduce
        out = reproduce(profile, glue_dir, args.runs, args.results, args.seeds)
        print(f"reproduction ({profile.name}) finished in {time.perf_counter() - start:.0f} s; results in {out}")
        print(results.stage_summary(pd.read_csv(out / "scores.csv")).round(2).to_string())  # the tables it wrote
        return 0
    table = results.scores_table(args.runs / profile.name)
    table = table[table.task.isin(profile.tasks)]
    if table.empty:
        raise FileNotFoundError(f"no finished runs of profile {profile.name} under {args.runs / profile.name}: "
                                f"train them first (python -m mtdnn_lite reproduce --profile {profile.name})")
    print(results.stage_summary(table).round(2).to_string())
    return 0


def cli(argv=None) -> int:
    """`main`, with a user's mistake (USER_ERRORS) reported as one line `error: ...` on stderr and exit code 2;
    with --debug, the exception propagates with its traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return main(argv)
    except USER_ERRORS as e:
        if "--debug" in argv:
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
