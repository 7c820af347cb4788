"""Scoring a model on a task's evaluation splits, and keeping every prediction.

Predictions are made in batches of similar length (fast on a CPU) and put back in the split's order.
Each split yields its GLUE metrics and one row per example: idx, gold label, predicted label, and the
class probabilities (for STS-B, the predicted score), which the notebooks and the widgets read.
"""

import numpy as np
import torch
from tqdm.auto import tqdm

from ..glue.features import collate
from ..glue.metrics import task_metrics
from ..glue.tasks import get_task
from .model import MTDNN


def autocast_dtype(mixed_precision: str) -> torch.dtype | None:
    """The dtype of accelerate's mixed_precision setting under torch.autocast ("bf16", "fp16"); None for "no"."""
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mixed_precision)


@torch.no_grad()
def predict(model: MTDNN, task: str, encoded, pad_token_id: int, batch_size: int = 64,
            mixed_precision: str = "no", progress: bool = False) -> np.ndarray:
    """Class probabilities Float[N, C] (STS-B: scores Float[N]) for every row of an encoded split; with
    `mixed_precision` "bf16" or "fp16" (accelerate's names) the forward pass runs under that autocast; with
    `progress`, a bar on stderr once the batches take more than a few seconds."""
    model.eval()
    device = next(model.parameters()).device
    dtype = autocast_dtype(mixed_precision)
    rows = encoded.to_list()
    order = np.argsort([r["length"] for r in rows], kind="stable")
    outputs = [None] * len(rows)
    for start in tqdm(range(0, len(rows), batch_size), desc=f"{task} batches", delay=3, disable=not progress):
        chunk = order[start:start + batch_size]
        batch = collate(task, [rows[i] for i in chunk], pad_token_id)
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            probs = model.probabilities(batch).float().cpu().numpy()
        for i, p in zip(chunk, probs):
            outputs[i] = p
    return np.stack(outputs)


def score_split(task: str, probabilities: np.ndarray, encoded) -> tuple[dict, list[dict]]:
    """GLUE metrics of one split and its per-example prediction rows."""
    spec = get_task(task)
    labels = np.asarray(encoded["labels"])
    predictions = probabilities if spec.is_regression else probabilities.argmax(-1)
    rows = [{"idx": int(i), "label": label.item(), "prediction": pred.item(), "probabilities": p.tolist()}
            for i, label, pred, p in zip(encoded["idx"], labels, predictions, probabilities)]
    return task_metrics(task, predictions, labels), rows


def evaluate(model: MTDNN, task: str, evals: dict, pad_token_id: int,
             mixed_precision: str = "no") -> tuple[dict, dict]:
    """Metrics per evaluation split {split: {metric: value}}, and prediction rows per split (forward passes under
    `mixed_precision`, as in `predict`)."""
    scores, predictions = {}, {}
    for split, encoded in evals.items():
        probabilities = predict(model, task, encoded, pad_token_id, mixed_precision=mixed_precision)
        scores[split], predictions[split] = score_split(task, probabilities, encoded)
    return scores, predictions
