"""Reading GLUE TSV files in the original `download_glue_data.py` layout.

A GLUE directory holds `<TASK>/train.tsv`, `dev.tsv`, `test.tsv` (MNLI: `dev_matched.tsv`,
`dev_mismatched.tsv`, `test_matched.tsv`, `test_mismatched.tsv`) and the diagnostic set AX at
`diagnostic/diagnostic.tsv`. `read_split` turns one such file into the columns of the hub's
`nyu-mll/glue` (texts under the hub's names, `label`, `idx`), so both sources give the same schema.

Files are UTF-8 and every line is split on tabs only: quotes are literal characters, as in GLUE.
Columns are found by header name; CoLA's train and dev files have no header. A row with the wrong
number of fields is skipped with a warning naming file and line, and reported in `skipped`; more than
`MAX_BAD_FRACTION` of such rows means a corrupted file and raises instead.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtdnn_lite.glue.tasks import AX, Task

MAX_BAD_FRACTION = 0.01
"""More malformed rows than this fraction of a file's rows is an error, not a warning."""

LAYOUT_HELP = ("GLUE TSV layout of download_glue_data.py: <TASK>/train.tsv, dev.tsv, test.tsv; "
               "MNLI/dev_matched.tsv, dev_mismatched.tsv, test_matched.tsv, test_mismatched.tsv; "
               "diagnostic/diagnostic.tsv")

COLA_COLUMNS = ("source", "label", "original_label", "sentence")
"""Names given to the four columns of CoLA's headerless train.tsv and dev.tsv."""

_PLAIN_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
SPLIT_FILES: dict[str, dict[str, str]] = {
    "MNLI": {"train": "train.tsv", "validation_matched": "dev_matched.tsv",
             "validation_mismatched": "dev_mismatched.tsv", "test_matched": "test_matched.tsv",
             "test_mismatched": "test_mismatched.tsv"},
    "AX": {"test": "diagnostic.tsv"},
}
"""Hub split name -> file name, for the tasks whose files are not train/dev/test.tsv."""


def _label_index(task: Task, value: str) -> int:
    """An integer label already in the hub's order (CoLA, SST-2, MRPC, QQP, WNLI)."""
    if value not in {str(i) for i in range(task.num_labels)}:
        raise ValueError("expected one of " + ", ".join(str(i) for i in range(task.num_labels)))
    return int(value)


def _label_name(task: Task, value: str) -> int:
    """A label written as its name (MNLI, QNLI, RTE), mapped to its index in `task.label_names`."""
    if value not in task.label_names:
        raise ValueError("expected one of " + ", ".join(task.label_names))
    return task.label_names.index(value)


def _label_score(task: Task, value: str) -> float:
    """An STS-B similarity score, a number in [0, 5]."""
    try:
        score = float(value)
    except ValueError:
        score = float("nan")
    if not 0.0 <= score <= 5.0:
        raise ValueError("expected a number in [0, 5]")
    return score


@dataclass(frozen=True)
class Layout:
    """Where one task's TSV files keep the texts and the label."""

    texts: tuple[str, ...]  # TSV columns of the task's `text_fields`, in the same order
    label: str | None  # TSV column of the label; None for AX, which has none
    parse_label: Callable[[Task, str], int | float] | None


LAYOUTS: dict[str, Layout] = {
    "CoLA": Layout(("sentence",), "label", _label_index),
    "SST-2": Layout(("sentence",), "label", _label_index),
    "MRPC": Layout(("#1 String", "#2 String"), "Quality", _label_index),
    "STS-B": Layout(("sentence1", "sentence2"), "score", _label_score),
    "QQP": Layout(("question1", "question2"), "is_duplicate", _label_index),
    "MNLI": Layout(("sentence1", "sentence2"), "gold_label", _label_name),
    "QNLI": Layout(("question", "sentence"), "label", _label_name),
    "RTE": Layout(("sentence1", "sentence2"), "label", _label_name),
    "WNLI": Layout(("sentence1", "sentence2"), "label", _label_index),
    "AX": Layout(("sentence1", "sentence2"), None, None),
}

ID_COLUMNS = ("index", "id")
"""A file's own row id, where it has one; otherwise `idx` is the 0-based data row number."""


def task_dir(glue_dir: str | Path, task: Task) -> Path:
    """The task's folder in a GLUE directory (AX: `diagnostic`); FileNotFoundError if absent."""
    path = Path(glue_dir) / ("diagnostic" if task is AX else task.name)
    if not path.is_dir():
        raise FileNotFoundError(f"no {task.name} folder: expected {path} ({LAYOUT_HELP})")
    return path


