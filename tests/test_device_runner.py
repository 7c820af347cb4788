"""scripts/device_pack.py and scripts/device_run.py end to end on this CPU: the tiny profile on RTE alone.

The pack holds RTE's GLUE folder and wheels for this Python only, which pip download takes from a folder of
wheels made of this environment's installed packages (`installed_wheel`; --find-links: no network); the runner
installs them, unpacks GLUE, upcasts the weights, runs every stage and writes its three files; a budget too small
for the stages gives a partial table naming the unfinished ones; a corrupt or incomplete pack is refused in one
line.
"""

import base64
import csv
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from mtdnn_lite.core.encoder import minilm_path
from mtdnn_lite.experiments.pipeline import STAGES

pytestmark = pytest.mark.xdist_group("device_runner")  # one worker: the tests share the pack and the run

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


def installed_wheel(name: str, folder: Path) -> Path:
    """A wheel of the distribution `name` made of its files as installed here (those its RECORD lists, less
    scripts, bytecode and the installer's own files), under the tags of its WHEEL file: what pip download would
    fetch from PyPI for this Python and platform."""
    dist = metadata.distribution(name)
    tags = [line.split(":", 1)[1].strip() for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    tag = "-".join(".".join(dict.fromkeys(t.split("-")[i] for t in tags)) for i in range(3))  # cp311-cp311-a.b
    record = next(f for f in dist.files if f.name == "RECORD" and f.parent.name.endswith(".dist-info"))
    files = [f for f in dist.files if ".." not in f.parts and "__pycache__" not in f.parts
             and not (f.parent == record.parent and f.name in ("INSTALLER", "RECORD", "REQUESTED", "direct_url.json"))]
    wheel = folder / f"{re.sub(r'[-_.]+', '_', dist.metadata['Name'])}-{dist.version}-{tag}.whl"
    lines = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            data = dist.locate_file(file).read_bytes()
            archive.writestr(file.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            lines.append(f"{file.as_posix()},sha256={digest},{len(data)}")
        archive.writestr(record.as_posix(), "\n".join([*lines, f"{record.as_posix()},,"]) + "\n")
    return wheel


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """A folder with a wheel of each package the pack needs, made of this environment's installed copies."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    for requirement in load_script("device_pack.py").wheel_requirements():
        installed_wheel(requirement.split("==")[0], folder)
    return folder


@pytest.fixture(scope="module")
def pack(glue_dir, wheelhouse, tmp_path_factory):
    dest = tmp_path_factory.mktemp("device") / "pack"
    done = script("device_pack.py", "--glue-dir", glue_dir, "--dest", dest, "--tasks", TASK,
                  "--python-versions", PYTHON, "--find-links", wheelhouse)
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


def test_pack_holds_glue_fp16_weights_and_only_the_missing_wheels(pack, wheelhouse):
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["wheels"]["source"] == str(wheelhouse)
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


def budget_for_st_alone(completed, reserve_s: float) -> int:
    """Seconds of budget in which st finishes and mtl is started, then stopped: twice what the complete run took
    on this machine to finish st, then the runner's MIN_STAGE_S for mtl, its GRACE_S and the reserve."""
    _, run, _, out = completed
    summary = json.loads((out / "device_run.json").read_text())
    before_st = summary["budget_s"] - float(re.search(r"(\d+) s of the budget left", run.stdout).group(1))
    st_done = before_st + next(s["wall_s"] for s in summary["stages"] if s["stage"] == "st")
    stages = load_script("device_stages.py")
    return math.ceil(2 * st_done + stages.MIN_STAGE_S + stages.GRACE_S + reserve_s)


def test_budget_too_small_gives_a_partial_table_naming_the_unfinished_stages(pack, completed, tmp_path, monkeypatch):
    # mtl is made endless: st finishes, mtl is stopped at the budget, the later stages are not started. The work
    # folder starts with the preparation of `completed` (installed wheels, GLUE, encoder), as a later call on the
    # same machine finds it, so the budget is spent on the stages.
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # device_stages.py imports device_setup.py beside it
    budget = budget_for_st_alone(completed, reserve_s=5)
    for folder in ("site", "data", load_script("device_setup.py").ENCODER_DIR):
        shutil.copytree(completed[2] / folder, tmp_path / "work" / folder)
    run = run_device(pack, tmp_path / "work", tmp_path / "out", "--budget-s", budget, "--reserve-s", 5,
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
    assert summary["total_s"] <= budget
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
