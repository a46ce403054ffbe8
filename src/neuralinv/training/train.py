"""Training with the paper's recipe, all seeds of a configuration stacked into one batched ensemble.

Recipe: Adam (lr 5e-5, L2 weight decay 1e-7), CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=1e-6) stepped
with the fractional epoch after every batch, MSE loss, batch 128. Each model of the ensemble has its own initial
weights (init_layers(seed)) and its own BatchStream(seed), so it follows the same trajectory as when trained alone:
the loss is the sum of the per-model mean losses and Adam is elementwise, so nothing couples the models.

The data: a preset (TrainConfig.resolve), samples of a region of one's own (for_region / for_box; optionally kept by a
rejection rule, |det A| > min_abs_det and sigma_min(A) > min_sigma), or matrices of one's own (for_matrices: a seeded
held-out split of a .npy file, the region fitted to the training share unless given). training_pairs and
evaluation_pairs build the training and test sets every run uses.
"""

from __future__ import annotations

import json
import math
import signal
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.optim.adam import adam
from tqdm.auto import tqdm

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path
from neuralinv.nets.mlp import Network, get_model, init_layers
from neuralinv.nets.scaling import Scaling, check_scaling
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.files import load_region, region_from_json
from neuralinv.regions.shapes import Box, Region
from neuralinv.training.data import (
    MIN_MATRICES,
    TEST_SEED,
    AcceptRule,
    BatchStream,
    file_sha256,
    load_matrices,
    matrix_pairs,
    sample_pairs,
    split_matrices,
    test_set,
)

BUDGETS = ("quick", "fast", "paper")
# "fast": the recipe search's finding (docs/recipe): the paper's recipe with Adam lr 1e-2 instead of 5e-5, at a tenth
# of its steps, the warm-restart schedule compressed into 20 epochs; it reached Table 1's MAE on all six 2x2 and 3x3
# cells. 16x16 was not searched.
FAST_LR = 1e-2
FAST_STEP_FRACTION = 10


