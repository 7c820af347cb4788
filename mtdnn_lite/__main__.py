"""Command line: python -m mtdnn_lite {train,evaluate,reproduce,distillation,ablate,export,predict,lessons,summary} --help

A mistake of the user's (a missing or malformed file, a bad setting, missing runs) ends in one line,
`error: ...` on stderr, and exit code 2; `--debug` shows the traceback instead.
"""

import argparse
import ast
import os
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from .core.trainer import NonFiniteLoss
from .experiments import pipeline
from .experiments.pipeline import STAGES
from .experiments.profiles import PROFILES, get_profile
from .experiments.training_plan import MissingRuns
from .glue.data import resolve_glue_dir
from .glue.tasks import GLUE_TASKS, get_task
from .reporting import results

USER_ERRORS = (FileNotFoundError, NotADirectoryError, ValueError, KeyError, ImportError, NonFiniteLoss, MissingRuns)
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


def _results(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", type=Path, default=Path("results"), help="where tables go (default: ./results)")


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
                                       "the student's inference cost against the ensemble, stage times, and the "
                                       "distillation reading (see the distillation command).")
    _common(p_rep)
    _results(p_rep)
    p_rep.add_argument("--seeds", type=int, default=1,
                       help="training seeds (default 1): seed, seed+1, …; the first seed's runs go to --runs, the "
                            "others' to <runs>/seed<i>; writes seeds.md (mean ± sd) and comparisons.md (paired "
                            "bootstrap intervals over all seeds)")
    p_kd = sub.add_parser("distillation", help="what MT-DNN-KD keeps of the teacher ensembles' gain",
                          description="Write results/<profile>/distillation.md and .csv: MT-DNN-KD − MT-DNN on the "
                                      "tasks with teachers and on the others apart, the ensemble's gain over MT-DNN, "
                                      "the share of it the student keeps, the ensemble against its mean teacher and "
                                      "the student against the ensemble. From the finished runs of --seeds seeds "
                                      "(paired bootstrap intervals over the dev examples), or with --from-seeds-csv "
                                      "from results/<profile>/seeds.csv alone (mean ± sd over seeds).")
    _common(p_kd)
    _results(p_kd)
    p_kd.add_argument("--seeds", type=int, default=1,
                      help="training seeds whose runs to read (default 1), laid out as reproduce --seeds writes them")
    p_kd.add_argument("--from-seeds-csv", action="store_true",
                      help="read the seed scores of results/<profile>/seeds.csv (and the intervals of comparisons.csv "
                           "beside it) instead of the runs: for a results folder whose runs are not at hand")
    p_abl = sub.add_parser("ablate", help="the paper's settings against the quick recipe, on a tuning split",
                           description="Train the single-task baseline and multi-task learning for every cell of "
                                       "the ablation grid (ablation.GRID: the paper's Adamax/[CLS]/SAN recipe, then "
                                       "each departure of the quick profile added or taken back), with several "
                                       "seeds, on a small budget; score them on a split held out of train (never the "
                                       "dev sets) and write results/<profile>/ablation.md and .csv with mean ± sd.")
    _common(p_abl)
    _results(p_abl)
    p_abl.add_argument("--seeds", type=int, default=2, help="training seeds per cell (default: 2)")
    p_abl.add_argument("--cells", nargs="+", default=None, metavar="CELL",
                       help="cells of the grid to run (default: paper adamw mean mean_no_san; also: mean_adamax)")
    p_exp = sub.add_parser("export", help="write a system's final models and their model card to a folder",
                           description="Write OUT/<task>/ for each task: the model the results tables score on that "
                                       "task, as a folder that MTDNN.from_pretrained loads with nothing else (weights, "
                                       "heads, tokenizer, settings); MT-DNN and MT-DNN-KD are fine-tuned per task, so "
                                       "an export holds one model per task, each with that task's output layer. And "
                                       "OUT/README.md, a model card made from results/<profile>/ (reproduce first).")
    _common(p_exp)
    p_exp.add_argument("--system", required=True, choices=("mt-dnn-kd", "mt-dnn", "single-task"),
                       help="mt-dnn-kd: the student fine-tuned per task (student_refine; the student where not "
                            "refined); mt-dnn: the mtl model fine-tuned per task (refine); single-task: st")
    p_exp.add_argument("--results", type=Path, default=Path("results"), help="where reproduce wrote its tables "
                                                                             "(default: ./results)")
    p_exp.add_argument("out", type=Path, metavar="OUT", help="a new folder (or an earlier export, replaced)")
    p_pred = sub.add_parser("predict", help="predict a task's label for each example of a file",
                            description="One JSON line per example on stdout: the label and class probabilities "
                                        "(STS-B: the score).")
    p_pred.add_argument("model", metavar="MODEL", help="an export (OUT of export), a folder of "
                                                       "MTDNN.save_pretrained, or a Hugging Face hub repo id")
    p_pred.add_argument("--task", required=True, help="the GLUE task (its head in the model)")
    p_pred.add_argument("file", metavar="FILE", help="a TSV file whose header names the task's columns as the hub's "
                                                     "nyu-mll/glue has them (sentence; sentence1, sentence2; "
                                                     "question1, question2; premise, hypothesis; question, sentence), "
                                                     "a JSONL file of objects with those keys, or - for stdin")
    p_pred.add_argument("--batch-size", type=int, default=64)
    p_pred.add_argument("--precision", choices=("auto", "bf16", "float32"), default="auto",
                        help="auto (default): bf16 autocast where the CPU has bf16 units, else float32")
    p_pred.add_argument("--debug", action="store_true", help="on an error, show the full traceback, not one line")
    p_les = sub.add_parser("lessons", help="execute every notebook on the profile's runs, for reading without training",
                           description="Run every notebook (papermill) on the finished runs of a profile and write "
                                       "each executed copy as .ipynb and as a self-contained .html page into --out; "
                                       "copies made from the same notebook code and the same runs are kept "
                                       "(--force redoes them). Figures go to --figures. Run `reproduce` first.")
    p_les.add_argument("--profile", choices=sorted(PROFILES), default="quick", help="the runs' profile (default: quick)")
    p_les.add_argument("--glue-dir", type=Path, default=None,
                       help="a GLUE directory in the TSV layout (default: $GLUE_DIR; without either, the hub)")
    p_les.add_argument("--runs", type=Path, default=Path("runs"), help="the runs folder (default: ./runs)")
    p_les.add_argument("--results", type=Path, default=Path("results"), help="the results folder (default: ./results)")
    p_les.add_argument("--figures", type=Path, default=Path("figures"), help="where figures go (default: ./figures)")
    p_les.add_argument("--notebooks", nargs="+", type=Path, default=None, metavar="NOTEBOOK",
                       help="the notebooks to run (default: every notebooks/*.ipynb, in reading order)")
    p_les.add_argument("--out", type=Path, default=Path("notebooks/executed"),
                       help="where the executed copies go (default: notebooks/executed)")
    p_les.add_argument("--force", action="store_true", help="execute every notebook, even those whose copy is current")
    p_les.add_argument("--debug", action="store_true", help="on an error, show the full traceback, not one line")
    p_sum = sub.add_parser("summary", help="the results of a profile in a few generated tables and sentences",
                           description="Write results/<profile>/README.md from the tables `reproduce` wrote there "
                                       "(seeds, comparisons, distillation, floors, inference cost, stage times), and "
                                       "with --readme, the block between that profile's markers in a README.")
    p_sum.add_argument("--profile", choices=sorted(PROFILES), default="quick", help="the profile (default: quick)")
    p_sum.add_argument("--results", type=Path, default=Path("results"), help="the results folder (default: ./results)")
    p_sum.add_argument("--readme", type=Path, default=None, help="a README whose generated block to rewrite")
    p_sum.add_argument("--debug", action="store_true", help="on an error, show the full traceback, not one line")
    args = parser.parse_args(argv)
    if args.command == "lessons":
        return lessons(args)
    if args.command == "summary":
        return summary(args)
    if args.command == "predict":
        from .reporting.export import predict_file
        for line in predict_file(args.model, args.task, args.file, args.batch_size, args.precision):
            print(line)
        return 0
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
    if args.command == "distillation":
        from .reporting import distillation_report
        from .reporting.reproduce import seed_runs
        command = "python -m mtdnn_lite " + shlex.join(sys.argv[1:] if argv is None else argv)
        out = args.results / profile.name
        if args.from_seeds_csv:
            written = distillation_report.write_from_results(profile, out, command)
        else:
            if args.seeds < 1:
                raise ValueError(f"--seeds {args.seeds}: expected at least 1")
            roots = [seed_runs(args.runs, i) / profile.name for i in range(args.seeds)]
            out.mkdir(parents=True, exist_ok=True)
            written = distillation_report.write_from_runs(profile, roots, out, command)
        print(written[-1].read_text())
        print(f"distillation reading ({profile.name}) written to {', '.join(map(str, written))}")
        return 0
    if args.command == "export":
        from .reporting.export import export_system
        out = export_system(profile, args.system, args.runs, args.results, args.out)
        print(f"{args.system} ({profile.name}) exported to {out}: {', '.join(profile.tasks)}; card {out / 'README.md'}")
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


