"""The GLUE data at hand, summarised as tables (notebook 01): tasks, split sizes, label balance, lengths.

- `task_table`: the registry as a table (type, output layer, labels, metrics, teacher, task dropout);
- `load_tasks`: `load_glue` for several tasks, with the loader's warnings collected instead of printed;
- `split_table`: the rows of every split at hand against GLUE's official count, and what each split is
  (complete, a partial sample, a dev-proxy held out of train, or missing);
- `label_balance`: the share of each class per task and split (STS-B: its scores in five bins);
- `token_lengths`, `length_summary`: tokens per example as the model reads it ([CLS] a [SEP] b [SEP]);
- `example_pairs`: a few examples per task, with their label names.

What these tables say, in words, is `data_notes`.
"""

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict
from transformers import PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from ..core.heads import build_head
from ..glue.data import OFFICIAL_ROWS, load_glue, split_info, split_label
from ..glue.data import resolve_glue_dir  # noqa: F401  (glue.data's, named here for the notebooks' first cell)
from ..glue.glue_files import split_files
from ..glue.tasks import AX, GLUE_TASKS, get_task

ALL_TASKS: tuple[str, ...] = (*GLUE_TASKS, AX.name)
"""The nine GLUE tasks and the diagnostic set AX."""


def data_source(glue_dir: str | Path | None) -> str:
    """How a figure names its data: "a local GLUE TSV copy" or "hub nyu-mll/glue" (a path would name one
    machine's folders; the figure's table of splits says what the copy holds)."""
    return "hub nyu-mll/glue" if glue_dir is None else "a local GLUE TSV copy"


def task_table(tasks: Iterable[str] = ALL_TASKS) -> pd.DataFrame:
    """One row per task: type, output layer (heads.py class), labels, GLUE metrics, teacher, task dropout."""
    rows = []
    for name in tasks:
        t = get_task(name)
        head = "– (predicted by the MNLI model)" if t is AX else type(build_head(t, hidden=4)).__name__
        rows.append({"task": t.name, "type": t.type.value, "output layer": head,
                     "labels": ", ".join(t.label_names) or "score in [0, 5]", "metrics": ", ".join(t.metrics),
                     "teacher (KD)": t.has_teacher, "task dropout": t.dropout})
    return pd.DataFrame(rows).set_index("task")


def load_tasks(tasks: Iterable[str] = ALL_TASKS, glue_dir: str | Path | None = None, dev_proxy_size: int = 1000,
               seed: int = 0) -> tuple[dict[str, DatasetDict], list[str]]:
    """({task: load_glue(task, …)}, the loader's warnings: partial splits, skipped malformed rows)."""
    glue = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in tasks:
            glue[get_task(name).name] = load_glue(name, glue_dir, dev_proxy_size=dev_proxy_size, seed=seed)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return glue, notes


