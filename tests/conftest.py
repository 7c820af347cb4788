"""Shared fixtures: the GLUE directory the tests read (GLUE_DIR, else ../shared/glue beside the repo).

A relative GLUE_DIR is made absolute once, at the start of the session, against the directory pytest was
started in (the one it was given in): notebooks run by papermill, and the kernels and subprocesses the tests
start, work in other folders, where the relative path would point somewhere else.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Make a relative GLUE_DIR absolute, against the directory pytest was started in."""
    if os.environ.get("GLUE_DIR"):
        os.environ["GLUE_DIR"] = str(Path(config.invocation_params.dir, os.environ["GLUE_DIR"]).resolve())


def pytest_collection_modifyitems(items):
    """The browser test last: it opens the notebooks that tests/test_notebooks.py executed, and their runs."""
    items.sort(key=lambda item: item.path.name == "test_browser.py")


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


TINY_REPRODUCTION_TASKS = ("CoLA", "STS-B", "MNLI", "QNLI", "RTE")
"""The tasks of the session's tiny reproduction: one without a teacher for each kind of head (CoLA, STS-B), pair
tasks with teachers scored on a dev-proxy (MNLI, 3 classes) and on their dev sets (QNLI's ranking, RTE)."""


@pytest.fixture(scope="session")
def tiny_reproduction(tmp_path_factory, glue_dir) -> dict:
    """`reproduce` once per session on the tiny profile, 2 seeds, 32 training and 24 dev examples per task:
    {"runs": the runs root it was given, "results": the results root (its tables in <results>/tiny/), "profile":
    the Profile it ran}."""
    import torch

    from mtdnn_lite.experiments.profiles import get_profile
    from mtdnn_lite.reporting.reproduce import reproduce

    base = tmp_path_factory.mktemp("tiny_reproduction")
    profile = get_profile("tiny", tasks=TINY_REPRODUCTION_TASKS, max_train=32, max_eval=24)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model gains nothing from threads, and loses much on a busy CPU
    try:
        reproduce(profile, glue_dir, base / "runs", base / "results", seeds=2)
    finally:
        torch.set_num_threads(threads)
    return {"runs": base / "runs", "results": base / "results", "profile": profile}
