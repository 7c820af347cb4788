"""One task's data as a run uses it: the splits a profile asks for, tokenised, with their fingerprints.

`prepare_task` reads the data settings alone (profiles.DataSettings, of which a Profile is one). Where they cap
the examples (`max_train`, `max_eval`), a random subset is drawn with `data_seed`, so that every stage, every
training seed and every rerun of a profile sees the same rows. A capped dev split is labeled by its size
wherever its score is shown (`TaskData.info`).

Tuning split: with `tune_size` > 0, that many rows (at most a quarter of a task's training rows, so that
WNLI keeps most of its 635) are held out of train (after the dev-proxy, if any, and before `max_train` is
drawn) as ``validation_tune``, and a run is scored on it alone: settings are
chosen there, and the dev sets the tables report are never read while choosing (the ablation does so).
"""

from dataclasses import dataclass
from pathlib import Path

import datasets

from ..core.encoder import load_tokenizer
from ..glue.data import eval_splits, fingerprint, hold_out, load_glue, split_info
from ..glue.features import encode
from .profiles import DataSettings


@dataclass
class TaskData:
    task: str
    train: datasets.Dataset  # encoded
    evals: dict[str, datasets.Dataset]  # split name → encoded labeled evaluation split
    raw: dict[str, datasets.Dataset]  # split name → the same rows before tokenising
    info: dict[str, dict]  # split name → data.split_info, plus rows used and fingerprint


def subsample(ds: datasets.Dataset, cap: int | None, seed: int) -> datasets.Dataset:
    """`cap` rows drawn at random with `seed` (all rows, in order, when cap is None or not smaller)."""
    if cap is None or cap >= len(ds):
        return ds
    return ds.shuffle(seed=seed).select(range(cap)).flatten_indices()


def select_rows(task: str, settings: DataSettings, glue_dir: str | Path | None
                ) -> tuple[dict[str, datasets.Dataset], dict[str, dict]]:
    """The rows of `task` a run with data `settings` trains and is scored on, before tokenising: ({"train": …,
    evaluation split: …}, {split: data.split_info plus rows used and fingerprint})."""
    datasets.disable_progress_bars()  # loading and tokenising take seconds; the training bar is the one to watch
    glue = load_glue(task, glue_dir, dev_proxy_size=settings.dev_proxy_size, seed=settings.data_seed)
    if settings.tune_size:
        size = min(settings.tune_size, len(glue["train"]) // 4)
        glue["train"], glue["validation_tune"] = hold_out(glue["train"], size, settings.data_seed, "validation_tune",
                                                          "tune_size")
        evals = ["validation_tune"]
    else:
        evals = eval_splits(glue)
    raw = {"train": subsample(glue["train"], settings.max_train, settings.data_seed)}
    for split in evals:
        raw[split] = subsample(glue[split], settings.max_eval, settings.data_seed)
    info = {}
    for split, ds in raw.items():
        meta = split_info(glue[split])
        info[split] = {**meta, "rows_used": len(ds), "fingerprint": fingerprint(ds)}
    return raw, info


def prepare_task(task: str, settings: DataSettings, glue_dir: str | Path | None) -> TaskData:
    """Load `task` from `glue_dir` (or the hub), cap (`select_rows`) and tokenise (with the encoder's tokenizer)
    the training and evaluation splits, as the data `settings` say."""
    raw, info = select_rows(task, settings, glue_dir)
    tokenizer = load_tokenizer(settings.encoder)
    encoded = {split: encode(task, ds, tokenizer, settings.max_length) for split, ds in raw.items()}
    return TaskData(task, encoded.pop("train"), encoded, raw, info)
