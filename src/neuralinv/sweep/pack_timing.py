"""Packing, measured (bench --sections packing): one pack of a sweep's models against one model per trial."""

from __future__ import annotations

from dataclasses import replace

import torch

from neuralinv.common.timing import per_step_seconds
from neuralinv.nets.mlp import get_model
from neuralinv.sweep.pack import config_for
from neuralinv.sweep.spec import parse_spec
from neuralinv.training.train import train_group


def time_packing(
    *,
    shapes=((2, "2fc"), (3, "2fc"), (4, "3fc"), (8, "3fc")),
    pack: int = 24,
    steps=(200, 1000),
    repeats: int = 3,
    device="cpu",
) -> dict:
    """A sweep's packing, measured: per-model step time of one pack of `pack` models (different boxes and seeds,
    as sweep_pack trains them) against one model per trial, both on one thread, a worker's share of a 1-CPU trial."""
    threads = torch.get_num_threads()
    rows = []
    torch.set_num_threads(1)
    try:
        for n, model in shapes:
            spec = parse_spec(
                {
                    "sweep": {"seeds": list(range(pack // 4)), "steps": steps[1], "train_size": 20_000},
                    "grid": {"n": [n], "relative_radius": [0.05, 0.1, 0.2, 0.4], "model": [model]},
                }
            )
            trial = spec.trials[0]

            def packed(k):
                configs = [replace(config_for(t, spec.seeds, str(device)), steps=k) for t in spec.trials]
                return train_group(configs, progress=False)

            def single(k):
                return train_group([replace(config_for(trial, (0,), str(device)), steps=k)], progress=False)

            one = per_step_seconds(single, steps, repeats, device)
            many = per_step_seconds(packed, steps, repeats, device) / pack
            rows.append(
                {
                    "n": n,
                    "model": model,
                    "layer_sizes": get_model(model).layer_sizes(n),
                    "pack": pack,
                    "single_model_step_s": one,
                    "packed_model_step_s": many,
                    "speedup": one / many,
                }
            )
    finally:
        torch.set_num_threads(threads)
    return {"device": str(device), "threads": 1, "batch": 128, "rows": rows}
