"""A few seconds of training steps that say how fast this machine trains: the first estimate of a long job.

CPUs of one size differ by several times: one seed of the quick profile trains MiniLM in float32 about three times
as fast on a 2-core CPU with AVX-512 as on a 2-core CPU with AVX2 alone. So a plan with no finished runs to
measure (training_plan) scales the reference speed, measured over a whole reproduction on one machine, by how fast
this machine runs one fixed training step against the same step on that machine:

    speed here ≈ speed_ref × probe_here / probe_ref

The probe trains the profile's encoder with one SAN head (MNLI's, three classes) on one batch of random token ids,
`PROBE_BATCH` pairs of `PROBE_LENGTH` tokens, under the profile's precision: one untimed step, then `steps` timed
ones (forward, backward, clipping, the optimiser's update). It is an estimate's input, not a benchmark: a step's
time depends on the lengths of the batches, which the ratio assumes to matter alike on both machines.
"""

import time

import torch

from ..core.evaluation import autocast_dtype
from ..core.optim import build_optimizer
from .pipeline import new_model
from .profiles import Profile

PROBE_BATCH, PROBE_LENGTH = 32, 64


def probe_speed(profile: Profile, steps: int = 5) -> float:
    """Training examples per second of `steps` probe steps (after one untimed step) on this machine."""
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = new_model(profile, ["MNLI"]).to(device).train()
    optimizer = build_optimizer(model, profile.optimizer, profile.lr, profile.weight_decay)
    vocab = model.encoder.config.vocab_size
    shape = (PROBE_BATCH, PROBE_LENGTH)
    batch = {"task": "MNLI", "input_ids": torch.randint(vocab, shape, device=device),
             "attention_mask": torch.ones(shape, dtype=torch.long, device=device),
             "token_type_ids": torch.zeros(shape, dtype=torch.long, device=device),
             "labels": torch.randint(3, (PROBE_BATCH,), device=device)}
    dtype = autocast_dtype(profile.mixed_precision)
    start = 0.0
    for step in range(steps + 1):
        if step == 1:
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = model.loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), profile.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()  # the step's kernels finished, not just queued
    return steps * PROBE_BATCH / (time.perf_counter() - start)
