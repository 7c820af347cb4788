"""Examples of one's own for a GLUE task, in the hub's columns (`nyu-mll/glue`; tasks.Task.text_fields):
``sentence`` (CoLA, SST-2), ``sentence1``/``sentence2`` (MRPC, STS-B, RTE, WNLI), ``question1``/``question2``
(QQP), ``premise``/``hypothesis`` (MNLI), ``question``/``sentence`` (QNLI).

`read_examples` reads them from a TSV file whose header names those columns (other columns are ignored; fields
are split on tabs only, quotes are literal characters, as in GLUE's files), from a JSONL file of objects with
those keys, or from standard input (``-``); the first line tells which (a JSONL line starts with ``{``). Every
example is checked by `check_example`: a missing or empty text, a malformed line, an empty file is an error of
one line naming the source, the line and the field.
"""

import json
import sys
from pathlib import Path

from .tasks import Task, get_task


def check_example(task: Task, example, where: str) -> dict[str, str]:
    """The texts of `example` (a mapping with the task's text fields) as {field: text}; a missing, empty or
    non-text field is a ValueError naming `where` and the field."""
    needs = f"{task.name} needs {' and '.join(task.text_fields)}"
    if not isinstance(example, dict):
        raise ValueError(f"{where}: expected an object with {', '.join(task.text_fields)}; got "
                         f"{type(example).__name__} ({needs})")
    texts = {}
    for field in task.text_fields:
        value = example.get(field)
        if value is None:
            raise ValueError(f"{where}: field {field!r} is missing ({needs})")
        if not isinstance(value, str):
            raise ValueError(f"{where}: field {field!r} is {type(value).__name__}, expected text ({needs})")
        if not value.strip():
            raise ValueError(f"{where}: field {field!r} is empty ({needs})")
        texts[field] = value
    return texts


def read_lines(source: str | Path) -> tuple[str, list[str]]:
    """(the source's name, its lines without line ends) of a file, or of standard input for "-"."""
    if str(source) == "-":
        return "<stdin>", sys.stdin.read().splitlines()
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a TSV or JSONL file of examples, or - for "
                                "standard input)")
    try:
        return str(path), path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 ({e})") from None


def jsonl_examples(name: str, lines: list[str], task: Task) -> list[dict[str, str]]:
    examples = []
    for number, line in enumerate(lines, 1):
        try:
            example = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{name} line {number}: not a JSON object ({e.msg} at column {e.colno})") from None
        examples.append(check_example(task, example, f"{name} line {number}"))
    return examples


def tsv_examples(name: str, lines: list[str], task: Task) -> list[dict[str, str]]:
    header = lines[0].split("\t")
    missing = [field for field in task.text_fields if field not in header]
    if missing:
        raise ValueError(f"{name} line 1 (header): no column {', '.join(map(repr, missing))}; {task.name} needs "
                         f"{', '.join(task.text_fields)} (the hub's nyu-mll/glue names), found {', '.join(header)}")
    examples = []
    for number, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if len(fields) > len(header):
            raise ValueError(f"{name} line {number}: {len(fields)} tab-separated fields, the header has "
                             f"{len(header)}")
        examples.append(check_example(task, dict(zip(header, fields)), f"{name} line {number}"))
    return examples


def read_examples(source: str | Path, task: str) -> list[dict[str, str]]:
    """The examples of `source` (a TSV or JSONL file, or "-" for standard input) for `task`, in order: one
    {text field: text} per example."""
    spec = get_task(task)
    name, lines = read_lines(source)
    if lines and not lines[0].lstrip().startswith("{"):
        examples = tsv_examples(name, lines, spec)
    else:
        examples = jsonl_examples(name, lines, spec)
    if not examples:
        raise ValueError(f"{name}: no examples; expected a TSV header naming {', '.join(spec.text_fields)} and one "
                         "example per line, or one JSON object per line")
    return examples
