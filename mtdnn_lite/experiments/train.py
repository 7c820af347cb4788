"""A run of the training loop (core/trainer.py) in its run folder: the artefacts of runs.py around it.

Before the first epoch the run's settings, environment and data are written (config.json, environment.json,
data.json); after every epoch the model is scored on every task's dev (or dev-proxy) split (with the profile's
`eval_every_epoch` off, after the last epoch only), the predictions and metrics.json written and a checkpoint
saved (checkpoints.py); at the end the model is saved and done.json written last. A run already finished with the
same settings is not recomputed, and one interrupted at any
point resumes from its last finished epoch and reaches the same result as an uninterrupted one. One process at a
time works in a run folder: a second one waits for the first, then reuses or resumes the run (locks.py).
"""

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ..core.evaluation import evaluate
from ..core.model import MTDNN
from ..core.trainer import processes, train
from .checkpoints import checkpoint_folders, load_checkpoint, recover_checkpoint, save_checkpoint
from .locks import holding
from .profiles import Profile
from .runs import (
    config_hash,
    environment,
    is_done,
    read_json,
    write_json,
    write_predictions,
)
from .taskdata import TaskData


def train_run(run_dir: Path, config: dict, build_model: Callable[[], MTDNN], data: dict[str, TaskData],
              profile: Profile, epochs: int, pad_token_id: int) -> list[dict]:
    """Train the model `build_model()` returns on `data` for `epochs` epochs; artefacts go to `run_dir`.

    Returns the per-epoch history (also in run_dir/metrics.json). A run already finished with the same
    `config` is not recomputed; an unfinished one resumes from run_dir/checkpoint.
    """
    run_dir = Path(run_dir)
    with holding(run_dir):  # one process at a time in a run folder (locks.py)
        processes().wait_for_everyone()  # this launch's other processes go on once its main one holds the run
        if is_done(run_dir, config):
            return read_json(run_dir / "metrics.json")
        checkpoint = run_dir / "checkpoint"
        if processes().is_main_process:
            recover_checkpoint(checkpoint, config)
            write_json(run_dir / "config.json", {**config, "config_hash": config_hash(config)})
            write_json(run_dir / "environment.json", {**environment(), "processes": processes().num_processes})
            write_json(run_dir / "data.json", {task: d.info for task, d in data.items()})
        processes().wait_for_everyone()

        def resume(accelerator) -> list[dict] | None:
            """The history of run_dir's checkpoint, loaded into the loop's objects (checkpoints.load_checkpoint)."""
            history = load_checkpoint(accelerator, checkpoint, run_dir, epochs)
            if history:
                accelerator.print(f"{run_dir}: resuming after epoch {len(history)} of {epochs}")
            return history

        def after_epoch(accelerator, model, history: list[dict]) -> None:
            """The epoch's dev scores into its history entry (after the last epoch only, unless
            profile.eval_every_epoch), then the checkpoint and metrics.json."""
            if profile.eval_every_epoch or len(history) == epochs:
                evaluated = time.perf_counter()
                scores = evaluate_epoch(accelerator, model, data, pad_token_id, run_dir, profile.mixed_precision)
                history[-1] |= {**scores, "eval_seconds": time.perf_counter() - evaluated}
            save_checkpoint(accelerator, checkpoint, {"config_hash": config_hash(config), "history": history})
            if accelerator.is_main_process:
                write_json(run_dir / "metrics.json", history)
            accelerator.wait_for_everyone()

        model, history = train(build_model, {task: d.train for task, d in data.items()}, profile.train_settings(),
                               epochs, pad_token_id, after_epoch, resume, name=run_dir.name)
        if processes().is_main_process:
            model.save(run_dir / "model")
            write_json(run_dir / "done.json", {"config_hash": config_hash(config), "epochs": epochs})
            for folder in (checkpoint, *checkpoint_folders(checkpoint)):
                shutil.rmtree(folder, ignore_errors=True)
        processes().wait_for_everyone()
        return history


def evaluate_epoch(accelerator, model, data: dict[str, TaskData], pad_token_id: int, run_dir: Path,
                   mixed_precision: str = "no") -> dict:
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
