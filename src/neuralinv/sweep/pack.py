"""One pack of a sweep, on one worker: train its trials' seeds as one ensemble, then evaluate and time every method.

A pack (neuralinv.sweep.spec.packs) holds trial-seed units that share a network shape and a schedule. Every unit
becomes one row of results.csv: the network's error and the classical methods' errors on the same 10,000 test
matrices of its box, the inference times measured here (on the worker), and which node ran it.
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback

import torch

from neuralinv.common.timing import time_fn
from neuralinv.linalg.classical import Classical
from neuralinv.paper.numbers import TABLE3_MATRICES
from neuralinv.sweep.spec import SCHEDULES, Trial, Unit
from neuralinv.training.data import sample_test_set
from neuralinv.training.train import CUSTOM_SCHEDULE_EPOCHS, TrainConfig, train_group

PER = TABLE3_MATRICES  # timings are seconds per this many matrices, as in the paper's Table 3
# Testing hook: a trial whose id starts with this raises inside its worker (the failure path, end to end).
FAULT_ENV = "NEURALINV_SWEEP_FAULT"


def config_for(trial: Trial, seeds: tuple[int, ...], device: str = "cpu") -> TrainConfig:
    """The training configuration of a trial at these seeds, its schedule's restarts scaled to its step count."""
    return TrainConfig.on_region(
        trial.box,
        trial.model,
        steps=trial.steps,
        train_size=trial.train_size,
        epoch_steps=trial.steps / CUSTOM_SCHEDULE_EPOCHS,
        seeds=seeds,
        lr=trial.lr,
        batch_size=trial.batch_size,
        test_size=trial.test_size,
        device=device,
        dataset="sweep",
        **SCHEDULES[trial.schedule],
    )


def node_name() -> str:
    """The Ray node this runs on (its id, shortened), or the host name outside Ray."""
    try:
        import ray

        if ray.is_initialized():
            return f"{socket.gethostname()}:{ray.get_runtime_context().get_node_id()[:8]}"
    except ImportError:  # pragma: no cover
        pass
    return socket.gethostname()


def _seconds(fn, repeats: int = 3) -> float:
    return time_fn(fn, repeats=repeats).median


def failed_rows(units: list[Unit], error: str, node: str | None = None) -> list[dict]:
    """results.csv rows recording each unit as failed with this error."""
    return [{**unit_fields(u), "status": "failed", "error": error, "node": node or ""} for u in units]


def unit_fields(u: Unit) -> dict:
    """A unit's key and its trial's settings, as the first columns of its results.csv row."""
    t = u.trial
    return {
        "key": u.key,
        "trial_id": t.trial_id,
        "n": t.n,
        "center": t.center,
        "radius": t.radius,
        "relative_radius": t.relative_radius,
        "model": t.model,
        "depth": t.depth,
        "width": t.width,
        "lr": t.lr,
        "steps": t.steps,
        "batch_size": t.batch_size,
        "schedule": t.schedule,
        "seed": u.seed,
    }


def run_pack(units: list[Unit], *, device: str = "cpu", threads: int | None = None) -> list[dict]:
    """Train and evaluate a pack; one row per unit. A unit whose network diverged (NaN) is a failed row; an exception
    anywhere fails the whole pack's rows with its message (the sweep goes on)."""
    node = node_name()
    try:
        if threads:
            torch.set_num_threads(threads)
        fault = os.environ.get(FAULT_ENV)
        if fault and any(u.trial.trial_id.startswith(fault) for u in units):
            raise RuntimeError(f"fault injected by {FAULT_ENV}={fault}")
        return _run_pack(units, device, node)
    except Exception as exc:  # noqa: BLE001 - the row records it, and the sweep goes on
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return failed_rows(units, last, node)


def _run_pack(units: list[Unit], device: str, node: str) -> list[dict]:
    trials: dict[str, Trial] = {}
    seeds: dict[str, list[int]] = {}
    for u in units:
        trials[u.trial.trial_id] = u.trial
        seeds.setdefault(u.trial.trial_id, []).append(u.seed)
    configs = [config_for(trials[k], tuple(seeds[k]), device) for k in trials]
    start = time.perf_counter()
    results = train_group(configs, progress=False)
    wall = time.perf_counter() - start
    share = wall / len(units)

    rows, timed = [], None
    for trial, result in zip(trials.values(), results):
        a, a_inv = sample_test_set(trial.box, trial.test_size)
        classical = Classical(trial.box)
        errors = {k: float((fn(a) - a_inv).abs().mean()) for k, fn in methods(classical).items()}
        if timed is None:  # one shape per pack: time its methods once, on 10,000 matrices of the first box
            timed = time_methods(result.networks[0], a[:PER], classical)
        for i, (seed, net) in enumerate(zip(result.config.seeds, result.networks)):
            unit = Unit(trial, seed)
            final = result.curve_losses[-1][i] if result.curve_losses else float("nan")
            with torch.inference_mode():
                pred = net(a.to(net.layers[0][0].device)).cpu()
            err = (pred - a_inv).abs()
            if not (math.isfinite(final) and torch.isfinite(err).all()):
                rows += failed_rows([unit], f"diverged: training loss {final:.3g}, non-finite outputs", node)
                continue
            rows.append(
                {
                    **unit_fields(unit),
                    "status": "ok",
                    "error": "",
                    "mae": float(err.mean()),
                    "max_error": float(err.max()),
                    **{f"{k}_mae": v for k, v in errors.items()},
                    **timed,
                    "train_seconds": share,
                    "final_loss": float(final),
                    "node": node,
                }
            )
    return rows


def methods(classical: Classical) -> dict:
    """The classical approximations a network has to beat, with everything that depends on the centre precomputed
    (as Table 3 times them): the linear approximation, second-order Taylor, and one Newton-Schulz step after it."""
    return classical.methods()


def time_methods(net, a: torch.Tensor, classical: Classical) -> dict:
    """Seconds per 10,000 matrices of each method, measured here: median of 3 after a warm-up."""
    scale = PER / len(a)
    times = {"net_seconds_per_10k": scale * _seconds(lambda: net(a))}
    for name, fn in methods(classical).items():
        times[f"{name}_seconds_per_10k"] = scale * _seconds(lambda: fn(a))
    times["exact_seconds_per_10k"] = scale * _seconds(lambda: torch.linalg.inv(a))
    return times
