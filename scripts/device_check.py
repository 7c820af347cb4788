"""What the GPU machine is, and ``python3 scripts/device_run.py --check``: the cheap first call (≤ 2 min).

The check runs, each on one line, ok or FAIL: the versions of Python and of VERSIONS, CUDA and the GPU, the
pack made ready (device_setup.prepare: every file's sha256, the wheels installed, GLUE unpacked, the encoder
upcast), which folder each package comes from, GLUE loaded through mtdnn_lite, and one forward pass of the
encoder. `versions` and `accelerator` also describe the machine in device_run.json.
"""

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from device_setup import DeviceRunError, one_line, prepare

VERSIONS = ("torch", "transformers", "accelerate", "datasets", "pandas", "pyarrow", "fsspec", "huggingface-hub",
            "safetensors")


def versions() -> dict:
    """Python's version and the installed versions of VERSIONS (the packed ones once the wheels are installed)."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def accelerator() -> dict:
    """{"device": "cuda" or "cpu", "gpu": its name or None, "bf16": whether the GPU has it, "cpus": n}."""
    import torch

    if torch.cuda.is_available():
        return {"device": "cuda", "gpu": torch.cuda.get_device_name(), "bf16": torch.cuda.is_bf16_supported(),
                "cpus": os.cpu_count()}
    return {"device": "cpu", "gpu": None, "bf16": False, "cpus": os.cpu_count()}


def machine_packages(site: Path) -> str:
    """Which folder torch, pandas and pyarrow come from; an error if any of them comes from the packed wheels."""
    places = {}
    for name in ("torch", "pandas", "pyarrow", "transformers"):
        places[name] = Path(importlib.import_module(name).__file__).resolve()
        if site.resolve() in places[name].parents:
            raise DeviceRunError(f"{name} is imported from the packed wheels ({places[name]}), not the machine's")
    datasets = Path(importlib.import_module("datasets").__file__).resolve()
    if site.resolve() not in datasets.parents:
        raise DeviceRunError(f"datasets is imported from {datasets}, not from the packed wheels in {site}")
    return f"datasets from {site}; torch, pandas, pyarrow, transformers from {places['torch'].parents[1]}"


def glue_check(glue: Path, manifest: dict) -> str:
    """Load the smallest packed task through mtdnn_lite.glue.data.load_glue (datasets on the machine's pyarrow)."""
    from mtdnn_lite.glue.data import load_glue
    from mtdnn_lite.glue.tasks import GLUE_TASKS

    tasks = [t for t in manifest["glue"]["entries"] if t in GLUE_TASKS]
    if not tasks:
        raise DeviceRunError(f"the packed GLUE holds no task folder: {manifest['glue']['entries']}")
    task = min(tasks, key=lambda t: (glue / t / "train.tsv").stat().st_size)
    splits = load_glue(task, glue)
    sizes = ", ".join(f"{split} {len(rows):,}" for split, rows in splits.items())
    return f"{len(tasks)} task(s) unpacked in {glue}; {task}: {sizes}"


def forward_check(encoder: Path) -> str:
    """Load the upcast encoder and run one sentence pair through it on the GPU (bf16 autocast) or the CPU."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    model = AutoModel.from_pretrained(str(encoder)).to(device).eval()
    batch = tokenizer(["A man is playing a guitar."], ["Someone plays music."], return_tensors="pt").to(device)
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
        hidden = model(**batch).last_hidden_state
    if not torch.isfinite(hidden).all():
        raise DeviceRunError(f"the encoder in {encoder} gives non-finite outputs")
    dtype = next(model.parameters()).dtype
    return (f"{sum(p.numel() for p in model.parameters()):,} parameters ({dtype}), output {tuple(hidden.shape)} "
            f"on {device} with bf16 autocast in {time.perf_counter() - start:.2f} s")


def check(args) -> int:
    """The cheap first call: each check on one line, ok or FAIL; 0 if all passed, else 1 (the failure on stderr)."""
    state = {}

    def prepared():
        state["manifest"], state["setup"] = prepare(args.pack, args.work)
        setup = state["setup"]
        return f"pack verified; wheels, GLUE and float32 encoder ready under {args.work} in {setup.seconds:.1f} s"

    steps = [
        ("versions", lambda: ", ".join(f"{k} {v}" for k, v in versions().items() if v)),
        ("device", lambda: json.dumps(accelerator())),
        ("pack", prepared),
        ("packages", lambda: machine_packages(state["setup"].site)),
        ("datasets", lambda: f"datasets {versions()['datasets']}, fsspec {versions()['fsspec']} (packed)"),
        ("glue", lambda: glue_check(state["setup"].glue, state["manifest"])),
        ("encoder", lambda: forward_check(state["setup"].encoder)),
    ]
    start = time.monotonic()
    for name, step in steps:
        try:
            print(f"ok   {name}: {step()}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported as the check's one line
            print(f"FAIL {name}: {one_line(e)}", flush=True)
            print(f"error: {name}: {one_line(e)}", file=sys.stderr)
            return 1
    print(f"check passed in {time.monotonic() - start:.0f} s", flush=True)
    return 0