def split_files(task: Task) -> dict[str, str]:
    """Hub split name -> TSV file name within the task's folder."""
    return SPLIT_FILES.get(task.name, _PLAIN_FILES)


@dataclass(frozen=True)
class TsvTable:
    """The rows of one TSV file, split on tabs."""

    path: Path
    header: tuple[str, ...]
    first_line: int  # 1-based line number of rows[0]
    rows: list[list[str]]  # the rows with exactly len(header) fields
    row_numbers: list[int]  # 0-based data row number of each kept row (counting skipped rows)
    skipped: list[dict]  # {"file", "line", "reason"} for each row with the wrong number of fields


def read_tsv(path: Path, header: tuple[str, ...] | None = None) -> TsvTable:
    """Read a tab-separated file; its first line is the header unless `header` is given."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # utf-8-sig: drop MRPC's leading BOM
            lines = f.read().split("\n")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 ({e})") from None
    if lines[-1] == "":  # the newline ending the last line
        lines.pop()
    first_line = 1
    if header is None:
        if not lines:
            raise ValueError(f"{path}: empty file, expected a header line")
        header, lines, first_line = tuple(lines[0].split("\t")), lines[1:], 2
    rows, row_numbers, skipped = [], [], []
    for n, line in enumerate(lines):
        fields = line.split("\t")
        if len(fields) == len(header):
            rows.append(fields)
            row_numbers.append(n)
        else:
            skipped.append({"file": str(path), "line": n + first_line,
                            "reason": f"{len(fields)} tab-separated fields, expected {len(header)}"})
    if len(skipped) > MAX_BAD_FRACTION * len(lines):
        where = ", ".join(str(s["line"]) for s in skipped[:10])
        raise ValueError(f"{path}: {len(skipped)} of {len(lines)} rows have the wrong number of fields "
                         f"(expected {len(header)}; lines {where}{', ...' if len(skipped) > 10 else ''}); "
                         "the file looks corrupted or truncated")
    for s in skipped:
        warnings.warn(f"{path} line {s['line']}: skipped a malformed row ({s['reason']})", stacklevel=2)
    return TsvTable(path, header, first_line, rows, row_numbers, skipped)


@dataclass(frozen=True)
class SplitRows:
    """One GLUE split read from its TSV file, in the hub's columns."""

    path: Path
    columns: dict[str, list]  # the task's text_fields, "label", "idx" -> values
    skipped: list[dict]  # malformed rows left out: {"file", "line", "reason"}


def read_split(glue_dir: str | Path, task: Task, split: str) -> SplitRows:
    """Read split `split` (a hub split name) of `task` from a GLUE directory.

    Test splits (and AX) carry no labels: their label is -1 (-1.0 for STS-B).
    """
    files = split_files(task)
    if split not in files:
        raise ValueError(f"{task.name} has no split {split!r}; expected one of {', '.join(files)}")
    path = task_dir(glue_dir, task) / files[split]
    if not path.is_file():
        raise FileNotFoundError(f"expected {path} ({LAYOUT_HELP})")
    headerless = task.name == "CoLA" and split != "test"
    table = read_tsv(path, COLA_COLUMNS if headerless else None)
    layout = LAYOUTS[task.name]
    labeled = layout.label is not None and not split.startswith("test")
    needed = (*layout.texts, layout.label) if labeled else layout.texts
    missing = [c for c in needed if c not in table.header]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(map(repr, missing))} for {task.name} {split}; "
                         f"header found: {', '.join(map(repr, table.header))}")
    at = {c: table.header.index(c) for c in table.header}
    id_column = next((c for c in ID_COLUMNS if c in at), None)
    unlabeled = -1.0 if task.is_regression else -1

    columns: dict[str, list] = {name: [] for name in (*task.text_fields, "label", "idx")}
    for row, n in zip(table.rows, table.row_numbers):
        line = n + table.first_line
        for name, column in zip(task.text_fields, layout.texts):
            columns[name].append(row[at[column]])
        columns["label"].append(_field(row, at, layout.label, line, path,
                                       lambda v: layout.parse_label(task, v)) if labeled else unlabeled)
        columns["idx"].append(_field(row, at, id_column, line, path, _integer) if id_column else n)
    return SplitRows(path, columns, table.skipped)


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("expected an integer") from None


def _field(row: list[str], at: dict[str, int], column: str, line: int, path: Path,
           parse: Callable[[str], int | float]) -> int | float:
    """`parse` applied to one field; its ValueError is re-raised naming file, line and field."""
    value = row[at[column]]
    try:
        return parse(value)
    except ValueError as e:
        raise ValueError(f"{path} line {line}, field {column!r}: bad value {value!r}; {e}") from None
