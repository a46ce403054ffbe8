"""Table 3, timed fairly: seconds per 10,000 matrices of every network and every exact and classical path, at each
batch size, with each network's roofline bound.

Fair means: the answer is checked before it is timed, every path is warmed up, each measurement is repeated and the
median reported, CUDA is synchronised before the clock is read, and all paths run under torch.inference_mode on the
same inputs (see batch_timing for how a path is timed, roofline for the bound).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from neuralinv.bench.batch_timing import BATCHES, PER, split, time_batches
from neuralinv.bench.networks import random_network
from neuralinv.bench.paths import classical_paths
from neuralinv.bench.roofline import (
    ROOFLINE_TARGET,
    measure_rates,
    miss_reason,
    mlp_bytes,
    mlp_flops,
    profile_network,
    roofline_bound,
)
from neuralinv.nets.mlp import FastNetwork, Network, mlp_forward
from neuralinv.paper import numbers as paper
from neuralinv.paper.presets import TABLE1_DATASETS, TABLE1_MODELS, get_dataset
from neuralinv.training.data import sample_test_set

PAPER_MACHINE = paper.TABLE3_MACHINE


def paper_times(model: str, n: int) -> dict | None:
    """The paper's Table 3 row for a model on n x n matrices, with the exact CPU time of that size filled in."""
    row = paper.TABLE3.get((f"{n}x{n}", model))
    if row is None:
        return None
    exact = paper.exact_cpu_seconds(n)
    return {**row, "exact_cpu": exact} if exact is not None else dict(row)


@dataclass(frozen=True)
class Settings:
    """How hard to measure: repeats per measurement, longest timed pass, matrices per measurement (<= PER)."""

    repeats: int = 5
    max_pass_s: float = 2.0
    min_total_s: float = 0.1
    total: int = PER
    batches: tuple[int, ...] = BATCHES

    @classmethod
    def quick(cls) -> "Settings":
        """Fewer repeats and shorter timed passes (long batch-1 loops measured on a prefix and scaled)."""
        return cls(repeats=3, max_pass_s=0.3, min_total_s=0.05)


@dataclass
class DataSetInputs:
    """One data set's test matrices, their float64 reference inverses and the calls of each batch size."""

    name: str
    n: int
    a: torch.Tensor  # on the device
    reference: torch.Tensor  # numpy's float64 inverses, on the CPU
    settings: Settings
    device: torch.device
    calls: dict[int, list] = field(init=False)  # a's calls of each batch size, split once for every path

    def __post_init__(self):
        self.calls = self.chunks(self.a)

    def chunks(self, x: torch.Tensor) -> dict[int, list]:
        """x (the matrices, or their encodings) as calls of each batch size."""
        return {bs: split(x, bs, self.settings.total) for bs in self.settings.batches}

    def times(self, fn, chunks: dict[int, list], *, warm_full: bool) -> dict[str, dict]:
        """{batch: Measurement JSON} of fn over chunks; warm_full: fn just ran on all matrices in one call."""
        s = self.settings
        return {
            str(bs): time_batches(
                fn,
                chunks[bs],
                batch=bs,
                device=self.device,
                repeats=s.repeats,
                max_pass_s=s.max_pass_s,
                min_total_s=s.min_total_s,
                warm=warm_full and bs == s.total,
            ).to_json()
            for bs in s.batches
        }

    def measure(self, fn, output=None, **extra) -> dict:
        """Check fn's answer on all test matrices (this also warms up the largest batch), then time it."""
        if output is None:
            with torch.inference_mode():
                output = fn(self.a)
        mae = float((output.cpu() - self.reference).abs().mean())
        times = self.times(fn, self.calls, warm_full=True)
        return {"dataset": self.name, "n": self.n, "mae": mae, "times": times, **extra}


