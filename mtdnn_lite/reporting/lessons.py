"""Executed lessons: every notebook run on a profile's finished runs, kept beside its source, so that a learner can
read each lesson with its tables and figures without training for an hour.

``notebooks/*.ipynb`` are the sources, committed stripped of outputs so that their diffs stay readable.
`execute_lessons` runs each with papermill (only `profile` and the folders are passed, as paths relative to the
notebook, so the copy shows the same first cell a learner would run) and writes, in ``notebooks/executed/``:

- ``<name>.ipynb``: the notebook with its outputs, which a repository browser renders;
- ``<name>.html``: the same as one self-contained page (nbconvert's lab template, images embedded).

Each copy records in its metadata (``mtdnn_lite``) the sha256 of its source's code and fingerprints of the runs it
read and of the results folder beside them, so that a second call skips a copy that is still current and redoes one
whose source, runs or results changed (`is_current`). The first cell of both the source and the copy ends in a
generated note (`cost_note`) of what the lesson costs: how long the copy took to run with the runs in place, and
what it would train first from an empty runs folder, with the training plan's estimate. Both files are written to a
temporary name and renamed, so an interrupted call leaves no half-written copy.
tests/test_lessons.py keeps every committed copy's code equal to its source's.
"""

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter
from tqdm.auto import tqdm

from ..experiments.pipeline import STAGES
from ..experiments.profiles import Profile
from ..experiments.training_plan import MissingRuns, duration, plan_training
from ..glue.data import resolve_glue_dir

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


def results_fingerprint(profile_results: Path) -> str:
    """sha256 over every file of ``<results>/<profile>`` (its path and contents), its generated README.md aside:
    the tables a copy showed, so that tests/test_lessons.py can tell a copy made from other results."""
    files = sorted(p for p in Path(profile_results).rglob("*") if p.is_file() and p.name != "README.md")
    entries = [[p.relative_to(profile_results).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()] for p in files]
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def is_current(copy: Path, source: Path, record: dict) -> bool:
    """Whether the executed `copy` (and its HTML page) was made from `source`'s current code, on the same runs and
    results (`record`: the fingerprints and profile of this call)."""
    if not (copy.is_file() and copy.with_suffix(".html").is_file()):
        return False
    try:
        stored = nbformat.read(copy, as_version=4).metadata.get("mtdnn_lite", {})
    except (ValueError, json.JSONDecodeError):  # unreadable: redo it
        return False
    wanted = {"source_code_sha256": code_hash(source), **record}
    return {k: stored.get(k) for k in wanted} == wanted


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


LESSON_STAGES = {
    "03_multitask_training": ("st", "mtl", "refine"),
    "04_teacher_ensembles": ("teacher", "soft_targets"),
    "05_distillation": ("refine", "student_refine"),
    "06_glue_results": STAGES,
    "07_compare_mtdnn_vs_kd": ("refine", "student_refine"),
}
"""The stages whose runs each lesson reads (the calls of its cells tagged TRAINS, or of its train_missing cell);
the other lessons read no training runs."""

ABLATION_READER = "08_recipe_at_small_scale"  # reads the ablation's table (results/<profile>/ablation.csv)

NOTE_START, NOTE_END = "<!-- generated: lesson cost -->", "<!-- end generated -->"


def cost_note(name: str, profile: Profile, glue_dir, seconds: float, cpus: int) -> str:
    """What lesson `name` costs on `profile`: `seconds`, how long its executed copy took on a `cpus`-core machine
    (with the reproduction's runs in place where it reads runs), and the runs it trains first from an empty runs
    folder (training_plan's estimate)."""
    ran = f"this notebook ran in {duration(seconds)} on a {cpus}-core CPU"
    stages = LESSON_STAGES.get(name)
    if not stages:
        reads = ("it reads the ablation's table (`results/<profile>/ablation.csv`, written by `python -m mtdnn_lite "
                 "ablate`) and no training runs" if name == ABLATION_READER else "it reads no training runs")
        return (f"**Cost ({profile.name} profile).** {ran[0].upper()}{ran[1:]}; {reads}, so an empty runs folder costs "
                "it nothing more.")
    with tempfile.TemporaryDirectory() as empty:
        plan = plan_training(empty, profile, stages, glue_dir)
    return (f"**Cost ({profile.name} profile).** With the runs of `python -m mtdnn_lite reproduce --profile "
            f"{profile.name}` in place, {ran} and trained nothing. From an empty runs folder it first trains "
            f"{' → '.join(plan.stages())} ({len(plan.runs)} runs; {plan.estimate()}); it reuses every run of these "
            "stages that is already finished.")


