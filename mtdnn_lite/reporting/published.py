"""The papers' published numbers, read from the packaged copy of the project's checked list (paper_numbers.md).

No number is typed into code: every value below is parsed from ``mtdnn_lite/paper_numbers.md``, a verbatim copy
of the project's list of published results, each checked there (a table's GLUE score equals the mean of its nine
task scores). Every row carries its source (model, paper and table) and split ("test server" or "dev"), so a
notebook or the README can show it beside the kit's own numbers without losing where it came from.

- `glue_test_table()`: the GLUE test-server table (BERT-large, MT-DNN, MT-DNN-ensemble) plus MT-DNN-KD's single
  published score (83.7; its per-task cells are not in the checked list, so they stay empty);
- `small_encoder_dev_table()`: small encoders (BERT-base, MiniLM-L6-H384, DistilBERT) on the GLUE dev sets;
- `published_scores()`: both as one long table (model, task, metric, value, source, split), values ×100;
- `published_task_metrics(model)`: {task: {metric: value}} of one model, ready for `metrics.glue_score`.

Cells are kept as published ("89.3/85.4", "87.3 (acc)"); "–" means not published (or not checked) and is never
filled in. A bare MRPC/QQP/STS-B cell in the dev table does not say which metric it is: its metric is "unstated".
"""

import re
from functools import cache
from importlib.resources import files

import pandas as pd

from ..glue.tasks import get_task

SOURCE_FILE = "paper_numbers.md"

MISSING = "–"

_METRIC_ABBREVIATIONS = {"F1": "f1", "Acc": "accuracy", "acc": "accuracy", "P": "pearson", "S": "spearman",
                         "m": "accuracy_m", "mm": "accuracy_mm", "MCC": "mcc"}
_META_COLUMNS = ("model", "params", "source", "GLUE")
_KD_LINE = re.compile(r"^(MT-DNN-KD) \(([^)]*)\): single model \*\*([\d.]+)\*\* on the GLUE test server")


def paper_numbers_text() -> str:
    """The packaged copy of the published-numbers list (Markdown)."""
    return files("mtdnn_lite").joinpath(SOURCE_FILE).read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, list[str]]:
    """Heading of each "## " section → its lines."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def _section(text: str, words: str) -> tuple[str, list[str]]:
    for heading, lines in _sections(text).items():
        if words in heading:
            return heading, lines
    raise ValueError(f"{SOURCE_FILE}: no section whose heading contains {words!r}")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _markdown_table(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the first Markdown table in `lines`."""
    table = [line for line in lines if line.lstrip().startswith("|")]
    if len(table) < 3:
        raise ValueError(f"{SOURCE_FILE}: expected a Markdown table (header, separator, rows)")
    header = _cells(table[0])
    rows = [_cells(line) for line in table[2:]]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"{SOURCE_FILE}: row {row[0]!r} has {len(row)} cells, the header {len(header)}")
    return header, rows


def column_metrics(column: str) -> tuple[str, tuple[str, ...] | None]:
    """The task and metrics a column heading names: "MRPC F1/Acc" → ("MRPC", ("f1", "accuracy")),
    "MNLI-m" → ("MNLI", ("accuracy_m",)), "CoLA" → ("CoLA", ("mcc",)); a bare heading of a two-metric task
    ("MRPC") → (task, None): the metric is not stated by the heading."""
    name, _, suffix = column.partition(" ")
    if name.endswith(("-m", "-mm")):
        name, _, split = name.rpartition("-")
        suffix = split
    task = get_task(name)
    if suffix:
        return task.name, tuple(_METRIC_ABBREVIATIONS[part] for part in suffix.split("/"))
    return task.name, task.metrics if len(task.metrics) == 1 else None


_CITED_BY = re.compile(r" of the seed document, rank \d+")
"""How the list notes which planning document cites a row, and its rank there: the list's own bookkeeping, not a
source a reader can follow, so it is left out of the source shown."""


def _model_and_source(cell: str) -> tuple[str, str]:
    """"MT-DNN (Liu et al. 2019, ACL version, Table 2)" → ("MT-DNN", "Liu et al. 2019, ACL version, Table 2");
    "MT-DNN-ensemble (GLUE leaderboard entry of the seed document, rank 20)" → ("MT-DNN-ensemble", "GLUE
    leaderboard entry")."""
    match = re.fullmatch(r"(.*?) \((.*)\)", cell)
    return (match[1], _CITED_BY.sub("", match[2])) if match else (cell, "")


@cache
def _glue_test_rows() -> tuple[str, list[str], list[list[str]], tuple[str, str, str]]:
    heading, lines = _section(paper_numbers_text(), "test server")
    header, rows = _markdown_table(lines)
    kd = next((m for m in map(_KD_LINE.match, lines) if m), None)
    if kd is None:
        raise ValueError(f"{SOURCE_FILE}: no line giving MT-DNN-KD's single-model GLUE test score")
    return heading, header, rows, (kd[1], kd[2], kd[3])


