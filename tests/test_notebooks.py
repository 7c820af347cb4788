"""Every notebooks/*.ipynb runs under papermill on the tiny profile, and is committed in a clean form.

Committed-notebook policy: notebooks are committed with their outputs STRIPPED: no outputs, execution_count
null, no execution or papermill metadata (a cell keeps only its tags), so that a diff shows only what a person
wrote; the figures they make are committed under figures/ instead. The first code cell is tagged `parameters`
(papermill) and sets at least profile, glue_dir and figures_dir; a notebook that trains or reads runs also sets
runs_dir, results_dir and tasks, and the tests give every notebook one shared runs_dir and results_dir and pass
tasks=TRAINING_TASKS to notebooks 03 on (only the parameters a notebook declares are passed). To strip notebooks
before committing:

    .venv/bin/python tests/test_notebooks.py                 # every notebooks/*.ipynb
    .venv/bin/python tests/test_notebooks.py notebooks/02_architecture.ipynb

(`jupyter nbconvert --clear-output --inplace` clears outputs and counts but keeps the execution timings and
papermill metadata that Jupyter and papermill record, so the test below would still fail.)

Kernel: papermill starts the kernel "python3". The tests make it resolve to the Python that runs pytest (the
venv's): `_this_python_kernel` puts this environment's Jupyter data folder first on JUPYTER_PATH, so a
"python3" kernelspec elsewhere (e.g. ~/.local/share/jupyter/kernels, from `ipykernel install --user`) cannot
shadow it, and checks that the kernelspec found starts `python` (which jupyter_client replaces with
sys.executable) or sys.executable itself.
"""

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.kernelspec import KernelSpecManager

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "python3"
STRIP = ".venv/bin/python tests/test_notebooks.py"

EXPECTED_FIGURES: dict[str, list[str]] = {
    "01_glue_tasks": ["01_split_sizes.png", "01_label_balance.png", "01_lengths.png"],
    "02_architecture": ["02_parameters.png", "02_san_steps.png"],
    "03_multitask_training": ["03_task_sequence.png", "03_sampling_shares.png", "03_padding.png",
                              "03_train_loss.png", "03_dev_scores.png", "03_st_vs_mtl.png"],
    "06_glue_results": ["06_scores_by_task.png", "06_heatmap.png", "06_intervals.png"],
    "04_teacher_ensembles": ["04_teachers_vs_ensemble.png", "04_soft_target_entropy.png",
                             "04_teacher_disagreement.png"],
    "05_distillation": ["05_kd_loss.png", "05_student_vs_mtdnn.png", "05_inference_cost.png"],
    "07_compare_mtdnn_vs_kd": ["07_scores.png"],
    "08_recipe_at_small_scale": ["08_spike.png", "08_ablation.png"],
}
"""What each notebook promises to write into figures_dir. A new notebook adds its entry (an empty list if it
draws nothing)."""

REQUIRED_PARAMETERS = {"profile", "glue_dir", "figures_dir"}

TRAINING_TASKS = ["CoLA", "RTE", "QNLI"]
"""The tasks notebooks 03 onwards train on in the tests: a pair of teacher tasks (MT-DNN-KD distils RTE and QNLI)
and a single-sentence task, so every stage runs, in seconds, on the tiny profile."""


