"""The generated summary: the README's results block is the one the committed results give, and its sentences
follow the tables they are computed from."""

from pathlib import Path

import pandas as pd
import pytest

from mtdnn_lite.reporting.summary import END, START, floors_sentence, replace_block, summary_markdown, system_scores

REPO = Path(__file__).resolve().parents[1]


def test_readme_block_is_generated_from_the_committed_results():
    start = START.format(profile="quick")
    readme = (REPO / "README.md").read_text()
    block = readme.split(start + "\n", 1)[1].split(END, 1)[0]
    assert block == summary_markdown(REPO / "results" / "quick", "quick"), \
        "README's results block is stale: python -m mtdnn_lite summary --profile quick --readme README.md"
    assert (REPO / "results" / "quick" / "README.md").read_text().endswith(block)


def seeds(rows):
    return pd.DataFrame(rows, columns=["stage", "task", "score", "seed_index"])


def test_system_scores_average_the_tasks_a_system_has():
    table = system_scores(seeds([("refine", "RTE", 60, 0), ("refine", "WNLI", 30, 0), ("ensemble", "RTE", 70, 0),
                                 ("refine", "RTE", 62, 1), ("refine", "WNLI", 40, 1), ("ensemble", "RTE", 72, 1)]))
    mt_dnn = table[table.stage == "refine"]
    assert list(mt_dnn.average) == [45, 51] and list(mt_dnn["average without WNLI"]) == [60, 62]
    assert list(table[table.stage == "ensemble"].tasks) == [1, 1]


def test_floors_are_flagged_only_where_every_system_is_at_or_below_them():
    table = system_scores(seeds([("st", "WNLI", 50, 0), ("refine", "WNLI", 56, 0), ("st", "CoLA", 2, 0),
                                 ("refine", "CoLA", 20, 0)]))
    sentence = floors_sentence(table, {"WNLI": 56.0, "CoLA": 0.0})
    assert "WNLI at or below its majority-class floor (50.0–56.0 against 56.0" in sentence
    assert "single-task baseline 2.0" in sentence and "MT-DNN 20.0" not in sentence
    assert floors_sentence(table, {"WNLI": 40.0}) == ""


def test_replace_block_needs_its_markers():
    text = f"a\n{START.format(profile='quick')}\nold\n{END}\nb"
    assert replace_block(text, "new\n", "quick") == f"a\n{START.format(profile='quick')}\nnew\n{END}\nb"
    with pytest.raises(ValueError, match="no block"):
        replace_block("a", "new\n", "tiny")
