"""A run's checkpoint: the state of its last finished epoch, written so that a kill at any moment loses nothing.

Checkpoints are written atomically (`save_checkpoint`): into ``checkpoint.tmp/``, its ``state.json`` last,
then swapped in with renames, the one before kept as ``checkpoint.previous/``; a kill at any moment leaves
the last complete checkpoint, which the next start finds (`recover_checkpoint`). A checkpoint that cannot
be read (a truncated file, say) is reported, naming the run, and the run resumes from the previous one, or
from scratch, and says which (`load_checkpoint`).
"""

import pickle
import shutil
import warnings
from pathlib import Path

from accelerate import Accelerator
from safetensors import SafetensorError

from .runs import config_hash, read_json, write_json


class UnreadableCheckpoint(UserWarning):
    """A run's checkpoint could not be read; the run went on from an older one or from scratch."""


UNREADABLE = (OSError, EOFError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError, SafetensorError)
"""What reading a damaged checkpoint raises (truncated or missing files, bad JSON, torch.load errors)."""


def checkpoint_folders(checkpoint: Path) -> tuple[Path, Path]:
    """(checkpoint.tmp, checkpoint.previous): where a checkpoint is written, and where the one before is kept."""
    return checkpoint.with_name(checkpoint.name + ".tmp"), checkpoint.with_name(checkpoint.name + ".previous")


def recover_checkpoint(checkpoint: Path, config: dict) -> None:
    """Before a run starts (main process): finish a swap that a kill left under way (a complete ``.tmp``, its
    state.json written, is the newest checkpoint), remove an unfinished ``.tmp``, and remove the checkpoints that
    belong to a run of other settings than `config`."""
    tmp = checkpoint_folders(checkpoint)[0]
    if (tmp / "state.json").is_file():
        swap_in(checkpoint)
    shutil.rmtree(tmp, ignore_errors=True)
    for folder in (checkpoint, checkpoint_folders(checkpoint)[1]):
        if folder.exists() and not _same_settings(folder, config):
            shutil.rmtree(folder)  # settings changed: the old epochs belong to another run


def swap_in(checkpoint: Path) -> None:
    """Make the complete ``checkpoint.tmp`` the checkpoint, the current one ``checkpoint.previous``: at every
    instant the newest complete checkpoint is ``checkpoint`` or, between the two renames, ``checkpoint.tmp``."""
    tmp, previous = checkpoint_folders(checkpoint)
    if checkpoint.exists():
        shutil.rmtree(previous, ignore_errors=True)
        checkpoint.rename(previous)
    tmp.rename(checkpoint)


def _same_settings(folder: Path, config: dict) -> bool:
    """Whether checkpoint `folder` belongs to a run of `config` (True if its state.json cannot be read: that is
    for load_checkpoint to report)."""
    try:
        return read_json(folder / "state.json")["config_hash"] == config_hash(config)
    except UNREADABLE:
        return True


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
