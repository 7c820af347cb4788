"""scripts/device_pack.py and scripts/device_run.py end to end on this CPU: the tiny profile on RTE alone.

The pack holds RTE's GLUE folder and wheels for this Python only (pip download from PyPI: these tests need the
network); the runner installs them, unpacks GLUE, upcasts the weights, runs every stage and writes its three
files; a budget too small for the stages gives a partial table naming the unfinished ones; a corrupt or
incomplete pack is refused in one line.
"""

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from mtdnn_lite.core.encoder import minilm_path
from mtdnn_lite.experiments.pipeline import STAGES

REPO = Path(__file__).resolve().parents[1]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TASK = "RTE"  # one task with a teacher and a test set: every stage and every table of reproduce


def script(name: str, *args, env_extra=None, timeout=600) -> subprocess.CompletedProcess:
    """Run scripts/<name> with this Python, one torch thread (the tiny model is slower with two on a busy CPU)."""
    env = {k: v for k, v in os.environ.items() if k != "OUT"} | {"OMP_NUM_THREADS": "1"} | (env_extra or {})
    return subprocess.run([sys.executable, str(REPO / "scripts" / name), *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), REPO / "scripts" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pack(glue_dir, tmp_path_factory):
    dest = tmp_path_factory.mktemp("device") / "pack"
    done = script("device_pack.py", "--glue-dir", glue_dir, "--dest", dest, "--tasks", TASK,
                  "--python-versions", PYTHON)
    assert done.returncode == 0, done.stderr
    assert "carry: none" in done.stdout  # a pack outside the repository cannot travel, and it says so
    return dest


def run_device(pack, work, out, *extra) -> subprocess.CompletedProcess:
    return script("device_run.py", "--pack", pack, "--work", work, "--out", out, "--profile", "tiny",
                  "--tasks", TASK, *extra)


@pytest.fixture(scope="module")
def completed(pack, tmp_path_factory):
    """--check, then a run with time to spare, in one work folder: (check, run, work, out)."""
    base = tmp_path_factory.mktemp("device_run")
    check = script("device_run.py", "--check", "--pack", pack, "--work", base / "work")
    run = run_device(pack, base / "work", base / "out", "--budget-s", 500, "--reserve-s", 60)
    return check, run, base / "work", base / "out"


def test_pack_holds_glue_fp16_weights_and_only_the_missing_wheels(pack):
    manifest = json.loads((pack / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert (pack / name).stat().st_size == entry["bytes"]
        assert load_script("device_pack.py").sha256(pack / name) == entry["sha256"]
    with tarfile.open(pack / "glue.tar.xz") as tar:
        names = tar.getnames()
    assert f"glue/{TASK}/train.tsv" in names and not any(n.startswith("glue/CoLA") for n in names)
    with safe_open(str(pack / "encoder" / "model.safetensors"), "pt") as weights:
        dtypes = {weights.get_tensor(k).dtype for k in weights.keys()}
    assert {d for d in dtypes if d.is_floating_point} == {torch.float16}  # (position ids stay int64)
    packed = {r.split("==")[0] for r in manifest["wheels"]["requirements"]}
    assert {"datasets", "dill", "multiprocess", "xxhash", "fsspec"} <= packed
    assert not packed & {"torch", "pandas", "pyarrow", "numpy", "transformers", "huggingface-hub"}
    xxhash = [w for w in os.listdir(pack / "wheels") if w.startswith("xxhash-")]  # binary: one per CPython
    assert len(xxhash) == 1 and f"cp{PYTHON.replace('.', '')}-" in xxhash[0] and "manylinux" in xxhash[0]


def test_pack_over_the_limit_fails_in_one_line(pack, monkeypatch, capsys):
    device_pack = load_script("device_pack.py")
    monkeypatch.setattr(device_pack, "LIMIT_BYTES", 2**20)
    assert device_pack.report(json.loads((pack / "manifest.json").read_text()), pack) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the pack") and "over the device tool's 1.0 MiB" in err[0]


def test_check_reports_every_step(completed):
    check, _, work, _ = completed
    assert check.returncode == 0, check.stdout + check.stderr
    for step in ("versions", "device", "pack", "packages", "datasets", "glue", "encoder"):
        assert f"ok   {step}:" in check.stdout
    assert f"datasets from {work / 'site'}" in check.stdout and "check passed" in check.stdout


def test_upcast_weights_are_the_original_rounded_to_fp16(completed):
    _, _, work, _ = completed
    with safe_open(str(minilm_path() / "model.safetensors"), "pt") as original, \
            safe_open(str(work / "all-MiniLM-L6-v2-fp16" / "model.safetensors"), "pt") as upcast:
        assert set(original.keys()) == set(upcast.keys())
        for key in original.keys():
            a, b = original.get_tensor(key), upcast.get_tensor(key)
            expected = a.to(torch.float16).to(torch.float32) if a.is_floating_point() else a
            assert b.dtype == expected.dtype and torch.equal(b, expected), key


def test_run_writes_results_times_and_throughput(completed):
    _, run, work, out = completed
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(os.listdir(out)) == ["device_run.json", "device_run.md", "device_run.tar.gz"]
    summary = json.loads((out / "device_run.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == list(STAGES)
    assert all(s["status"] == "finished" and s["wall_s"] > 0 for s in summary["stages"])
    assert summary["unfinished"] == [] and summary["results"]["complete"]
    assert summary["results"]["reproduce"]["status"] == "finished"
    trained = [s for s in summary["stages"] if s["stage"] != "soft_targets"]
    assert all(s["examples_per_s"] > 0 and s["train_examples"] >= 64 for s in trained)
    assert summary["total_s"] <= summary["budget_s"] and summary["versions"]["datasets"]
    results = work / "results" / "tiny"
    table = (results / "glue_dev.csv").read_text()
    assert all(f",{stage}," in table for stage in ("st", "mtl", "refine", "ensemble", "student_refine"))
    assert (results / "submission" / "submission.zip").is_file() and (results / "inference_cost.md").is_file()
    assert "Partial" not in (results / "glue_dev.md").read_text()
    md = (out / "device_run.md").read_text()
    assert "| st | finished |" in md and "| reproduce | finished |" in md and "MT-DNN-KD" in md
    with tarfile.open(out / "device_run.tar.gz") as tar:
        names = tar.getnames()
    assert {"results/tiny/glue_dev.md", "logs/1_st.log", f"runs/tiny/st/{TASK}/metrics.json"} <= set(names)
    assert not any(n.endswith(".safetensors") or "/predictions/" in n for n in names)


def test_budget_too_small_gives_a_partial_table_naming_the_unfinished_stages(pack, tmp_path):
    # mtl is made endless: st finishes, mtl is stopped at the budget, the later stages are not started
    run = run_device(pack, tmp_path / "work", tmp_path / "out", "--budget-s", 120, "--reserve-s", 5,
                     "--set", "epochs_mtl=100000")
    assert run.returncode == 1, run.stdout + run.stderr
    summary = json.loads((tmp_path / "out" / "device_run.json").read_text())
    status = {s["stage"]: s for s in summary["stages"]}
    assert status["st"]["status"] == "finished", summary["stages"]
    assert status["mtl"]["status"] == "stopped at the budget", summary["stages"]  # not "not started": st was slow
    assert status["mtl"]["stopped_by"] == "SIGINT" and status["mtl"]["finished_runs"] == 0
    assert "KeyboardInterrupt" in (tmp_path / "work" / "logs" / "2_mtl.log").read_text()  # stopped, not killed
    assert all(status[s]["status"] == "not started (budget spent)" for s in STAGES[2:])
    assert summary["unfinished"] == list(STAGES[1:]) and not summary["results"]["complete"]
    assert summary["total_s"] <= 120
    results = tmp_path / "work" / "results" / "tiny"
    md = (results / "glue_dev.md").read_text()
    assert md.startswith("# GLUE dev results: profile `tiny`\n\n> **Partial results.**")
    assert "mtl (stopped at the budget after" in md and ", ".join(STAGES[2:]) in md
    rows = list(csv.DictReader((results / "glue_dev.csv").open()))
    assert [r["stage"] for r in rows if r["system"] != "split"] == ["st"]
    assert "Not finished" in (tmp_path / "out" / "device_run.md").read_text()


def damaged(pack, folder, damage: str):
    """A copy of `pack` in `folder` with one file changed, cut short or removed, or without its manifest."""
    broken = folder / "pack"
    shutil.copytree(pack, broken)
    if damage == "flip":
        data = bytearray((broken / "glue.tar.xz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (broken / "glue.tar.xz").write_bytes(bytes(data))
    elif damage == "truncate":
        path = broken / "encoder" / "model.safetensors"
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "remove":
        next((broken / "wheels").glob("datasets-*.whl")).unlink()
    else:
        (broken / "manifest.json").unlink()
    return broken


@pytest.mark.parametrize("damage, expected", [
    ("flip", "glue.tar.xz has sha256"),
    ("truncate", "model.safetensors has 1,000 bytes, the manifest expects"),
    ("remove", "is missing: the manifest expects"),
    ("no_manifest", "manifest.json not found"),
])
def test_corrupt_pack_is_refused_in_one_line(pack, tmp_path, damage, expected):
    broken = damaged(pack, tmp_path, damage)
    run = run_device(broken, tmp_path / "work", tmp_path / "out")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], run.stderr
    assert str(broken) in lines[0]
    assert not (tmp_path / "work" / "site").exists() and not (tmp_path / "out").exists()


def test_check_fails_on_a_corrupt_pack(pack, tmp_path):
    check = script("device_run.py", "--check", "--pack", damaged(pack, tmp_path, "flip"), "--work", tmp_path / "work")
    assert check.returncode == 1 and "ok   device:" in check.stdout and "FAIL pack:" in check.stdout
    last = check.stderr.strip().splitlines()[-1]
    assert last.startswith("error: pack: ") and "glue.tar.xz has sha256" in last
