"""Shared fixtures: the GLUE directory the tests read (GLUE_DIR, else ../shared/glue beside the repo)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    path = Path(os.environ.get("GLUE_DIR", REPO.parent / "shared" / "glue"))
    if not (path / "CoLA").is_dir():
        pytest.fail(f"GLUE directory {path} not found: set GLUE_DIR to a GLUE copy in the TSV layout")
    return path
