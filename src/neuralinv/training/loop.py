"""The training loop: all seeds of one or more configurations trained at once as one stacked ensemble.

Recipe: Adam (lr 5e-5, L2 weight decay 1e-7), CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=1e-6) stepped
with the fractional epoch after every batch, MSE loss, batch 128. Each model of the ensemble has its own initial
weights (init_layers(seed)) and its own BatchStream(seed), so it follows the same trajectory as when trained alone:
the loss is the sum of the per-model mean losses and Adam is elementwise, so nothing couples the models.

The data are drawn in chunks of steps (chunk_steps); a resumable state (training.state) records the streams as they
were at the start of the current chunk, so a resumed run redraws that chunk and skips the steps already done.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from tqdm.auto import tqdm

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import get_model, init_layers
from neuralinv.training.config import TrainConfig
from neuralinv.training.data import BatchStream
from neuralinv.training.engine import FusedAdam, StackedMLP, chunk_steps, threads_for
from neuralinv.training.pairs import make_streams
from neuralinv.training.result import TrainResult, split_results
from neuralinv.training.schedule import lr_schedule
from neuralinv.training.state import load_state, save_state

LOSS_EVERY = 8  # steps between loss samples for the curve
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
INTERRUPTED, STOPPED = "interrupted", "stopped"  # why run_chunk returned early


def train_ensemble(config: TrainConfig, **kwargs) -> TrainResult | None:
    """Train every seed of config at once as one stacked ensemble (see train_group for the keyword arguments)."""
    results = train_group([config], **kwargs)
    return None if results is None else results[0]


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

    Each member keeps its own region, data, scaling, initial weights and batch stream. With state_path, the full
    training state (weights, Adam moments, data streams, curve) is saved there atomically every save_every_s
    seconds and on Ctrl-C or SIGTERM (between two steps), and a matching state found there is resumed from, giving
    the same numbers as an uninterrupted run. stop_at (for tests) saves the state after that step and returns None.
    """
    check_group(configs)
    members = [(c, *make_streams(c)) for c in configs]
    streams = [s for *_, group in members for s in group]
    training = EnsembleTraining(configs, streams, curve_points=curve_points, state_path=state_path)
    if not training.run(progress=progress, stop_at=stop_at, save_every_s=save_every_s):
        return None
    return split_results([m[:3] for m in members], training.stack, training.curve, training.wall)


def check_group(configs: list[TrainConfig]) -> None:
    """Validate each configuration, and refuse a group that cannot share one ensemble (see SHARED_FIELDS)."""
    for c in configs:
        c.validate()
        if any(getattr(c, f) != getattr(configs[0], f) for f in SHARED_FIELDS) or c.region.n != configs[0].region.n:
            raise InputError(
                f"train_group: configurations differ in model, matrix size or schedule "
                f"({', '.join(SHARED_FIELDS)} must agree)"
            )