def sample(ds: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """`n` rows of `ds` drawn without replacement with `seed` (all of them when n is None or not smaller)."""
    if n is None or n >= len(ds):
        return ds
    return ds.select(np.sort(np.random.default_rng(seed).choice(len(ds), n, replace=False)))


def _status(info: dict) -> str:
    if info["proxy"]:
        return f"dev-proxy: {info['rows']:,} rows held out of {info['proxy_of']} (seed {info['proxy_seed']})"
    if info["partial"]:
        return "partial: a sample of the official split"
    return "complete"


def split_table(glue: dict[str, DatasetDict]) -> pd.DataFrame:
    """One row per task and split (GLUE's official splits, plus any dev-proxy): rows here, official rows,
    their ratio, what the split is, malformed rows skipped, and the file read."""
    rows = []
    for task, dsd in glue.items():
        for split in dict.fromkeys([*split_files(get_task(task)), *dsd]):
            official = OFFICIAL_ROWS[task].get(split)
            if split in dsd:
                info = split_info(dsd[split])
                here, status = len(dsd[split]), _status(info)
                skipped, source = len(info["skipped_rows"]), info["file"] or info["source"]
                if info.get("proxy_seed") is not None and not info["proxy"]:
                    status += "; the dev-proxy's rows taken out"
            else:
                here, status, skipped, source = 0, "missing", 0, None
            rows.append({"task": task, "split": split, "label": split_label(split), "rows": here,
                         "official rows": official,
                         "% of official": round(100 * here / official, 1) if official else None,
                         "status": status, "skipped rows": skipped,
                         "file": "/".join(Path(source).parts[-2:]) if source and "/" in source else source})
    table = pd.DataFrame(rows)
    table["official rows"] = table["official rows"].astype("Int64")
    return table


def labelled(dsd: DatasetDict, splits: Iterable[str]) -> list[str]:
    """The splits of `dsd` among `splits` that carry labels (test splits do not)."""
    return [s for s in splits if s in dsd and not s.startswith("test") and len(dsd[s])]


def label_balance(glue: dict[str, DatasetDict],
                  splits: Iterable[str] = ("train", "validation", "validation_matched", "validation_proxy")
                  ) -> pd.DataFrame:
    """Long table: task, split, split label, class (STS-B: a score bin), count, fraction of the split."""
    rows = []
    for task, dsd in glue.items():
        t = get_task(task)
        for split in labelled(dsd, splits):
            labels = np.asarray(dsd[split]["label"])
            if t.is_regression:  # scores in [0, 5]: bins [0, 1), [1, 2), …, [4, 5], a 5 in the last
                values = np.bincount(np.clip(np.floor(labels), 0, 4).astype(int), minlength=5)
                names = [f"score {k}–{k + 1}" for k in range(5)]
            else:
                values = np.bincount(labels, minlength=t.num_labels)
                names = list(t.label_names)
            for name, count in zip(names, values):
                rows.append({"task": task, "split": split, "split label": split_label(split), "class": name,
                             "count": int(count), "fraction": count / len(labels)})
    return pd.DataFrame(rows)


def token_lengths(glue: dict[str, DatasetDict], tokenizer: PreTrainedTokenizerBase, size: int | None = 2000,
                  seed: int = 0, splits: Iterable[str] = ("train", "test")) -> pd.DataFrame:
    """Long table: task, split, tokens (the untruncated length of [CLS] a [SEP] (b [SEP])) of up to `size`
    examples drawn with `seed` from each task's first split among `splits` (train; AX: test)."""
    splits, rows = tuple(splits), []
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # no "longer than the maximum sequence length" warning: we only count
    try:
        for task, dsd in glue.items():
            split = next(s for s in splits if s in dsd)
            ds = sample(dsd[split], size, seed)
            fields = [ds[f][:] for f in get_task(task).text_fields]
            lengths = [len(ids) for ids in tokenizer(*fields, truncation=False)["input_ids"]]
            rows += [{"task": task, "split": split, "tokens": n} for n in lengths]
    finally:
        hf_logging.set_verbosity(verbosity)
    return pd.DataFrame(rows)


def length_summary(lengths: pd.DataFrame, max_length: int) -> pd.DataFrame:
    """Per task: examples measured, median, 95th percentile and longest token count, and the % of
    examples longer than `max_length` (truncated longest-first by features.encode)."""
    grouped = lengths.groupby("task", sort=False)
    return pd.DataFrame({
        "split": grouped.split.first(),
        "examples": grouped.tokens.size(),
        "median": grouped.tokens.median(),
        "95th percentile": grouped.tokens.quantile(0.95),
        "max": grouped.tokens.max(),
        f"% over {max_length}": grouped.tokens.apply(lambda n: round(100 * float(np.mean(n > max_length)), 1)),
    })


def example_pairs(glue: dict[str, DatasetDict], n: int = 2, seed: int = 0,
                  splits: Iterable[str] = ("train", "test")) -> pd.DataFrame:
    """`n` examples per task drawn with `seed` from its first split among `splits`: their text(s) and label."""
    splits, rows = tuple(splits), []
    for task, dsd in glue.items():
        t = get_task(task)
        split = next(s for s in splits if s in dsd)
        for ex in sample(dsd[split], n, seed):
            if t.is_regression:
                label = f"{ex['label']:.2f}" if ex["label"] >= 0 else "(unlabeled)"
            else:
                label = t.label_names[ex["label"]] if ex["label"] >= 0 else "(unlabeled)"
            texts = [ex[f] for f in t.text_fields]
            rows.append({"task": task, "split": split, "idx": ex["idx"], "label": label,
                         "text a": texts[0], "text b": texts[1] if len(texts) > 1 else ""})
    return pd.DataFrame(rows)