# Step counts for a region or matrices of one's own (no paper count to follow): "paper" takes the paper's count for
# 3x3 and 16x16 with an epoch of one pass over the fixed set; "quick" (and --steps N) compress the schedule into
# CUSTOM_SCHEDULE_EPOCHS epochs, as a short preset run covers the schedule of the paper's 2x2 runs.
CUSTOM_STEPS = {"quick": 20_000, "fast": 20_000, "paper": 200_000}
CUSTOM_SCHEDULE_EPOCHS = 20
# Fields added after the preset recipe: left out of to_json() while None, so a preset run's configuration JSON (and
# with it the reuse of finished runs by `neuralinv reproduce` and --resume) stays what it was.
OPTIONAL_FIELDS = (
    "region",
    "min_abs_det",
    "min_sigma",
    "matrices",
    "matrices_sha256",
    "matrices_shape",
    "holdout",
    "split_seed",
)


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
    # Legacy form of a box of one's own (a uniform box: centre rows and half-width); for_box now writes region.
    center: tuple[tuple[float, ...], ...] | None = None
    radius: float | None = None
    # A region of one's own instead of the preset's (dataset is then "custom", or "matrices"): its region-file JSON.
    region: dict | None = None
    # Rejection rule for sampled matrices: keep A only when |det A| > min_abs_det and sigma_min(A) > min_sigma.
    min_abs_det: float | None = None
    min_sigma: float | None = None
    # Matrices of one's own (dataset "matrices"): the .npy file (absolute path), its sha256 and shape, and the
    # seeded split into train_size training and test_size held-out matrices.
    matrices: str | None = None
    matrices_sha256: str | None = None
    matrices_shape: tuple[int, ...] | None = None
    holdout: float | None = None
    split_seed: int | None = None

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
            steps = {"paper": preset.paper_steps, "fast": preset.paper_steps // FAST_STEP_FRACTION}.get(
                budget, preset.quick_steps
            )
        if steps <= 0:
            raise InputError(f"steps: expected a positive integer, got {steps}")
        epoch_steps = preset.paper_epoch_steps * steps / preset.paper_steps
        recipe = {}
        if budget == "fast":  # as the recipe search ran it (neuralinv.sweep.pack.config_for)
            epoch_steps, recipe = steps / CUSTOM_SCHEDULE_EPOCHS, {"lr": FAST_LR}
        config = cls(
            dataset=dataset,
            model=model,
            steps=steps,
            epoch_steps=epoch_steps,
            train_size=preset.train_size,
            test_size=preset.test_size,
            **recipe,
        )
        config = replace(config, **kwargs)
        config.validate()
        return config

    @classmethod
    def for_box(
        cls,
        box: Region,
        model: str,
        *,
        steps: int,
        train_size: int | None = 100_000,
        epoch_steps: float | None = None,
        **kwargs,
    ):
        """A configuration on any region (for example a box that holds singular matrices, for the limits
        experiments). The epoch is one pass over the fixed training set unless epoch_steps is given."""
        get_model(model)
        if steps <= 0:
            raise InputError(f"steps: expected a positive integer, got {steps}")
        if train_size is not None and train_size <= 0:
            raise InputError(f"train size: expected a positive integer, got {train_size}")
        epoch_steps = epoch_steps or (train_size / 128 if train_size else steps / 20)
        dataset = kwargs.pop("dataset", "custom")
        config = cls(
            dataset=dataset,
            model=model,
            steps=steps,
            epoch_steps=epoch_steps,
            train_size=train_size,
            region=load_region(box).to_json(),
            **kwargs,
        )
        config.validate()
        return config

    @classmethod
    def for_region(
        cls,
        region,
        model: str,
        *,
        steps: int | None = None,
        budget: str = "quick",
        train_size: int | None = 100_000,
        **kwargs,
    ):
        """The configuration for a region of one's own (a Region, a region file, or its JSON) with the paper's
        recipe: a fixed training set of train_size samples (None: fresh samples every step); at budget "paper"
        200,000 steps and an epoch of one pass (train_size / 128 batches, as for 3x3), otherwise (--steps N, or
        20,000 at "quick") a schedule compressed into 20 epochs over the run."""
        if budget not in BUDGETS:
            raise InputError(f"budget: expected one of {', '.join(BUDGETS)}, got {budget!r}")
        if steps is not None and steps <= 0:
            raise InputError(f"steps: expected a positive integer, got {steps}")
        if steps is None and budget == "paper":
            steps, epoch_steps = CUSTOM_STEPS["paper"], (train_size or 1_000_000) / 128
        else:
            steps = steps or CUSTOM_STEPS[budget]
            epoch_steps = steps / CUSTOM_SCHEDULE_EPOCHS
        if budget == "fast":
            kwargs.setdefault("lr", FAST_LR)
        return cls.for_box(
            load_region(region), model, steps=steps, train_size=train_size, epoch_steps=epoch_steps, **kwargs
        )

    @classmethod
    def for_matrices(
        cls,
        path: str | Path,
        model: str,
        *,
        region=None,
        holdout: float = 0.1,
        split_seed: int = 0,
        steps: int | None = None,
        budget: str = "quick",
        scaling: str = "data",
        **kwargs,
    ):
        """The configuration for training on matrices of one's own, a .npy file (m, n, n) with m >= 100.

        A seeded share holdout of them is held out as the test set; the rest are the fixed training set (pairs A,
        A^-1 by numpy.linalg.inv in float64). The region bound into the checkpoints is the given one (a Region, a
        preset name or a region file), else fit_region of the training matrices. Steps as in for_region.
        """
        fixed = None if region is None else load_region(region)
        a = load_matrices(path, n=None if fixed is None else fixed.n, minimum=MIN_MATRICES)
        matrix_pairs(a)  # a singular matrix is refused now, not after training
        train_idx, test_idx = split_matrices(len(a), holdout, split_seed)
        if fixed is None:
            from neuralinv.regions.fit import fit_region

            fixed = fit_region(a[train_idx])
        return cls.for_region(
            fixed,
            model,
            steps=steps,
            budget=budget,
            train_size=len(train_idx),
            test_size=len(test_idx),
            dataset="matrices",
            scaling=scaling,
            matrices=str(Path(path).resolve()),
            matrices_sha256=file_sha256(path),
            matrices_shape=tuple(a.shape),
            holdout=float(holdout),
            split_seed=int(split_seed),
            **kwargs,
        )

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        """The configuration that to_json() wrote (run.json's "config")."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"config: unknown fields {', '.join(unknown)} (written by a newer neuralinv?)")
        data = dict(data)
        data["seeds"] = tuple(data["seeds"])
        if data.get("center") is not None:
            data["center"] = tuple(map(tuple, data["center"]))
        if data.get("matrices_shape") is not None:
            data["matrices_shape"] = tuple(data["matrices_shape"])
        return cls(**data)

    @property
    def box(self) -> Region:
        """The region the networks are trained on and bound to (a Box for the presets)."""
        if self.region is not None:
            return region_from_json(self.region)
        if self.center is not None:
            return Box(np.array(self.center, dtype=np.float64), self.radius)
        return get_dataset(self.dataset).region

    @property
    def rule(self) -> AcceptRule | None:
        """The rejection rule for sampled matrices, or None."""
        return AcceptRule.make(self.min_abs_det, self.min_sigma)

    @property
    def source(self) -> str:
        """Where the data come from: "preset", "region" or "matrices"."""
        if self.matrices is not None:
            return "matrices"
        return "preset" if self.region is None and self.center is None else "region"

    def validate(self) -> None:
        check_scaling(self.box, self.scaling)  # refuses paper/data scaling on a singular centre, before training
        rule = self.rule  # checks the numbers
        if self.matrices is not None:
            if rule is not None:
                raise InputError(
                    "--min-abs-det/--min-sigma: the rejection rule applies to sampled matrices; with "
                    "--matrices, filter the file instead"
                )
            if self.train_size is None:
                raise InputError("matrices: the training set is the file's training share; it cannot be streamed")
        if not self.seeds:
            raise InputError("seeds: give at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"seeds: each seed once, got {list(self.seeds)}")
        if self.test_size <= 0:
            raise InputError(f"test size: expected a positive integer, got {self.test_size}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device: {self.device!r} requested but CUDA is not available here; use --device cpu")

    def to_json(self) -> dict:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        if self.center is not None:
            data["center"] = [list(row) for row in self.center]
        if self.matrices_shape is not None:
            data["matrices_shape"] = list(self.matrices_shape)
        for name in OPTIONAL_FIELDS:
            if data[name] is None:
                del data[name]
        return data

    @property
    def schedule_epochs(self) -> float:
        return self.steps / self.epoch_steps


def own_matrices(config: TrainConfig) -> np.ndarray:
    """The matrices of a --matrices run, (m, n, n) float64, checked against the sha256 the configuration recorded."""
    a = load_matrices(config.matrices, n=config.box.n)
    digest = file_sha256(config.matrices)
    if digest != config.matrices_sha256:
        raise InputError(
            f"--matrices: {config.matrices!r} changed since the run was configured (sha256 "
            f"{digest[:12]}..., recorded {str(config.matrices_sha256)[:12]}...)"
        )
    return a


def split_own_matrices(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) matrices of a --matrices run: the seeded split of its file."""
    a = own_matrices(config)
    train_idx, test_idx = split_matrices(len(a), config.holdout, config.split_seed)
    return a[train_idx], a[test_idx]


