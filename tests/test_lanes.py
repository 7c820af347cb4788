"""Runs side by side (experiments/lanes.py): each job once, in worker processes with their share of the threads,
results in order, errors raised in the caller, progress forwarded; and a stage trained in two lanes learns what
it learns in one, to the last bit, at the same threads."""

import os
from functools import partial

import pytest
import torch

from mtdnn_lite.core import progress
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.lanes import run_side_by_side
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import read_json


def where(k: int) -> tuple[int, int, int]:
    """A job: its number, and the process and torch threads it ran with; it counts k examples trained."""
    progress.advance(k)
    return k, os.getpid(), torch.get_num_threads()


def fails(k: int):
    raise ValueError(f"job {k} cannot run")


def test_jobs_run_in_two_worker_processes_and_return_in_order():
    with progress.overall(10, "test") as bar:
        done = run_side_by_side([partial(where, k) for k in range(1, 5)], lanes=2)
        assert bar.n == 1 + 2 + 3 + 4  # each worker's count reached this process's bar
    assert [k for k, _, _ in done] == [1, 2, 3, 4]
    assert os.getpid() not in {pid for _, pid, _ in done}
    assert {threads for _, _, threads in done} == {max(1, torch.get_num_threads() // 2)}
    assert run_side_by_side([partial(where, 5)], lanes=2)[0][1] == os.getpid()  # one job: no worker to start


def test_a_failing_job_is_raised_in_the_caller():
    with pytest.raises(ValueError, match="job 2 cannot run"):
        run_side_by_side([partial(where, 1), partial(fails, 2)], lanes=2)


def test_a_stage_in_two_lanes_learns_what_it_learns_in_one(glue_dir, tmp_path):
    profile = get_profile("tiny", tasks=("CoLA", "RTE"), max_train=32, max_eval=32)
    torch.set_num_threads(1)  # the lanes' share of the threads: one each, as in one lane here
    for lanes in (1, 2):
        pipeline.run_st(profile.override(lanes=lanes), glue_dir, tmp_path / f"lanes{lanes}")
    for task in profile.tasks:
        one, two = (read_json(tmp_path / f"lanes{n}" / "tiny" / "st" / task / "metrics.json") for n in (1, 2))
        assert [e["dev"] for e in one] == [e["dev"] for e in two] and one[-1]["train_loss"] == two[-1]["train_loss"]
        assert (read_json(tmp_path / "lanes1" / "tiny" / "st" / task / "done.json")
                == read_json(tmp_path / "lanes2" / "tiny" / "st" / task / "done.json"))  # lanes: not in the settings
