"""Training throughput (examples/s) of the mtdnn_lite trainer against the Hugging Face `Trainer`.

Both train the same model (an MTDNN: `load_encoder(encoder, seed)` with an SST-2 head and a SAN head for
MNLI) on the same data (N seeded SST-2 and N MNLI training examples, tokenised once by the library, max
length 128), with the same batch size (32), optimiser (mtdnn_lite.core.optim.build_optimizer), schedule
(linear_warmup_decay over one epoch of both tasks), gradient clipping (1.0), for one epoch, in one process
on this machine. Three contenders, alternated within each repetition so that drift hits all alike:

- ``mtdnn_lite``: `mtdnn_lite.experiments.train.train_run` in a temporary directory, evaluation switched off (no eval
  splits); the figure is the epoch's ``examples_per_second``, which `core.trainer.train_epoch` times around its loop
  (Algorithm 1's mixed-task batches of similar length from `sampler.pack_batches`, collated with
  `features.collate`; checkpointing and set-up are outside the timed loop).
- ``hf_default``: `transformers.Trainer` with default settings: one `Trainer.train()` per task (a Trainer
  cannot mix tasks within an epoch), SST-2 then MNLI, sharing one model, optimiser and schedule; the
  Trainer's default collator for a tokenizer (`DataCollatorWithPadding`: dynamic padding to the batch's
  longest); random sampling. The figure is the examples of both calls over the sum of their
  ``train_runtime`` (the Trainer's own timer, which also starts after the data loader is built).
- ``hf_group_by_length``: the same with the Trainer's length-grouped sampler
  (``train_sampling_strategy="group_by_length"`` in transformers 5, ``group_by_length=True`` before), to show
  how much of the gap is padding. The three are in trainer_contenders.py, beside this script.

Each contender's optimiser steps per second are reported beside its examples per second: on the tiny encoder
(``--encoder tiny``) a step costs almost no arithmetic, so steps/s measures the loop's own overhead per step
(collating, host syncs, the optimiser's kernels), the regime of a small model on a GPU.

``--concurrent N`` then measures independent runs side by side (as the stages' per-task runs could be): the
mtdnn_lite contender alone in a fresh process with every thread, then N such processes at once with
threads/N each; the ratio is their summed examples/s over the lone run's.

Printed: each repetition's throughput, the median per contender and the ratios mtdnn_lite / HF; written: a
JSON with the same, the command line, the machine, package versions and the date.

    .venv/bin/python benchmarks/trainer_throughput.py                       # the real benchmark (minutes)
    .venv/bin/python benchmarks/trainer_throughput.py --encoder tiny --examples 64 --repeats 1   # smoke check
    .venv/bin/python benchmarks/trainer_throughput.py --encoder tiny --examples 2048 --concurrent 2  # overhead
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without `pip install -e .`

import torch  # noqa: E402
import transformers  # noqa: E402

from mtdnn_lite.core.encoder import load_tokenizer  # noqa: E402
from mtdnn_lite.experiments.pipeline import task_data  # noqa: E402
from mtdnn_lite.experiments.profiles import Profile  # noqa: E402
from mtdnn_lite.experiments.runs import environment  # noqa: E402

from trainer_contenders import TASKS, run_hf, run_mtdnn_lite, warm_up  # noqa: E402  (beside this script)

CONTENDERS = ("mtdnn_lite", "hf_default", "hf_group_by_length")
LABELS = {"mtdnn_lite": "mtdnn_lite trainer", "hf_default": "HF Trainer (default)",
          "hf_group_by_length": "HF Trainer (group_by_length)"}
GOAL = 1.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training throughput (examples/s) of the mtdnn_lite trainer against the Hugging Face Trainer "
                    "on the same model, data (SST-2 and MNLI samples), batch size, maximum length and optimiser.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--glue-dir", default=os.environ.get("GLUE_DIR", str(REPO.parent / "shared" / "glue")),
                        help="GLUE directory in the TSV layout; defaults to $GLUE_DIR, "
                             "else ../shared/glue beside the repo.")
    parser.add_argument("--encoder", default="minilm",
                        help='Shared encoder for both trainers (mtdnn_lite.core.encoder.load_encoder): "minilm", "tiny" '
                             "for a smoke check, or a hub name/path.")
    parser.add_argument("--examples", type=int, default=512,
                        help="Training examples drawn (seeded) from each of SST-2 and MNLI; "
                             "one epoch over them is timed.")
    parser.add_argument("--batch-size", type=int, default=32, help="Mini-batch size of both trainers.")
    parser.add_argument("--max-length", type=int, default=128,
                        help="Tokens per example (pair), truncated longest-first.")
    parser.add_argument("--repeats", type=int, default=3,
                        help="Repetitions; each runs every contender once, in alternation, and the median is reported.")
    parser.add_argument("--seed", type=int, default=0,
                        help="Seed of the data sample, the model initialisation and the batch order "
                             "(the same every repetition).")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for both trainers; default: torch's own choice.")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "trainer_throughput.json"),
                        help="Where to write the JSON of the results.")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS),
                        help="Which trainers to time (the first is the one the ratios are taken against the others).")
    parser.add_argument("--concurrent", type=int, default=0, metavar="N",
                        help="Also time N mtdnn_lite runs side by side, each in its own process with threads/N, "
                             "against one such run alone with all threads (0: skip).")
    parser.add_argument("--progress", action="store_true",
                        help="Show the mtdnn_lite trainer's progress bar (off by default, as the HF Trainer's is).")
    return parser.parse_args(argv)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "platform": platform.platform()}



def side_by_side(args, n: int) -> dict:
    """One mtdnn_lite run alone in a fresh process (all threads), then `n` at once (threads/n each): each
    process is this script with ``--contenders mtdnn_lite --repeats 1``; returns their examples/s."""
    threads = args.threads or torch.get_num_threads()

    def start(process_threads: int, out: Path) -> subprocess.Popen:
        command = [sys.executable, __file__, "--contenders", "mtdnn_lite", "--repeats", "1", "--glue-dir",
                   args.glue_dir, "--encoder", args.encoder, "--examples", str(args.examples), "--batch-size",
                   str(args.batch_size), "--max-length", str(args.max_length), "--seed", str(args.seed),
                   "--threads", str(process_threads), "--out", str(out)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def speed(out: Path) -> float:
        return json.loads(out.read_text())["median_examples_per_second"]["mtdnn_lite"]

    with tempfile.TemporaryDirectory(prefix="bench_side_") as tmp:
        alone = Path(tmp) / "alone.json"
        if start(threads, alone).wait():
            sys.exit("the lone run failed")
        outs = [Path(tmp) / f"side{i}.json" for i in range(n)]
        procs = [start(max(1, threads // n), out) for out in outs]
        if any(p.wait() for p in procs):
            sys.exit("a side-by-side run failed")
        return {"processes": n, "threads_alone": threads, "threads_each": max(1, threads // n),
                "alone_examples_per_second": speed(alone), "each_examples_per_second": [speed(o) for o in outs],
                "ratio": sum(speed(o) for o in outs) / speed(alone)}



def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()  # the Trainer's info and the tokenizer's pad() advice
    # the Trainer's default pin_memory=True warns on a machine without an accelerator, where it is a no-op
    warnings.filterwarnings("ignore", message=".*'pin_memory' argument is set as true")
    glue_dir = Path(args.glue_dir)
    if not (glue_dir / "SST-2").is_dir() or not (glue_dir / "MNLI").is_dir():
        sys.exit(f"GLUE directory {glue_dir} has no SST-2/ and MNLI/: pass --glue-dir or set GLUE_DIR")

    profile = Profile("benchmark", encoder=args.encoder, tasks=TASKS, max_train=args.examples, max_eval=1,
                      max_length=args.max_length, batch_size=args.batch_size, seed=args.seed,
                      mixed_precision="no")
    tokenizer = load_tokenizer(profile.encoder)
    data = {task: task_data(task, profile, glue_dir) for task in TASKS}
    mean_length = {task: sum(d.train["length"]) / len(d.train) for task, d in data.items()}
    host = machine()
    print(f"machine: {host['cpu']} ({host['cpu_count']} CPUs), torch threads {host['torch_threads']}, "
          f"device {host['device']}; torch {torch.__version__}, transformers {transformers.__version__}")
    sizes = ", ".join(f"{t} {len(d.train)} examples (mean {mean_length[t]:.1f} tokens)" for t, d in data.items())
    print(f"data: {sizes}; "
          f"encoder {profile.encoder}, batch {profile.batch_size}, max length {profile.max_length}, "
          f"{args.repeats} repetition(s) of one epoch each")

    warm_up(profile, data, tokenizer.pad_token_id)
    contenders = args.contenders
    runs = {name: [] for name in contenders}
    for repeat in range(1, args.repeats + 1):
        for name in contenders:
            if name == "mtdnn_lite":
                result = run_mtdnn_lite(profile, data, tokenizer.pad_token_id, args.progress)
            else:
                result = run_hf(profile, data, tokenizer, group_by_length=name == "hf_group_by_length")
            runs[name].append(result)
            print(f"repeat {repeat}/{args.repeats}  {LABELS[name]:<30} {result['examples_per_second']:8.1f} examples/s "
                  f"{result['steps_per_second']:7.2f} steps/s ({result['examples']} examples in "
                  f"{result['seconds']:.2f} s)", flush=True)

    median = {name: statistics.median(r["examples_per_second"] for r in results) for name, results in runs.items()}
    median_steps = {name: statistics.median(r["steps_per_second"] for r in results) for name, results in runs.items()}
    others = [name for name in contenders if name != "mtdnn_lite"] if "mtdnn_lite" in contenders else []
    ratios = {f"mtdnn_lite/{name}": median["mtdnn_lite"] / median[name] for name in others}
    step_ratios = {f"mtdnn_lite/{name}": median_steps["mtdnn_lite"] / median_steps[name] for name in others}
    print("\nmedian examples/s and steps/s:")
    for name in contenders:
        print(f"  {LABELS[name]:<30} {median[name]:8.1f} {median_steps[name]:8.2f}")
    if others:
        print("ratio (mtdnn_lite / HF Trainer), examples/s and steps/s:")
    for name in others:
        ratio = ratios[f"mtdnn_lite/{name}"]
        goal = f"  (goal ≥ {GOAL}x: {'met' if ratio >= GOAL else 'not met'})" if name == "hf_default" else ""
        print(f"  vs {LABELS[name]:<27} {ratio:6.2f}x {step_ratios[f'mtdnn_lite/{name}']:6.2f}x{goal}")
    concurrent = side_by_side(args, args.concurrent) if args.concurrent else None
    if concurrent:
        print(f"side by side: {args.concurrent} runs at {concurrent['threads_each']} thread(s) each, "
              f"{sum(concurrent['each_examples_per_second']):.1f} examples/s in all, against one run alone at "
              f"{concurrent['threads_alone']} thread(s), {concurrent['alone_examples_per_second']:.1f}: "
              f"{concurrent['ratio']:.2f}x")

    report = {
        "benchmark": "trainer_throughput",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k != "out"} | {"tasks": list(TASKS)},
        "profile": profile.to_dict(),
        "machine": host,
        "environment": environment(),
        "data": {task: {"examples": len(d.train), "mean_tokens": mean_length[task],
                        "fingerprint": d.info["train"]["fingerprint"]} for task, d in data.items()},
        "hf_collator": "transformers.DataCollatorWithPadding(tokenizer) (the Trainer's default for a tokenizer)",
        "runs": runs,
        "median_examples_per_second": median,
        "median_steps_per_second": median_steps,
        "ratios": ratios,
        "step_ratios": step_ratios,
        "side_by_side": concurrent,
        "goal": {"ratio_vs_hf_default": GOAL,
                 "met": ratios["mtdnn_lite/hf_default"] >= GOAL if "mtdnn_lite/hf_default" in ratios else None},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return report


if __name__ == "__main__":
    main()