def table3(
    device="cpu",
    *,
    datasets=TABLE1_DATASETS,
    models=TABLE1_MODELS,
    settings: Settings | None = None,
    networks: dict[tuple[str, str], Network] | None = None,
    rates: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Seconds per 10,000 matrices at each batch size for every network and classical path, with rooflines.

    networks: trained networks keyed by (dataset, model); missing ones are timed with random weights and get no
    MAE. Each network is timed three ways: "full" (models.FastNetwork, what Network.__call__ runs: float64
    matrices in, float64 inverses out), "plain" (Network.forward_reference, the straightforward path) and "mlp"
    (models.mlp_forward on the encoded float32 inputs: the raw forward pass). Every path's MAE against numpy's
    float64 inverse is computed on the same test matrices before it is timed.
    """
    settings = settings or Settings()
    device = torch.device(device)
    networks = networks or {}
    say = progress or (lambda _msg: None)
    if rates is None:
        say("measuring the machine's GEMM rate, bandwidth and per-op overhead")
        rates = measure_rates(device)
    load_start = os.getloadavg()
    rows = []
    for ds in datasets:
        box = get_dataset(ds).region
        a_cpu, _ = sample_test_set(box, settings.total)
        reference = torch.from_numpy(np.linalg.inv(a_cpu.numpy()))
        data = DataSetInputs(ds, box.n, a_cpu.to(device), reference, settings, device)
        for name, (kind, fn) in classical_paths(box, device).items():
            say(f"{ds}: {name}")
            rows.append(data.measure(fn, method=name, kind=kind, variant=None))
        for model in models:
            trained = (ds, model) in networks
            net = (networks[(ds, model)] if trained else random_network(ds, model)).to(device)
            rows += network_rows(data, net, model, trained=trained, rates=rates, say=say)
    # Other processes on the machine slow every path; the load average says how busy it was.
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "settings": asdict(settings),
        "rates": rates,
        "per": PER,
        "rows": rows,
        "load_average": {"start": load_start[0], "end": os.getloadavg()[0], "cores": os.cpu_count()},
        "paper": {
            "machine": PAPER_MACHINE,
            "rows": [{"size": size, "model": m, **v} for (size, m), v in paper.TABLE3.items()],
        },
    }


def network_rows(data: DataSetInputs, net: Network, model: str, *, trained: bool, rates: dict, say) -> list[dict]:
    """The rows of one network on one data set: its full, plain and mlp paths, the full and mlp with their roofline."""
    fast = FastNetwork(net)
    paper_row = paper_times(model, data.n)
    with torch.inference_mode():  # the fast path must give the plain path's answers before it is timed
        outputs = {"full": fast(data.a), "plain": net.forward_reference(data.a)}
    diff = float((outputs["full"] - outputs["plain"]).abs().max())
    steps = net.info.get("steps", net.info.get("trained_steps")) if trained else None
    rows = []
    for variant, fn in [("full", fast), ("plain", net.forward_reference)]:
        say(f"{data.name}: {model} {variant}")
        row = data.measure(
            fn,
            outputs[variant],
            method=model,
            kind="network",
            variant=variant,
            trained=trained,
            paper=paper_row,
            steps=steps,
        )
        if not trained:
            row["mae"] = None
        if variant == "full":
            row["max_abs_diff_vs_plain"] = diff
        rows.append(row)
    # The raw forward: inputs already encoded; its MAE is the full path's (the same numbers).
    say(f"{data.name}: {model} mlp")
    x_all = net.scaling.encode(data.a).to(net.layers[0][0].dtype)
    times = data.times(lambda x: mlp_forward(net.layers, x), data.chunks(x_all), warm_full=False)
    rows.append(
        {
            "dataset": data.name,
            "n": data.n,
            "method": model,
            "kind": "network",
            "variant": "mlp",
            "trained": trained,
            "paper": paper_row,
            "mae": None,
            "times": times,
        }
    )
    for row in rows:
        if row["variant"] != "plain":
            add_roofline(row, data, net, fast, rates, say)
    return rows


def add_roofline(row: dict, data: DataSetInputs, net: Network, fast: FastNetwork, rates: dict, say) -> None:
    """A full or mlp network row gets its FLOPs, minimal bytes, bound and ratio at the largest batch, and, when it
    misses ROOFLINE_TARGET, its stage times and the reason."""
    sizes, w_dtype = net.layer_sizes, net.layers[0][0].dtype
    big = max(data.settings.batches)
    flops = mlp_flops(sizes, PER)
    in_out = (w_dtype if row["variant"] == "mlp" else data.a.dtype).itemsize
    nbytes = mlp_bytes(sizes, PER, in_bytes=in_out, out_bytes=in_out, weight_bytes=w_dtype.itemsize)
    bound = roofline_bound(flops, nbytes, gemm_rate=rates["gemm_flops"], bandwidth=rates["bandwidth"])
    seconds = row["times"][str(big)]["seconds"]
    ops = len(fast.stages(big, data.a.dtype)) if row["variant"] == "full" else 2 * (len(sizes) - 1) - 1
    row.update(
        {
            "layer_sizes": sizes,
            "flops": flops,
            "bytes": nbytes,
            "bound_s": bound,
            "compute_s": flops / rates["gemm_flops"],
            "memory_s": nbytes / rates["bandwidth"],
            "seconds": seconds,
            "ratio": seconds / bound,
            "ops": ops,
            "batch_rows": big,
        }
    )
    if row["variant"] == "full" and row["ratio"] > ROOFLINE_TARGET:
        # Only a miss needs explaining: time each stage of the path on its own.
        say(f"{data.name}: {row['method']} stages")
        stages = profile_network(fast, data.a[:big], repeats=data.settings.repeats)
        row["stages"] = {k: v * PER / big for k, v in stages}
    row["miss"] = miss_reason(row, rates)
