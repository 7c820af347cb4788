"""MT-DNN-KD's run folders (kd.py has the maths): the teacher ensemble scored as a run, and the soft targets
stored and loaded back.

The ensemble is scored on the dev splits like any run (``score_ensemble``), from its members'
prediction files. Soft targets are stored in ``<run>/probabilities.npy`` (Float[N, C], one row per
training example, in the split's order) beside ``<run>/meta.json`` (task, split, example idx, the
teachers' runs and config hashes, the data fingerprint); loading checks idx and fingerprint against
the data the student reads.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ..core.evaluation import score_split
from ..core.kd import ensemble_probabilities
from .runs import config_hash, read_json, read_predictions, write_json, write_predictions
from .taskdata import TaskData

PROBABILITIES = "probabilities.npy"
META = "meta.json"


def score_ensemble(directory: Path, config: dict, teachers: list[Path], data: TaskData) -> None:
    """The ensemble of the `teachers` runs scored on `data`'s dev splits, written as a run's artefacts:
    config.json, data.json, predictions/, metrics.json (one entry, as a run's last epoch), done.json."""
    directory, task, scores = Path(directory), data.task, {}
    for split, encoded in data.evals.items():
        members = []
        for teacher in teachers:
            rows = read_predictions(teacher, task, split)
            if [r["idx"] for r in rows] != list(encoded["idx"]):
                raise ValueError(f"{teacher}/predictions/{task}.{split}.jsonl: its idx differ from the {split} "
                                 "split's; rerun that teacher on this data")
            members.append(np.array([r["probabilities"] for r in rows]))
        scores[split], predictions = score_split(task, ensemble_probabilities(members), encoded)
        write_predictions(directory, task, split, predictions)
    write_json(directory / "config.json", {**config, "config_hash": config_hash(config)})
    write_json(directory / "data.json", {task: data.info})
    write_json(directory / "metrics.json", [{"dev": {task: scores}}])
    write_json(directory / "done.json", {"config_hash": config_hash(config)})


def write_soft_targets(directory: Path, config: dict, probabilities: np.ndarray, data: TaskData) -> None:
    """Store Q for every row of `data.train`, with `config` (task, teachers, fingerprint) and the rows' idx."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / PROBABILITIES, probabilities.astype(np.float32))
    write_json(directory / META, {**config, "idx": list(data.train["idx"])})
    write_json(directory / "done.json", {"config_hash": config_hash(config)})


def load_soft_targets(directory: Path, data: TaskData) -> np.ndarray:
    """The soft targets stored in `directory`, after checking they were made for `data.train`'s rows."""
    meta_path = Path(directory) / META
    meta = read_json(meta_path)
    expected = {"task": data.task, "split": "train", "fingerprint": data.info["train"]["fingerprint"]}
    for field, value in expected.items():
        if meta[field] != value:
            raise ValueError(f"{meta_path}: {field} is {meta[field]!r}, expected {value!r} (the training data's); "
                             "rerun the soft_targets stage for this data")
    stored, idx = meta["idx"], list(data.train["idx"])
    if stored != idx:
        row = next((i for i, (a, b) in enumerate(zip(stored, idx)) if a != b), min(len(stored), len(idx)))
        raise ValueError(f"{meta_path}: idx differs from the training data's at row {row} ({len(stored)} ids "
                         f"stored, {len(idx)} in the data); rerun the soft_targets stage for this data")
    return np.load(Path(directory) / PROBABILITIES)


def with_soft_targets(data: TaskData, directory: Path) -> TaskData:
    """A copy of `data` whose training rows carry a "soft_targets" column (the cached `data` is unchanged)."""
    probabilities = load_soft_targets(directory, data)
    return dataclasses.replace(data, train=data.train.add_column("soft_targets", probabilities.tolist()))
