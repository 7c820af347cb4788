"""The systems the MT-DNN and MT-DNN-KD papers compare, and the run stage (pipeline.py) that gives each: the one
table every report and chart names them from.

- `STAGE_SYSTEMS`: one entry per stage whose runs give a system, in the papers' order;
- `SYSTEMS`: the rows of the papers' tables, (name, stages): the first of a row's stages that has runs gives it.
  The student (no fine-tuning) stands in for MT-DNN-KD where it was not refined, the rule of
  pipeline.student_dir;
- `STAGE_LABELS`, `STAGE_DESCRIPTIONS`: each stage's system as the charts name it ("MT-DNN (refine)") and what
  it is, in a sentence.

The individual teachers (stage teacher) are no system of their own: their ensemble stands for them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StageSystem:
    """A stage whose runs give one of the papers' systems."""
    stage: str  # the run folder (pipeline.STAGES)
    name: str  # the system, as the papers' tables name it
    description: str  # what it is, in a sentence
    summary: str = ""  # what it is, in a few words, where the name does not say it (glue_dev.md)
    teacher_tasks_only: bool = False  # run only for the tasks with teachers (MNLI, QQP, QNLI, RTE)
    stands_in_for: str | None = None  # the stage whose system this one gives where that one has no runs


STAGE_SYSTEMS = (
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
    StageSystem("student", "MT-DNN-KD, no fine-tuning", "MT-DNN-KD's student: Algorithm 1 on hard + soft targets",
                stands_in_for="student_refine"),
    StageSystem("student_refine", "MT-DNN-KD", "the student fine-tuned once more on each task (MT-DNN-KD)"),
)

SYSTEMS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (s.name, (s.stage, *(o.stage for o in STAGE_SYSTEMS if o.stands_in_for == s.stage)))
    for s in STAGE_SYSTEMS if s.stands_in_for is None)
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
