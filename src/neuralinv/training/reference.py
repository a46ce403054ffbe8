"""The reference trainer: one model as a torch.nn.Sequential and a textbook loop, against which the batched ensemble
is checked (same initial weights, batches and schedule, so the same weights to rounding)."""

from __future__ import annotations

from dataclasses import replace

import torch

from neuralinv.nets.mlp import Network, get_model, init_layers
from neuralinv.training.config import TrainConfig
from neuralinv.training.pairs import make_streams
from neuralinv.training.schedule import make_optimizer


def sequential_model(sizes: list[int], seed: int) -> torch.nn.Sequential:
    """nn.Linear layers with ReLU between them, initialised as init_layers(sizes, seed)."""
    modules = []
    for w, b in init_layers(sizes, seed):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        modules += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*modules[:-1])


def train_plain(config: TrainConfig, seed: int, *, steps: int | None = None) -> Network:
    """Train one model of config (seed) with torch.optim.Adam and CosineAnnealingWarmRestarts, step by step; the
    first steps steps only when given."""
    config = replace(config, seeds=(seed,))
    region, scaling, (stream,) = make_streams(config)
    model = sequential_model(get_model(config.model).layer_sizes(region.n), seed)
    opt, sched = make_optimizer(model.parameters(), config)
    loss_fn = torch.nn.MSELoss()
    steps = config.steps if steps is None else steps
    xs, ys = stream.next(steps)
    for step in range(steps):
        opt.zero_grad()
        loss_fn(model(xs[step]), ys[step]).backward()
        opt.step()
        sched.step((step + 1) / config.epoch_steps)
    layers = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in model if isinstance(m, torch.nn.Linear)]
    return Network(layers, region, scaling, {"dataset": config.dataset, "model": config.model, "seed": seed})
