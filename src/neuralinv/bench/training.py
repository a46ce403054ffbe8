"""Training speed: the batched ensemble's time per model-step against a plain one-model PyTorch loop, one run."""

from __future__ import annotations

import torch

from neuralinv.common.timing import per_step_seconds
from neuralinv.training.train import TrainConfig, train_ensemble, train_plain

TRAIN_SIZE = 20_000
BATCH = 128  # TrainConfig's default batch, reported beside the times


def time_training(
    *,
    models=(1, 3, 6, 24),
    dataset: str = "2x2-first",
    model: str = "2fc",
    steps=(500, 2500),
    repeats: int = 5,
    device="cpu",
) -> dict:
    """Per-model step time of the batched ensemble against a plain one-model PyTorch loop, in the same run.

    Each time is per_step_seconds. The plain loop (train.train_plain: nn.Sequential, torch.optim.Adam, the scheduler)
    is timed with the default thread count and with one thread, and the faster is the baseline.
    """

    def per_step(run) -> float:
        return per_step_seconds(run, steps, repeats, device)

    def config(n_steps, seeds):
        return training_config(dataset, model, n_steps, seeds, device)

    threads = torch.get_num_threads()
    plain = {}
    for t in sorted({threads, 1}):
        torch.set_num_threads(t)
        try:
            plain[t] = per_step(lambda n: train_plain(config(n, (0,)), 0))
        finally:
            torch.set_num_threads(threads)
    baseline = min(plain.values())
    rows = []
    for count in models:
        step = per_step(lambda n: train_ensemble(config(n, tuple(range(count))), progress=False))
        rows.append(
            {"models": count, "step_s": step, "per_model_s": step / count, "speedup": baseline / (step / count)}
        )
    return {
        "dataset": dataset,
        "model": model,
        "batch": BATCH,
        "device": str(device),
        "plain_step_s": {str(k): v for k, v in plain.items()},
        "baseline_s": baseline,
        "rows": rows,
    }


def training_config(dataset: str, model: str, steps: int, seeds: tuple[int, ...], device="cpu") -> TrainConfig:
    """The configuration both loops train in time_training: the preset's, on TRAIN_SIZE training matrices."""
    return TrainConfig.resolve(dataset, model, steps=steps, seeds=seeds, train_size=TRAIN_SIZE, device=device)
