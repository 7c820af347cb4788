"""The training loop, one for every stage (single-task, multi-task, refine, teachers, student).

Each step trains on one task's mini-batch, in the order the sampler gives (MT-DNN, Algorithm 1):
loss on the batch (MT-DNN-KD's distillation loss, kd.py, where the batch carries soft targets),
gradient, global-norm clipping at 1.0, an Adamax step and the learning-rate schedule (see optim.py).
After every epoch the model is scored on every task's dev (or dev-proxy) split and a checkpoint is
written; a run interrupted at any point resumes from its last finished epoch and reaches the same result
as an uninterrupted one (the batch order depends only on the seed and the epoch, and the checkpoint
holds the model, optimiser, schedule and random-number states).

Checkpoints are written atomically (`save_checkpoint`): into ``checkpoint.tmp/``, its ``state.json`` last,
then swapped in with renames, the one before kept as ``checkpoint.previous/``; a kill at any moment leaves
the last complete checkpoint, which the next start finds (`recover_checkpoint`). A checkpoint that cannot
be read (a truncated file, say) is reported, naming the run, and the run resumes from the previous one, or
from scratch, and says which.

Built on `accelerate`: the same code runs on a CPU, on one GPU with bf16/fp16, and on several processes
(`accelerate launch --num_processes P -m mtdnn_lite train ...`, GPUs or CPU cores): each optimiser step then
trains P of the epoch's mini-batches at once, one per process, and averages their gradients (`process_share`),
so an epoch has 1/P as many steps and every batch is still trained once per epoch.

Where the time goes (a step on the quick profile's CPU: forward, backward and the optimiser's update), and
what the loop does about each kind of overhead:
- every mini-batch of a run is padded into tensors once, on the device (`collate_batches`), since the batches
  of a run are fixed (Algorithm 1's D_t) and only their order changes from epoch to epoch;
- the losses stay on the device, read back every `SYNC_EVERY` steps (a host sync per step stalls a GPU);
- AdamW is one fused kernel (optim.FUSED), and the forward passes run under the profile's autocast.
"""

import math
import os
import pickle
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import parse_flag_from_env, set_seed
from safetensors import SafetensorError
from tqdm.auto import tqdm

from ..core import kd, progress
from ..core.evaluation import evaluate
from ..core.model import MTDNN
from ..core.optim import build_optimizer, linear_warmup_decay
from ..core.sampler import epoch_plan, pack_batches
from ..glue.features import collate
from .profiles import Profile
from .runs import config_hash, environment, is_done, read_json, write_json, write_predictions
from .taskdata import TaskData


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class UnreadableCheckpoint(UserWarning):
    """A run's checkpoint could not be read; the run went on from an older one or from scratch."""


SYNC_EVERY = 50
"""Steps between two reads of the losses from the device: the progress bar's loss and the non-finite check."""

UNREADABLE = (OSError, EOFError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError, SafetensorError)
"""What reading a damaged checkpoint raises (truncated or missing files, bad JSON, torch.load errors)."""


def processes() -> PartialState:
    """accelerate's state of the processes (which one this is, how many), made on the CPU where asked for: by
    `accelerate launch --cpu` (ACCELERATE_USE_CPU), or by several processes launched on a machine without a GPU,
    which then meet over gloo. (accelerate's Accelerator reads the flag, its PartialState does not; the first
    state made is the one every later PartialState() and Accelerator shares.)"""
    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or (several and not torch.cuda.is_available()))


def checkpoint_folders(checkpoint: Path) -> tuple[Path, Path]:
    """(checkpoint.tmp, checkpoint.previous): where a checkpoint is written, and where the one before is kept."""
    return checkpoint.with_name(checkpoint.name + ".tmp"), checkpoint.with_name(checkpoint.name + ".previous")


def recover_checkpoint(checkpoint: Path) -> None:
    """After a kill: finish a swap that was under way (a complete ``.tmp``, its state.json written, is the newest
    checkpoint), and remove an unfinished ``.tmp``."""
    tmp = checkpoint_folders(checkpoint)[0]
    if (tmp / "state.json").is_file():
        swap_in(checkpoint)
    shutil.rmtree(tmp, ignore_errors=True)