def glue_test_table() -> pd.DataFrame:
    """The GLUE test-server table as published, one row per model.

    Columns: model, the task columns as headed in the list ("MRPC F1/Acc", "MNLI m/mm", …, AX) holding the
    published cells as text, GLUE (float), source (paper and table), split ("test server"). MT-DNN-KD has only
    its GLUE score; its task cells are "–".
    """
    _, header, rows, (kd_model, kd_source, kd_glue) = _glue_test_rows()
    records = []
    for row in rows:
        record = dict(zip(header, row))
        model, source = _model_and_source(record.pop("model"))
        records.append({"model": model, **record, "GLUE": float(record["GLUE"]), "source": source})
    task_columns = [c for c in header if c not in _META_COLUMNS]
    records.append({"model": kd_model, **{c: MISSING for c in task_columns}, "GLUE": float(kd_glue),
                    "source": kd_source})
    table = pd.DataFrame(records, columns=["model", *task_columns, "GLUE", "source"])
    table["split"] = "test server"
    return table


def small_encoder_dev_table() -> pd.DataFrame:
    """Small encoders on the GLUE dev sets as published, one row per model.

    Columns: model, params, the task columns as headed ("MNLI-m", "SST-2", …) holding the published cells as
    text ("87.3 (acc)", "–"), source (paper and table; a "same" in the list is resolved), split ("dev").
    """
    _, lines = _section(paper_numbers_text(), "dev sets")
    header, rows = _markdown_table(lines)
    records, previous = [], None
    for row in rows:
        record = dict(zip(header, row))
        if record["source"] == "same":
            if previous is None:
                raise ValueError(f"{SOURCE_FILE}: the first row's source cannot be 'same'")
            record["source"] = previous
        previous = record["source"]
        records.append(record)
    table = pd.DataFrame(records, columns=header)
    table["split"] = "dev"
    return table


def _parse_cell(cell: str, metrics: tuple[str, ...] | None) -> list[tuple[str, float]]:
    """A published cell → [(metric, value)]: "89.3/85.4" with (f1, accuracy) → [("f1", 89.3), ("accuracy", 85.4)];
    "87.3 (acc)" → [("accuracy", 87.3)]; "87.5" with no stated metric → [("unstated", 87.5)]; "–" → []."""
    if cell == MISSING:
        return []
    match = re.fullmatch(r"([\d./]+)(?: \((\w+)\))?", cell)
    if not match:
        raise ValueError(f"{SOURCE_FILE}: cannot read the cell {cell!r}")
    values = [float(v) for v in match[1].split("/")]
    if match[2]:
        metrics = (_METRIC_ABBREVIATIONS[match[2]],)
    if metrics is None:
        metrics = ("unstated",)
    if len(metrics) != len(values):
        raise ValueError(f"{SOURCE_FILE}: the cell {cell!r} has {len(values)} values for metrics {metrics}")
    return list(zip(metrics, values))


def published_scores() -> pd.DataFrame:
    """Every published number as one long table.

    Columns: table ("glue_test" or "small_encoder_dev"), model, params, task (GLUE name, "GLUE" for the
    score), metric ("f1", "accuracy", "accuracy_m", "pearson", "mcc", …, "unstated", "glue"), value (×100),
    source, split.
    """
    records = []
    for name, table in (("glue_test", glue_test_table()), ("small_encoder_dev", small_encoder_dev_table())):
        for row in table.to_dict("records"):
            meta = {"table": name, "model": row["model"], "params": row.get("params"), "source": row["source"],
                    "split": row["split"]}
            for column, cell in row.items():
                if column in (*_META_COLUMNS, "split"):
                    continue
                task, metrics = column_metrics(column)
                for metric, value in _parse_cell(cell, metrics):
                    records.append({**meta, "task": task, "metric": metric, "value": value})
            if "GLUE" in row:
                records.append({**meta, "task": "GLUE", "metric": "glue", "value": row["GLUE"]})
    return pd.DataFrame(records, columns=["table", "model", "params", "task", "metric", "value", "source",
                                          "split"])


def published_task_metrics(model: str, table: str = "glue_test") -> dict[str, dict[str, float]]:
    """{task: {metric: value}} of `model` in `table` (the GLUE score and unstated metrics left out),
    e.g. published_task_metrics("MT-DNN")["MNLI"] == {"accuracy_m": 86.7, "accuracy_mm": 86.0}."""
    scores = published_scores()
    rows = scores[(scores.table == table) & (scores.model == model)]
    if rows.empty:
        known = ", ".join(scores[scores.table == table].model.unique())
        raise KeyError(f"no published {table} numbers for {model!r}; known: {known}")
    result: dict[str, dict[str, float]] = {}
    for row in rows.itertuples():
        if row.task != "GLUE" and row.metric != "unstated":
            result.setdefault(row.task, {})[row.metric] = row.value
    return result


def published_markdown() -> str:
    """Both published tables as Markdown, each row with its source and split (for a README or a notebook)."""
    from .results import markdown_table

    return ("GLUE test server (scores ×100):\n\n" + markdown_table(glue_test_table()) + "\n\n"
            "Small encoders, GLUE dev sets (scores ×100):\n\n" + markdown_table(small_encoder_dev_table()) + "\n")
