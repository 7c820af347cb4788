"""The stages of the MT-DNN and MT-DNN-KD papers, wired together on the run artefacts: one table, `STAGE_TABLE`.

- ``st``: the single-task baseline (the paper's BERT rows): the pretrained encoder fine-tuned on each
  task alone, one run per task.
- ``mtl``: MT-DNN without task-specific fine-tuning: one model, all tasks, Algorithm 1.
- ``refine``: the paper's MT-DNN: the ``mtl`` model fine-tuned once more on each task, one run per task.
- ``teacher``: MT-DNN-KD's teachers: for each task with a teacher (MNLI, QQP, QNLI, RTE), `teachers` runs
  fine-tuned from the ``mtl`` model, each with its own training seed (and, optionally, task dropout) on
  the same data; their ensemble is scored as a run of stage ``ensemble``.
- ``soft_targets``: the ensemble's class probabilities for every training example of those tasks.
- ``student``: MT-DNN-KD: MT-DNN's architecture and initialisation, Algorithm 1 on all tasks, with the
  distillation loss (kd.py) on the tasks with soft targets.
- ``student_refine``: the student fine-tuned once more on each task, soft targets kept.

The table gives each stage's runner, what its models start from and the stages it needs; the order of the
stages, the plan of what is left to train (training_plan.py) and the order of the reports (reporting/) come
from it. A runner takes the results of the stages it needs; `run_stages` runs stages after what they need,
each stage once, and `run_stage` one stage so (``python -m mtdnn_lite train --stage X``).

A stage's runs that do not need each other (one per task, one per teacher) train side by side in `lanes` processes
(lanes.py). Where the runs live is layout.py's. A run whose artefacts exist for the same settings is reused; a
later stage names the run it starts from in its own settings, so changing the ``mtl`` settings also reruns
``refine``, the teachers and what follows them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..core.encoder import load_encoder, load_tokenizer
from ..core.evaluation import predict
from ..core.kd import ensemble_probabilities
from ..core.model import MTDNN
from ..core.trainer import processes
from ..glue.tasks import get_task
from .lanes import run_side_by_side
from .layout import run_dir, teacher_dir, teacher_profile, teacher_tasks
from .locks import holding
from .profiles import DataSettings, Profile
from .runs import is_done, read_json
from .soft_targets import score_ensemble, with_soft_targets, write_soft_targets
from .taskdata import TaskData, prepare_task
from .train import train_run

KD_SETTINGS = ("teachers", "teacher_dropouts", "kd_weight", "kd_temperature")
"""Profile fields that only the KD stages read; those stages put what decides each run in its settings."""

SCHEDULE_SETTINGS = ("lanes", "eval_every_epoch")
"""Profile fields that decide how runs are scheduled and watched, not what they learn: left out of a run's settings,
so that a run made under one value is reused under another."""

_DATA_CACHE: dict[tuple[str, DataSettings, str], TaskData] = {}


def task_data(task: str, profile: Profile, glue_dir) -> TaskData:
    """`prepare_task`, once per process for the same task, data settings (the profile's `DataSettings`, all of
    them and only them) and GLUE directory."""
    settings = profile.data_settings()
    key = (task, settings, str(glue_dir))
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = prepare_task(task, settings, glue_dir)
    return _DATA_CACHE[key]


def run_config(profile: Profile, stage: str, tasks: list[str], epochs: int, init: str, **extra) -> dict:
    """The settings that decide a run's result (other stages' epochs, the profile's name and the KD settings
    excluded; lr_mtl too: a multi-task stage records the rate it used as lr), plus a stage's own `extra`
    settings."""
    settings = {k: v for k, v in profile.to_dict().items()
                if k not in ("name", "tasks", "lr_mtl", *KD_SETTINGS, *SCHEDULE_SETTINGS)
                and not k.startswith("epochs_")}
    return {"stage": stage, "tasks": tasks, "epochs": epochs, "init": init, "profile": profile.name, **settings,
            **extra}


def _data(tasks, profile: Profile, glue_dir, soft_targets: dict[str, Path] | None = None) -> dict[str, TaskData]:
    """Each task's data, drawn with the profile's seed; with a soft-target column where `soft_targets` has one."""
    soft_targets = soft_targets or {}
    return {t: with_soft_targets(task_data(t, profile, glue_dir), soft_targets[t]) if t in soft_targets
            else task_data(t, profile, glue_dir) for t in tasks}


def _train(directory: Path, profile: Profile, stage: str, tasks: list[str], epochs: int, init: str, build,
           glue_dir, soft_target_dirs: dict[str, Path] | None = None, **extra) -> Path:
    """One training run in `directory`: the model `build()` returns (picklable, for a lane), trained on `tasks`
    with their soft targets where `soft_target_dirs` has them."""
    pad = load_tokenizer(profile.encoder).pad_token_id
    train_run(directory, run_config(profile, stage, tasks, epochs, init, **extra), build,
              _data(tasks, profile, glue_dir, soft_target_dirs), profile, epochs, pad)
    return directory


def _side_by_side(profile: Profile, runs: list[Callable[[], Path]]) -> list[Path]:
    """A stage's independent `runs` (calls of `_train`), `profile.lanes` at a time."""
    return run_side_by_side(runs, profile.lanes)