def swap_in(checkpoint: Path) -> None:
    """Make the complete ``checkpoint.tmp`` the checkpoint, the current one ``checkpoint.previous``: at every
    instant the newest complete checkpoint is ``checkpoint`` or, between the two renames, ``checkpoint.tmp``."""
    tmp, previous = checkpoint_folders(checkpoint)
    if checkpoint.exists():
        shutil.rmtree(previous, ignore_errors=True)
        checkpoint.rename(previous)
    tmp.rename(checkpoint)


def save_checkpoint(accelerator: Accelerator, checkpoint: Path, state: dict) -> None:
    """accelerate's full state (model, optimiser, schedule, random numbers) and `state` (state.json) into
    ``checkpoint.tmp``, then swapped in (`swap_in`)."""
    tmp = checkpoint_folders(checkpoint)[0]
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_json(tmp / "state.json", state)
        swap_in(checkpoint)
    accelerator.wait_for_everyone()


def load_checkpoint(accelerator: Accelerator, checkpoint: Path, run_dir: Path, epochs: int) -> list[dict] | None:
    """Load the newest readable checkpoint of `run_dir` (``checkpoint``, else ``checkpoint.previous``) into
    `accelerator`'s objects; returns its history, [] if there is none, None if every one failed (the objects
    may then be partly loaded: start afresh). An unreadable one is reported (UnreadableCheckpoint) and removed."""
    candidates = [c for c in (checkpoint, checkpoint_folders(checkpoint)[1]) if c.exists()]
    problems = []
    for folder in candidates:
        try:
            history = read_json(folder / "state.json")["history"]
            accelerator.load_state(str(folder))
        except UNREADABLE as e:
            problems.append(f"{folder.name}/ cannot be read ({type(e).__name__}: {' '.join(str(e).split())})")
            continue
        if problems:
            warnings.warn(f"{run_dir}: {'; '.join(problems)}; resuming from {folder.name}/ instead, after epoch "
                          f"{len(history)} of {epochs}", UnreadableCheckpoint, stacklevel=3)
        for bad in candidates[:candidates.index(folder)]:
            _remove(accelerator, bad)
        return history
    if problems:
        warnings.warn(f"{run_dir}: {'; '.join(problems)}; no readable checkpoint left: training from scratch, "
                      f"epoch 1 of {epochs}", UnreadableCheckpoint, stacklevel=3)
        for bad in candidates:
            _remove(accelerator, bad)
        return None
    return []


