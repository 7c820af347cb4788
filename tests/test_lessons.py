"""The executed lessons: every committed copy in notebooks/executed/ has its source's code, its outputs and no error;
and `python -m mtdnn_lite lessons` writes a copy and its HTML page, and keeps a copy that is current."""

import shutil
from pathlib import Path

import nbformat
import pytest

from mtdnn_lite.__main__ import cli
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.reporting.lessons import code_sources, cost_note, execute_lessons, note_of, results_fingerprint

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "notebooks").glob("*.ipynb"))
EXECUTED = REPO / "notebooks" / "executed"


COPIES = sorted(EXECUTED.glob("*.ipynb"))


def test_every_copy_has_a_source_and_every_linked_copy_exists():
    assert COPIES, f"no executed lesson in {EXECUTED}: `python -m mtdnn_lite lessons --profile quick`"
    assert {c.name for c in COPIES} <= {s.name for s in SOURCES}
    readme = (REPO / "README.md").read_text()
    linked = {part.split(")")[0] for part in readme.split("](")[1:] if part.startswith("notebooks/executed/")}
    missing = [link for link in linked if not (REPO / link).is_file()]
    assert linked and not missing, f"the README links to missing executed lessons: {missing}"


@pytest.mark.parametrize("copy", COPIES, ids=[c.stem for c in COPIES])
def test_an_executed_copy_has_its_sources_code_and_no_error(copy):
    source = REPO / "notebooks" / copy.name
    assert copy.with_suffix(".html").is_file(), f"{copy.name}: its .html page is missing"
    nb, executed = nbformat.read(source, as_version=4), nbformat.read(copy, as_version=4)
    assert code_sources(executed) == code_sources(nb), \
        f"{copy.name}'s code differs from its source's: re-run `python -m mtdnn_lite lessons --profile quick`"
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{copy.name}: a cell was not executed"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{copy.name}: a cell failed: {errors[0].ename}: {errors[0].evalue}"
    record = executed.metadata["mtdnn_lite"]
    assert record["profile"] == "quick"
    assert not {"input_path", "output_path"} & set(executed.metadata.get("papermill", {}))
    assert record["results_fingerprint"] == results_fingerprint(REPO / "results" / "quick"), \
        f"{copy.name} shows other numbers than the committed results/quick: re-run `python -m mtdnn_lite lessons`"


@pytest.mark.parametrize("copy", COPIES, ids=[c.stem for c in COPIES])
def test_a_lessons_first_cell_says_what_it_costs(copy, glue_dir):
    """The cost note of the source and of its copy: the copy's own run time, the plan's estimate from empty runs."""
    executed = nbformat.read(copy, as_version=4)
    source = nbformat.read(REPO / "notebooks" / copy.name, as_version=4)
    expected = cost_note(copy.stem, get_profile("quick"), glue_dir, executed.metadata.papermill.duration,
                         executed.metadata["mtdnn_lite"]["cpus"])
    assert note_of(source.cells[0].source) == note_of(executed.cells[0].source) == expected, \
        f"{copy.name}: its first cell's cost note is stale: re-run `python -m mtdnn_lite lessons --profile quick`"


LESSON = [
    nbformat.v4.new_markdown_cell("# 99 · A lesson of the test's own\n\nOne figure from the kit's plotting helpers."),
    nbformat.v4.new_code_cell('profile = "quick"\nfigures_dir = "../figures"', metadata={"tags": ["parameters"]}),
    nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom mtdnn_lite.views import plots\n\n"
                              "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
                              "figure = plots.save_figure(fig, figures_dir, '99_line.png')\nprint(profile)"),
]
"""A lesson as the notebooks are written (a title, a `parameters` cell, a figure) that runs in a second: the
command's machinery is tested on it, the real lessons by the tests above and by tests/test_notebooks.py."""


@pytest.fixture
def one_lesson(tmp_path, glue_dir, monkeypatch):
    """`LESSON` and an (empty) runs folder of the tiny profile in a folder of their own."""
    monkeypatch.setenv("GLUE_DIR", str(glue_dir))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=LESSON, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), notebooks / "99_lesson.ipynb")
    return tmp_path


def test_lessons_writes_a_copy_and_its_page_then_keeps_it(one_lesson):
    source = one_lesson / "notebooks" / "99_lesson.ipynb"
    out = one_lesson / "notebooks" / "executed"
    args = (get_profile("tiny"), [source], out, one_lesson / "runs", one_lesson / "results", one_lesson / "figures")
    assert execute_lessons(*args) == [out / source.name]
    executed = nbformat.read(out / source.name, as_version=4)
    assert code_sources(executed) == code_sources(nbformat.read(source, as_version=4))
    assert executed.cells[-1].outputs[0].text == "tiny\n"  # the profile passed
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'profile = "tiny"' in injected.source and str(one_lesson) not in injected.source  # relative folders
    page = (out / "99_lesson.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64" in page
    assert (one_lesson / "figures" / "99_line.png").is_file()
    note = note_of(nbformat.read(source, as_version=4).cells[0].source)  # written into the source as well
    assert note == note_of(executed.cells[0].source) and note.startswith("**Cost (tiny profile).**")
    assert "reads no training runs" in note
    assert execute_lessons(*args) == []  # current: kept
    nb = nbformat.read(source, as_version=4)
    nb.cells[-1].source += "\n"  # a code change: the copy is stale
    nbformat.write(nb, source)
    assert execute_lessons(*args) == [out / source.name]


def test_lessons_refuse_a_notebook_that_would_train_missing_runs(tmp_path, glue_dir, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    assert cli(["lessons", "--profile", "tiny"]) == 2
    assert "error: no notebook in notebooks/" in capsys.readouterr().err
    shutil.copy(REPO / "notebooks" / "05_distillation.ipynb", tmp_path / "notebooks")
    assert cli(["lessons", "--profile", "tiny", "--runs", str(tmp_path / "none"), "--glue-dir", str(glue_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 05_distillation.ipynb would train the missing runs of profile tiny") \
        and err.count("\n") == 1
    assert not (tmp_path / "notebooks" / "executed").exists()
