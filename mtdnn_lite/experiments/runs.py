"""Run artefacts: everything a run produced, in one folder, and how a later stage finds it.

    <run>/config.json        the resolved settings and their hash (a rerun with the same hash is reused)
    <run>/environment.json   library and package versions, device
    <run>/data.json          per task and split: source file, rows used, partial/proxy flags, fingerprint
    <run>/metrics.json       one entry per epoch: dev scores per task and split, training loss, throughput
    <run>/predictions/       <task>.<split>.jsonl: idx, label, prediction, probabilities per dev example
    <run>/model/             the weights (safetensors) and model config
    <run>/checkpoint/        the last finished epoch, while the run is unfinished (resume reads it)
    <run>/done.json          written last: the run is complete
"""

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("mtdnn_lite", "torch", "transformers", "datasets", "accelerate", "safetensors")


def write_json(path: Path, obj) -> None:
    """Write `obj` as JSON atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def config_hash(config: dict) -> str:
    """A short hash of the resolved settings that decide a run's result."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()})"
    return {"python": platform.python_version(), "packages": versions, "device": device,
            "torch_threads": torch.get_num_threads()}


def is_finished(run_dir: Path) -> bool:
    """Whether `run_dir` holds a finished run (its done.json, written last), whatever its settings."""
    return (Path(run_dir) / "done.json").is_file()


def is_done(run_dir: Path, config: dict) -> bool:
    """Whether `run_dir` holds a finished run of exactly this config."""
    done = Path(run_dir) / "done.json"
    return done.is_file() and read_json(done).get("config_hash") == config_hash(config)


def write_predictions(run_dir: Path, task: str, split: str, rows: list[dict]) -> None:
    path = Path(run_dir) / "predictions" / f"{task}.{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def read_predictions(run_dir: Path, task: str, split: str) -> list[dict]:
    path = Path(run_dir) / "predictions" / f"{task}.{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]