def training_pairs(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The fixed training set as float64 pairs (A, A^-1), (train_size, n, n) each, or None for streamed data.

    Samples of the region (kept by the rejection rule, if any, drawn with data_seed), or the training share of one's
    own matrices with A^-1 from numpy.linalg.inv in float64.
    """
    if config.matrices is not None:
        return matrix_pairs(split_own_matrices(config)[0])
    if config.train_size is None:
        return None
    return sample_pairs(
        config.box, config.train_size, generator=torch.Generator().manual_seed(config.data_seed), rule=config.rule
    )


def evaluation_pairs(config: TrainConfig, *, stats: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The test set run.json's metrics are computed on, float64 pairs (A, A^-1): the held-out matrices of a
    --matrices run, else test_size seeded samples (TEST_SEED) of the region kept by the rejection rule, if any."""
    if config.matrices is not None:
        return matrix_pairs(split_own_matrices(config)[1])
    return test_set(config.box, config.test_size, TEST_SEED, rule=config.rule, stats=stats)


@dataclass
class TrainResult:
    """Per-model networks, the loss curve (steps, per-model losses), wall time."""

    config: TrainConfig
    networks: list[Network]
    curve_steps: list[int]
    curve_losses: list[list[float]]  # [point][model]
    wall_time: float


def make_optimizer(params, config: TrainConfig):
    """The textbook form of the recipe: torch.optim.Adam (L2 weight decay) and the warm-restart cosine schedule."""
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=config.t_0, T_mult=config.t_mult, eta_min=config.eta_min
    )
    return opt, sched


SCALING_SAMPLE = 10_000  # samples the "data" scaling is measured on when the training data are streamed