def _remove(accelerator: Accelerator, folder: Path) -> None:
    """Remove `folder` (the main process), every process waiting for it."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(folder, ignore_errors=True)
    accelerator.wait_for_everyone()


def _same_settings(folder: Path, config: dict) -> bool:
    """Whether checkpoint `folder` belongs to a run of `config` (True if its state.json cannot be read: that is
    for load_checkpoint to report)."""
    try:
        return read_json(folder / "state.json")["config_hash"] == config_hash(config)
    except UNREADABLE:
        return True


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
    if processes().is_main_process:
        recover_checkpoint(checkpoint)
        for folder in (checkpoint, checkpoint_folders(checkpoint)[1]):
            if folder.exists() and not _same_settings(folder, config):
                shutil.rmtree(folder)  # settings changed: the old epochs belong to another run
        write_json(run_dir / "config.json", {**config, "config_hash": config_hash(config)})
        write_json(run_dir / "environment.json", {**environment(), "processes": processes().num_processes})
        write_json(run_dir / "data.json", {task: d.info for task, d in data.items()})
    processes().wait_for_everyone()

    batches = {task: pack_batches(d.train["length"], profile.batch_size, profile.seed,
                                  d.train["group"] if "group" in d.train.column_names else None)
               for task, d in data.items()}
    steps_per_epoch = math.ceil(sum(map(len, batches.values())) / processes().num_processes)

    def start():
        """The model, accelerator, optimiser and schedule of epoch 1, from the seed."""
        set_seed(profile.seed)
        model = build_model()
        accelerator = Accelerator(mixed_precision=profile.mixed_precision,
                                  kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
        optimizer = build_optimizer(model, profile.optimizer, profile.lr, profile.weight_decay)
        scheduler = linear_warmup_decay(optimizer, steps_per_epoch * epochs, profile.warmup)
        model, optimizer = accelerator.prepare(model, optimizer)
        accelerator.register_for_checkpointing(scheduler)
        return model, accelerator, optimizer, scheduler

    model, accelerator, optimizer, scheduler = start()
    history = load_checkpoint(accelerator, checkpoint, run_dir, epochs)
    if history is None:  # no readable checkpoint, the objects perhaps half loaded: epoch 1 afresh
        model, accelerator, optimizer, scheduler = start()
        history = []
    elif history:
        accelerator.print(f"{run_dir}: resuming after epoch {len(history)} of {epochs}")
    collated = collate_batches(data, batches, pad_token_id, accelerator.device)
    for epoch in range(len(history), epochs):
        plan = epoch_plan(batches, epoch, profile.seed, profile.sampling, profile.temperature)
        losses = _train_epoch(model, optimizer, scheduler, accelerator, plan, collated, profile,
                              desc=f"{run_dir.name} epoch {epoch + 1}/{epochs}")
        evaluated = time.perf_counter()
        scores = _evaluate(accelerator, model, data, pad_token_id, run_dir, profile.mixed_precision)
        history.append({"epoch": epoch + 1, **losses, **scores, "eval_seconds": time.perf_counter() - evaluated})
        save_checkpoint(accelerator, checkpoint, {"config_hash": config_hash(config), "history": history})
        if accelerator.is_main_process:
            write_json(run_dir / "metrics.json", history)
        accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save(run_dir / "model")
        write_json(run_dir / "done.json", {"config_hash": config_hash(config), "epochs": epochs})
        for folder in (checkpoint, *checkpoint_folders(checkpoint)):
            shutil.rmtree(folder, ignore_errors=True)
    accelerator.wait_for_everyone()
    return history


def collate_batches(data: dict[str, TaskData], batches: dict[str, list[list[int]]], pad_token_id: int,
                    device) -> dict[str, dict[int, dict]]:
    """Every mini-batch of every task, collated (features.collate) and moved to `device` once for the whole run:
    {task: {the batch's first row: the batch}} (a task's batches partition its rows, so a first row names one)."""
    collated = {}
    for task, task_batches in batches.items():
        rows = data[task].train.to_list()
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


def _train_epoch(model, optimizer, scheduler, accelerator, plan, collated, profile, desc) -> dict:
    """One pass over the epoch's `plan` (this process's share of it); returns mean loss per task and throughput,
    over every process's steps."""
    model.train()
    unwrapped = accelerator.unwrap_model(model)
    share = process_share(plan, accelerator.process_index, accelerator.num_processes)
    losses = torch.zeros(len(share), device=accelerator.device)
    examples, start = 0, time.perf_counter()
    bar = tqdm(share, desc=desc, disable=not accelerator.is_local_main_process, mininterval=1.0)
    for step, (index, weight) in enumerate(bar):
        task, batch_rows = plan[index]
        batch = collated[task][batch_rows[0]]
        with accelerator.autocast():
            head, output = unwrapped.head(task), model(batch)
            loss = (kd.distillation_loss(head, output, batch, profile.kd_weight, profile.kd_temperature)
                    if "soft_targets" in batch else head.loss(output, batch))
        accelerator.backward(loss * weight)  # weight 1.0 (one process) leaves the gradient exactly as it is
        accelerator.clip_grad_norm_(model.parameters(), profile.clip)
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


def _evaluate(accelerator, model, data, pad_token_id, run_dir, mixed_precision="no") -> dict:
    """Dev scores of every task (main process, forward passes under `mixed_precision`), and its prediction rows
    written to run_dir."""
    scores = {}
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        for task, d in data.items():
            scores[task], predictions = evaluate(unwrapped, task, d.evals, pad_token_id, mixed_precision)
            for split, split_rows in predictions.items():
                write_predictions(run_dir, task, split, split_rows)
    accelerator.wait_for_everyone()
    return {"dev": scores}