def new_model(profile: Profile, tasks: list[str]) -> MTDNN:
    """A fresh MT-DNN for `tasks`: the profile's pretrained encoder (random init from its seed for "tiny"),
    new heads of the profile's kind (SAN or not, readout)."""
    return MTDNN(load_encoder(profile.encoder, profile.seed), tasks, profile.san, profile.readout)


def _hash(run: Path) -> str:
    return read_json(run / "done.json")["config_hash"]


def run_st(profile: Profile, glue_dir, root) -> list[Path]:
    """The single-task baseline: the pretrained encoder fine-tuned on each task alone."""
    return _side_by_side(profile, [
        partial(_train, run_dir(root, profile, "st", task), profile, "st", [task], profile.epochs_st,
                f"encoder:{profile.encoder}", partial(new_model, profile, [task]), glue_dir)
        for task in profile.tasks])


def multitask(profile: Profile) -> Profile:
    """The settings of a multi-task stage (mtl, student): the profile with lr_mtl as its lr where set."""
    return profile.override(lr=profile.lr_mtl) if profile.lr_mtl is not None else profile


def run_mtl(profile: Profile, glue_dir, root) -> Path:
    """MT-DNN's multi-task learning (Algorithm 1) from the pretrained encoder."""
    tasks = list(profile.tasks)
    return _train(run_dir(root, profile, "mtl"), multitask(profile), "mtl", tasks, profile.epochs_mtl,
                  f"encoder:{profile.encoder}", partial(new_model, profile, tasks), glue_dir)


def run_refine(profile: Profile, glue_dir, root, mtl: Path) -> list[Path]:
    """The paper's MT-DNN: the MTL model of run `mtl` fine-tuned once more on each task."""
    return _side_by_side(profile, [
        partial(_train, run_dir(root, profile, "refine", task), profile, "refine", [task], profile.epochs_refine,
                f"mtl:{_hash(mtl)}", partial(MTDNN.load, mtl / "model"), glue_dir)
        for task in profile.tasks])


def teacher_model(mtl: Path, task: str, dropout: float) -> MTDNN:
    """A teacher's starting point: the MTL model of run folder `mtl`, the head of `task` with dropout `dropout`."""
    model = MTDNN.load(mtl / "model")
    model.head(task).dropout.p = dropout  # this teacher's task dropout
    return model


def run_teacher(profile: Profile, glue_dir, root, mtl: Path) -> dict[str, list[Path]]:
    """MT-DNN-KD's teachers, K = `profile.teachers` per task with a teacher, each the MTL model of run `mtl`
    fine-tuned on the task with its own training seed (layout.teacher_profile); and each task's ensemble scored
    in ``<root>/<profile>/ensemble/<task>``."""
    dropouts = profile.teacher_dropouts
    if dropouts is not None and len(dropouts) != profile.teachers:
        raise ValueError(f"profile {profile.name!r}: teacher_dropouts has {len(dropouts)} values, expected one "
                         f"per teacher (teachers={profile.teachers})")
    jobs = []
    for task in teacher_tasks(profile):
        for k in range(1, profile.teachers + 1):
            dropout = dropouts[k - 1] if dropouts else get_task(task).dropout
            jobs.append(partial(_train, teacher_dir(root, profile, task, k), teacher_profile(profile, k), "teacher",
                                [task], profile.epochs_teacher, f"mtl:{_hash(mtl)}",
                                partial(teacher_model, mtl, task, dropout), glue_dir, teacher=k, dropout=dropout))
    trained = iter(_side_by_side(profile, jobs))
    runs = {task: [next(trained) for _ in range(profile.teachers)] for task in teacher_tasks(profile)}
    for task in runs:
        directory = run_dir(root, profile, "ensemble", task)
        config = {"stage": "ensemble", "tasks": [task], "profile": profile.name, "encoder": profile.encoder,
                  "teachers": _members(runs[task], root)}
        with processes().main_process_first(), holding(directory):
            if not is_done(directory, config):
                score_ensemble(directory, config, runs[task], task_data(task, profile, glue_dir))
    return runs


def _members(teachers: list[Path], root) -> list[dict]:
    return [{"run": str(t.relative_to(root)), "config_hash": _hash(t)} for t in teachers]