def with_note(cell_source: str, note: str) -> str:
    """A Markdown cell's source with its generated note replaced by `note` (appended where it has none)."""
    block = f"{NOTE_START}\n{note}\n{NOTE_END}"
    pattern = re.compile(re.escape(NOTE_START) + ".*?" + re.escape(NOTE_END), re.S)
    return pattern.sub(lambda _: block, cell_source) if pattern.search(cell_source) else f"{cell_source}\n\n{block}"


def note_of(cell_source: str) -> str | None:
    """The generated note of a Markdown cell, None where it has none."""
    found = re.search(re.escape(NOTE_START) + "\n(.*?)\n" + re.escape(NOTE_END), cell_source, re.S)
    return found.group(1) if found else None


def without_paths(nb: nbformat.NotebookNode, names: dict[str, str]) -> None:
    """Each of `names`' paths (this machine's folders) replaced by its name in every text output of `nb`: a copy
    shows "$GLUE_DIR/QQP/train.tsv", not the folders of the machine that executed it."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for holder, key in [(output, "text"), *((output.get("data", {}), k) for k in output.get("data", {}))]:
                if isinstance(holder.get(key), str):
                    for path, name in sorted(names.items(), key=lambda item: -len(item[0])):  # inner first
                        holder[key] = holder[key].replace(path, name)


def execute_lesson(source: Path, out_dir: Path, profile: Profile, folders: dict[str, Path], record: dict,
                   glue_dir=None) -> Path:
    """Run notebook `source` on `profile` with papermill; write its copy and HTML page into `out_dir`, and the
    lesson's `cost_note` into the first cell of the copy and of the source."""
    partial = out_dir / f"{source.stem}.partial.ipynb"
    papermill.execute_notebook(str(source), str(partial), parameters=parameters(source, profile.name, folders),
                               kernel_name=KERNEL, cwd=str(source.parent), progress_bar=False,
                               execution_timeout=3600)
    nb = nbformat.read(partial, as_version=4)
    partial.unlink()
    for key in ("input_path", "output_path"):  # this machine's paths: not part of the lesson
        nb.metadata.get("papermill", {}).pop(key, None)
    glue = resolve_glue_dir(glue_dir)
    without_paths(nb, {**({str(glue): "$GLUE_DIR", str(glue.resolve()): "$GLUE_DIR"} if glue else {}),
                       str(Path(sys.prefix).resolve()) + os.sep: ".venv" + os.sep,
                       str(source.parent.parent.resolve()) + os.sep: ""})
    nb.metadata["mtdnn_lite"] = {"source_code_sha256": code_hash(source), **record, "cpus": os.cpu_count()}
    note = cost_note(source.stem, profile, glue_dir, nb.metadata.papermill.duration, os.cpu_count())
    original = nbformat.read(source, as_version=4)
    for notebook in (nb, original):
        notebook.cells[0].source = with_note(notebook.cells[0].source, note)
    write_atomically(source, nbformat.writes(original) + "\n")
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
    record = {"runs_fingerprint": runs_fingerprint(Path(runs) / profile.name),
              "results_fingerprint": results_fingerprint(Path(results) / profile.name), "profile": profile.name}
    folders = {"runs_dir": Path(runs).resolve(), "results_dir": Path(results).resolve(),
               "figures_dir": Path(figures).resolve()}
    written = []
    bar = tqdm(sources, desc=f"lessons ({profile.name})", unit="notebook")
    for source in bar:
        bar.set_postfix_str(source.stem)
        if force or not is_current(out_dir / source.name, source, record):
            written.append(execute_lesson(source, out_dir, profile, folders, record, glue_dir))
    return written
