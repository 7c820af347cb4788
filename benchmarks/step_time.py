"""Where a training step's time goes on this machine: collate, forward, backward, clipping, optimiser update.

One MiniLM (or `--encoder tiny`) model with one task's head trains on the same mini-batches of the quick
profile's data (length-grouped, as the trainer packs them) under four settings: float32 or bf16 autocast, and
the optimiser's update tensor by tensor or fused into one kernel (optim.FUSED). The settings take turns, batch
by batch, so that drift from other work on the machine hits all alike; the first `--warmup` steps of each are
not timed. Printed: milliseconds per step for each phase, and each setting's step time as a ratio of the
float32, unfused baseline measured in the same run.

    .venv/bin/python benchmarks/step_time.py --task MNLI --threads 2 --steps 20
    .venv/bin/python benchmarks/step_time.py --encoder tiny --threads 1 --torch-profile   # the top operators
"""

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from mtdnn_lite.core.encoder import load_tokenizer  # noqa: E402
from mtdnn_lite.core.optim import OPTIMIZERS, build_optimizer  # noqa: E402
from mtdnn_lite.core.sampler import pack_batches  # noqa: E402
from mtdnn_lite.experiments.pipeline import new_model, task_data  # noqa: E402
from mtdnn_lite.experiments.profiles import get_profile  # noqa: E402
from mtdnn_lite.glue.features import collate  # noqa: E402

PHASES = ("collate", "forward", "backward", "clip", "update")
SETTINGS = {"fp32, unfused": (False, False), "fp32, fused": (False, True),
            "bf16, unfused": (True, False), "bf16, fused": (True, True)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glue-dir", default=os.environ.get("GLUE_DIR", str(REPO.parent / "shared" / "glue")))
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--task", default="MNLI")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per setting first")
    parser.add_argument("--torch-profile", action="store_true",
                        help="then profile 5 more steps of the last setting (bf16, fused) with torch.profiler and "
                             "print the operators that took the most time")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = get_profile("quick", encoder=args.encoder)
    data = task_data(args.task, profile, args.glue_dir)
    pad = load_tokenizer(profile.encoder).pad_token_id
    rows = data.train.to_list()
    batches = pack_batches(data.train["length"], profile.batch_size, profile.seed)[:args.warmup + args.steps]
    runs = {}
    for name, (_, fused) in SETTINGS.items():
        torch.manual_seed(0)
        model = new_model(profile, [args.task]).train()
        optimizer = build_optimizer(model, profile.optimizer, profile.lr, profile.weight_decay)
        if not fused:  # the same optimiser, updating tensor by tensor
            groups = [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in optimizer.param_groups]
            optimizer = OPTIMIZERS[profile.optimizer](groups, lr=profile.lr, fused=False, foreach=False)
        runs[name] = (model, optimizer, {phase: 0.0 for phase in PHASES})

    for step, batch_rows in enumerate(batches):
        for name, (bf16, _) in SETTINGS.items():
            model, optimizer, seconds = runs[name]
            t = [time.perf_counter()]
            batch = collate(args.task, [rows[i] for i in batch_rows], pad)
            t.append(time.perf_counter())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model.head(args.task).loss(model(batch), batch)
            t.append(time.perf_counter())
            loss.backward()
            t.append(time.perf_counter())
            torch.nn.utils.clip_grad_norm_(model.parameters(), profile.clip)
            t.append(time.perf_counter())
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            t.append(time.perf_counter())
            if step >= args.warmup:
                for phase, start, end in zip(PHASES, t, t[1:]):
                    seconds[phase] += end - start

    ms = {name: {phase: 1000 * s / args.steps for phase, s in runs[name][2].items()} for name in SETTINGS}
    base = sum(ms["fp32, unfused"].values())
    print(f"{args.task}, encoder {profile.encoder}, batch {profile.batch_size}, {args.steps} steps per setting, "
          f"torch threads {torch.get_num_threads()}; ms per step:")
    print(f"{'setting':<16}" + "".join(f"{p:>10}" for p in PHASES) + f"{'step':>10}{'ratio':>8}")
    for name, phases in ms.items():
        total = sum(phases.values())
        print(f"{name:<16}" + "".join(f"{phases[p]:10.1f}" for p in PHASES) + f"{total:10.1f}{total / base:8.2f}")
    if args.torch_profile:
        model, optimizer, _ = runs["bf16, fused"]
        with torch.profiler.profile() as profiler:
            for batch_rows in batches[:5]:
                batch = collate(args.task, [rows[i] for i in batch_rows], pad)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    model.head(args.task).loss(model(batch), batch).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), profile.clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    return ms


if __name__ == "__main__":
    main()
