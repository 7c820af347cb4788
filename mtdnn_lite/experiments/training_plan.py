"""What a notebook would have to train before it can show anything, and about how long that would take.

A notebook that needs runs asks before it trains them (notebooks 06 and 07: `train_missing`), because on the
quick profile that means half an hour or more. `plan_training` lists the runs of the stages asked for, and of the
stages they need, that have no finished run of the profile's settings, and estimates the wall time as

    examples to train (each run: its epochs × the training rows it draws per task) ÷ examples per second
    × (1 + overhead),

where the speed is measured over the profile's finished runs under the runs folder (their metrics.json: training
examples over training seconds) where there are any, else `REFERENCE`'s, scaled to this machine where asked
(`calibrate`: a few seconds of probe steps, speed_probe.py); and 1 + overhead, a measured reproduction's wall time
over its runs' training seconds summed, is `REFERENCE`'s: the time outside the training steps (evaluation, data
preparation, model loading, the teachers' soft targets, the tables, the submission and the inference cost) adds to
it, and runs trained side by side (lanes.py) take from it, since their training seconds overlap. Both reference
values come from measured reproductions (REFERENCE's docstring says which).
`require_runs` is the guard itself.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..core.inference import precision_name
from ..glue.data import OFFICIAL_ROWS, resolve_glue_dir
from ..glue.glue_files import split_files, task_dir
from ..glue.tasks import get_task
from .layout import run_dir, teacher_dir, teacher_profile, teacher_tasks
from .pipeline import multitask, required, run_config, stage
from .profiles import Profile
from .runs import read_json
from .speed_probe import probe_speed

@dataclass(frozen=True)
class Reference:
    """A measured reproduction's speed: training examples per second (examples over the training seconds its runs'
    metrics.json record), the overhead ((wall seconds − training seconds) ÷ training seconds) and, where it was
    measured on the same machine, the speed probe's examples per second there (speed_probe.py; None: not measured,
    and the estimate is not scaled to the machine)."""
    examples_per_second: float
    overhead: float
    probe: float | None = None


REFERENCE = {
    ("minilm", "no"): Reference(45.5, 0.34, probe=27.1),
    ("minilm", "bf16"): Reference(69.3, -0.13, probe=64.3),
    ("tiny", "no"): Reference(485.0, 4.5),
}
"""(encoder, precision) → its `Reference`, from `reproduce` runs from an empty runs folder on 2-core CPUs:

- minilm in float32 ("no"), one seed of `--profile quick` on a 2-core Intel Xeon with AVX-512 (no AMX, so `auto`
  precision is float32), 2 torch threads: 157,080 training examples in 3,456 s of training steps and 4,621 s of
  wall time (the command's), one run at a time (before lanes.py: on such a CPU this estimate now runs long by
  about what lanes save); the probe, 27.1 examples/s there (median of 5 probes, 24.7–31.3);
- minilm in bf16, one seed of `--profile quick` on a 2-core Intel Xeon with AMX units, a stage's per-task runs two
  at a time (lanes.py): 157,080 training examples in 2,268 s of training steps summed over the runs and 1,977 s of
  the command's wall time (its conditions.json), so its 1 + overhead is below 1; the probe, 64.3 examples/s
  there (median of 5 probes, 62.3–65.5);
- tiny, `--profile tiny` on a CPU with AVX2: 4,544 training examples in 9.4 s of training steps and 51 s of wall
  time, most of it loading and the tables.
