"""The stages of the MT-DNN paper, wired together on the run artefacts.

- ``st``: the single-task baseline (the paper's BERT rows): the pretrained encoder fine-tuned on each
  task alone, one run per task.
- ``mtl``: MT-DNN without task-specific fine-tuning: one model, all tasks, Algorithm 1.
- ``refine``: the paper's MT-DNN: the ``mtl`` model fine-tuned once more on each task, one run per task.

Runs live in ``<root>/<profile>/<stage>/<task>`` (``<root>/<profile>/mtl`` for the one MTL run). A run whose artefacts exist for the same
settings is reused; a later stage names the run it starts from in its own settings, so changing the
``mtl`` settings also reruns ``refine``.
"""

from pathlib import Path

from .encoder import load_encoder, load_tokenizer
from .model import MTDNN
from .profiles import Profile
from .runs import read_json
from .taskdata import TaskData, prepare_task
from .train import train

STAGES = ("st", "mtl", "refine")

_DATA_CACHE: dict[tuple, TaskData] = {}


def task_data(task: str, profile: Profile, glue_dir) -> TaskData:
    """`prepare_task`, once per process for the same task, data settings and GLUE directory."""
    key = (task, profile.encoder, profile.max_train, profile.max_eval, profile.dev_proxy_size,
           profile.max_length, profile.seed, str(glue_dir))
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = prepare_task(task, profile, load_tokenizer(profile.encoder), glue_dir)
    return _DATA_CACHE[key]


def run_config(profile: Profile, stage: str, tasks: list[str], epochs: int, init: str) -> dict:
    """The settings that decide a run's result (other stages' epochs and the profile's name excluded)."""
    settings = {k: v for k, v in profile.to_dict().items()
                if k not in ("name", "tasks") and not k.startswith("epochs_")}
    return {"stage": stage, "tasks": tasks, "epochs": epochs, "init": init, "profile": profile.name, **settings}


def run_dir(root, profile: Profile, stage: str, task: str | None = None) -> Path:
    """``<root>/<profile>/<stage>/<task>`` for a per-task run, ``<root>/<profile>/<stage>`` for ``mtl``."""
    directory = Path(root) / profile.name / stage
    return directory / task if task else directory


def _train(root, profile, stage, tasks, epochs, glue_dir, init: str, build) -> Path:
    directory = run_dir(root, profile, stage, tasks[0] if stage != "mtl" else None)
    data = {t: task_data(t, profile, glue_dir) for t in tasks}
    pad = load_tokenizer(profile.encoder).pad_token_id
    train(directory, run_config(profile, stage, tasks, epochs, init), build, data, profile, epochs, pad)
    return directory


def run_st(profile: Profile, glue_dir, root="runs") -> list[Path]:
    """The single-task baseline: the pretrained encoder fine-tuned on each task alone."""
    return [_train(root, profile, "st", [task], profile.epochs_st, glue_dir, f"encoder:{profile.encoder}",
                   lambda task=task: MTDNN(load_encoder(profile.encoder, profile.seed), [task], profile.san))
            for task in profile.tasks]


def run_mtl(profile: Profile, glue_dir, root="runs") -> Path:
    """MT-DNN's multi-task learning (Algorithm 1) from the pretrained encoder."""
    tasks = list(profile.tasks)
    return _train(root, profile, "mtl", tasks, profile.epochs_mtl, glue_dir, f"encoder:{profile.encoder}",
                  lambda: MTDNN(load_encoder(profile.encoder, profile.seed), tasks, profile.san))


def run_refine(profile: Profile, glue_dir, root="runs") -> list[Path]:
    """The paper's MT-DNN: the MTL model fine-tuned once more on each task (runs ``mtl`` first if needed)."""
    mtl = run_mtl(profile, glue_dir, root)
    init = f"mtl:{read_json(mtl / 'done.json')['config_hash']}"
    return [_train(root, profile, "refine", [task], profile.epochs_refine, glue_dir, init,
                   lambda: MTDNN.load(mtl / "model"))
            for task in profile.tasks]


RUNNERS = {"st": run_st, "mtl": run_mtl, "refine": run_refine}
