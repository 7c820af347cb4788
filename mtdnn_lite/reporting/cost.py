"""What MT-DNN-KD saves: the inference cost of one student against the teacher ensemble it learned from.

The ensemble's prediction is the mean of K teachers' class probabilities, so serving it means running K models;
the student is one model of the same size (MT-DNN-KD, section 1: "the same cost as a single model"). This module
measures both on the same encoded split with the same batch size: the student once, the K teachers one after
another (their probabilities averaged, as the ensemble does), in the precision the profile trains and predicts
in (`mixed_precision`: bf16 autocast on the quick profile) and with torch's threads as training has them. Each is
timed with `time.perf_counter` over `repeats` passes after one untimed warm-up pass; the median is reported, as
examples per second and seconds per 1,000 examples. Timings are noisy (other processes, CPU frequency): read the
ratio, not the third digit.

`measure_costs` does this for every teacher task of a profile's runs (MT-DNN-KD's student against the finished
teachers of the task, on a seeded sample of its first dev split); `inference_cost` for one task and given models.
"""

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from ..core.encoder import load_tokenizer
from ..core.evaluation import predict
from ..core.inference import precision_name
from ..core.model import MTDNN
from ..experiments.layout import student_dir, teachers_by_task
from ..experiments.pipeline import task_data
from ..experiments.profiles import Profile
from ..experiments.runs import environment
from ..experiments.taskdata import subsample
from .models import model_dir

EXAMPLES = 500  # dev examples timed per teacher task: enough for a stable examples/s


def _timed(models: list[MTDNN], task: str, encoded, pad_token_id: int, batch_size: int, precision: str) -> float:
    """Seconds to predict `encoded` with every model in turn and average their outputs."""
    start = time.perf_counter()
    outputs = [predict(model, task, encoded, pad_token_id, batch_size, mixed_precision=precision) for model in models]
    sum(outputs) / len(outputs)  # the ensemble's averaging (part of its cost)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _measure(models, task, encoded, pad_token_id, batch_size, repeats, precision) -> dict:
    _timed(models, task, encoded, pad_token_id, batch_size, precision)  # warm-up: allocations, kernels, caches
    times = [_timed(models, task, encoded, pad_token_id, batch_size, precision) for _ in range(repeats)]
    seconds = statistics.median(times)
    return {"models": len(models), "seconds": seconds, "examples_per_second": len(encoded) / seconds,
            "seconds_per_1000": 1000 * seconds / len(encoded), "times": times}


def inference_cost(student_run: str | Path, teacher_dirs: Sequence[str | Path], task: str, encoded_split,
                   pad_token_id: int, repeats: int = 3, batch_size: int = 64, precision: str = "no") -> dict:
    """Examples/s of the student against the K-teacher ensemble on `encoded_split` (a `features.encode` result),
    the forward passes under `precision` (accelerate's name: "no", "bf16" or "fp16"; evaluation.predict).

    `student_run` and each of `teacher_dirs` is a run folder (with model/) or a model folder whose model has
    `task`'s head. Returns {"task", "examples", "batch_size", "repeats", "precision", "device", "torch_threads",
    "student": {models, seconds, examples_per_second, seconds_per_1000, times}, "ensemble": {the same, models=K},
    "ensemble_over_student": ensemble seconds / student seconds (how many times slower the ensemble is)}.
    """
    if not teacher_dirs:
        raise ValueError("expected at least one teacher model folder, got none")
    if len(encoded_split) == 0:
        raise ValueError("expected a non-empty encoded split to time")
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: expected at least 1")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    student = [MTDNN.load(model_dir(student_run)).to(device)]
    teachers = [MTDNN.load(model_dir(path)).to(device) for path in teacher_dirs]
    for model in (*student, *teachers):
        model.head(task)  # a clear KeyError if a model lacks the task's head
    result = {"task": task, "examples": len(encoded_split), "batch_size": batch_size, "repeats": repeats,
              "precision": precision, "device": environment()["device"], "torch_threads": torch.get_num_threads(),
              "student": _measure(student, task, encoded_split, pad_token_id, batch_size, repeats, precision),
              "ensemble": _measure(teachers, task, encoded_split, pad_token_id, batch_size, repeats, precision)}
    result["ensemble_over_student"] = result["ensemble"]["seconds"] / result["student"]["seconds"]
    return result


def measure_costs(runs, profile: Profile, glue_dir, examples: int = EXAMPLES, repeats: int = 3) -> list[dict]:
    """`inference_cost` of each of the profile's tasks with finished teachers under ``<runs>/<profile>``:
    MT-DNN-KD's student (layout.student_dir) against the task's K teachers (layout.teachers_by_task), on
    `examples` dev examples of the task's first evaluation split (a sample seeded with profile.data_seed),
    `repeats` timed passes, in the profile's training precision. Each result has the split's name added ("split")."""
    root = Path(runs) / profile.name
    pad = load_tokenizer(profile.encoder).pad_token_id
    costs = []
    for task, teachers in teachers_by_task(runs, profile).items():
        data = task_data(task, profile, glue_dir)
        split = next(iter(data.evals))
        cost = inference_cost(student_dir(root, task), teachers, task,
                              subsample(data.evals[split], examples, profile.data_seed), pad, repeats=repeats,
                              precision=profile.mixed_precision)
        costs.append({**cost, "split": split})
    return costs


def cost_markdown(costs: Sequence[dict]) -> str:
    """A Markdown table of `inference_cost` results, one row per task."""
    lines = ["| task | examples | device | precision | threads | student ex/s | student s/1k | ensemble (K) | "
             "ensemble ex/s | ensemble s/1k | ensemble ÷ student time |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in costs:
        s, e = c["student"], c["ensemble"]
        precision = precision_name(c.get("precision", "no"))  # older files: float32
        lines.append(f"| {c['task']} | {c['examples']:,} | {c['device']} | {precision} | {c['torch_threads']} | "
                     f"{s['examples_per_second']:.1f} | "
                     f"{s['seconds_per_1000']:.2f} | {e['models']} | {e['examples_per_second']:.1f} | "
                     f"{e['seconds_per_1000']:.2f} | {c['ensemble_over_student']:.2f}× |")
    return "\n".join(lines)


def write_cost(costs: Sequence[dict], out_dir: str | Path) -> list[Path]:
    """``<out_dir>/inference_cost.json`` (every number) and ``inference_cost.md`` (the table, with how it was
    measured). Returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "inference_cost.json").write_text(json.dumps(list(costs), indent=1) + "\n")
    note = ("Inference cost of the MT-DNN-KD student (one model) against the teacher ensemble (K models run one "
            "after another, probabilities averaged), on the same dev split and batch size; median of the timed "
            "passes after one warm-up pass (`mtdnn_lite.reporting.cost.inference_cost`). Timings depend on the machine "
            "and its load.")
    (out_dir / "inference_cost.md").write_text(f"# Inference cost\n\n{note}\n\n{cost_markdown(costs)}\n")
    return [out_dir / "inference_cost.json", out_dir / "inference_cost.md"]
