"""The optimiser and learning-rate schedule of MT-DNN (section 4.2), as in BERT.

- Adamax, learning rate 5e-5;
- weight decay 0.01 on the weight matrices, none on biases and LayerNorm weights;
- the learning rate rises linearly from 0 over the first `warmup` fraction of steps, then decays
  linearly to 0 at the last step:  lr_t = lr · min(t / t_w, (T − t) / (T − t_w)).
"""

import torch
from torch import nn


def adamax(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Adamax:
    """Adamax over `model`'s trainable parameters, without decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.Adamax(groups, lr=lr)


def linear_warmup_decay(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float):
    """lr_t = lr · min(t / t_w, (T − t) / (T − t_w)), with t_w = warmup · T warm-up steps."""
    warmup_steps = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
