"""Shared fixtures: the GLUE directory the tests read (GLUE_DIR, else ../shared/glue beside the repo), the
notebooks' shared folders, and the tiny profile reproduced once per session.

A relative GLUE_DIR is made absolute once, at the start of the session, against the directory pytest was
started in (the one it was given in): notebooks run by papermill, and the kernels and subprocesses the tests
start, work in other folders, where the relative path would point somewhere else.

The tests run in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml): each worker process
takes whole work units, a test alone or every test of one `xdist_group`. A group keeps together tests that
share what a module- or session-scoped fixture made (the notebooks' shared runs and the browser test that
opens them; a file's trained runs); the longest groups are handed out first (`pytest_collection_modifyitems`).
`-n 0` runs everything in one process, in the same order.
"""

import os
import warnings
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]

LONGEST_FIRST = ("notebooks", "device_runner")
"""The groups with the most work, handed out before everything else, so that no worker ends the run alone
with one of them."""

TINY_REPRODUCTION_TASKS = ("CoLA", "RTE", "QNLI")
"""The tasks of `tiny_reproduction`: a pair of teacher tasks (MT-DNN-KD distils RTE and QNLI) and a
single-sentence task, so every stage and every table has something to show."""


def pytest_configure(config):
    """Make a relative GLUE_DIR absolute, against the directory pytest was started in; one torch thread per
    xdist worker (and for the kernels and processes it starts), so that the workers do not fight for the cores."""
    if os.environ.get("GLUE_DIR"):
        os.environ["GLUE_DIR"] = str(Path(config.invocation_params.dir, os.environ["GLUE_DIR"]).resolve())
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


def group(item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    return marker.args[0] if marker else None


@pytest.hookimpl(trylast=True)  # after pytest-xdist's, which appends each test's group to its node id
def pytest_collection_modifyitems(config, items):
    """The longest groups first; the browser test last of its group: it opens the notebooks that
    tests/test_notebooks.py executed, and their runs. A warning if pytest-xdist did not group the tests (they
    still pass, each worker making what it needs, but take longer)."""
    def key(item):
        first = LONGEST_FIRST.index(group(item)) if group(item) in LONGEST_FIRST else len(LONGEST_FIRST)
        return first, item.path.name == "test_browser.py"

    items.sort(key=key)
    if getattr(config.option, "loadgroup", False) and any(group(i) and "@" not in i.nodeid for i in items):
        warnings.warn(pytest.PytestWarning(
            "--dist loadgroup did not group the xdist_group tests (pytest-xdist 3.8 with pytest 9.2 does not): "
            "install the versions of pyproject.toml's dev extra (pip install -e '.[dev]')"))


@pytest.fixture(scope="session")
def shared_run_dirs(tmp_path_factory) -> dict[str, str]:
    """One runs_dir and results_dir for every notebook of the session: a later notebook reuses the runs an
    earlier one trained (each still trains what it needs when run alone)."""
    root = tmp_path_factory.mktemp("notebook_runs")
    return {"runs_dir": str(root / "runs"), "results_dir": str(root / "results")}


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory) -> Path:
    """Where the notebook tests keep the executed copies of the notebooks, for the browser test to open."""
    return tmp_path_factory.mktemp("executed_notebooks")


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    path = Path(os.environ.get("GLUE_DIR", REPO.parent / "shared" / "glue")).resolve()
    if not (path / "CoLA").is_dir():
        pytest.fail(f"GLUE directory {path} not found: set GLUE_DIR to a GLUE copy in the TSV layout")
    return path


def shared_reproduction(tmp_path_factory, glue_dir, name: str, profile, seeds: int) -> dict:
    """`reproduce` of `profile` once for all xdist workers: the first to ask makes it under a file lock, in the
    session's shared temporary folder (``<name>/``); the others wait for it, so the tests that read it share
    xdist_group(name). {"runs": the runs root, "results": the results root (tables in <results>/tiny/), "profile"}."""
    from mtdnn_lite.reporting.reproduce import reproduce

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    made = {"runs": root / "runs", "results": root / "results", "profile": profile}
    with FileLock(f"{root}.lock"):
        if not (root / "done").is_file():  # one interrupted in another worker resumes here
            reproduce(profile, glue_dir, made["runs"], made["results"], seeds=seeds)
            (root / "done").touch()
    return made


@pytest.fixture(scope="session")
def tiny_reproduction(tmp_path_factory, glue_dir) -> dict:
    """The tiny profile reproduced once per test session (`shared_reproduction`), as `python -m mtdnn_lite
    reproduce --profile tiny --tasks CoLA RTE QNLI --seeds 2 --set max_train=32 --set max_eval=24`. Read it only: a
    test that changes runs or results works on a copy (shutil.copytree into its tmp_path)."""
    from mtdnn_lite.experiments.profiles import get_profile

    profile = get_profile("tiny", tasks=TINY_REPRODUCTION_TASKS, max_train=32, max_eval=24)
    return shared_reproduction(tmp_path_factory, glue_dir, "tiny_reproduction", profile, seeds=2)


@pytest.fixture(scope="session")
def tiny_export_reproduction(tmp_path_factory, glue_dir) -> dict:
    """The tiny profile on MNLI (teachers, a dev-proxy, 3 classes), RTE (teachers, dev) and STS-B (the regression),
    one seed, reproduced once per session for the export tests (`shared_reproduction`)."""
    from mtdnn_lite.experiments.profiles import get_profile

    profile = get_profile("tiny", tasks=("MNLI", "RTE", "STS-B"))
    return shared_reproduction(tmp_path_factory, glue_dir, "tiny_export_reproduction", profile, seeds=1)