def stripped(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` as it is committed: no outputs, no execution counts, no papermill-injected cell, cells
    keeping only their tags, the notebook keeping only its kernelspec and language name."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if "injected-parameters" not in cell.metadata.get("tags", [])]
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode({"tags": cell.metadata.tags} if cell.metadata.get("tags") else {})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    language = nb.metadata.get("language_info", {}).get("name", "python")
    nb.metadata = nbformat.NotebookNode({"kernelspec": nb.metadata.get("kernelspec", {}),
                                         "language_info": {"name": language}})
    return nb


def strip(paths) -> None:
    """Rewrite each notebook in `paths` as `stripped` makes it."""
    for path in paths:
        nbformat.write(stripped(nbformat.read(path, as_version=4)), path)
        print(f"stripped {path}")


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_stripped_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb == stripped(nb), f"{path.name} has outputs, execution counts or run metadata; strip it: {STRIP}"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), \
        f"{path.name}: the first code cell must be tagged 'parameters' (papermill)"
    declared = set(papermill.inspect_notebook(str(path)))
    assert REQUIRED_PARAMETERS <= declared, \
        f"{path.name}: the parameters cell must set {sorted(REQUIRED_PARAMETERS - declared)}"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL, f"{path.name}: expected kernel {KERNEL!r}"
    assert path.stem in EXPECTED_FIGURES, \
        f"{path.name}: add the figures it writes to EXPECTED_FIGURES in {Path(__file__).name}"


@pytest.fixture
def _this_python_kernel(monkeypatch):
    """Make papermill's "python3" kernel run this interpreter (see the module docstring)."""
    env_data = str(Path(sys.prefix) / "share" / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [env_data, os.environ.get("JUPYTER_PATH")])))
    argv = KernelSpecManager().get_kernel_spec(KERNEL).argv
    assert argv[0] in ("python", "python3", sys.executable), \
        f"kernel {KERNEL!r} starts {argv[0]!r}, not this Python ({sys.executable}); run " \
        f"`{sys.executable} -m ipykernel install --sys-prefix` to give this environment its own kernelspec"


def notebook_parameters(path: Path, glue_dir, figures: Path, run_dirs: dict[str, str]) -> dict:
    """The tiny-profile parameters for `path`, only those its parameters cell declares: profile, glue_dir,
    figures_dir, the shared runs_dir/results_dir, and tasks=TRAINING_TASKS for the training notebooks (03 on;
    01 and 02 keep their own default tasks)."""
    wanted = {"profile": "tiny", "glue_dir": str(glue_dir), "figures_dir": str(figures), **run_dirs}
    if path.stem[:2].isdigit() and int(path.stem[:2]) >= 3:
        wanted["tasks"] = TRAINING_TASKS
    declared = papermill.inspect_notebook(str(path))
    return {name: value for name, value in wanted.items() if name in declared}


@pytest.mark.xdist_group("notebooks")  # on one worker: the notebooks share their runs; the browser test opens them
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_on_the_tiny_profile(path, glue_dir, tmp_path, shared_run_dirs, executed_notebooks,
                                          _this_python_kernel):
    figures = tmp_path / "figures"
    start = time.perf_counter()
    # papermill raises PapermillExecutionError, naming the cell and the exception, when a cell fails; the executed
    # copy is kept for the session (tests/test_browser.py opens it in JupyterLab)
    papermill.execute_notebook(str(path), str(executed_notebooks / path.name), kernel_name=KERNEL,
                               cwd=str(path.parent),
                               parameters=notebook_parameters(path, glue_dir, figures, shared_run_dirs),
                               progress_bar=False, execution_timeout=600)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s on the tiny profile")
    for name in EXPECTED_FIGURES.get(path.stem, []):
        figure = figures / name
        assert figure.is_file(), f"{path.name} did not write {name} into figures_dir"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 1000, \
            f"{path.name}: {name} is not a non-empty PNG"


def test_notebook_07_asks_before_training_missing_runs(glue_dir, tmp_path, _this_python_kernel):
    """On the quick profile without runs, notebook 07 stops in its first code cell with one line: what is missing,
    about how long it would take, and how to go on; it trains nothing."""
    path = REPO / "notebooks" / "07_compare_mtdnn_vs_kd.ipynb"
    folders = {name: str(tmp_path / name) for name in ("runs_dir", "results_dir", "figures_dir")}
    with pytest.raises(papermill.PapermillExecutionError, match="MissingRuns: missing runs of profile quick") as e:
        papermill.execute_notebook(str(path), str(tmp_path / path.name), kernel_name=KERNEL, cwd=str(path.parent),
                                   parameters={"profile": "quick", "glue_dir": str(glue_dir), **folders},
                                   progress_bar=False, execution_timeout=300)
    assert ", an estimate: " in str(e.value) and "set train_missing = True in the first cell" in str(e.value)
    assert not (tmp_path / "runs_dir").exists()


def test_the_readme_test_command_works_with_a_relative_glue_dir(glue_dir):
    """The README's `export GLUE_DIR=../shared/glue` then pytest, from the repository root: a pytest of its own
    runs one notebook with GLUE_DIR relative (conftest.py makes it absolute before papermill changes folder)."""
    shell = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}  # not this run's worker
    env = {**shell, "GLUE_DIR": os.path.relpath(glue_dir, REPO), "PWD": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                             str(Path(__file__).relative_to(REPO)), "-k", "tiny_profile and 02_architecture"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


if __name__ == "__main__":
    strip(sys.argv[1:] or NOTEBOOKS)