def make_streams(config: TrainConfig):
    box = config.box
    pairs = training_pairs(config)
    measured = pairs
    if measured is None and config.scaling == "data":
        measured = sample_pairs(
            box, SCALING_SAMPLE, generator=torch.Generator().manual_seed(config.data_seed), rule=config.rule
        )
    scaling = Scaling.for_box(box, config.scaling, data=measured)
    data = None
    if pairs is not None:  # float32 inputs and targets, one copy on the device, shared by the streams
        data = (
            scaling.encode(pairs[0]).float().to(config.device),
            scaling.encode_target(pairs[1]).float().to(config.device),
        )
    del pairs, measured
    streams = [
        BatchStream(
            seed=s,
            batch_size=config.batch_size,
            box=box,
            scaling=scaling,
            data=data,
            device=config.device,
            rule=config.rule,
        )
        for s in config.seeds
    ]
    return box, scaling, streams


def chunk_steps(per_step: int) -> int:
    """Steps drawn per data chunk (per_step: numbers drawn per step): amortises sampling, bounds memory."""
    return max(1, min(1000, 4_000_000 // per_step))


class StackedMLP:
    """E ReLU MLPs of one shape, their weights stacked as (E, out, in) views into one flat parameter tensor.

    Gradients are written by hand into views of one flat gradient tensor (for MSE the backward pass of an MLP is a
    few batched matmuls), so one step is about a dozen kernels plus one fused Adam over a single tensor: for nets
    this small, per-kernel overhead, not arithmetic, sets the step time. Activations are feature-major, (E, features,
    B), which keeps every batched matmul free of transposed operands with a long inner dimension (2x faster on CPU).
    """

    def __init__(self, per_model_layers: list[list[tuple[torch.Tensor, torch.Tensor]]], device):
        shapes = [(w.shape, b.shape) for w, b in per_model_layers[0]]
        count = len(per_model_layers)
        total = count * sum(w.numel() + b.numel() for w, b in shapes)
        self.flat = torch.empty(total, device=device)
        self.flat.grad = torch.zeros(total, device=device)

        def views(buffer):
            out, offset = [], 0
            for w_shape, b_shape in shapes:
                n_w, n_b = count * w_shape.numel(), count * b_shape.numel()
                w = buffer[offset : offset + n_w].view(count, *w_shape)
                b = buffer[offset + n_w : offset + n_w + n_b].view(count, *b_shape)
                out.append((w, b))
                offset += n_w + n_b
            return out

        self.layers, self.grads = views(self.flat), views(self.flat.grad)
        for i, (w, b) in enumerate(self.layers):
            w.copy_(torch.stack([layers[i][0] for layers in per_model_layers]))
            b.copy_(torch.stack([layers[i][1] for layers in per_model_layers]))

    def backward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fill flat.grad with d(sum_e MSE_e)/d(params) for x, y (E, in/out, B); return the outputs' errors."""
        hidden = [x]
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self.layers):
            z = torch.baddbmm(b.unsqueeze(2), w, hidden[-1])
            hidden.append(z.clamp_min_(0) if i < last else z)
        err = hidden.pop() - y
        g = err * (2.0 / err[0].numel())  # d MSE / d output, per model
        for i in range(last, -1, -1):
            w, _ = self.layers[i]
            gw, gb = self.grads[i]
            h = hidden[i]
            torch.bmm(g, h.transpose(1, 2), out=gw)
            torch.sum(g, dim=2, out=gb)
            if i > 0:  # through the ReLU: zero where the unit was off
                g = torch.ops.aten.threshold_backward(torch.bmm(w.transpose(1, 2), g), h, 0)
        return err


class FusedAdam:
    """PyTorch's Adam (L2 weight decay) on one flat tensor through its functional, fused form.

    torch.optim.adam.adam (the functional API) with fused=True is the update of torch.optim.Adam(fused=True).step()
    without the per-call bookkeeping of the Optimizer class, which costs more than the update for nets this small.
    """

    def __init__(self, param: torch.Tensor, config: TrainConfig):
        self.param, self.config = param, config
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.step_count = torch.zeros((), dtype=torch.float32, device=param.device)
        self.fused = param.device.type in ("cpu", "cuda")

    def step(self, lr: float) -> None:
        adam(
            [self.param],
            [self.param.grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],
            [self.step_count],
            fused=self.fused,
            foreach=None if self.fused else True,
            amsgrad=False,
            beta1=0.9,
            beta2=0.999,
            lr=lr,
            weight_decay=self.config.weight_decay,
            eps=1e-8,
            maximize=False,
            capturable=False,
            differentiable=False,
            grad_scale=None,
            found_inf=None,
        )


def train_ensemble(config: TrainConfig, **kwargs) -> TrainResult | None:
    """Train every seed of config at once as one stacked ensemble (see train_group for the keyword arguments)."""
    results = train_group([config], **kwargs)
    return None if results is None else results[0]


# Fields that must agree for configurations to share one ensemble: the model shape and the optimisation schedule.
SHARED_FIELDS = (
    "model",
    "steps",
    "device",
    "batch_size",
    "lr",
    "weight_decay",
    "t_0",
    "t_mult",
    "eta_min",
    "epoch_steps",
)


def train_group(
    configs: list[TrainConfig],
    *,
    progress: bool = True,
    curve_points: int = 200,
    state_path: str | Path | None = None,
    stop_at: int | None = None,
    save_every_s: float = 30.0,
) -> list[TrainResult] | None:
    """Train several configurations (e.g. both 2x2 data sets with 2-FC) as one stacked ensemble of all their seeds.

    Each member keeps its own box, data, scaling, initial weights and batch stream. With state_path, the full
    training state (weights, Adam moments, data streams, curve) is saved there atomically every save_every_s
    seconds and on Ctrl-C or SIGTERM (between two steps), and a matching state found there is resumed from, giving
    the same numbers as an uninterrupted run. stop_at (for tests) saves the state after that step and returns None.
    """
    for c in configs:
        c.validate()
        if any(getattr(c, f) != getattr(configs[0], f) for f in SHARED_FIELDS) or c.box.n != configs[0].box.n:
            raise InputError(
                f"train_group: configurations differ in model, matrix size or schedule "
                f"({', '.join(SHARED_FIELDS)} must agree)"
            )
    config = configs[0]
    members = [(c, make_streams(c)) for c in configs]
    streams = [s for _, (_, _, group) in members for s in group]
    seeds = [s for c in configs for s in c.seeds]
    n = config.box.n
    sizes = get_model(config.model).layer_sizes(n)
    device = torch.device(config.device)
    stack = StackedMLP([init_layers(sizes, s) for s in seeds], device)
    opt = FusedAdam(stack.flat, config)
    lrs = lr_schedule(config)

    log_every = max(1, config.steps // curve_points)
    curve = {"steps": [], "loss": [], "loss_sum": [0.0] * len(seeds), "loss_count": 0, "wall": 0.0}
    step = skip = 0  # skip: steps of the first chunk already done before a resume
    if state_path is not None and Path(state_path).is_file():
        step, chunk_start, curve = load_state(state_path, configs, stack, opt, streams)
        skip = step - chunk_start
    loss_sum = torch.tensor(curve["loss_sum"], device=device)
    loss_count = curve["loss_count"]
    chunk = chunk_steps(len(seeds) * config.batch_size * n * n)
    start = time.perf_counter() - curve["wall"]
    last_save = time.perf_counter()
    names = "+".join(c.dataset for c in configs)
    bar = tqdm(
        total=config.steps,
        initial=step,
        desc=f"{names} {config.model} x{len(seeds)}",
        disable=not progress,
        unit="step",
        mininterval=0.5,
        smoothing=0.05,
    )

    def snapshot(chunk_start: int, stream_states) -> None:
        curve.update(loss_sum=loss_sum.tolist(), loss_count=loss_count, wall=time.perf_counter() - start)
        save_state(state_path, configs, step, chunk_start, stack, opt, stream_states, curve)

    with threads_for(sizes, len(seeds), config.batch_size, device), deferred_interrupts() as interrupted:
        while step < config.steps:
            chunk_start = step - skip
            stream_states = [s.state() for s in streams]  # a resumed run redraws this chunk from here
            k = min(chunk, config.steps - chunk_start)
            batches = [s.next(k) for s in streams]
            # (k, E, d, B): feature-major, see StackedMLP
            xs = torch.stack([b[0] for b in batches], 1).transpose(2, 3).contiguous().to(device)
            ys = torch.stack([b[1] for b in batches], 1).transpose(2, 3).contiguous().to(device)
            for j in range(skip, k):
                if interrupted:
                    if state_path is not None:
                        snapshot(chunk_start, stream_states)
                    bar.close()
                    raise KeyboardInterrupt
                err = stack.backward(xs[j], ys[j])
                opt.step(lrs[step])
                step += 1
                if step % LOSS_EVERY == 0 or step == config.steps:  # the loss is only logged: sample it
                    loss_sum += err.square().mean((1, 2))
                    loss_count += 1
                if step % log_every == 0 and loss_count:
                    curve["steps"].append(step)
                    curve["loss"].append((loss_sum / loss_count).tolist())
                    loss_sum.zero_()
                    loss_count = 0
                if stop_at is not None and step == stop_at:
                    snapshot(chunk_start, stream_states)
                    bar.close()
                    return None
            bar.update(k - skip)
            skip = 0
            if curve["loss"]:
                bar.set_postfix(loss=f"{sum(curve['loss'][-1]) / len(seeds):.3g}")
            if state_path is not None and time.perf_counter() - last_save > save_every_s and step < config.steps:
                snapshot(step, [s.state() for s in streams])  # at a chunk boundary
                last_save = time.perf_counter()
    bar.close()
    wall = time.perf_counter() - start

    results, e = [], 0
    for c, (box, scaling, _) in members:
        networks, first = [], e
        for seed in c.seeds:
            net_layers = [(w[e].cpu().clone(), b[e].cpu().clone()) for w, b in stack.layers]
            info = {"dataset": c.dataset, "model": c.model, "seed": seed, "steps": c.steps, "scaling": c.scaling}
            if c.rule is not None:  # evaluate applies it to samples of the checkpoint's own region
                info["accept"] = c.rule.to_json()
            if c.matrices is not None:
                info["matrices"] = c.matrices
            networks.append(Network(net_layers, box, scaling, info))
            e += 1
        losses = [row[first:e] for row in curve["loss"]]
        results.append(TrainResult(c, networks, list(curve["steps"]), losses, wall))
    return results


def save_state(
    path, configs: list[TrainConfig], step: int, chunk_start: int, stack: StackedMLP, opt, stream_states, curve: dict
) -> None:
    """The resumable state as one safetensors file (tensors + JSON): loading it runs no code."""
    tensors = {
        "params": stack.flat.detach().cpu(),
        "exp_avg": opt.exp_avg.cpu(),
        "exp_avg_sq": opt.exp_avg_sq.cpu(),
        "adam_step": opt.step_count.reshape(1).cpu(),
    }
    for i, st in enumerate(stream_states):
        tensors[f"stream.{i}.generator"] = st["generator"]
        tensors[f"stream.{i}.order"] = st["order"]
    meta = {"configs": [c.to_json() for c in configs], "step": step, "chunk_start": chunk_start, "curve": curve}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"neuralinv-train-state": json.dumps(meta)})


