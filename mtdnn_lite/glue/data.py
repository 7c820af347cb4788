"""Loading a GLUE task as a `datasets.DatasetDict`, from a GLUE directory or from the hub.

`load_glue` reads the TSV files of a GLUE directory (argument `glue_dir`, else the environment variable
GLUE_DIR; `resolve_glue_dir` decides, for every caller), or, with neither, the hub's `nyu-mll/glue`. Both
give the hub's split names and the same explicit `Features` (texts, `label`, `idx`; unlabeled test rows have
label -1).

Every split says where it came from: its `Dataset.info.description` holds a JSON dict, read with
`split_info` (task, split, source, file, rows, official_rows, partial, proxy, proxy_of, proxy_seed,
skipped_rows). The description is copied by `datasets` into the results of `.select`, `.map`,
`.filter`, `.shuffle` and `.cast`; it is not updated by them (`rows` stays the count at load time).

A split with fewer rows than GLUE's official count is reported partial (a warning and the metadata).
Where a task has no labeled dev split (in the shared GLUE copy: MNLI and QQP), `load_glue` holds out
`dev_proxy_size` training rows, drawn with `seed`, as `validation_proxy`; a score on it is a dev-proxy
score, not a GLUE dev score, and `split_label` names it so. Both the proxy and the train split it left
record `proxy_seed`; `partial` and `official_rows` of train still describe the file it was read from.
"""

import hashlib
import json
import os
import warnings
from pathlib import Path

import datasets
import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from mtdnn_lite.glue.glue_files import read_split, split_files, task_dir
from mtdnn_lite.glue.tasks import AX, Task, get_task

HUB_DATASET = "nyu-mll/glue"

OFFICIAL_ROWS: dict[str, dict[str, int]] = {
    "CoLA": {"train": 8551, "validation": 1043, "test": 1063},
    "SST-2": {"train": 67349, "validation": 872, "test": 1821},
    "MRPC": {"train": 3668, "validation": 408, "test": 1725},
    "STS-B": {"train": 5749, "validation": 1500, "test": 1379},
    "QQP": {"train": 363846, "validation": 40430, "test": 390965},
    "MNLI": {"train": 392702, "validation_matched": 9815, "validation_mismatched": 9832,
             "test_matched": 9796, "test_mismatched": 9847},
    "QNLI": {"train": 104743, "validation": 5463, "test": 5463},
    "RTE": {"train": 2490, "validation": 277, "test": 3000},
    "WNLI": {"train": 635, "validation": 71, "test": 146},
    "AX": {"test": 1104},
}
"""Rows of each split of the official GLUE release (= the hub's nyu-mll/glue)."""

EVAL_SPLITS = ("validation", "validation_matched", "validation_mismatched", "validation_proxy")
"""The labeled evaluation splits, in the order they are reported."""

SPLIT_LABELS = {"train": "train", "validation": "dev", "validation_matched": "dev-m",
                "validation_mismatched": "dev-mm", "validation_proxy": "dev-proxy", "validation_tune": "tune",
                "test": "test", "test_matched": "test-m", "test_mismatched": "test-mm"}


def resolve_glue_dir(glue_dir: str | Path | None = None, name: str = "glue_dir") -> Path | None:
    """The GLUE directory to read, as an absolute path: `glue_dir` if given, else $GLUE_DIR; None when neither
    is set (load_glue then reads the hub's nyu-mll/glue).

    A relative `glue_dir` is taken from the working directory, as any path argument is. A relative $GLUE_DIR
    is taken from the directory it was set in: the shell's, which it exports as $PWD to every process it starts,
    even one that then changes its own working directory (papermill and Jupyter start a notebook's kernel in
    the notebook's folder). A directory that does not exist is an error, in one line that says what to do and
    names where the path came from (`name`, e.g. "--glue-dir", or GLUE_DIR).
    """
    if glue_dir:
        chosen, base, origin = Path(glue_dir), Path.cwd(), name
    elif os.environ.get("GLUE_DIR"):
        chosen, base, origin = Path(os.environ["GLUE_DIR"]), Path(os.environ.get("PWD") or Path.cwd()), "GLUE_DIR"
    else:
        return None
    path = (base / chosen).resolve()
    if not path.is_dir():
        relative = "" if chosen.is_absolute() else f", relative to {base}"
        raise FileNotFoundError(f"{origin}={chosen} is not a directory (looked for {path}{relative}): "
                                "give the absolute path of a GLUE directory in the TSV layout")
    return path


def glue_features(task: Task) -> Features:
    """The columns of every split of `task`: its texts, `label` and `idx`."""
    label = Value("float32") if task.is_regression else ClassLabel(names=list(task.label_names))
    return Features({**{name: Value("string") for name in task.text_fields}, "label": label,
                     "idx": Value("int32")})


