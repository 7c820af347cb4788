"""The systems the MT-DNN and MT-DNN-KD papers compare, and the run stage (pipeline.py) that gives each: the one
table every report and chart names them from.

- `STAGE_SYSTEMS`: one entry per stage whose runs give a system, in the order of the stage table
  (pipeline.SCORED_STAGES);
- `SYSTEMS`: the rows of the papers' tables, (name, stages): the first of a row's stages that has runs gives it.
  The student (no fine-tuning) stands in for MT-DNN-KD where it was not refined, the rule of
  layout.STANDS_IN;
- `STAGE_LABELS`, `STAGE_DESCRIPTIONS`: each stage's system as the charts name it ("MT-DNN (refine)") and what
  it is, in a sentence.

The individual teachers (stage teacher) are no system of their own: their ensemble stands for them.
"""

from dataclasses import dataclass

from ..experiments.layout import STANDS_IN
from ..experiments.pipeline import SCORED_STAGES


@dataclass(frozen=True)
class StageSystem:
    """A stage whose runs give one of the papers' systems."""
    stage: str  # the run folder (pipeline.SCORED_STAGES)
    name: str  # the system, as the papers' tables name it
    description: str  # what it is, in a sentence
    summary: str = ""  # what it is, in a few words, where the name does not say it (glue_dev.md)
    teacher_tasks_only: bool = False  # run only for the tasks with teachers (MNLI, QQP, QNLI, RTE)


DESCRIBED = (
    StageSystem("st", "Single-task baseline",
                "the pretrained encoder fine-tuned on each task alone (the papers' BERT rows)",
                summary="the encoder fine-tuned on each task alone"),
    StageSystem("mtl", "MT-DNN, no fine-tuning", "MT-DNN's multi-task learning, Algorithm 1, one model for all tasks",
                summary="one multi-task model"),
    StageSystem("refine", "MT-DNN", "the mtl model fine-tuned once more on each task (the paper's MT-DNN)",
                summary="the mtl model fine-tuned on each task"),
    StageSystem("ensemble", "Teacher ensemble",
                "MT-DNN-KD's teacher ensembles (MNLI, QQP, QNLI, RTE), their averaged probabilities",
                teacher_tasks_only=True),
    StageSystem("student", "MT-DNN-KD, no fine-tuning", "MT-DNN-KD's student: Algorithm 1 on hard + soft targets"),
    StageSystem("student_refine", "MT-DNN-KD", "the student fine-tuned once more on each task (MT-DNN-KD)"),
)
"""Each system with the stage that gives it; the stage table orders them (`STAGE_SYSTEMS`)."""

STAGE_SYSTEMS = tuple(sorted(DESCRIBED, key=lambda s: SCORED_STAGES.index(s.stage)))
"""The systems of DESCRIBED, in the order of the stage table."""


def stages_giving(stage: str) -> tuple[str, ...]:
    """`stage` and the stages standing in for it (layout.STANDS_IN): ("student_refine", "student")."""
    return (stage, *stages_giving(STANDS_IN[stage])) if stage in STANDS_IN else (stage,)


SYSTEMS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (s.name, stages_giving(s.stage)) for s in STAGE_SYSTEMS if s.stage not in STANDS_IN.values())
"""The rows of the papers' tables and the stages that give each (the first of its stages that has runs)."""


def in_sentence(name: str) -> str:
    """A system's name inside a sentence: "single-task baseline", but "MT-DNN" (an acronym keeps its case)."""
    return name if name[:2].isupper() else name[0].lower() + name[1:]


STAGE_LABELS = {s.stage: f"{in_sentence(s.name)} ({s.stage})" for s in STAGE_SYSTEMS}
"""The systems charted, in the papers' order, each named with the stage (run folder) that gives it."""

STAGE_DESCRIPTIONS = {s.stage: s.description for s in STAGE_SYSTEMS}

TEACHER_TASKS_ONLY = {s.stage for s in STAGE_SYSTEMS if s.teacher_tasks_only}
"""The stages run only for the tasks with teachers."""


def systems_sentence() -> str:
    """The systems of the papers' tables, each with the stages that give it, for a table's header:
    "single-task baseline (`st`: the encoder fine-tuned on each task alone); …; MT-DNN-KD (`student_refine`,
    else `student`)"."""
    by_stage = {s.stage: s for s in STAGE_SYSTEMS}
    parts = []
    for name, stages in SYSTEMS:
        first = by_stage[stages[0]]
        rule = ", else ".join(f"`{stage}`" for stage in stages)
        rule += ", on its tasks only" if first.teacher_tasks_only else ""
        rule += f": {first.summary}" if first.summary else ""
        parts.append(f"{in_sentence(name)} ({rule})")
    return "; ".join(parts)