class EnsembleTraining:
    """One ensemble's training in progress: the stacked weights, Adam, the streams, the step and the loss curve."""

    def __init__(
        self, configs: list[TrainConfig], streams: list[BatchStream], *, curve_points: int, state_path
    ) -> None:
        """Fresh initial weights (init_layers of each seed), or the state found at state_path."""
        config = configs[0]
        self.configs, self.streams, self.state_path = configs, streams, state_path
        self.steps, self.batch_size = config.steps, config.batch_size
        self.seeds = [s for c in configs for s in c.seeds]
        n = config.region.n
        self.sizes = get_model(config.model).layer_sizes(n)
        self.device = torch.device(config.device)
        self.stack = StackedMLP([init_layers(self.sizes, s) for s in self.seeds], self.device)
        self.opt = FusedAdam(self.stack.flat, config)
        self.lrs = lr_schedule(config)
        self.log_every = max(1, config.steps // curve_points)
        self.curve = {"steps": [], "loss": [], "loss_sum": [0.0] * len(self.seeds), "loss_count": 0, "wall": 0.0}
        self.step = self.skip = 0  # skip: steps of the first chunk already done before a resume
        if state_path is not None and Path(state_path).is_file():
            self.step, chunk_start, self.curve = load_state(state_path, configs, self.stack, self.opt, streams)
            self.skip = self.step - chunk_start
        self.loss_sum = torch.tensor(self.curve["loss_sum"], device=self.device)
        self.loss_count = self.curve["loss_count"]
        self.chunk = chunk_steps(len(self.seeds) * config.batch_size * n * n)
        self.start = time.perf_counter() - self.curve["wall"]
        self.wall = self.curve["wall"]

    def run(self, *, progress: bool, stop_at: int | None, save_every_s: float) -> bool:
        """Train to the last step (True), or to stop_at (False, the state saved); KeyboardInterrupt on a signal."""
        last_save = time.perf_counter()
        names = "+".join(c.dataset for c in self.configs)
        bar = tqdm(
            total=self.steps,
            initial=self.step,
            desc=f"{names} {self.configs[0].model} x{len(self.seeds)}",
            disable=not progress,
            unit="step",
            mininterval=0.5,
            smoothing=0.05,
        )
        with bar, threads_for(self.sizes, len(self.seeds), self.batch_size, self.device), deferred_interrupts() as sig:
            while self.step < self.steps:
                chunk_start = self.step - self.skip
                stream_states = [s.state() for s in self.streams]  # a resumed run redraws this chunk from here
                k = min(self.chunk, self.steps - chunk_start)
                stopped = self.run_chunk(*self.draw(k), k, sig, stop_at)
                if stopped == STOPPED or (stopped == INTERRUPTED and self.state_path is not None):
                    self.snapshot(chunk_start, stream_states)
                if stopped == INTERRUPTED:
                    raise KeyboardInterrupt
                if stopped == STOPPED:
                    return False
                bar.update(k - self.skip)
                self.skip = 0
                if self.curve["loss"]:
                    bar.set_postfix(loss=f"{sum(self.curve['loss'][-1]) / len(self.seeds):.3g}")
                due = time.perf_counter() - last_save > save_every_s
                if self.state_path is not None and due and self.step < self.steps:
                    self.snapshot(self.step, [s.state() for s in self.streams])  # at a chunk boundary
                    last_save = time.perf_counter()
        self.wall = time.perf_counter() - self.start
        return True

    def draw(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next k batches of every stream, (k, E, d, B) each: feature-major, see StackedMLP."""
        batches = [s.next(k) for s in self.streams]
        xs = torch.stack([b[0] for b in batches], 1).transpose(2, 3).contiguous().to(self.device)
        ys = torch.stack([b[1] for b in batches], 1).transpose(2, 3).contiguous().to(self.device)
        return xs, ys

    def run_chunk(self, xs: torch.Tensor, ys: torch.Tensor, k: int, interrupted: list, stop_at: int | None):
        """Steps skip .. k - 1 of a chunk; INTERRUPTED (a signal arrived) or STOPPED (at stop_at) when it ends early."""
        stack, opt, lrs, steps, log_every = self.stack, self.opt, self.lrs, self.steps, self.log_every
        for j in range(self.skip, k):
            if interrupted:
                return INTERRUPTED
            err = stack.backward(xs[j], ys[j])
            opt.step(lrs[self.step])
            self.step += 1
            step = self.step
            if step % LOSS_EVERY == 0 or step == steps:  # the loss is only logged: sample it
                self.loss_sum += err.square().mean((1, 2))
                self.loss_count += 1
            if step % log_every == 0 and self.loss_count:
                self.curve["steps"].append(step)
                self.curve["loss"].append((self.loss_sum / self.loss_count).tolist())
                self.loss_sum.zero_()
                self.loss_count = 0
            if stop_at is not None and step == stop_at:
                return STOPPED
        return None

    def snapshot(self, chunk_start: int, stream_states: list[dict]) -> None:
        """Save the state at state_path: this step, with the streams as they were at chunk_start."""
        wall = time.perf_counter() - self.start
        self.curve.update(loss_sum=self.loss_sum.tolist(), loss_count=self.loss_count, wall=wall)
        save_state(
            self.state_path, self.configs, self.step, chunk_start, self.stack, self.opt, stream_states, self.curve
        )


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
