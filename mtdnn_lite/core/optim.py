"""The optimiser and learning-rate schedule of MT-DNN (section 4.2), as in BERT.

- Adamax, learning rate 5e-5 (``optimizer="adamax"``, the paper's);
- weight decay 0.01 on the weight matrices, none on biases and LayerNorm weights;
- the learning rate rises linearly from 0 over the first `warmup` fraction of steps, then decays
  linearly to 0 at the last step:  lr_t = lr · min(t / t_w, (T − t) / (T − t_w)).

``optimizer="adamw"`` (Adam with decoupled weight decay) is the quick profile's named departure. The two
differ in the denominator of the step, per parameter, with g_t the gradient:

    Adamax:  u_t = max(β₂ · u_{t−1}, |g_t|)               step = lr · m̂_t / u_t
    AdamW:   v_t = β₂ · v_{t−1} + (1 − β₂) · g_t²         step = lr · m̂_t / (√v̂_t + ε)

One large gradient (STS-B's squared error on 0–5 labels starts near 9 where the cross-entropies start near
1) sets Adamax's u for hundreds of steps (β₂ = 0.999), shrinking every later step of the parameters it
touched; in Adam it enters v with weight 1 − β₂ and fades. Over the paper's tens of thousands of steps
this hardly matters; in the quick profile's ~1,000 it decides whether multi-task learning learns at all
(results/quick/ablation.md).
"""

import torch
from torch import nn

OPTIMIZERS = {"adamax": torch.optim.Adamax, "adamw": torch.optim.AdamW}

FUSED = {"adamw"}
"""Optimisers run as one fused kernel over all parameters (torch's ``fused=True``; the same update, computed at
once instead of tensor by tensor). On a 2-core CPU with AMX (bf16) units the AdamW step of MiniLM falls from 192
to 32 ms, a third of a training step (benchmarks/README.md); torch has no fused Adamax."""


def build_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adamax or AdamW (`name`) over `model`'s trainable parameters, without decay on biases and LayerNorm."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")
    decay, no_decay = [], []
    for param_name, param in model.named_parameters():
        if param.requires_grad:
            is_norm = param.ndim < 2 or "LayerNorm" in param_name or "layer_norm" in param_name
            (no_decay if is_norm else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return OPTIMIZERS[name](groups, lr=lr, **({"fused": True} if name in FUSED else {}))


def linear_warmup_decay(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float):
    """lr_t = lr · min(t / t_w, (T − t) / (T − t_w)), with t_w = warmup · T warm-up steps."""
    warmup_steps = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def steps_after_a_spike(name: str, steps: int = 300, spike: float = 100.0) -> list[float]:
    """|Δθ| of each step of optimiser `name` (lr 1, no decay) on one parameter whose gradient is `spike` at
    the first step and 1 afterwards: how long one large gradient keeps shrinking the steps (notebook 08)."""
    theta = torch.zeros(1, requires_grad=True)
    step = OPTIMIZERS[name]([theta], lr=1.0, weight_decay=0.0)
    sizes = []
    for t in range(steps):
        before = theta.detach().clone()
        theta.grad = torch.tensor([spike if t == 0 else 1.0])
        step.step()
        sizes.append(float((theta.detach() - before).abs()))
    return sizes
