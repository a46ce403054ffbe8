"""Training with the paper's recipe, all seeds of a configuration stacked into one batched ensemble.

Recipe: Adam (lr 5e-5, L2 weight decay 1e-7), CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=1e-6) stepped
with the fractional epoch after every batch, MSE loss, batch 128. Each model of the ensemble has its own initial
weights (init_layers(seed)) and its own BatchStream(seed), so it follows the same trajectory as when trained alone:
the loss is the sum of the per-model mean losses and Adam is elementwise, so nothing couples the models.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from neuralinv.data import SCALINGS, BatchStream, Scaling, training_set
from neuralinv.errors import InputError
from neuralinv.models import Network, get_model, init_layers, mlp_forward
from neuralinv.regions import Box, get_dataset

BUDGETS = ("quick", "paper")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; written to run.json."""

    dataset: str
    model: str
    steps: int
    seeds: tuple[int, ...] = (0, 1, 2)
    scaling: str = "paper"
    device: str = "cpu"
    batch_size: int = 128
    lr: float = 5e-5
    weight_decay: float = 1e-7
    t_0: int = 3
    t_mult: int = 2
    eta_min: float = 1e-6
    epoch_steps: float = 7812.5  # batches per schedule epoch
    train_size: int | None = 1_000_000  # None: a fresh sample every step
    data_seed: int = 0
    test_size: int = 10_000
    # A box of one's own instead of the preset's (dataset is then "custom"): centre rows and half-width.
    center: tuple[tuple[float, ...], ...] | None = None
    radius: float | None = None

    @classmethod
    def resolve(cls, dataset: str, model: str, *, steps: int | None = None, budget: str = "quick", **kwargs):
        """The configuration for a preset: the paper's step count at budget "paper", a short one at "quick".

        With fewer steps than the paper's, the schedule is compressed in proportion so that the run covers the same
        number of schedule epochs (20 for 2x2) and ends, like the paper's, late in a cosine cycle.
        """
        preset = get_dataset(dataset)
        get_model(model)
        if budget not in BUDGETS:
            raise InputError(f"budget: expected one of {', '.join(BUDGETS)}, got {budget!r}")
        if steps is None:
            steps = preset.paper_steps if budget == "paper" else preset.quick_steps
        if steps <= 0:
            raise InputError(f"steps: expected a positive integer, got {steps}")
        epoch_steps = preset.paper_epoch_steps * steps / preset.paper_steps
        config = cls(dataset=dataset, model=model, steps=steps, epoch_steps=epoch_steps,
                     train_size=preset.train_size, test_size=preset.test_size)
        config = replace(config, **kwargs)
        config.validate()
        return config

    @classmethod
    def for_box(cls, box: Box, model: str, *, steps: int, train_size: int | None = 100_000,
                epoch_steps: float | None = None, **kwargs):
        """A configuration on any box (for example one that holds singular matrices, for the limits experiments)."""
        get_model(model)
        epoch_steps = epoch_steps or (train_size / 128 if train_size else steps / 20)
        config = cls(dataset="custom", model=model, steps=steps, epoch_steps=epoch_steps, train_size=train_size,
                     center=tuple(map(tuple, box.center.tolist())), radius=box.radius, **kwargs)
        config.validate()
        return config

    @property
    def box(self) -> Box:
        if self.center is not None:
            return Box(np.array(self.center, dtype=np.float64), self.radius)
        return get_dataset(self.dataset).box

    def validate(self) -> None:
        if self.scaling not in SCALINGS:
            raise InputError(f"scaling: expected one of {', '.join(SCALINGS)}, got {self.scaling!r}")
        if not self.seeds:
            raise InputError("seeds: give at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"seeds: each seed once, got {list(self.seeds)}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device: {self.device!r} requested but CUDA is not available here; use --device cpu")

    def to_json(self) -> dict:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        if self.center is not None:
            data["center"] = [list(row) for row in self.center]
        return data

    @property
    def schedule_epochs(self) -> float:
        return self.steps / self.epoch_steps


@dataclass
class TrainResult:
    """Per-model networks, the loss curve (steps, per-model losses), wall time."""

    config: TrainConfig
    networks: list[Network]
    curve_steps: list[int]
    curve_losses: list[list[float]]  # [point][model]
    wall_time: float


def make_optimizer(params, config: TrainConfig):
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=config.t_0, T_mult=config.t_mult,
                                                                 eta_min=config.eta_min)
    return opt, sched


