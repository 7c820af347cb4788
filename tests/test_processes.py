"""Several training processes (accelerate, gloo on the CPU) against one: each trains its share of every epoch.

`process_share` is checked on its own (every batch of the epoch trained exactly once, every step's gradient the
mean over its batches), then `accelerate launch` runs the tiny profile's multi-task stage with two processes and
the run is checked against the same run in one process.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtdnn_lite.core.trainer import process_share
from mtdnn_lite.experiments.runs import read_json

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("processes", [1, 2, 3])
@pytest.mark.parametrize("steps", [1, 5, 6, 7])
def test_each_batch_is_trained_once_and_each_step_averages(processes, steps):
    plan = [("RTE", [i]) for i in range(steps)]
    shares = [process_share(plan, p, processes) for p in range(processes)]
    assert {len(s) for s in shares} == {math.ceil(steps / processes)}  # every process takes every step
    trained = sorted(index for share in shares for index, weight in share if weight)
    assert trained == list(range(steps))  # each batch once, none dropped
    for step in range(len(shares[0])):  # the step's gradient: Σ weight·g / P = the mean of its batches' g
        weights = [share[step][1] for share in shares]
        assert sum(weights) == pytest.approx(processes)
        real = [w for w in weights if w]
        assert len(set(real)) == 1
    if processes == 1:
        assert shares[0] == [(i, 1.0) for i in range(steps)]


def train_mtl(runs: Path, launcher: list[str], glue_dir: Path) -> Path:
    """The tiny profile's mtl stage on RTE (SAN) and QNLI (ranking groups), run by `launcher`."""
    command = [*launcher, "-m", "mtdnn_lite", "train", "--stage", "mtl", "--profile", "tiny", "--tasks", "RTE",
               "QNLI", "--runs", str(runs), "--glue-dir", str(glue_dir), "--set", "max_train=48", "--set", "max_eval=32"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return runs / "tiny" / "mtl"


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory, glue_dir):
    root = tmp_path_factory.mktemp("processes")
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    one = train_mtl(root / "one", [sys.executable], glue_dir)
    two = train_mtl(root / "two", [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
                                   "1", "--mixed_precision", "no", "--dynamo_backend", "no"], glue_dir)
    return one, two


def test_two_processes_train_the_whole_epoch_in_half_the_steps(one_and_two):
    one, two = one_and_two
    assert read_json(one / "environment.json")["processes"] == 1
    assert read_json(two / "environment.json")["processes"] == 2  # they met over gloo, not two lone runs
    h1, h2 = read_json(one / "metrics.json"), read_json(two / "metrics.json")
    assert len(h1) == len(h2) == read_json(two / "config.json")["epochs"]
    for e1, e2 in zip(h1, h2):
        assert e2["steps"] == math.ceil(e1["steps"] / 2)
        assert e2["train_examples"] == e1["train_examples"] == 2 * 48  # every example of both tasks, once
        assert set(e2["train_loss"]) == set(e1["train_loss"]) == {"RTE", "QNLI"}
        assert set(e2["dev"]) == {"RTE", "QNLI"}
    # the same initial model on the same batches: the first epoch's losses agree to within what the
    # different number of updates explains (a loss logged with a process's weight would be 0 or doubled)
    for task in ("RTE", "QNLI"):
        assert h2[0]["train_loss"][task] == pytest.approx(h1[0]["train_loss"][task], abs=0.15)
    assert (two / "done.json").is_file() and (two / "model" / "model.safetensors").is_file()
    assert not (two / "checkpoint").exists()
