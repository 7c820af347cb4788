"""Executed lessons: every notebook run on a profile's finished runs, kept beside its source, so that a learner can
read each lesson with its tables and figures without training for an hour.

``notebooks/*.ipynb`` are the sources, committed stripped of outputs so that their diffs stay readable.
`execute_lessons` runs each with papermill (only `profile` and the folders are passed, as paths relative to the
notebook, so the copy shows the same first cell a learner would run) and writes, in ``notebooks/executed/``:

- ``<name>.ipynb``: the notebook with its outputs, which a repository browser renders;
- ``<name>.html``: the same as one self-contained page (nbconvert's lab template, images embedded).

Each copy records in its metadata (``mtdnn_lite``) the sha256 of its source's code and a fingerprint of the runs
it read, so that a second call skips a copy that is still current and redoes one whose source or runs changed
(`is_current`). Both files are written to a temporary name and renamed, so an interrupted call leaves no
half-written copy. tests/test_lessons.py keeps every committed copy's code equal to its source's.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter
from tqdm.auto import tqdm

from ..experiments.pipeline import STAGES
from ..experiments.profiles import Profile
from ..experiments.training_plan import MissingRuns, plan_training

KERNEL = "python3"
INJECTED = "injected-parameters"  # papermill's tag on the cell it adds with the parameters passed


def code_sources(nb: nbformat.NotebookNode) -> list[str]:
    """The source of every code cell, without the cell papermill injects: what a copy must share with its source."""
    return [cell.source for cell in nb.cells
            if cell.cell_type == "code" and INJECTED not in cell.metadata.get("tags", [])]


def code_hash(path: Path) -> str:
    """sha256 of a notebook's code cells (`code_sources`): its prose may change without making a copy stale."""
    sources = code_sources(nbformat.read(path, as_version=4))
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def runs_fingerprint(profile_runs: Path) -> str:  # an absent folder: no runs, a fingerprint all the same
    """sha256 over every finished run under ``<runs>/<profile>`` (its path and config hash): changes when a run is
    added, removed or retrained with other settings."""
    entries = []
    for done in sorted(Path(profile_runs).glob("**/done.json")):
        entries.append([done.parent.relative_to(profile_runs).as_posix(), json.loads(done.read_text()).get("config_hash")])
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def is_current(copy: Path, source: Path, fingerprint: str, profile: str) -> bool:
    """Whether the executed `copy` (and its HTML page) was made from `source`'s current code, on the same runs."""
    if not (copy.is_file() and copy.with_suffix(".html").is_file()):
        return False
    try:
        record = nbformat.read(copy, as_version=4).metadata.get("mtdnn_lite", {})
    except (ValueError, json.JSONDecodeError):  # unreadable: redo it
        return False
    return record == {"source_code_sha256": code_hash(source), "runs_fingerprint": fingerprint, "profile": profile}


def parameters(source: Path, profile: str, folders: dict[str, Path]) -> dict:
    """The profile, train_missing=False and the folders the notebook declares (runs_dir, results_dir, figures_dir),
    the folders as paths relative to the notebook's folder, where its kernel runs."""
    declared = papermill.inspect_notebook(str(source))
    chosen = {"profile": profile, "train_missing": False} | {
        name: os.path.relpath(path, source.parent) for name, path in folders.items()}
    return {name: value for name, value in chosen.items() if name in declared}


def this_python_kernel() -> None:
    """Make the kernel "python3" the one of this environment: its Jupyter data folder first on JUPYTER_PATH, so that
    a kernelspec elsewhere (e.g. ~/.local/share/jupyter) cannot run the notebooks with another Python."""
    here = str(Path(sys.prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [here, os.environ.get("JUPYTER_PATH")]))


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def execute_lesson(source: Path, out_dir: Path, profile: str, folders: dict[str, Path], fingerprint: str) -> Path:
    """Run notebook `source` on `profile` with papermill; write its copy and HTML page into `out_dir`."""
    partial = out_dir / f"{source.stem}.partial.ipynb"
    papermill.execute_notebook(str(source), str(partial), parameters=parameters(source, profile, folders),
                               kernel_name=KERNEL, cwd=str(source.parent), progress_bar=False,
                               execution_timeout=3600)
    nb = nbformat.read(partial, as_version=4)
    partial.unlink()
    for key in ("input_path", "output_path"):  # this machine's paths: not part of the lesson
        nb.metadata.get("papermill", {}).pop(key, None)
    nb.metadata["mtdnn_lite"] = {"source_code_sha256": code_hash(source), "runs_fingerprint": fingerprint,
                                 "profile": profile}
    copy = out_dir / source.name
    html, _ = HTMLExporter(template_name="lab", embed_images=True).from_notebook_node(nb)
    write_atomically(copy.with_suffix(".html"), html)
    write_atomically(copy, nbformat.writes(nb))
    return copy


TRAINS = "trains-missing-runs"  # the tag of a notebook cell that trains the runs it needs where they are missing


def trains_what_is_missing(source: Path) -> bool:
    """Whether a notebook has a cell tagged TRAINS: it trains the runs it reads where they are missing. The others
    read runs only, or ask first (`execute_lessons` gives them train_missing=False)."""
    return any(TRAINS in cell.metadata.get("tags", []) for cell in nbformat.read(source, as_version=4).cells)


def execute_lessons(profile: Profile, sources: list[Path], out_dir: Path, runs: Path, results: Path, figures: Path,
                    glue_dir=None, force: bool = False) -> list[Path]:
    """Execute every notebook of `sources` on `profile`'s runs under `runs` (see the module docstring); copies that
    are current are kept unless `force`. Returns the copies written.

    Lessons read runs, they do not make them: while any run of the profile is missing (training_plan), a notebook
    that would train it is refused before anything runs, in one line naming it and the command that makes the
    runs. A notebook whose cell fails stops the call with papermill's error naming the cell; the copies made
    before it are kept."""
    training = [s.name for s in sources if trains_what_is_missing(s)]
    plan = plan_training(runs, profile, STAGES, glue_dir) if training else None
    if plan and plan.runs:
        raise MissingRuns(f"{', '.join(training)} would train the missing runs of profile {profile.name} "
                          f"({plan.summary()}): make them first with `python -m mtdnn_lite reproduce --profile "
                          f"{profile.name}`, or leave these notebooks out")
    this_python_kernel()
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = runs_fingerprint(Path(runs) / profile.name)
    folders = {"runs_dir": Path(runs).resolve(), "results_dir": Path(results).resolve(),
               "figures_dir": Path(figures).resolve()}
    written = []
    bar = tqdm(sources, desc=f"lessons ({profile.name})", unit="notebook")
    for source in bar:
        bar.set_postfix_str(source.stem)
        if force or not is_current(out_dir / source.name, source, fingerprint, profile.name):
            written.append(execute_lesson(source, out_dir, profile.name, folders, fingerprint))
    return written
