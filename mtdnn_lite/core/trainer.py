"""The training loop, one for every stage (single-task, multi-task, refine, teachers, student): a model, each
task's training rows and the optimisation settings in; the trained model and its per-epoch history out.

Each step trains on one task's mini-batch, in the order the sampler gives (MT-DNN, Algorithm 1): the model's
loss on the batch (MTDNN.loss: the task's own loss, or MT-DNN-KD's hard + soft loss where the batch carries
soft targets), gradient, global-norm clipping at 1.0, an optimiser step and the learning-rate schedule
(optim.py). A step reads three files: this loop, the model (model.py) and its heads (heads.py); a batch with
soft targets, kd.py's loss too.

The loop knows nothing of run folders. `train` calls `after_epoch` after every epoch (experiments/train.py
scores the dev splits there, writes a checkpoint and the metrics), and `resume`, once before the first epoch,
to load a saved state into the loop's objects (experiments/checkpoints.py). A run resumed after epoch k reaches
the same result as an uninterrupted one: the batch order depends only on the seed and the epoch, and the state
accelerate saves holds the model, optimiser, schedule and random-number states.

Built on `accelerate`: the same code runs on a CPU, on one GPU with bf16/fp16, and on several processes
(`accelerate launch --num_processes P -m mtdnn_lite train ...`, GPUs or CPU cores): each optimiser step then
trains P of the epoch's mini-batches at once, one per process, and averages their gradients (`process_share`),
so an epoch has 1/P as many steps and every batch is still trained once per epoch.

Where the time goes (a step on the quick profile's CPU: forward, backward and the optimiser's update), and
what the loop does about each kind of overhead:
- every mini-batch of a run is padded into tensors once, on the device (`collate_batches`), since the batches
  of a run are fixed (Algorithm 1's D_t) and only their order changes from epoch to epoch;
- the losses stay on the device, read back every `SYNC_EVERY` steps (a host sync per step stalls a GPU);
- AdamW is one fused kernel (optim.FUSED), and the forward passes run under the settings' autocast.
"""

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import datasets
import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import parse_flag_from_env, set_seed
from tqdm.auto import tqdm

from ..glue.features import collate
from . import progress
from .model import MTDNN
from .optim import build_optimizer, linear_warmup_decay
from .sampler import epoch_plan, pack_batches


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


SYNC_EVERY = 50
"""Steps between two reads of the losses from the device: the progress bar's loss and the non-finite check."""


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """What the loop reads of a run's settings; experiments.profiles.Profile holds them with the paper's defaults
    and what each one means (`Profile.train_settings`)."""
    optimizer: str  # "adamax" or "adamw" (optim.py)
    lr: float
    weight_decay: float
    warmup: float  # fraction of the steps with a rising learning rate
    clip: float  # global gradient-norm clipping
    batch_size: int
    seed: int  # the model's initialisation, the batches and their order
    sampling: str  # sampler.SAMPLING
    temperature: float  # of sampling="temperature"
    kd_weight: float  # α of the distillation loss, on batches with soft targets (MTDNN.loss)
    kd_temperature: float  # T of the distillation loss
    mixed_precision: str  # accelerate's: "no", "bf16" or "fp16"


def processes() -> PartialState:
    """accelerate's state of the processes (which one this is, how many), made on the CPU where asked for: by
    `accelerate launch --cpu` (ACCELERATE_USE_CPU), or by several processes launched on a machine without a GPU,
    which then meet over gloo. (accelerate's Accelerator reads the flag, its PartialState does not; the first
    state made is the one every later PartialState() and Accelerator shares.)"""
    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or (several and not torch.cuda.is_available()))


