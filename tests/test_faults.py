"""Faults get one clear line and lose nothing: a run killed while it saves its checkpoint, an unreadable
checkpoint, a bad `--set` value, the command line's one-line errors, and two processes on one run folder (tiny
profile, seconds)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtdnn_lite.__main__ import cli
from mtdnn_lite.experiments import checkpoints, locks, pipeline
from mtdnn_lite.experiments import train as train_module
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import read_json
from mtdnn_lite.glue.data import resolve_glue_dir

pytestmark = pytest.mark.xdist_group("faults")  # on one worker: the tests share the run of `straight`

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"tasks": ["MRPC", "STS-B"], "max_train": 48, "max_eval": 32, "epochs_mtl": 3}
"""The multi-task run every test here interrupts: two tasks, 3 epochs of 6 steps."""

DRIVER = """
import json, sys, time
from pathlib import Path
from accelerate import Accelerator
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.profiles import get_profile

glue_dir, root, stop, marker, settings = sys.argv[1:]

def pause():
    Path(marker).write_text("killing time")
    time.sleep(600)

if stop == "save_state":  # in epoch 2's save: every file in checkpoint.tmp, its state.json not yet
    real_save, saves = Accelerator.save_state, []
    def save_state(self, *args, **kwargs):
        result = real_save(self, *args, **kwargs)
        saves.append(1)
        if len(saves) == 2:
            pause()
        return result
    Accelerator.save_state = save_state
if stop == "swap":  # between the two renames of epoch 2's swap: no checkpoint, only .previous and .tmp
    real_rename = Path.rename
    def rename(self, target):
        result = real_rename(self, target)
        if Path(target).name == "checkpoint.previous":
            pause()
        return result
    Path.rename = rename
pipeline.run_mtl(get_profile("tiny", **json.loads(settings)), glue_dir, root)
"""


@pytest.fixture(scope="module")
def profile():
    return get_profile("tiny", **SETTINGS)


@pytest.fixture(scope="module")
def straight(profile, glue_dir, tmp_path_factory) -> list[dict]:
    """The history of the run, uninterrupted."""
    return read_json(pipeline.run_mtl(profile, glue_dir, tmp_path_factory.mktemp("straight")) / "metrics.json")


def same_result(history: list[dict], straight: list[dict]) -> None:
    assert [e["dev"] for e in history] == [e["dev"] for e in straight]
    assert [e["train_loss"] for e in history] == [e["train_loss"] for e in straight]


def interrupt_in_epoch(epoch: int, profile, glue_dir, root, monkeypatch) -> Path:
    """Run until `epoch`'s evaluation, then stop it (KeyboardInterrupt); returns the run folder."""
    real_evaluate, calls = train_module.evaluate_epoch, []

    def evaluate(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_epoch", evaluate)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_mtl(profile, glue_dir, root)
    monkeypatch.setattr(train_module, "evaluate_epoch", real_evaluate)
    return root / "tiny" / "mtl"


@pytest.mark.parametrize("stop", ["save_state", "swap"])
def test_a_run_killed_while_it_saves_its_checkpoint_resumes_to_the_same_result(stop, profile, glue_dir, tmp_path,
                                                                              straight, capsys):
    marker = tmp_path / "saving"
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(glue_dir), str(tmp_path), stop, str(marker),
                                json.dumps(SETTINGS)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert process.poll() is None, f"the driver ended before the save: {process.stdout.read().decode()[-3000:]}"
        assert time.monotonic() < deadline, "the driver never reached epoch 2's checkpoint save"
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()

    run = tmp_path / "tiny" / "mtl"
    tmp, previous = checkpoints.checkpoint_folders(run / "checkpoint")
    if stop == "save_state":  # the new checkpoint half written beside the old one
        assert (run / "checkpoint" / "state.json").is_file() and tmp.is_dir() and not (tmp / "state.json").exists()
        resumed_after = 1
    else:  # killed between the renames: the new one complete in .tmp, the old one in .previous
        assert not (run / "checkpoint").exists() and (tmp / "state.json").is_file() and previous.is_dir()
        resumed_after = 2
    capsys.readouterr()
    history = read_json(pipeline.run_mtl(profile, glue_dir, tmp_path) / "metrics.json")
    assert f"resuming after epoch {resumed_after} of 3" in capsys.readouterr().out
    same_result(history, straight)
    assert not any(p.exists() for p in (run / "checkpoint", tmp, previous))


def test_an_unreadable_checkpoint_is_reported_and_the_run_restarts_from_scratch(profile, glue_dir, tmp_path,
                                                                                 straight, monkeypatch):
    run = interrupt_in_epoch(2, profile, glue_dir, tmp_path, monkeypatch)  # only epoch 1's checkpoint
    weights = run / "checkpoint" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5])  # truncated, as by a full disk
    with pytest.warns(checkpoints.UnreadableCheckpoint,
                      match=rf"{run}: checkpoint/ cannot be read \(SafetensorError: .*\); no readable checkpoint "
                            r"left: training from scratch, epoch 1 of 3"):
        history = read_json(pipeline.run_mtl(profile, glue_dir, tmp_path) / "metrics.json")
    same_result(history, straight)