def load_glue(task: str, glue_dir: str | Path | None = None, dev_proxy_size: int = 1000,
              seed: int = 0) -> DatasetDict:
    """The splits of GLUE task `task` (any spelling `get_task` knows), with their metadata.

    Reads the GLUE directory `glue_dir` (else $GLUE_DIR: `resolve_glue_dir`); with neither, loads
    `nyu-mll/glue` from the hub. From a directory, only the splits whose files exist are returned, but train.tsv (AX:
    diagnostic.tsv) must exist. If no labeled dev split is present, `dev_proxy_size` training rows
    chosen with `seed` become `validation_proxy` and leave train (the same rows on every call).
    """
    t = get_task(task)
    glue_dir = resolve_glue_dir(glue_dir)
    splits = _read_glue_dir(t, glue_dir) if glue_dir else _load_hub(t)
    for name, ds in splits.items():
        info = split_info(ds)
        if info["partial"]:
            warnings.warn(f"{t.name} {name} is partial: {info['rows']} rows, the official GLUE split has "
                          f"{info['official_rows']} ({info['file'] or info['source']})", stacklevel=2)
    if t is not AX and not any(name in splits for name in EVAL_SPLITS):
        splits["train"], proxy = hold_out(splits["train"], dev_proxy_size, seed)
        splits = {"train": splits["train"], "validation_proxy": proxy,
                  **{k: v for k, v in splits.items() if k != "train"}}
    return DatasetDict(splits)


def _describe(ds: Dataset, **meta) -> Dataset:
    """`ds` with `meta` as its JSON description (`ds` must be a fresh Dataset: its info is changed)."""
    ds.info.description = json.dumps(meta)
    return ds


def _official(task: Task, split: str) -> int:
    if split not in OFFICIAL_ROWS[task.name]:
        raise ValueError(f"{task.name} has no split {split!r}; expected one of "
                         + ", ".join(OFFICIAL_ROWS[task.name]))
    return OFFICIAL_ROWS[task.name][split]


def _meta(task: Task, split: str, source: str, file: str | None, rows: int, skipped: list[dict]) -> dict:
    official = _official(task, split)
    return dict(task=task.name, split=split, source=source, file=file, rows=rows, official_rows=official,
                partial=rows < official, proxy=False, proxy_of=None, proxy_seed=None, skipped_rows=skipped)


def _read_glue_dir(task: Task, glue_dir: Path) -> dict[str, Dataset]:
    """The splits of `task` whose TSV files exist in `glue_dir`."""
    folder = task_dir(glue_dir, task)
    required = "test" if task is AX else "train"
    features = glue_features(task)
    splits = {}
    for split, file in split_files(task).items():
        if split != required and not (folder / file).is_file():
            continue
        read = read_split(glue_dir, task, split)
        rows = len(read.columns["idx"])
        ds = Dataset.from_dict(read.columns, info=datasets.DatasetInfo(features=features), split=split)
        splits[split] = _describe(ds, **_meta(task, split, f"glue_dir:{glue_dir}", str(read.path), rows,
                                              read.skipped))
    return splits


def _load_hub(task: Task) -> dict[str, Dataset]:
    """The splits of `task` from the hub's nyu-mll/glue, cast to `glue_features(task)`."""
    features = glue_features(task)
    splits = {}
    for split, ds in datasets.load_dataset(HUB_DATASET, task.hub_config).items():
        if set(ds.column_names) != set(features):
            raise ValueError(f"{HUB_DATASET} {task.hub_config} {split}: columns {ds.column_names}, "
                             f"expected {list(features)}")
        splits[split] = _describe(ds.cast(features), **_meta(task, split, f"hub:{HUB_DATASET}", None,
                                                             len(ds), []))
    return splits


def hold_out(train: Dataset, size: int, seed: int, split: str = "validation_proxy",
             setting: str = "dev_proxy_size") -> tuple[Dataset, Dataset]:
    """(train without the held-out rows, the held-out rows named `split`): `size` rows drawn with `seed`;
    `setting` is the profile setting that asked for `size`, named in the error when it does not fit."""
    if not 0 < size < len(train):
        raise ValueError(f"{setting}={size}: expected 1 to {len(train) - 1} "
                         f"(fewer than the {len(train)} training rows)")
    held = np.zeros(len(train), dtype=bool)
    held[np.random.default_rng(seed).permutation(len(train))[:size]] = True
    info = split_info(train)
    kept = _describe(train.select(np.flatnonzero(~held)), **{**info, "rows": int((~held).sum()),
                                                               "proxy_seed": seed})
    proxy = _describe(train.select(np.flatnonzero(held)),
                      **{**info, "split": split, "rows": size, "official_rows": None,
                         "partial": False, "proxy": True, "proxy_of": "train", "proxy_seed": seed,
                         "skipped_rows": []})
    return kept, proxy


def split_info(ds: Dataset) -> dict:
    """The metadata `load_glue` stored in a split's description (see the module docstring)."""
    try:
        return json.loads(ds.info.description)
    except (TypeError, json.JSONDecodeError):
        raise ValueError("this Dataset carries no split metadata in info.description "
                         "(it was not made by mtdnn_lite.glue.data.load_glue)") from None


def split_label(split: str) -> str:
    """How a score on `split` is labeled: "dev", "dev-m", "dev-mm", "dev-proxy", "train", "test", ..."""
    if split not in SPLIT_LABELS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_LABELS)}")
    return SPLIT_LABELS[split]


def eval_splits(dsd: DatasetDict) -> list[str]:
    """The labeled evaluation splits present in `dsd`, in `EVAL_SPLITS` order."""
    return [name for name in EVAL_SPLITS if name in dsd]


def fingerprint(ds: Dataset) -> str:
    """A short sha256 of a split's content (texts, labels, ids), to check that data and soft targets match.

    Columns added later (e.g. by tokenization) do not change it.
    """
    task = get_task(split_info(ds)["task"])
    content = ds.select_columns([*task.text_fields, "label", "idx"]).to_dict()
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
