"""Where the final model of a system for a task is, among a profile's finished runs, and what it holds.

- `model_dir`: the saved model of a run folder (``<run>/model``);
- `final_run`: the finished run of a stage whose model answers a task: the per-task run
  ``<root>/<profile>/<stage>/<task>``, else the multi-task run ``<root>/<profile>/<stage>``, else the run of the
  stage standing in for it (MT-DNN-KD's rule: layout.system_run);
- `finished_models`: {task: run folder} of the first of several stages with such a run (the models a GLUE
  submission predicts with);
- `parameter_counts`: the parameters of a saved model, read from its weights file.
"""

import json
import math
from pathlib import Path

from ..experiments.layout import system_run
from ..experiments.runs import is_finished
from ..glue.tasks import GLUE_TASKS


def model_dir(path: str | Path) -> Path:
    """The saved model of a run folder (``<run>/model``) or `path` itself if it is a model folder."""
    path = Path(path)
    if (path / "model" / "model.safetensors").is_file():
        return path / "model"
    if (path / "model.safetensors").is_file():
        return path
    raise FileNotFoundError(f"{path}: no saved model (expected {path}/model/model.safetensors, as a finished run "
                            f"writes it, or a model folder with model.safetensors)")


def _has_head(run: Path, task: str) -> bool:
    config = run / "model" / "config.json"
    return is_finished(run) and config.is_file() and task in json.loads(config.read_text())["tasks"]


def final_run(profile_root, stage: str, task: str) -> Path | None:
    """The finished run of `stage` under a profile's runs folder whose saved model has `task`'s head, or None:
    the per-task run ``<stage>/<task>`` before the multi-task run ``<stage>``, then those of the stage standing in
    for it (for MT-DNN-KD, stage student_refine: the student; layout.system_run)."""
    return system_run(profile_root, stage, task, accept=lambda run: _has_head(run, task))


def finished_models(root, profile: str, stages=("student_refine", "refine", "mtl")) -> dict[str, Path]:
    """{task: run folder} for every GLUE task: the `final_run` of the first of `stages` that has one (by
    default MT-DNN-KD, else MT-DNN, else MT-DNN without fine-tuning). A mapping for
    submission.write_submission; tasks with no such run are absent."""
    found: dict[str, Path] = {}
    for task in GLUE_TASKS:
        run = next((r for r in (final_run(Path(root) / profile, s, task) for s in stages) if r is not None), None)
        if run is not None:
            found[task] = run
    return found


def parameter_counts(model_dir: str | Path) -> dict[str, int]:
    """Parameters of a saved MTDNN, read from its weights file without building it: {"shared": n, task: n}
    (as MTDNN.parameter_counts)."""
    from safetensors import safe_open

    counts: dict[str, int] = {}
    with safe_open(str(Path(model_dir) / "model.safetensors"), "pt") as weights:
        for key in weights.keys():
            n = math.prod(weights.get_slice(key).get_shape())
            part = "shared" if key.startswith("encoder.") else key.split(".")[1] if key.startswith("heads.") else key
            counts[part] = counts.get(part, 0) + n
    return counts