def test_an_unreadable_checkpoint_falls_back_to_the_previous_one(profile, glue_dir, tmp_path, straight, monkeypatch):
    run = interrupt_in_epoch(3, profile, glue_dir, tmp_path, monkeypatch)  # epoch 2's checkpoint, epoch 1's before
    (run / "checkpoint" / "state.json").write_text('{"config_hash": ')
    with pytest.warns(checkpoints.UnreadableCheckpoint,
                      match=r"checkpoint/ cannot be read \(JSONDecodeError: .*\); resuming from checkpoint.previous/ "
                            r"instead, after epoch 1 of 3"):
        history = read_json(pipeline.run_mtl(profile, glue_dir, tmp_path) / "metrics.json")
    same_result(history, straight)


@pytest.mark.parametrize("changes, message", [
    ({"lr": "nope"}, "profile setting lr='nope': expected float (an int is accepted)"),
    ({"epochs_mtl": 2.5}, "profile setting epochs_mtl=2.5: expected int"),
    ({"san": 1}, "profile setting san=1: expected bool"),
    ({"max_train": "all"}, "profile setting max_train='all': expected int | None"),
    ({"tasks": ("CoLA", 3)}, "profile setting tasks=('CoLA', 3): expected tuple[str, ...]"),
    ({"teacher_dropouts": 0.1}, "profile setting teacher_dropouts=0.1: expected tuple[float, ...] | None"),
])
def test_a_setting_of_the_wrong_type_is_one_line_naming_it(changes, message):
    with pytest.raises(ValueError) as raised:
        get_profile("tiny", **changes)
    assert str(raised.value) == message


def test_settings_of_the_right_type_are_kept_or_widened():
    p = get_profile("tiny", lr=1, max_train=None, tasks=["CoLA"], teacher_dropouts=[0.1, 0, 0.3], lr_mtl=None)
    assert (p.lr, p.max_train, p.tasks, p.teacher_dropouts, p.lr_mtl) == (1.0, None, ("CoLA",), (0.1, 0.0, 0.3), None)
    assert type(p.lr) is float


def broken_glue(tmp_path: Path, glue_dir: Path) -> Path:
    """A GLUE folder whose CoLA train.tsv has a row with a label that is not 0 or 1."""
    (tmp_path / "glue" / "CoLA").mkdir(parents=True)
    rows = (glue_dir / "CoLA" / "train.tsv").read_text().splitlines()[:20]
    rows[3] = "\t".join(rows[3].split("\t")[:1] + ["7"] + rows[3].split("\t")[2:])
    (tmp_path / "glue" / "CoLA" / "train.tsv").write_text("\n".join(rows) + "\n")
    return tmp_path / "glue"


@pytest.mark.parametrize("mistake, expected", [
    (["--set", "lr=nope"], "error: profile setting lr='nope': expected float"),
    (["--set", "lr"], "error: argument --set: expected KEY=VALUE, got 'lr' (see python -m mtdnn_lite train --help)"),
    (["--set", "lrr=1"], "error: unknown profile setting(s) ['lrr']"),
    (["--tasks", "COLAA"], "error: unknown GLUE task 'COLAA'"),
    (["--glue-dir", "{tmp}/nowhere"], "error: --glue-dir={tmp}/nowhere is not a directory (looked for {tmp}/nowhere)"),
    (["--glue-dir", "{tmp}"], "error: no CoLA folder: expected {tmp}/CoLA"),
    (["--glue-dir", "{broken}"], "error: {broken}/CoLA/train.tsv line 4, field 'label': bad value '7'"),
    (["--runs", "{tmp}/no-runs", "evaluate"], "error: no finished runs of profile tiny under {tmp}/no-runs/tiny"),
])
def test_a_users_mistake_on_the_command_line_is_one_line_and_exit_code_2(mistake, expected, glue_dir, tmp_path,
                                                                         capsys):
    fill = {"tmp": tmp_path, "broken": broken_glue(tmp_path, glue_dir) if "{broken}" in str(mistake) else ""}
    mistake = [m.format(**fill) for m in mistake]
    command = ["evaluate"] if mistake[-1] == "evaluate" else ["train", "--stage", "mtl"]
    options = [m for m in mistake if m != "evaluate"]
    argv = [*command, "--profile", "tiny", "--tasks", "CoLA", "--runs", str(tmp_path / "runs"),
            "--glue-dir", str(glue_dir), *options]  # a later --tasks, --runs or --glue-dir wins
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(expected.format(**fill)), err
    with pytest.raises(Exception) as raised:  # --debug: the exception itself, with its traceback
        cli([*argv, "--debug"])
    assert not isinstance(raised.value, SystemExit)


