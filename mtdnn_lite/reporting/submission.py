"""GLUE test-server submission files: the official names and format, zipped.

The GLUE server (gluebenchmark.com) takes a zip with one TSV per test set at its root:

    CoLA.tsv SST-2.tsv MRPC.tsv STS-B.tsv QQP.tsv MNLI-m.tsv MNLI-mm.tsv QNLI.tsv RTE.tsv WNLI.tsv AX.tsv

each with the header ``index<TAB>prediction`` and one row per test example: ``index`` is the example's id (idx),
``prediction`` the label name for MNLI, AX, QNLI and RTE ("entailment", "neutral", "contradiction",
"not_entailment"), the class 0/1 for CoLA, SST-2, MRPC, QQP and WNLI, and a score in [0, 5] for STS-B (clipped).
AX, the diagnostic set, is predicted with the MNLI model.

`write_submission` predicts every test set present in the data with the model given for its task and writes the
files, a README.md saying what is in the zip and what is not (a task with no test data or no model is named there
and warned about, never silently dropped), and submission.zip. The GLUE server scores a full submission only;
a zip without all eleven files documents the kit's predictions but cannot be scored as it is.
"""

import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import datasets
import numpy as np
import torch

from ..core.encoder import load_tokenizer
from ..core.evaluation import predict
from ..core.model import MTDNN
from ..experiments.profiles import Profile
from ..glue.data import OFFICIAL_ROWS, load_glue, resolve_glue_dir, split_info
from ..glue.features import encode
from ..glue.glue_files import split_files, task_dir
from ..glue.tasks import AX, GLUE_TASKS, get_task
from .models import model_dir

SUBMISSION_FILES: dict[str, tuple[str, str]] = {
    "CoLA": ("CoLA", "test"), "SST-2": ("SST-2", "test"), "MRPC": ("MRPC", "test"), "STS-B": ("STS-B", "test"),
    "QQP": ("QQP", "test"), "MNLI-m": ("MNLI", "test_matched"), "MNLI-mm": ("MNLI", "test_mismatched"),
    "QNLI": ("QNLI", "test"), "RTE": ("RTE", "test"), "WNLI": ("WNLI", "test"), "AX": ("AX", "test"),
}
"""Submission file stem → (task, test split), in the order of GLUE's sample submission."""

LABEL_NAME_TASKS = ("MNLI", "AX", "QNLI", "RTE")
"""Tasks whose predictions are written as label names; the other classification tasks write the class index."""

MODEL_TASK = {"AX": "MNLI"}
"""The task whose model predicts a test-only set (the diagnostic set is read with the MNLI model)."""


def format_predictions(task: str, probabilities: np.ndarray) -> list[str]:
    """The `prediction` column of `task`'s file from the model's outputs (class probabilities, or STS-B scores)."""
    spec = get_task(task)
    if spec.is_regression:
        return [f"{score:.3f}" for score in np.clip(probabilities.reshape(-1), 0.0, 5.0)]
    classes = probabilities.argmax(-1)
    if spec.name in LABEL_NAME_TASKS:
        return [spec.label_names[c] for c in classes]
    return [str(int(c)) for c in classes]


def _test_files_exist(task: str, glue_dir) -> bool | None:
    """Whether `task` has a test file in `glue_dir` (None: no GLUE directory given, the hub decides)."""
    if glue_dir is None:
        return None
    spec = get_task(task)
    try:
        folder = task_dir(glue_dir, spec)
    except FileNotFoundError:
        return False
    return any((folder / name).is_file() for split, name in split_files(spec).items() if split.startswith("test"))


def _test_splits(task: str, glue_dir, profile: Profile) -> dict:
    """The test splits of `task` ({split: Dataset}); {} where the data has none."""
    if _test_files_exist(task, glue_dir) is False:
        return {}
    with warnings.catch_warnings():  # train/dev partial-split warnings do not concern a submission
        warnings.simplefilter("ignore")
        try:
            splits = load_glue(task, glue_dir, dev_proxy_size=profile.dev_proxy_size, seed=profile.data_seed)
        except FileNotFoundError:
            return {}
    return {name: ds for name, ds in splits.items() if name.startswith("test")}


