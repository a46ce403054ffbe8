"""The roofline bound of a network on this machine, and why a network path misses it.

bound = max(FLOPs / GEMM rate, minimal bytes / bandwidth), with the GEMM rate (a large sgemm) and the bandwidth (a
large copy) measured in the same run, best of repeats (the machine's peak). Minimal bytes are the inputs, the
outputs and the weights, each moved once.
"""

from __future__ import annotations

import torch

from neuralinv.bench.batch_timing import PER
from neuralinv.common.timing import time_fn
from neuralinv.nets.mlp import FastNetwork

ROOFLINE_TARGET = 3.0  # a network path within this factor of its bound is called fast


def measure_gemm_rate(device="cpu", *, size: int | None = None, repeats: int = 5) -> float:
    """FLOP/s of a square float32 matrix product of the given size (2 size^3 FLOPs), best of repeats.

    A roofline needs the machine's peak, so the machine rates take the best repeat (other processes only slow a
    run down); the paths measured against them report medians.
    """
    size = size or (2048 if torch.device(device).type == "cpu" else 8192)
    g = torch.Generator().manual_seed(0)
    a = torch.rand((size, size), generator=g).to(device)
    b = torch.rand((size, size), generator=g).to(device)
    out = torch.empty_like(a)
    timing = time_fn(lambda: torch.mm(a, b, out=out), device=device, warmup=1, repeats=repeats)
    return 2 * size**3 / timing.min


def measure_bandwidth(device="cpu", *, mbytes: int | None = None, repeats: int = 5) -> float:
    """Bytes/s of a large copy, counting the bytes read and the bytes written, best of repeats."""
    mbytes = mbytes or (256 if torch.device(device).type == "cpu" else 2048)
    count = mbytes * 2**20 // 4
    src = torch.ones(count, device=device)
    dst = torch.empty_like(src)
    timing = time_fn(lambda: dst.copy_(src), device=device, warmup=1, repeats=repeats)
    return 2 * count * 4 / timing.min


def measure_op_overhead(device="cpu", *, repeats: int = 5, calls: int = 1000) -> float:
    """Seconds per call of a framework op on a one-element tensor: the floor under every op in a path."""
    x = torch.zeros(1, device=device)
    out = torch.empty_like(x)

    def ops():  # the work timed: `calls` ops back to back
        for _ in range(calls):
            torch.add(x, x, out=out)

    return time_fn(ops, device=device, repeats=repeats).median / calls


def measure_rates(device="cpu", *, quick: bool = False) -> dict:
    """The machine's GEMM rate, copy bandwidth and per-op overhead, measured now.

    The sgemm keeps its full size when quick: a smaller one runs below the machine's rate and would loosen the bound.
    """
    cpu = torch.device(device).type == "cpu"
    repeats = 3 if quick else 5
    return {
        "gemm_flops": measure_gemm_rate(device, repeats=repeats),
        "bandwidth": measure_bandwidth(device, mbytes=(64 if quick else 256) if cpu else None, repeats=repeats),
        "op_overhead_s": measure_op_overhead(device, repeats=repeats),
    }


def mlp_flops(layer_sizes: list[int], count: int) -> int:
    """Multiply-adds of the layers counted as 2 FLOPs each (bias and ReLU are lower order)."""
    return 2 * count * sum(i * o for i, o in zip(layer_sizes[:-1], layer_sizes[1:]))


def mlp_bytes(layer_sizes: list[int], count: int, *, in_bytes: int, out_bytes: int, weight_bytes: int = 4) -> int:
    """Minimal bytes moved: count inputs and outputs once, and every weight and bias once."""
    params = sum(i * o + o for i, o in zip(layer_sizes[:-1], layer_sizes[1:]))
    return count * (layer_sizes[0] * in_bytes + layer_sizes[-1] * out_bytes) + params * weight_bytes


def roofline_bound(flops: float, nbytes: float, *, gemm_rate: float, bandwidth: float) -> float:
    """Seconds no implementation can beat on this machine: the larger of compute time and memory time."""
    return max(flops / gemm_rate, nbytes / bandwidth)


def profile_network(fast: FastNetwork, a: torch.Tensor, *, repeats: int = 5) -> list[tuple[str, float]]:
    """Median seconds of each stage of fast's path on a (N, n, n), run on its own: where the time of a call goes."""
    x = a.reshape(-1, fast.d)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.double()
    result = []
    for name, step in fast.stages(x.shape[0], x.dtype):
        result.append((name, time_fn(lambda: step(x), device=fast.device, repeats=repeats).median))
        with torch.inference_mode():
            x = step(x)
    return result


def miss_reason(row: dict, rates: dict) -> str | None:
    """Why a network path is more than ROOFLINE_TARGET x its bound, from numbers measured in the same run."""
    if row["ratio"] <= ROOFLINE_TARGET:
        return None
    floor = row["ops"] * rates["op_overhead_s"] * PER / row["batch_rows"]
    parts = []
    stages = row.get("stages")
    if stages:
        gemm = sum(v for k, v in stages.items() if k.startswith("layer"))
        other = sum(stages.values()) - gemm
        parts.append(
            f"GEMMs {gemm * 1e3:.3g} ms ({row['flops'] / gemm / rates['gemm_flops']:.0%} of the sgemm rate "
            f"on thin shapes {'-'.join(map(str, row['layer_sizes']))})"
        )
        parts.append(f"elementwise passes {other * 1e3:.3g} ms (encode, ReLU, decode: each a pass over memory)")
    else:
        parts.append("an activation allocated per layer per call")
    parts.append(f"framework floor {row['ops']} ops x {rates['op_overhead_s'] * 1e6:.2g} us = {floor * 1e3:.3g} ms")
    return f"{row['ratio']:.1f}x a bound of {row['bound_s'] * 1e3:.3g} ms: " + "; ".join(parts)