On a 2-core CPU with AVX2 alone float32 trains about three times slower than on the first (31–36 examples/s on
CoLA and SST-2, about 9 on MRPC's longer pairs, against 108 and 34 there): the probe scales the estimate to it.
A GPU is much faster."""


def reference(profile: Profile) -> Reference | None:
    """REFERENCE's entry for the profile's encoder and precision; None where none was measured."""
    return REFERENCE.get((profile.encoder, profile.mixed_precision))


class MissingRuns(RuntimeError):
    """A notebook needs runs that are not there, and was not asked to train them."""

    def _render_traceback_(self):  # IPython's hook: show the message alone, not a traceback
        return [f"MissingRuns: {self}"]


@dataclass
class TrainingPlan:
    """The runs still to train, the training examples they take, and the speed the estimate assumes."""
    profile: str
    runs: list[tuple[str, Path, int]] = field(default_factory=list)  # (stage, run folder, examples to train)
    examples_per_second: float | None = None
    speed_source: str = ""
    overhead: float = 0.0  # wall time ÷ training seconds − 1 of a measured reproduction (REFERENCE)

    @property
    def examples(self) -> int:
        return sum(n for _, _, n in self.runs)

    @property
    def seconds(self) -> float:
        """The estimated wall time, evaluation and loading included; nan when no speed is known."""
        if not self.examples_per_second:
            return math.nan
        return self.examples / self.examples_per_second * (1 + self.overhead)

    def estimate(self) -> str:
        """The estimate and what it rests on, in one phrase."""
        if not self.examples_per_second:
            return f"an unknown time: {self.examples:,} training examples, {self.speed_source}"
        return (f"about {duration(self.seconds)}, an estimate: {self.examples:,} training examples at "
                f"{self.examples_per_second:,.0f} examples/s per run, {self.speed_source}, × {1 + self.overhead:.2f} "
                "for evaluation, loading, the tables and runs side by side (a measured reproduction's wall time over "
                "its runs' training seconds)")

    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage for stage, _, _ in self.runs))

    def summary(self) -> str:
        """One paragraph: what is missing and the estimate, labelled as one."""
        if not self.runs:
            return f"every run needed is finished (profile {self.profile})"
        counts = ", ".join(f"{s} ({sum(1 for r in self.runs if r[0] == s)} run(s))" for s in self.stages())
        return f"missing runs of profile {self.profile}: {counts}; training them takes {self.estimate()}"


def duration(seconds: float) -> str:
    """12 s, 7 min, 2.5 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def train_rows(task: str, profile: Profile, glue_dir) -> int:
    """The training rows a run of `task` draws: max_train, or all the rows of the GLUE directory's train.tsv
    (GLUE's official count when reading the hub), whichever is fewer."""
    spec, glue_dir = get_task(task), resolve_glue_dir(glue_dir)
    if glue_dir is None:
        rows = OFFICIAL_ROWS[spec.name]["train"]
    else:
        with open(task_dir(glue_dir, spec) / split_files(spec)["train"], "rb") as f:
            rows = sum(1 for _ in f) - (spec.name != "CoLA")  # a header line, except CoLA's
    return min(rows, profile.max_train or rows)


def finished(folder: Path, config: dict) -> bool:
    """Whether `folder` holds a finished run of `config`'s settings, the run it started from aside (that one
    is checked as a stage of its own)."""
    if not (folder / "done.json").is_file() or not (folder / "config.json").is_file():
        return False
    stored, wanted = read_json(folder / "config.json"), json.loads(json.dumps(config))  # tuples as JSON lists
    return all(stored.get(k) == v for k, v in wanted.items() if k != "init")


def expected_runs(root, profile: Profile, stage: str) -> list[tuple[Path, dict | None, list[str], int]]:
    """(run folder, its settings or None where only done.json counts, tasks trained, epochs) of every run of
    `stage` for `profile`."""
    tasks = list(profile.tasks)
    per_task = {"st": profile.epochs_st, "refine": profile.epochs_refine,
                "student_refine": profile.epochs_student_refine}
    if stage in per_task:
        return [(run_dir(root, profile, stage, t), run_config(profile, stage, [t], per_task[stage], ""), [t],
                 per_task[stage]) for t in tasks if per_task[stage]]
    if stage in ("mtl", "student"):
        epochs = profile.epochs_mtl if stage == "mtl" else profile.epochs_student
        return [(run_dir(root, profile, stage), run_config(multitask(profile), stage, tasks, epochs, ""), tasks,
                 epochs)]
    if stage == "teacher":
        return [(teacher_dir(root, profile, t, k),
                 run_config(teacher_profile(profile, k), stage, [t], profile.epochs_teacher, ""), [t],
                 profile.epochs_teacher) for t in teacher_tasks(profile) for k in range(1, profile.teachers + 1)]
    if stage == "soft_targets":  # predictions, not training: no examples to train
        return [(run_dir(root, profile, stage, t), None, [t], 0) for t in teacher_tasks(profile)]
    raise ValueError(f"stage {stage!r} has no runs to plan")


def measured_speed(root, profile: Profile) -> float | None:
    """Training examples per second of the profile's epochs under `root` (their metrics.json): their examples over
    their training seconds; None if there are none."""
    epochs = [epoch for path in (Path(root) / profile.name).glob("**/metrics.json") for epoch in read_json(path)
              if epoch.get("train_seconds") and epoch.get("train_examples")]
    seconds = sum(e["train_seconds"] for e in epochs)
    return sum(e["train_examples"] for e in epochs) / seconds if seconds else None


def plan_training(root, profile: Profile, stages, glue_dir=None, calibrate: bool = False) -> TrainingPlan:
    """The runs that `stages` and the stages they need (pipeline.required) still lack (a stage missing any run
    makes every stage that needs it missing too), and the estimated time to train them. With `calibrate`, where
    no finished run gives the speed and REFERENCE has a probe, the reference speed is scaled to this machine by
    a few seconds of probe steps (speed_probe.py)."""
    plan, missing_stages = TrainingPlan(profile.name), set()
    rows = {}
    for name in required(stages):
        stale = any(s in missing_stages for s in stage(name).needs)
        for folder, config, tasks, epochs in expected_runs(root, profile, name):
            present = (folder / "done.json").is_file() if config is None else finished(folder, config)
            if stale or not present:
                missing_stages.add(name)
                for t in tasks:
                    rows.setdefault(t, train_rows(t, profile, glue_dir))
                plan.runs.append((name, folder, epochs * sum(rows[t] for t in tasks)))
    known, speed = reference(profile), measured_speed(root, profile)
    plan.overhead = known.overhead if known else 0.0
    precision = precision_name(profile.mixed_precision)
    if speed:
        plan.examples_per_second = speed
        plan.speed_source = f"measured over the finished runs under {Path(root) / profile.name}"
    elif known and known.probe and calibrate:
        ratio = probe_speed(profile) / known.probe
        plan.examples_per_second = known.examples_per_second * ratio
        plan.speed_source = (f"encoder {profile.encoder} in {precision}: {known.examples_per_second:,.0f} examples/s "
                             f"on the reference machine (training_plan.REFERENCE) × {ratio:.2f}, this machine's "
                             "speed against it in a few probe steps")
    elif known:
        plan.examples_per_second = known.examples_per_second
        plan.speed_source = (f"encoder {profile.encoder} in {precision} as measured on a 2-core CPU "
                             "(training_plan.REFERENCE)")
    else:
        plan.speed_source = (f"no speed known for encoder {profile.encoder} in {precision} (no finished runs to "
                             "measure)")
    return plan


def require_runs(plan: TrainingPlan, train_missing: bool | None) -> bool:
    """The guard: whether to train the plan's runs. Nothing missing: False. `train_missing` True: True (the plan
    is printed first). None: True only on the tiny profile (seconds). Otherwise MissingRuns, saying what is
    missing, how long it would take and what to do."""
    if not plan.runs:
        return False
    if train_missing or (train_missing is None and plan.profile == "tiny"):
        print(f"{plan.summary()}; training them now")
        return True
    raise MissingRuns(f"{plan.summary()}. To train them here, set train_missing = True in the first cell and run "
                      f"the notebook again; or run `python -m mtdnn_lite reproduce --profile {plan.profile}` in a "
                      "terminal first (it resumes where it stops)")
