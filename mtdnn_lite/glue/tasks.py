"""The GLUE task registry: what each task is and how MT-DNN treats it.

One `Task` per GLUE task (plus the diagnostic set AX, which is scored with the MNLI model and has no
training data). Column and label names follow the Hugging Face hub's `nyu-mll/glue`, so that a GLUE
directory and the hub give the same schema.

Paper choices recorded here:
- task type and so the output layer (MT-DNN, section 3): single-sentence classification, text
  similarity, pairwise text classification (SAN), pairwise ranking (QNLI);
- task-specific dropout (MT-DNN, section 4.2): 0.3 for MNLI, 0.05 for CoLA, 0.1 for the others;
- which tasks get a teacher ensemble (MT-DNN-KD, section 3): MNLI, QQP, QNLI and RTE.
"""

from dataclasses import dataclass
from enum import Enum


class TaskType(str, Enum):
    SINGLE = "single-sentence classification"
    SIMILARITY = "text similarity regression"
    PAIRWISE = "pairwise text classification"
    RANKING = "pairwise ranking"


@dataclass(frozen=True)
class Task:
    name: str  # the GLUE name, e.g. "CoLA"
    hub_config: str  # the config name in nyu-mll/glue, e.g. "cola"
    type: TaskType
    text_fields: tuple[str, ...]  # hub column names of the text(s), first sentence first
    label_names: tuple[str, ...]  # hub label order (index = integer label); () for regression
    metrics: tuple[str, ...]  # GLUE metrics, in the leaderboard's order
    has_teacher: bool  # MT-DNN-KD trains a teacher ensemble for it
    dropout: float  # task-specific dropout on the output layer

    @property
    def num_labels(self) -> int:
        """Outputs of the task layer: 1 for regression, else the number of classes."""
        return len(self.label_names) or 1

    @property
    def is_regression(self) -> bool:
        return self.type is TaskType.SIMILARITY


NLI_LABELS = ("entailment", "neutral", "contradiction")
ENTAILMENT = ("entailment", "not_entailment")

_TASKS = (
    Task("CoLA", "cola", TaskType.SINGLE, ("sentence",), ("unacceptable", "acceptable"), ("mcc",), False, 0.05),
    Task("SST-2", "sst2", TaskType.SINGLE, ("sentence",), ("negative", "positive"), ("accuracy",), False, 0.1),
    Task("MRPC", "mrpc", TaskType.PAIRWISE, ("sentence1", "sentence2"), ("not_equivalent", "equivalent"),
         ("f1", "accuracy"), False, 0.1),
    Task("STS-B", "stsb", TaskType.SIMILARITY, ("sentence1", "sentence2"), (), ("pearson", "spearman"), False, 0.1),
    Task("QQP", "qqp", TaskType.PAIRWISE, ("question1", "question2"), ("not_duplicate", "duplicate"),
         ("f1", "accuracy"), True, 0.1),
    Task("MNLI", "mnli", TaskType.PAIRWISE, ("premise", "hypothesis"), NLI_LABELS, ("accuracy",), True, 0.3),
    Task("QNLI", "qnli", TaskType.RANKING, ("question", "sentence"), ENTAILMENT, ("accuracy",), True, 0.1),
    Task("RTE", "rte", TaskType.PAIRWISE, ("sentence1", "sentence2"), ENTAILMENT, ("accuracy",), True, 0.1),
    Task("WNLI", "wnli", TaskType.PAIRWISE, ("sentence1", "sentence2"), ("not_entailment", "entailment"),
         ("accuracy",), False, 0.1),
)

TASKS: dict[str, Task] = {t.name: t for t in _TASKS}
"""The nine GLUE tasks, in the leaderboard's column order."""

GLUE_TASKS: tuple[str, ...] = tuple(TASKS)

AX = Task("AX", "ax", TaskType.PAIRWISE, ("premise", "hypothesis"), NLI_LABELS, ("mcc",), False, 0.3)
"""The diagnostic set: test only, predicted by the MNLI model, not part of the GLUE score."""

TEACHER_TASKS: tuple[str, ...] = tuple(t.name for t in _TASKS if t.has_teacher)

_ALIASES = {t.name.lower(): t for t in (*_TASKS, AX)} | {t.hub_config: t for t in (*_TASKS, AX)}
_ALIASES["diagnostic"] = AX


def get_task(name: str) -> Task:
    """The task called `name` (GLUE or hub spelling, any case: "SST-2", "sst2", "diagnostic")."""
    try:
        return _ALIASES[name.lower()]
    except KeyError:
        known = ", ".join((*GLUE_TASKS, "AX"))
        raise KeyError(f"unknown GLUE task {name!r}; expected one of {known}") from None
