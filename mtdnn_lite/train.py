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

Built on `accelerate`: the same code runs on a CPU, on one GPU with bf16/fp16, and on several GPUs
(`accelerate launch -m mtdnn_lite train ...`), each process taking its share of every epoch's batches.
"""

import math
import pickle
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import set_seed
from safetensors import SafetensorError
from tqdm.auto import tqdm

from . import kd, progress
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


class UnreadableCheckpoint(UserWarning):
    """A run's checkpoint could not be read; the run went on from an older one or from scratch."""


UNREADABLE = (OSError, EOFError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError, SafetensorError)
"""What reading a damaged checkpoint raises (truncated or missing files, bad JSON, torch.load errors)."""


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
    if PartialState().is_main_process:
        recover_checkpoint(checkpoint)
        for folder in (checkpoint, checkpoint_folders(checkpoint)[1]):
            if folder.exists() and not _same_settings(folder, config):
                shutil.rmtree(folder)  # settings changed: the old epochs belong to another run
    PartialState().wait_for_everyone()
    write_json(run_dir / "config.json", {**config, "config_hash": config_hash(config)})
    write_json(run_dir / "environment.json", environment())
    write_json(run_dir / "data.json", {task: d.info for task, d in data.items()})

    batches = {task: pack_batches(d.train["length"], profile.batch_size, profile.seed,
                                  d.train["group"] if "group" in d.train.column_names else None)
               for task, d in data.items()}
    rows = {task: d.train.to_list() for task, d in data.items()}
    steps_per_epoch = sum(map(len, batches.values())) // PartialState().num_processes

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
    for epoch in range(len(history), epochs):
        plan = epoch_plan(batches, epoch, profile.seed, profile.sampling, profile.temperature)
        plan = plan[accelerator.process_index::accelerator.num_processes][:steps_per_epoch]
        losses = _train_epoch(model, optimizer, scheduler, accelerator, plan, rows, pad_token_id, profile,
                              desc=f"{run_dir.name} epoch {epoch + 1}/{epochs}")
        evaluated = time.perf_counter()
        scores = _evaluate(accelerator, model, data, pad_token_id, run_dir)
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
        progress.advance(len(batch_rows))
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