def make_streams(config: TrainConfig):
    box = config.box
    scaling = Scaling.for_box(box, config.scaling)
    data = None
    if config.train_size is not None:
        data = training_set(box, config.train_size, scaling, seed=config.data_seed)
    streams = [BatchStream(seed=s, batch_size=config.batch_size, box=box, scaling=scaling, data=data)
               for s in config.seeds]
    return box, scaling, streams


def chunk_steps(config: TrainConfig, d: int) -> int:
    """Steps drawn per data chunk: large enough to amortise sampling, small enough to keep memory low."""
    per_step = len(config.seeds) * config.batch_size * d
    return max(1, min(1000, 4_000_000 // per_step))


def train_ensemble(config: TrainConfig, *, progress: bool = True, curve_points: int = 200) -> TrainResult:
    """Train every seed of config at once as one stacked ensemble."""
    config.validate()
    box, scaling, streams = make_streams(config)
    sizes = get_model(config.model).layer_sizes(box.n)
    device = torch.device(config.device)
    per_seed = [init_layers(sizes, s) for s in config.seeds]
    params = []
    for i in range(len(sizes) - 1):
        params.append(torch.stack([layers[i][0] for layers in per_seed]).to(device).requires_grad_())
        params.append(torch.stack([layers[i][1] for layers in per_seed]).to(device).requires_grad_())
    layers = list(zip(params[::2], params[1::2]))
    opt, sched = make_optimizer(params, config)

    log_every = max(1, config.steps // curve_points)
    curve_steps, curve_losses = [], []
    loss_sum = torch.zeros(len(config.seeds), device=device)
    chunk = chunk_steps(config, box.n ** 2)
    start = time.perf_counter()
    bar = tqdm(total=config.steps, desc=f"{config.dataset} {config.model} x{len(config.seeds)}",
               disable=not progress, unit="step", mininterval=0.5, smoothing=0.05)
    step = 0
    while step < config.steps:
        k = min(chunk, config.steps - step)
        batches = [s.next(k) for s in streams]
        xs = torch.stack([b[0] for b in batches], 1).to(device)  # (k, E, B, d)
        ys = torch.stack([b[1] for b in batches], 1).to(device)
        for j in range(k):
            opt.zero_grad(set_to_none=True)
            loss = (mlp_forward(layers, xs[j]) - ys[j]).square().mean((1, 2))
            loss.sum().backward()
            opt.step()
            step += 1
            sched.step(step / config.epoch_steps)
            loss_sum += loss.detach()
            if step % log_every == 0:
                curve_steps.append(step)
                curve_losses.append((loss_sum / log_every).tolist())
                loss_sum.zero_()
        bar.update(k)
        if curve_losses:
            bar.set_postfix(loss=f"{sum(curve_losses[-1]) / len(config.seeds):.3g}")
    bar.close()
    wall = time.perf_counter() - start

    networks = []
    for e, seed in enumerate(config.seeds):
        net_layers = [(w[e].detach().cpu().clone(), b[e].detach().cpu().clone()) for w, b in layers]
        info = {"dataset": config.dataset, "model": config.model, "seed": seed, "steps": config.steps,
                "scaling": config.scaling}
        networks.append(Network(net_layers, box, scaling, info))
    return TrainResult(config, networks, curve_steps, curve_losses, wall)


def train_plain(config: TrainConfig, seed: int, *, steps: int | None = None) -> Network:
    """The reference: one model, nn.Sequential, a textbook loop. Same init, batches and schedule as the ensemble."""
    config = replace(config, seeds=(seed,))
    box, scaling, (stream,) = make_streams(config)
    sizes = get_model(config.model).layer_sizes(box.n)
    modules = []
    for i, (w, b) in enumerate(init_layers(sizes, seed)):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        modules += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1])
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
    return Network(layers, box, scaling, {"dataset": config.dataset, "model": config.model, "seed": seed})


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate used for batch number step (0-based): cosine with warm restarts at the fractional epoch."""
    epoch = step / config.epoch_steps
    t_i, t_cur = config.t_0, epoch
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= config.t_mult
    return config.eta_min + (config.lr - config.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
