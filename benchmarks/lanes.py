"""Runs side by side against one run with every thread: the examples per second of each, in one invocation.

    .venv/bin/python benchmarks/lanes.py --task MNLI --steps 40 --repeats 2

One MiniLM with one task's head trains `--steps` mini-batches of the quick profile's data (the trainer's own loop,
length-grouped batches) in two ways, taking turns so that drift hits both alike:

- one run: one process with all of torch's threads (the quick profile's multi-task runs);
- side by side: `--lanes` runs at once in lanes.py's worker processes, each with threads / lanes threads (the
  quick profile's per-task runs, `lanes` 0 = auto).

Printed: examples per second of each way (side by side: all lanes together), and their ratio.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from mtdnn_lite.core.encoder import load_tokenizer  # noqa: E402
from mtdnn_lite.core.trainer import train  # noqa: E402
from mtdnn_lite.experiments.lanes import run_side_by_side  # noqa: E402
from mtdnn_lite.experiments.pipeline import new_model, task_data  # noqa: E402
from mtdnn_lite.experiments.profiles import get_profile  # noqa: E402


def one_run(task: str, steps: int, glue_dir: str, seed: int) -> tuple[int, float]:
    """(examples, training seconds) of one epoch over the first `steps` batches' rows of `task`."""
    profile = get_profile("quick", seed=seed)
    rows = task_data(task, profile, glue_dir).train
    rows = rows.select(range(min(len(rows), steps * profile.batch_size)))
    _, history = train(partial(new_model, profile, [task]), {task: rows}, profile.train_settings(), 1,
                       load_tokenizer(profile.encoder).pad_token_id)
    return history[-1]["train_examples"], history[-1]["train_seconds"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glue-dir", default=os.environ.get("GLUE_DIR", str(REPO.parent / "shared" / "glue")))
    parser.add_argument("--task", default="MNLI")
    parser.add_argument("--steps", type=int, default=40, help="mini-batches per run")
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    glue_dir = str(Path(args.glue_dir).resolve())
    threads = torch.get_num_threads()
    single, side = [], []
    for _ in range(args.repeats):
        examples, seconds = one_run(args.task, args.steps, glue_dir, 0)
        single.append(examples / seconds)
        start = time.perf_counter()
        done = run_side_by_side([partial(one_run, args.task, args.steps, glue_dir, seed)
                                 for seed in range(args.lanes)], args.lanes)
        # every lane's examples over the span of the slowest lane's training (start-up of the workers excluded)
        side.append(sum(e for e, _ in done) / max(s for _, s in done))
        print(f"one run, {threads} threads: {single[-1]:.1f} ex/s; {args.lanes} side by side, "
              f"{max(1, threads // args.lanes)} thread(s) each: {side[-1]:.1f} ex/s "
              f"({time.perf_counter() - start:.0f} s with the workers' start)", flush=True)
    result = {"command": " ".join(["python", *sys.argv]), "task": args.task, "steps": args.steps,
              "lanes": args.lanes, "threads": threads, "cpus": os.cpu_count(), "machine": platform.machine(),
              "processor": platform.processor(), "torch": torch.__version__,
              "precision": get_profile("quick").mixed_precision, "one_run_examples_per_second": single,
              "side_by_side_examples_per_second": side,
              "ratio": statistics.median(side) / statistics.median(single)}
    print(f"side by side / one run: {result['ratio']:.2f}× (medians of {args.repeats})")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
