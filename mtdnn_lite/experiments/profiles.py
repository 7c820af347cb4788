"""Named experiment settings: `tiny` (tests and CI), `quick` (the 2-core CPU recipe), `full` (a GPU).

A profile is a plain dataclass; every field can be overridden (``profile.override(epochs_mtl=3)``,
or ``--set epochs_mtl=3`` on the command line). Paper defaults (MT-DNN section 4.2) are the field
defaults: Adamax, lr 5e-5, batch 32, warm-up over 10 % of the steps then linear decay, weight decay
0.01, gradient clipping 1.0, 5 epochs of multi-task learning.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass

import torch

from ..core.inference import autocast_setting
from ..core.trainer import TrainSettings
from ..glue.tasks import GLUE_TASKS
from .lanes import auto_lanes


def conform(name: str, value, kind):
    """`value` as a value of the field type `kind` (int, float, bool, str, tuple[X, ...], X | None): an int is
    accepted for a float, a list for a tuple. Anything else is a ValueError naming the setting, the value given
    and the type expected."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    try:
        if origin in (types.UnionType, typing.Union):
            if value is None and type(None) in args:
                return None
            for arg in (a for a in args if a is not type(None)):
                try:
                    return conform(name, value, arg)
                except ValueError:
                    pass
        elif origin is tuple and isinstance(value, (tuple, list)):
            return tuple(conform(name, v, args[0]) for v in value)
        elif kind is float and type(value) in (int, float):
            return float(value)
        elif origin is None and type(value) is kind:
            return value
    except ValueError:
        pass  # an element of the wrong type: report the whole value
    expected = getattr(kind, "__name__", None) if origin is None else None
    raise ValueError(f"profile setting {name}={value!r}: expected {expected or kind}"
                     + (" (an int is accepted)" if float in (kind, *args) else ""))


@dataclass(frozen=True, kw_only=True)
class DataSettings:
    """The settings that decide a task's prepared data (taskdata.prepare_task reads these and nothing else, and
    the pipeline keeps each task's data once per value of them)."""
    encoder: str = "minilm"  # see encoder.load_encoder; its tokenizer encodes the text
    max_train: int | None = None  # examples per task drawn (seeded) from train; None = all
    max_eval: int | None = None  # examples per dev split drawn (seeded); None = all
    dev_proxy_size: int = 1000  # held out of train where no labeled dev set exists (MNLI, QQP here)
    tune_size: int = 0  # > 0: hold this many more rows out of train as the tuning split and score only on it
    data_seed: int = 0  # draws the dev-proxy, the tuning split and the training sample; `seed` trains
    max_length: int = 128  # tokens per example (pair), truncated longest-first

    def data_settings(self) -> "DataSettings":
        """These settings alone (of a Profile: without its other fields)."""
        return DataSettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(DataSettings)})


