"""The training loop, one for every stage (single-task, multi-task, refine, teachers, student).

Each step trains on one task's mini-batch, in the order the sampler gives (MT-DNN, Algorithm 1):
loss on the batch (MT-DNN-KD's distillation loss, kd.py, where the batch carries soft targets),
gradient, global-norm clipping at 1.0, an Adamax step and the learning-rate schedule (see optim.py).
After every epoch the model is scored on every task's dev (or dev-proxy) split and a checkpoint is
written; a run interrupted at any point resumes from its last finished epoch and reaches the same result
as an uninterrupted one (the batch order depends only on the seed and the epoch, and the checkpoint
holds the model, optimiser, schedule and random-number states).

Built on `accelerate`: the same code runs on a CPU, on one GPU with bf16/fp16, and on several GPUs
(`accelerate launch -m mtdnn_lite train ...`), each process taking its share of every epoch's batches.
"""

import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from . import kd
from .evaluation import evaluate
from .features import collate
from .model import MTDNN
from .optim import build_optimizer, linear_warmup_decay
from .profiles import Profile
from .runs import config_hash, environment, is_done, read_json, write_json, write_predictions
from .sampler import epoch_plan, pack_batches
from .taskdata import TaskData


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def train(run_dir: Path, config: dict, build_model: Callable[[], MTDNN], data: dict[str, TaskData],
          profile: Profile, epochs: int, pad_token_id: int) -> list[dict]:
    """Train the model `build_model()` returns on `data` for `epochs` epochs; artefacts go to `run_dir`.

    Returns the per-epoch history (also in run_dir/metrics.json). A run already finished with the same
    `config` is not recomputed; an unfinished one resumes from run_dir/checkpoint.
    """
    run_dir = Path(run_dir)
    if is_done(run_dir, config):
        return read_json(run_dir / "metrics.json")
    checkpoint = run_dir / "checkpoint"
    if checkpoint.exists() and read_json(checkpoint / "state.json")["config_hash"] != config_hash(config):
        shutil.rmtree(checkpoint)  # settings changed: the old epochs belong to another run
    write_json(run_dir / "config.json", {**config, "config_hash": config_hash(config)})
    write_json(run_dir / "environment.json", environment())
    write_json(run_dir / "data.json", {task: d.info for task, d in data.items()})

    set_seed(profile.seed)
    model = build_model()
    accelerator = Accelerator(mixed_precision=profile.mixed_precision,
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    batches = {task: pack_batches(d.train["length"], profile.batch_size, profile.seed,
                                  d.train["group"] if "group" in d.train.column_names else None)
               for task, d in data.items()}
    rows = {task: d.train.to_list() for task, d in data.items()}
    steps_per_epoch = sum(map(len, batches.values())) // accelerator.num_processes
    optimizer = build_optimizer(model, profile.optimizer, profile.lr, profile.weight_decay)
    scheduler = linear_warmup_decay(optimizer, steps_per_epoch * epochs, profile.warmup)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    history: list[dict] = []
    if checkpoint.exists():
        accelerator.load_state(str(checkpoint))
        history = read_json(checkpoint / "state.json")["history"]
        accelerator.print(f"{run_dir}: resuming after epoch {len(history)} of {epochs}")
    for epoch in range(len(history), epochs):
        plan = epoch_plan(batches, epoch, profile.seed, profile.sampling, profile.temperature)
        plan = plan[accelerator.process_index::accelerator.num_processes][:steps_per_epoch]
        losses = _train_epoch(model, optimizer, scheduler, accelerator, plan, rows, pad_token_id, profile,
                              desc=f"{run_dir.name} epoch {epoch + 1}/{epochs}")
        history.append({"epoch": epoch + 1, **losses, **_evaluate(accelerator, model, data, pad_token_id, run_dir)})
        accelerator.save_state(str(checkpoint))
        if accelerator.is_main_process:
            write_json(checkpoint / "state.json", {"config_hash": config_hash(config), "history": history})
            write_json(run_dir / "metrics.json", history)
        accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save(run_dir / "model")
        write_json(run_dir / "done.json", {"config_hash": config_hash(config), "epochs": epochs})
        shutil.rmtree(checkpoint)
    accelerator.wait_for_everyone()
    return history


def _train_epoch(model, optimizer, scheduler, accelerator, plan, rows, pad_token_id, profile, desc) -> dict:
    """One pass over `plan`'s (task, batch) steps; returns mean loss per task and throughput."""
    model.train()
    unwrapped = accelerator.unwrap_model(model)
    totals: dict[str, list[float]] = {}
    examples, start = 0, time.perf_counter()
    bar = tqdm(plan, desc=desc, disable=not accelerator.is_local_main_process, mininterval=1.0)
    for step, (task, batch_rows) in enumerate(bar):
        batch = collate(task, [rows[task][i] for i in batch_rows], pad_token_id)
        batch = {k: v.to(accelerator.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        with accelerator.autocast():
            head, output = unwrapped.head(task), model(batch)
            loss = (kd.distillation_loss(head, output, batch, profile.kd_weight, profile.kd_temperature)
                    if "soft_targets" in batch else head.loss(output, batch))
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"loss is {loss.item()} on task {task} at step {step + 1} of {desc}; "
                                "lower the learning rate or check that task's labels")
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), profile.clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        totals.setdefault(task, []).append(loss.item())
        examples += len(batch_rows)
        bar.set_postfix(task=task, loss=f"{loss.item():.3f}", ex_s=f"{examples / (time.perf_counter() - start):.0f}",
                        refresh=False)
    seconds = time.perf_counter() - start
    return {"train_loss": {t: sum(v) / len(v) for t, v in totals.items()},
            "train_examples": examples, "train_seconds": seconds,
            "examples_per_second": examples / seconds if seconds else math.nan}


def _evaluate(accelerator, model, data, pad_token_id, run_dir) -> dict:
    """Dev scores of every task (main process), and its prediction rows written to run_dir."""
    scores = {}
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        for task, d in data.items():
            scores[task], predictions = evaluate(unwrapped, task, d.evals, pad_token_id)
            for split, split_rows in predictions.items():
                write_predictions(run_dir, task, split, split_rows)
    accelerator.wait_for_everyone()
    return {"dev": scores}