def run_soft_targets(profile: Profile, glue_dir, root, teacher: dict[str, list[Path]]) -> dict[str, Path]:
    """The class probabilities Q of the ensemble of the `teacher` runs for every training example of each task
    with a teacher, computed once; {task: the folder holding them}."""
    state, pad = processes(), load_tokenizer(profile.encoder).pad_token_id
    folders = {}
    for task, teachers in teacher.items():
        data = task_data(task, profile, glue_dir)
        folders[task] = directory = run_dir(root, profile, "soft_targets", task)
        config = {"stage": "soft_targets", "task": task, "split": "train",
                  "fingerprint": data.info["train"]["fingerprint"], "teachers": _members(teachers, root)}
        with state.main_process_first(), holding(directory):
            if not is_done(directory, config):
                members = [predict(MTDNN.load(t / "model").to(state.device), task, data.train, pad,
                                   mixed_precision=profile.mixed_precision) for t in teachers]
                write_soft_targets(directory, config, ensemble_probabilities(members), data)
    return folders


def _kd_settings(profile: Profile, soft_targets: dict[str, Path]) -> dict:
    """What decides a run on soft targets besides the profile's settings: α, T and which soft targets."""
    if not soft_targets:
        return {}
    return {"kd_weight": profile.kd_weight, "kd_temperature": profile.kd_temperature,
            "soft_targets": {task: _hash(folder) for task, folder in soft_targets.items()}}


def run_student(profile: Profile, glue_dir, root, soft_targets: dict[str, Path]) -> Path:
    """MT-DNN-KD: a model of MT-DNN's architecture and initialisation trained with Algorithm 1 on every task,
    on hard and soft targets where a task has them (`soft_targets`: {task: its soft-target folder})."""
    tasks = list(profile.tasks)
    return _train(run_dir(root, profile, "student"), multitask(profile), "student", tasks, profile.epochs_student,
                  f"encoder:{profile.encoder}", partial(new_model, profile, tasks), glue_dir, soft_targets,
                  **_kd_settings(profile, soft_targets))


def run_student_refine(profile: Profile, glue_dir, root, student: Path, soft_targets: dict[str, Path]) -> list[Path]:
    """The student of run `student` fine-tuned once more on each task, its soft targets kept; nothing when
    epochs_student_refine is 0 (the student then gives MT-DNN-KD: layout.STANDS_IN)."""
    if not profile.epochs_student_refine:
        return []
    jobs = []
    for task in profile.tasks:
        own = {task: soft_targets[task]} if task in soft_targets else {}
        jobs.append(partial(_train, run_dir(root, profile, "student_refine", task), profile, "student_refine", [task],
                            profile.epochs_student_refine, f"student:{_hash(student)}",
                            partial(MTDNN.load, student / "model"), glue_dir, own, **_kd_settings(profile, own)))
    return _side_by_side(profile, jobs)


# --- the stage table ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One stage of the papers' procedure."""
    name: str  # its run folder, ``<root>/<profile>/<name>``
    run: Callable  # run(profile, glue_dir, root, **{each stage it needs: that stage's result}) → its result
    starts_from: str  # what its models start from (their settings' init), or what it reads
    needs: tuple[str, ...]  # the stages whose results it takes, all before it in the table
    scored_as: tuple[str, ...]  # the stages its runs' dev scores are reported under (teacher: its ensemble too)


STAGE_TABLE = (
    Stage("st", run_st, "the pretrained encoder", (), ("st",)),
    Stage("mtl", run_mtl, "the pretrained encoder", (), ("mtl",)),
    Stage("refine", run_refine, "the mtl model", ("mtl",), ("refine",)),
    Stage("teacher", run_teacher, "the mtl model", ("mtl",), ("teacher", "ensemble")),
    Stage("soft_targets", run_soft_targets, "the teachers' predictions", ("teacher",), ()),
    Stage("student", run_student, "the pretrained encoder", ("soft_targets",), ("student",)),
    Stage("student_refine", run_student_refine, "the student", ("student", "soft_targets"), ("student_refine",)),
)
"""The stages in the order they run: st → mtl → refine → teacher (+ ensemble) → soft_targets → student →
student_refine."""

STAGES = tuple(s.name for s in STAGE_TABLE)

SCORED_STAGES = tuple(name for s in STAGE_TABLE for name in s.scored_as)
"""The stages that runs' dev scores carry, in the table's order: the order of every report."""


def stage(name: str) -> Stage:
    """The row of stage `name`."""
    found = next((s for s in STAGE_TABLE if s.name == name), None)
    if found is None:
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGES)}")
    return found


def required(stages) -> list[str]:
    """`stages` and every stage they need, directly or through another, in the table's order."""
    wanted, todo = set(), list(stages)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(stage(name).needs)
    return [name for name in STAGES if name in wanted]


def run_stages(stages, profile: Profile, glue_dir, root="runs") -> dict:
    """Run `stages` and the stages they need (`required`), each once, in the table's order, each runner given the
    results of the stages it needs: finished runs are reused, interrupted ones resume. {stage: its result}."""
    results = {}
    for name in required(stages):
        row = stage(name)
        results[name] = row.run(profile, glue_dir, root, **{need: results[need] for need in row.needs})
    return results


def run_stage(name: str, profile: Profile, glue_dir, root="runs"):
    """Run stage `name` after the stages it needs (`run_stages`); its result."""
    return run_stages([name], profile, glue_dir, root)[name]