def train(build_model: Callable[[], MTDNN], train_sets: dict[str, datasets.Dataset], settings: TrainSettings,
          epochs: int, pad_token_id: int,
          after_epoch: Callable[[Accelerator, torch.nn.Module, list[dict]], None] | None = None,
          resume: Callable[[Accelerator], list[dict] | None] | None = None, name: str = "train",
          ) -> tuple[MTDNN, list[dict]]:
    """Train the model `build_model()` returns (seeded with settings.seed) for `epochs` epochs on each task's
    encoded training rows `train_sets`; returns the trained model and the per-epoch history.

    `resume(accelerator)` is called once the model, optimiser and schedule are prepared and registered with
    `accelerator`: it loads a saved state into them and returns the history of the epochs that state has done
    ([]: none), or None when loading failed part way, and the loop then starts afresh at epoch 1.
    `after_epoch(accelerator, model, history)` is called after every epoch, history[-1] holding the epoch's
    losses and throughput; it may add to that entry (the dev scores). `name` labels the progress bars.
    """
    batches = {task: pack_batches(rows["length"], settings.batch_size, settings.seed,
                                  rows["group"] if "group" in rows.column_names else None)
               for task, rows in train_sets.items()}
    steps_per_epoch = math.ceil(sum(map(len, batches.values())) / processes().num_processes)

    def start():
        """The model, accelerator, optimiser and schedule of epoch 1, from the seed."""
        set_seed(settings.seed)
        model = build_model()
        accelerator = Accelerator(mixed_precision=settings.mixed_precision,
                                  kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
        optimizer = build_optimizer(model, settings.optimizer, settings.lr, settings.weight_decay)
        scheduler = linear_warmup_decay(optimizer, steps_per_epoch * epochs, settings.warmup)
        model, optimizer = accelerator.prepare(model, optimizer)
        accelerator.register_for_checkpointing(scheduler)
        return model, accelerator, optimizer, scheduler

    model, accelerator, optimizer, scheduler = start()
    history = resume(accelerator) if resume else []
    if history is None:  # the objects perhaps half loaded: epoch 1 afresh
        model, accelerator, optimizer, scheduler = start()
        history = []
    collated = collate_batches(train_sets, batches, pad_token_id, accelerator.device)
    for epoch in range(len(history), epochs):
        plan = epoch_plan(batches, epoch, settings.seed, settings.sampling, settings.temperature)
        losses = train_epoch(model, optimizer, scheduler, accelerator, plan, collated, settings,
                             desc=f"{name} epoch {epoch + 1}/{epochs}")
        history.append({"epoch": epoch + 1, **losses})
        if after_epoch:
            after_epoch(accelerator, model, history)
    return accelerator.unwrap_model(model), history


def collate_batches(train_sets: dict[str, datasets.Dataset], batches: dict[str, list[list[int]]], pad_token_id: int,
                    device) -> dict[str, dict[int, dict]]:
    """Every mini-batch of every task, collated (features.collate) and moved to `device` once for the whole run:
    {task: {the batch's first row: the batch}} (a task's batches partition its rows, so a first row names one)."""
    collated = {}
    for task, task_batches in batches.items():
        rows = train_sets[task].to_list()
        collated[task] = {}
        for batch_rows in task_batches:
            batch = collate(task, [rows[i] for i in batch_rows], pad_token_id)
            collated[task][batch_rows[0]] = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return collated


def process_share(plan: list, process: int, processes: int) -> list[tuple[int, float]]:
    """Which of the epoch's `plan` steps process `process` of `processes` trains: [(index into plan, weight)].

    Optimiser step r trains the plan's batches r·P … r·P + P − 1 at once, batch r·P + p on process p, and
    averages their gradients. The last round may have fewer batches, n < P: a process without one trains the
    round's first batch with weight 0 (every process must take part in a step), and the others weigh theirs
    P / n, so that the step's gradient is still the mean over the n batches. One process: every step, weight 1.
    """
    share = []
    for start in range(0, len(plan), processes):
        n = min(processes, len(plan) - start)
        share.append((start + process, processes / n) if process < n else (start, 0.0))
    return share


def train_epoch(model, optimizer, scheduler, accelerator, plan, collated, settings: TrainSettings, desc) -> dict:
    """One pass over the epoch's `plan` (this process's share of it); returns mean loss per task and throughput,
    over every process's steps."""
    model.train()
    share = process_share(plan, accelerator.process_index, accelerator.num_processes)
    losses = torch.zeros(len(share), device=accelerator.device)
    examples, start = 0, time.perf_counter()
    bar = tqdm(share, desc=desc, disable=not accelerator.is_local_main_process or progress.quiet(), mininterval=1.0)
    for step, (index, weight) in enumerate(bar):
        task, batch_rows = plan[index]
        batch = collated[task][batch_rows[0]]
        with accelerator.autocast():  # L(Θ) on b_t, hard or hard + soft: MTDNN.loss
            loss = model(batch, return_loss=True, kd_weight=settings.kd_weight, kd_temperature=settings.kd_temperature)
        accelerator.backward(loss * weight)  # weight 1.0 (one process) leaves the gradient exactly as it is
        accelerator.clip_grad_norm_(model.parameters(), settings.clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses[step] = loss.detach()
        examples += len(batch_rows) if weight else 0
        progress.advance(len(batch_rows) if weight else 0)
        if (step + 1) % SYNC_EVERY == 0 or step + 1 == len(share):
            seen = losses[:step + 1].tolist()  # one read from the device
            bad = next((i for i, v in enumerate(seen) if not math.isfinite(v)), None)
            if bad is not None:
                raise NonFiniteLoss(f"loss is {seen[bad]} on task {plan[share[bad][0]][0]} at step {bad + 1} of "
                                    f"{desc}; lower the learning rate or check that task's labels")
            bar.set_postfix(task=task, loss=f"{seen[-1]:.3f}",
                            ex_s=f"{examples / (time.perf_counter() - start):.0f}", refresh=False)
    seconds = time.perf_counter() - start
    epoch = epoch_losses(accelerator, plan, losses)
    return epoch | {"steps": len(share), "train_seconds": seconds,
                    "examples_per_second": epoch["train_examples"] / seconds if seconds else math.nan}


def epoch_losses(accelerator, plan, losses) -> dict:
    """{"train_loss": mean loss per task, "train_examples": the epoch's examples}, over every process's steps:
    the processes' losses gathered, each matched to its plan step by `process_share`."""
    gathered = accelerator.gather(losses).tolist()
    steps = len(losses)
    totals: dict[str, list[float]] = {}
    for process in range(accelerator.num_processes):
        for step, (index, weight) in enumerate(process_share(plan, process, accelerator.num_processes)):
            if weight:
                totals.setdefault(plan[index][0], []).append(gathered[process * steps + step])
    return {"train_loss": {t: sum(v) / len(v) for t, v in totals.items()},
            "train_examples": sum(len(b) for _, b in plan)}