def test_a_relative_glue_dir_is_read_from_where_it_was_set(glue_dir, tmp_path, monkeypatch):
    """$GLUE_DIR relative to the shell's folder ($PWD) is found from a kernel working elsewhere (notebooks/);
    a wrong one is one line that says what to do."""
    monkeypatch.setenv("PWD", str(glue_dir.parent.parent))
    monkeypatch.setenv("GLUE_DIR", os.path.relpath(glue_dir, glue_dir.parent.parent))
    monkeypatch.chdir(tmp_path)
    assert resolve_glue_dir() == glue_dir.resolve()
    monkeypatch.setenv("GLUE_DIR", "no/such/glue")
    with pytest.raises(FileNotFoundError, match=r"^GLUE_DIR=no/such/glue is not a directory \(looked for .*, "
                                                r"relative to .*\): give the absolute path of a GLUE directory"):
        resolve_glue_dir()
    monkeypatch.delenv("GLUE_DIR")
    assert resolve_glue_dir() is None  # the hub: no machine's folder is guessed


HOLD = """
import sys, time
from pathlib import Path
from accelerate import Accelerator
from mtdnn_lite.__main__ import cli

go, argv = Path(sys.argv[1]), sys.argv[2:]
real_save = Accelerator.save_state
def save_state(self, *args, **kwargs):  # epoch 1's checkpoint waits for the test's go: the run stays held
    while not go.exists():
        time.sleep(0.1)
    return real_save(self, *args, **kwargs)
Accelerator.save_state = save_state
sys.exit(cli(argv))
"""


def test_two_processes_on_one_run_folder_take_turns(glue_dir, tmp_path):
    """Two `train --stage mtl` on one runs folder (a notebook training while `reproduce` runs): the second says in
    one line which process holds the run and waits for it, then reuses the finished run; no traceback. The first
    holds the run (its epoch 1 checkpoint waits) until the second has said so."""
    argv = ["train", "--stage", "mtl", "--profile", "tiny", "--tasks", "RTE", "--glue-dir", str(glue_dir),
            "--runs", str(tmp_path / "runs")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run, go = tmp_path / "runs" / "tiny" / "mtl", tmp_path / "go"
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with open(logs[0], "w") as first_log, open(logs[1], "w") as second_log:
        first = subprocess.Popen([sys.executable, "-c", HOLD, str(go), *argv], stdout=first_log,
                                 stderr=subprocess.STDOUT, env=env)
        second = None
        try:
            deadline = time.monotonic() + 300
            while not (run / locks.HOLDER).is_file():  # until the first holds the run
                assert first.poll() is None and time.monotonic() < deadline, logs[0].read_text()
                time.sleep(0.1)
            second = subprocess.Popen([sys.executable, "-m", "mtdnn_lite", *argv], stdout=second_log,
                                      stderr=subprocess.STDOUT, env=env)
            while "is held by" not in logs[1].read_text():  # until the second says it waits
                assert second.poll() is None and time.monotonic() < deadline, logs[1].read_text()
                time.sleep(0.1)
        finally:
            go.touch()
            for process in (first, second):
                if process is not None:
                    process.wait(timeout=600)
    first_out, second_out = (log.read_text() for log in logs)
    assert first.returncode == 0 and second.returncode == 0, first_out + second_out
    waiting = [line for line in second_out.splitlines() if "is held by" in line]
    assert len(waiting) == 1 and waiting[0].startswith(f"{run} is held by pid {first.pid} on host "), second_out
    assert waiting[0].endswith(": waiting for it to finish")
    assert "Traceback" not in first_out + second_out
    assert "mtl epoch" in first_out and "mtl epoch" not in second_out  # the second trained nothing: it reused
    assert read_json(run / "done.json")["epochs"] == 2 and not (run / locks.HOLDER).exists()