def load_state(path, configs: list[TrainConfig], stack: StackedMLP, opt, streams) -> tuple[int, int, dict]:
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["neuralinv-train-state"])
    if meta["configs"] != [c.to_json() for c in configs]:
        raise InputError(f"resume: {str(path)!r} holds a run of another configuration; use a new --out or delete it")
    tensors = load_file(str(path))
    device = stack.flat.device
    with torch.no_grad():
        stack.flat.copy_(tensors["params"].to(device))
        opt.exp_avg.copy_(tensors["exp_avg"])
        opt.exp_avg_sq.copy_(tensors["exp_avg_sq"])
        opt.step_count.copy_(tensors["adam_step"].reshape(()))
    for i, s in enumerate(streams):
        s.restore({"generator": tensors[f"stream.{i}.generator"], "order": tensors[f"stream.{i}.order"]})
    return meta["step"], meta["chunk_start"], meta["curve"]


@contextmanager
def deferred_interrupts():
    """Turn Ctrl-C (SIGINT) and kill (SIGTERM) into a flag that the training loop checks between steps.

    The loop then saves a consistent state (never one with the weights updated but the step not counted) and raises
    KeyboardInterrupt itself. Yields a list that is non-empty once a signal arrived.
    """
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals cannot be caught here, leave them alone
        yield received
        return
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


LOSS_EVERY = 8  # steps between loss samples for the curve


@contextmanager
def threads_for(sizes: list[int], models: int, batch: int, device):
    """One CPU thread for small nets: their kernels are too short to split, and a second thread only adds sync."""
    flops = 6 * models * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    before = torch.get_num_threads()
    if device.type == "cpu" and flops < 20_000_000:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
