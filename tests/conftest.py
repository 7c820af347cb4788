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


TINY_REPRODUCTION_TASKS = ("MNLI", "RTE", "STS-B")
"""The tasks of the session's tiny reproduction: a pair task with teachers scored on a dev-proxy (MNLI, 3
classes), one on its dev set (RTE), and the regression (STS-B). All nine would spend minutes in the bootstrap."""


@pytest.fixture(scope="session")
def tiny_reproduction(tmp_path_factory, glue_dir) -> dict:
    """The tiny profile reproduced once per test session: {"runs": Path, "results": Path, "profile": Profile}."""
    import torch

    from mtdnn_lite.experiments.profiles import get_profile
    from mtdnn_lite.reporting.reproduce import reproduce

    root = tmp_path_factory.mktemp("tiny_reproduction")
    profile = get_profile("tiny", tasks=TINY_REPRODUCTION_TASKS)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model gains nothing from threads, and loses much on a busy CPU
    try:
        reproduce(profile, glue_dir, root / "runs", root / "results")
    finally:
        torch.set_num_threads(threads)
    return {"runs": root / "runs", "results": root / "results", "profile": profile}