def lessons(args) -> int:
    """The `lessons` command: reporting.lessons.execute_lessons with the command line's folders."""
    from .reporting.lessons import execute_lessons
    glue_dir = resolve_glue_dir(args.glue_dir)
    if glue_dir:  # the kernels read it from the environment
        os.environ["GLUE_DIR"] = str(glue_dir)
    sources = args.notebooks or sorted(Path("notebooks").glob("*.ipynb"))
    missing = [str(s) for s in sources if not s.is_file()]
    if missing or not sources:
        raise FileNotFoundError(f"no notebook {', '.join(missing) or 'in notebooks/'}: run this from the kit's root")
    written = execute_lessons(get_profile(args.profile), sources, args.out, args.runs, args.results, args.figures,
                              glue_dir, args.force)
    kept = len(sources) - len(written)
    print(f"lessons ({args.profile}): {len(written)} executed, {kept} already current, in {args.out}")
    return 0


def summary(args) -> int:
    """The `summary` command: reporting.summary.summary_markdown into results/<profile>/README.md (and a README)."""
    from .reporting.summary import replace_block, write_summary
    out = args.results / args.profile
    if not (out / "seeds.csv").is_file():
        raise FileNotFoundError(f"{out / 'seeds.csv'} not found: run `python -m mtdnn_lite reproduce --profile "
                                f"{args.profile}` first")
    block = write_summary(out, args.profile)
    if args.readme:
        args.readme.write_text(replace_block(args.readme.read_text(), block, args.profile))
    print(block)
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