@dataclass(frozen=True)
class Profile(DataSettings):
    """A named set of settings: the data settings (`DataSettings`), then the model, training and stage settings."""
    name: str
    tasks: tuple[str, ...] = GLUE_TASKS
    batch_size: int = 32
    lr: float = 5e-5
    lr_mtl: float | None = None  # lr of the multi-task stages (mtl, student) where it differs; None: lr
    optimizer: str = "adamax"  # "adamax" (MT-DNN) or "adamw"; see optim.py
    warmup: float = 0.1  # fraction of steps with linearly rising learning rate
    weight_decay: float = 0.01  # not on biases and LayerNorm weights
    clip: float = 1.0  # global gradient-norm clipping
    san: bool = True  # SAN for pairwise classification (False: a classifier of x, as for single sentences)
    readout: str = "cls"  # x of the non-SAN heads: "cls" (MT-DNN's [CLS]) or "mean" of the tokens; heads.readout
    sampling: str = "algorithm1"  # see sampler.SAMPLING
    temperature: float = 2.0  # only for sampling="temperature"
    epochs_st: int = 3  # single-task baseline: fine-tune the pretrained encoder on each task
    epochs_mtl: int = 5  # multi-task learning (Algorithm 1)
    epochs_refine: int = 2  # each task fine-tuned once more from the MTL model
    # MT-DNN-KD. Its teachers are MT-DNN's refine runs with other seeds, and its student is trained as MT-DNN
    # is, so by default each KD stage gets the epochs of the MT-DNN stage it mirrors: a difference in score
    # then comes from the soft targets, not from longer training.
    teachers: int = 3  # per teacher task (MT-DNN-KD: 3), each fine-tuned from the MTL model with its own seed
    teacher_dropouts: tuple[float, ...] | None = None  # one task dropout per teacher; None: the task's own
    kd_weight: float = 0.5  # α, the soft targets' share of the loss (MT-DNN-KD: the plain average, 0.5)
    kd_temperature: float = 1.0  # T of the soft targets (MT-DNN-KD: 1)
    epochs_teacher: int = 2  # as epochs_refine
    epochs_student: int = 5  # as epochs_mtl
    epochs_student_refine: int = 2  # as epochs_refine; 0: no per-task refinement of the student
    mixed_precision: str = "no"  # accelerate's setting: "no", "bf16" or "fp16"; "auto": see __post_init__
    seed: int = 0
    # How runs are scheduled and watched, not what they learn (pipeline.SCHEDULE_SETTINGS: not in a run's settings).
    lanes: int = 1  # a stage's independent runs trained this many at a time, in processes (lanes.py); 0: auto,
    # resolved as precision is (__post_init__)
    eval_every_epoch: bool = True  # dev scores after every epoch (learning curves); False: after the last only

    def __post_init__(self):
        """"auto" precision becomes "bf16" where this machine computes bf16 in hardware (a GPU that supports it, a
        CPU with AMX or AVX512-bf16 units), else "no" (float32): emulated bf16 is slower than float32, not faster.
        The runs record the precision chosen. Lanes 0 (auto) become lanes.auto_lanes() of this machine."""
        if self.mixed_precision == "auto":
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            object.__setattr__(self, "mixed_precision", autocast_setting("auto", device))
        if self.lanes == 0:
            object.__setattr__(self, "lanes", auto_lanes())

    def override(self, **changes) -> "Profile":
        """A copy with `changes` applied; an unknown field, or a value not of the field's type, is an error naming
        them (see `conform`)."""
        fields = {f.name: f.type for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise ValueError(f"unknown profile setting(s) {unknown}; known: {sorted(fields)}")
        return dataclasses.replace(self, **{k: conform(k, v, fields[k]) for k, v in changes.items()})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def train_settings(self) -> TrainSettings:
        """What the training loop reads of these settings (core.trainer.TrainSettings)."""
        return TrainSettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(TrainSettings)})


PROFILES = {
    "tiny": Profile("tiny", encoder="tiny", max_train=64, max_eval=64, dev_proxy_size=64, max_length=64,
                    batch_size=16, lr=1e-3, epochs_st=1, epochs_mtl=2, epochs_refine=1,
                    teachers=2, epochs_teacher=1, epochs_student=2, epochs_student_refine=1),
    # The quick recipe: the paper's settings except three named departures, each chosen on the tuning split
    # (held out of train) by `python -m mtdnn_lite ablate` (results/quick/ablation.md; README, "Departures"):
    # AdamW instead of Adamax, lr 1e-4 for every stage instead of 5e-5, mean-of-tokens readout instead of [CLS];
    # and, for speed, bf16 autocast where the machine computes bf16 in hardware ("auto": on a CPU with AMX units a
    # MiniLM training step is 1.8x as fast with the fused AdamW, benchmarks/README.md; on a CPU without them bf16
    # is emulated and far slower, so float32 is used), its effect on the scores measured (docs/reproduction.md).
    # For speed too, and without changing what a run learns: a stage's independent runs two at a time on a CPU
    # ("lanes" auto), and dev scores after each run's last epoch only (docs/reproduction.md, "How quick is
    # scheduled").
    "quick": Profile("quick", max_train=2000, lr=1e-4, optimizer="adamw", readout="mean", epochs_st=2,
                     epochs_mtl=2, epochs_refine=1, epochs_teacher=1, epochs_student=2, epochs_student_refine=1,
                     mixed_precision="auto", lanes=0, eval_every_epoch=False),
    "full": Profile("full", mixed_precision="bf16"),
}


def get_profile(name: str, **changes) -> Profile:
    """The profile called `name`, with `changes` applied."""
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[name].override(**changes)