def write_submission(run_dirs: Mapping[str, str | Path], out_dir: str | Path, profile: Profile,
                     glue_dir: str | Path | None = None, batch_size: int = 64) -> dict:
    """Predict every GLUE test set present in the data and write the submission to `out_dir`.

    `run_dirs` maps a task to the run (or model) folder whose model has that task's head, e.g.
    {"CoLA": "runs/quick/refine/CoLA", …} (models.finished_models gives one); AX uses run_dirs["AX"] if given,
    else the MNLI model. Texts are tokenised with the tokenizer of `profile.encoder`, truncated to
    `profile.max_length`, and predicted under the profile's mixed precision, as its dev scores were.

    Writes ``<out_dir>/<file>.tsv`` for each test set predicted, ``README.md`` and ``submission.zip`` (the TSVs at
    its root). Returns {"files": {file: rows}, "missing": {file: reason}, "partial": {file: reason}, "zip": path,
    "readme": path}; every file not written is in "missing", with a warning.
    """
    datasets.disable_progress_bars()  # as taskdata: tokenising takes seconds
    out_dir, glue_dir = Path(out_dir), resolve_glue_dir(glue_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dirs = {get_task(task).name: Path(path) for task, path in run_dirs.items()}
    tokenizer = load_tokenizer(profile.encoder)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    models: dict[Path, MTDNN] = {}
    written: dict[str, int] = {}
    missing: dict[str, str] = {}
    partial: dict[str, str] = {}
    sources: dict[str, str] = {}
    test_data = {task: _test_splits(task, glue_dir, profile) for task in (*GLUE_TASKS, AX.name)}

    for stem, (task, split) in SUBMISSION_FILES.items():
        head = MODEL_TASK.get(task, task)
        dataset = test_data[task].get(split)
        run = run_dirs.get(task, run_dirs.get(head) if task in MODEL_TASK else None)
        if dataset is None:
            missing[stem] = f"no {task} {split} split in the data"
            continue
        if run is None:
            missing[stem] = f"no model given for {head}"
            continue
        path = model_dir(run)
        if path not in models:
            models[path] = MTDNN.load(path).to(device)
        model = models[path]
        if head not in model.tasks:
            raise ValueError(f"{stem}: the model in {path} has no {head} head (its tasks: {', '.join(model.tasks)})")
        encoded = encode(task, dataset, tokenizer, profile.max_length)
        probabilities = predict(model, head, encoded, tokenizer.pad_token_id, batch_size, profile.mixed_precision)
        predictions = format_predictions(task, probabilities)
        lines = ["index\tprediction", *(f"{idx}\t{p}" for idx, p in zip(dataset["idx"], predictions))]
        (out_dir / f"{stem}.tsv").write_text("\n".join(lines) + "\n")
        written[stem], sources[stem] = len(predictions), str(run)
        official = OFFICIAL_ROWS[task][split]
        if len(predictions) < official:
            where = split_info(dataset)["file"] or split_info(dataset)["source"]
            partial[stem] = f"{len(predictions):,} of the official {official:,} test rows ({where})"

    for stem, reason in missing.items():
        warnings.warn(f"GLUE submission: no {stem}.tsv ({reason})", stacklevel=2)
    for stem, reason in partial.items():
        warnings.warn(f"GLUE submission: {stem}.tsv is partial: {reason}", stacklevel=2)

    archive = out_dir / "submission.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for stem in written:
            z.write(out_dir / f"{stem}.tsv", arcname=f"{stem}.tsv")
    readme = out_dir / "README.md"
    readme.write_text(_readme(profile, written, sources, missing, partial))
    return {"files": written, "missing": missing, "partial": partial, "zip": archive, "readme": readme}


def _readme(profile: Profile, written: dict, sources: dict, missing: dict, partial: dict) -> str:
    lines = [f"# GLUE test-server submission: profile `{profile.name}`", "",
             "`submission.zip` holds the files below at its root, in the GLUE server's format (header "
             "`index<TAB>prediction`, one row per test example). Test labels are not public: these files carry "
             "no score until the server scores them.", "",
             "| file | rows | model |", "|---|---|---|"]
    lines += [f"| {stem}.tsv | {rows:,} | `{sources[stem]}` |" for stem, rows in written.items()]
    lines.append("")
    if missing:
        lines += ["Not in the zip (the server scores only a full submission, so this zip cannot be scored as "
                  "it is):", ""]
        lines += [f"- {stem}.tsv: {reason}" for stem, reason in missing.items()]
        lines.append("")
    if partial:
        lines += ["Partial test sets (fewer rows than the official file; the server would reject them):", ""]
        lines += [f"- {stem}.tsv: {reason}" for stem, reason in partial.items()]
        lines.append("")
    return "\n".join(lines)
