"""The pack of scripts/device_pack.py made ready on the GPU machine: the first step of scripts/device_run.py.

`prepare` verifies every file of the pack against its manifest (size, sha256), then makes, under --work, the
folders the stages need: the packed wheels installed offline into ``site`` (first on PYTHONPATH; the machine's
torch, pandas and pyarrow stay in use), GLUE unpacked into ``data/glue`` and the encoder's float16 weights
upcast to float32 into ENCODER_DIR. Each folder is made once and reused by a later call while what it was
made from is unchanged (MARKER). Also here: DeviceRunError, the error every part of the runner reports in one
line.
"""

import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from device_pack import sha256  # beside this script; the digest the pack's manifest was made with

REPO = Path(__file__).resolve().parents[1]

ENCODER_DIR = "all-MiniLM-L6-v2-fp16"
"""The folder (under --work) of the upcast weights, named as the runs' encoder: float16 values, held in float32."""

MARKER = ".made_from"
"""In each folder the runner makes (site, data, encoder): the sha256 of what it was made from."""


class DeviceRunError(RuntimeError):
    """A missing or corrupt pack, a failed install or a bad argument: reported in one line."""


def one_line(error: BaseException) -> str:
    """An error's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__



def verify_pack(pack: Path) -> dict:
    """The pack's manifest, after checking that every file it lists is there with its size and sha256."""
    path = pack / "manifest.json"
    if not path.is_file():
        raise DeviceRunError(f"{path} not found: expected the pack that scripts/device_pack.py writes, carried "
                             f"to the machine (carry [\"{pack.name}\"])")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise DeviceRunError(f"{path} is not valid JSON ({e}): pack again with scripts/device_pack.py") from None
    missing = [k for k in ("glue", "encoder", "wheels", "files") if k not in manifest]
    if missing:
        raise DeviceRunError(f"{path} has no {', '.join(missing)} entry: pack again with scripts/device_pack.py")
    for name, expected in manifest["files"].items():
        file = pack / name
        if not file.is_file():
            raise DeviceRunError(f"{file} is missing: the manifest expects {expected['bytes']:,} bytes")
        if file.stat().st_size != expected["bytes"]:
            raise DeviceRunError(f"{file} has {file.stat().st_size:,} bytes, the manifest expects "
                                 f"{expected['bytes']:,}: pack again, or carry the whole pack")
        digest = sha256(file)
        if digest != expected["sha256"]:
            raise DeviceRunError(f"{file} has sha256 {digest[:16]}…, the manifest expects "
                                 f"{expected['sha256'][:16]}…: the file is corrupt; pack again")
    return manifest


def part_digest(manifest: dict, prefix: str, extra: str = "") -> str:
    """One sha256 over the manifest's files under `prefix` (and `extra`): what a folder made from them depends on."""
    listed = sorted((name, f["sha256"]) for name, f in manifest["files"].items() if name.startswith(prefix))
    return hashlib.sha256(json.dumps([listed, extra]).encode()).hexdigest()


def made(target: Path, digest: str, make) -> Path:
    """`target`, made by ``make(folder)`` unless it was already made from `digest`; built aside and swapped in."""
    if (target / MARKER).is_file() and (target / MARKER).read_text() == digest:
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    make(tmp)
    (tmp / MARKER).write_text(digest)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def install_wheels(pack: Path, manifest: dict, folder: Path) -> None:
    """pip, offline, the packed requirements into `folder` (--target), no dependencies: nothing else changes."""
    command = [sys.executable, "-m", "pip", "--isolated", "install", "--quiet", "--disable-pip-version-check",
               "--no-index", "--no-deps", "--only-binary=:all:", "--no-compile", "--no-cache-dir",
               "--find-links", str(pack / manifest["wheels"]["folder"]), "--target", str(folder),
               *manifest["wheels"]["requirements"]]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or [done.stderr.strip()]
        raise DeviceRunError(f"pip could not install the packed wheels for Python {platform.python_version()}: "
                             f"{errors[-1]} (packed for {', '.join(manifest['wheels']['python_versions'])})")


def unpack_glue(pack: Path, manifest: dict, folder: Path) -> None:
    with tarfile.open(pack / manifest["glue"]["file"]) as tar:
        tar.extractall(folder, filter="data")


def upcast_encoder(pack: Path, manifest: dict, folder: Path) -> None:
    """The packed encoder with its float16 weights cast to float32 (what the trainer and bf16 autocast expect)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = pack / manifest["encoder"]["folder"]
    for file in source.iterdir():
        if file.name != "model.safetensors":
            shutil.copy2(file, folder / file.name)
    with safe_open(str(source / "model.safetensors"), "pt") as weights:
        tensors = {k: weights.get_tensor(k) for k in weights.keys()}
        meta = weights.metadata() or {}
    full = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(full, str(folder / "model.safetensors"), metadata={**meta, "format": "pt"})


@dataclass
class Setup:
    site: Path  # the packed wheels, installed
    glue: Path  # the GLUE directory
    encoder: Path  # the encoder, float32
    seconds: float


def prepare(pack: Path, work: Path) -> tuple[dict, Setup]:
    """Verify the pack and make (or reuse) the installed wheels, GLUE and the float32 encoder under `work`; the
    wheels' folder is put first on this process's sys.path."""
    start = time.monotonic()
    manifest = verify_pack(pack)
    work.mkdir(parents=True, exist_ok=True)
    python = f"{sys.implementation.name}{platform.python_version()}"
    site = made(work / "site", part_digest(manifest, manifest["wheels"]["folder"] + "/", python),
                lambda f: install_wheels(pack, manifest, f))
    data = made(work / "data", part_digest(manifest, manifest["glue"]["file"]),
                lambda f: unpack_glue(pack, manifest, f))
    encoder = made(work / ENCODER_DIR, part_digest(manifest, manifest["encoder"]["folder"] + "/"),
                   lambda f: upcast_encoder(pack, manifest, f))
    for path in (str(REPO), str(site)):
        if path not in sys.path:
            sys.path.insert(0, path)
    importlib.invalidate_caches()
    return manifest, Setup(site, data / "glue", encoder, time.monotonic() - start)


def child_env(setup: Setup, work: Path) -> dict:
    """The stages' environment: the packed wheels and the repository first on PYTHONPATH, the hub offline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(setup.site), str(REPO), env.get("PYTHONPATH"))))
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HOME=str(work / "hf_home"))
    return env

