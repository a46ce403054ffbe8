"""The learning-rate schedule of the recipe: cosine annealing with warm restarts stepped at the fractional epoch.

lr_at computes it in closed form for the batched loop; make_optimizer is the textbook form (torch.optim.Adam and
CosineAnnealingWarmRestarts) that the reference loop uses and the tests compare with.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from neuralinv.training.config import TrainConfig


def make_optimizer(params, config: TrainConfig):
    """The textbook form of the recipe: torch.optim.Adam (L2 weight decay) and the warm-restart cosine schedule."""
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=config.t_0, T_mult=config.t_mult, eta_min=config.eta_min
    )
    return opt, sched


def lr_schedule(config: TrainConfig) -> list[float]:
    """The learning rate of every step, lr_at(config, step) for step = 0 .. steps - 1."""
    return [lr_at(config, step) for step in range(config.steps)]


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate used for batch number step (0-based): cosine with warm restarts at the fractional epoch."""
    epoch = step / config.epoch_steps
    t_i, t_cur = config.t_0, epoch
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= config.t_mult
    return config.eta_min + (config.lr - config.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
