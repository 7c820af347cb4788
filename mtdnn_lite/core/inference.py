"""A model on texts of one's own: the label and class probabilities (STS-B: the score) of each example.

    model = MTDNN.from_pretrained("export/RTE")
    predict_texts(model, "RTE", [{"sentence1": "A man sleeps.", "sentence2": "Nobody sleeps."}])
    # [{"label": "not_entailment", "probabilities": {"entailment": 0.12, "not_entailment": 0.88}}]

The texts are encoded with the model's own tokenizer and max_length (kept in its pretrained folder) exactly as
the kit encodes a dev split (features.encode), and predicted in batches of similar length (evaluation.predict), so
a dev example gets the probabilities its run stored. `precision`: "float32", "bf16" (autocast), or "auto": bf16
where the device computes it natively (a CPU with AVX512-BF16 or AMX, a CUDA GPU that supports it), else float32.
"""

import datasets
import torch

from ..glue.features import encode
from ..glue.inputs import check_example
from ..glue.tasks import Task, get_task
from .evaluation import predict
from .model import MTDNN

PRECISIONS = ("auto", "bf16", "float32")


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 in hardware (elsewhere bf16 autocast is emulated, and slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # torch has no public test for a CPU's bf16 units; these two are what its oneDNN kernels check
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def autocast_setting(precision: str, device: torch.device) -> str:
    """`precision` as evaluation.predict's mixed_precision setting ("bf16" or "no")."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "no"
    return "bf16" if precision == "bf16" else "no"


def precision_name(mixed_precision: str) -> str:
    """accelerate's mixed_precision setting as a reader names it: "no" is float32, "bf16" and "fp16" are themselves."""
    return "float32" if mixed_precision == "no" else mixed_precision


def answer(task: Task, probabilities) -> dict:
    """One prediction as read: {"label", "probabilities": {label: p}}, or {"score"} for a regression."""
    if task.is_regression:
        return {"score": float(probabilities)}
    p = probabilities.tolist()
    return {"label": task.label_names[int(probabilities.argmax())], "probabilities": dict(zip(task.label_names, p))}


def predict_texts(model: MTDNN, task: str, examples: list[dict], batch_size: int = 64, precision: str = "auto",
                  progress: bool = False) -> list[dict]:
    """`answer` for each of `examples` (mappings with the task's text fields, glue.inputs), in order; with
    `progress`, a bar on stderr for a long list."""
    spec = get_task(task)
    model.head(spec.name)  # a KeyError naming the model's tasks where it has no head for this one
    if model.tokenizer is None:
        raise ValueError("this model has no tokenizer: load it with MTDNN.from_pretrained, or give MTDNN one")
    if batch_size < 1:
        raise ValueError(f"batch size {batch_size}: expected at least 1")
    texts = [check_example(spec, example, f"example {i}") for i, example in enumerate(examples)]
    if not texts:
        raise ValueError(f"no examples to predict (expected mappings with {', '.join(spec.text_fields)})")
    columns = {field: [t[field] for t in texts] for field in spec.text_fields}
    columns |= {"label": [0.0 if spec.is_regression else 0] * len(texts), "idx": list(range(len(texts)))}
    datasets.disable_progress_bars()  # tokenising is quick; the batches' bar is the one to watch
    encoded = encode(spec.name, datasets.Dataset.from_dict(columns), model.tokenizer, model.max_length)
    device = next(model.parameters()).device
    probabilities = predict(model, spec.name, encoded, model.tokenizer.pad_token_id, batch_size,
                            autocast_setting(precision, device), progress)
    return [answer(spec, p) for p in probabilities]
