"""The run layout: where each run of a reproduction lives, and which finished run answers for a system.

    <root>/<profile>/<stage>/<task>        a per-task run: st, refine, student_refine; ensemble, soft_targets
    <root>/<profile>/<stage>               a multi-task run: mtl, student
    <root>/<profile>/teacher/<task>/<k>    the k-th teacher of a teacher task, k = 1 … K, trained with seed + k
    <root>/seed<i>/<profile>/…             the runs of a reproduction's i-th further training seed (i ≥ 1)

A run is finished when its done.json is there (runs.is_finished, written last). MT-DNN-KD is the student refined
on a task where that run is finished, else the student itself (`STANDS_IN`): with epochs_student_refine = 0, or
before the refinement has run. Every stage, plan, report and view finds runs through this module.
"""

from pathlib import Path

from ..glue.tasks import get_task
from .profiles import Profile
from .runs import is_finished

STANDS_IN = {"student_refine": "student"}
"""{stage: the stage whose run gives its system for a task that has no finished run of its own}: MT-DNN-KD
(student_refine) is the student where it was not refined."""


def run_dir(root, profile: Profile, stage: str, task: str | None = None) -> Path:
    """``<root>/<profile>/<stage>/<task>`` for a per-task run, ``<root>/<profile>/<stage>`` for a multi-task one."""
    directory = Path(root) / profile.name / stage
    return directory / task if task else directory


def seed_runs(runs, index: int) -> Path:
    """Where a reproduction's `index`-th seed's runs live: `runs` itself for the first (the reference seed that the
    notebooks read), ``<runs>/seed<index>`` for the others."""
    return Path(runs) if index == 0 else Path(runs) / f"seed{index}"


def teacher_tasks(profile: Profile) -> list[str]:
    """The profile's tasks that MT-DNN-KD distils from teachers (MNLI, QQP, QNLI, RTE among them)."""
    return [t for t in profile.tasks if get_task(t).has_teacher]


def teacher_profile(profile: Profile, k: int) -> Profile:
    """The settings of the k-th teacher (k = 1 … K): the profile with training seed seed + k (the data stay those
    of data_seed, so a teacher never sees the dev-proxy)."""
    return profile.override(seed=profile.seed + k)


def teacher_dir(root, profile: Profile, task: str, k: int) -> Path:
    """``<root>/<profile>/teacher/<task>/<k>``: the k-th teacher of `task`."""
    return run_dir(root, profile, "teacher", task) / str(k)


def teacher_runs(profile_root, task: str) -> list[Path]:
    """The finished teacher runs of `task` under a profile's runs folder ``<root>/<profile>``, in the order
    k = 1 … K."""
    folder = Path(profile_root) / "teacher" / task
    found = [p for p in folder.iterdir() if p.name.isdigit() and is_finished(p)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(p.name))


def teachers_by_task(root, profile: Profile) -> dict[str, list[Path]]:
    """{task: its finished teacher runs (`teacher_runs`)}, for the profile's teacher tasks that have any."""
    runs = {task: teacher_runs(Path(root) / profile.name, task) for task in teacher_tasks(profile)}
    return {task: found for task, found in runs.items() if found}


def candidate_runs(profile_root, stage: str, task: str) -> list[Path]:
    """Where the run giving `stage`'s system for `task` may be, in the order preferred: the per-task run
    ``<stage>/<task>``, the multi-task run ``<stage>``, then the same for the stage standing in for it."""
    root = Path(profile_root)
    own = [root / stage / task, root / stage]
    return own + candidate_runs(root, STANDS_IN[stage], task) if stage in STANDS_IN else own


def system_run(profile_root, stage: str, task: str, accept=is_finished) -> Path | None:
    """The first of `candidate_runs` that `accept` takes (by default: the first finished one), or None."""
    return next((run for run in candidate_runs(profile_root, stage, task) if accept(run)), None)


def student_dir(profile_root, task: str) -> Path:
    """MT-DNN-KD's run for `task` under a profile's runs folder: the student refined on the task where that run
    is finished, else the student itself."""
    return system_run(profile_root, "student_refine", task) or Path(profile_root) / STANDS_IN["student_refine"]
