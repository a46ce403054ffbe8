"""Grouping sampled matrices by activation pattern, and analysing the largest patterns (analyze)."""

from __future__ import annotations

import time

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.experiments.analysis.geometry import Geometry
from neuralinv.experiments.analysis.lp import lp_bound, lp_note
from neuralinv.experiments.analysis.result import Analysis, Pattern
from neuralinv.nets.mlp import Network
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Region

DEFAULT_SAMPLES = 1_000_000
# Rows of float64 per chunk, summed over all layers: keeps a chunk's activations near 128 MB whatever the width.
CHUNK_ELEMENTS = 1 << 24


def _unpack(key: np.ndarray, hidden: list[int]) -> list[np.ndarray]:
    """A packed pattern key as one bool mask per hidden layer."""
    bits = np.unpackbits(key)[: sum(hidden)].astype(bool)
    return np.split(bits, np.cumsum(hidden)[:-1])


def _bits_text(on: list[np.ndarray]) -> str:
    """A pattern as text: 1 = unit on, hidden layers separated by "/"."""
    return "/".join("".join("1" if v else "0" for v in mask) for mask in on)


def _chunks(samples: int, chunk: int):
    for start in range(0, samples, chunk):
        yield min(chunk, samples - start)


def _sample_chunks(net: Network, samples: int, seed: int, chunk: int, region: Region | None = None):
    """Network inputs x (m, n^2) and perturbations vec(A - A0) (m, n^2), float64 tensors, per chunk, for samples of
    region (default: the network's box), A0 its centre.

    A seed gives one fixed stream, so the two passes of analyze see the same matrices.
    """
    region = net.region if region is None else region
    g = torch.Generator().manual_seed(seed)
    center = torch.tensor(region.center.ravel())
    offset = torch.tensor(net.scaling.input_offset, dtype=torch.float64)
    for m in _chunks(samples, chunk):
        a = region.sample(m, generator=g, dtype=torch.float64).reshape(m, -1)
        yield (a - offset) / net.scaling.input_scale, a - center


def analyze(
    net: Network,
    *,
    region=None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    chunk: int = 100_000,
    max_patterns: int = 50,
    bound: bool = True,
) -> Analysis:
    """Group samples matrices of region (default: net's box) by activation pattern and analyse the max_patterns
    largest patterns. region: a Region, preset name, region file or its JSON, of the network's size; for a shape
    other than a box the LP bounds run over its bounding box (valid, possibly loose; the result says so).

    Two passes over the same seeded stream keep memory at one chunk of activations plus one packed key per sample:
    the first finds the patterns, the second the sampled max |net - Taylor-1| per entry of the analysed ones.
    """
    t0 = time.perf_counter()
    region = net.region if region is None else load_region(region)
    if region.n != net.n:
        raise InputError(
            f"region: a {region.n}x{region.n} {region.shape}, but the network is for {net.n}x{net.n} matrices"
        )
    geo = Geometry(net, region)
    chunk = max(1, min(chunk, CHUNK_ELEMENTS // max(1, sum(net.layer_sizes))))
    # The same seeded stream twice: the first pass finds the patterns, the second their sampled maxima.
    uniq, inverse, counts = _group_patterns(geo, _sample_chunks(net, samples, seed, chunk, region), samples)
    top = np.argsort(-counts, kind="stable")[:max_patterns]
    sampled = _sampled_max(geo, _sample_chunks(net, samples, seed, chunk, region), inverse, top, len(counts))
    patterns = [
        _pattern(geo, rank, _unpack(uniq[idx], geo.hidden), int(counts[idx]), samples, sampled[rank], bound)
        for rank, idx in enumerate(top)
    ]
    n = net.n
    return Analysis(
        n=n,
        layer_sizes=net.layer_sizes,
        box=region.to_json(),
        scaling=net.scaling.name,
        samples=samples,
        seed=seed,
        num_patterns=len(counts),
        patterns=patterns,
        other_count=int(samples - counts[top].sum()),
        linear_intercept=geo.k_lin.reshape(n, n),
        linear_slopes=geo.j_lin.reshape(n, n, n, n),
        distinct_maps=_distinct_maps(patterns),
        wall_time_s=time.perf_counter() - t0,
        info=dict(net.info),
        region_text=region.describe(),
        lp_domain=None if geo.domain is region else geo.domain.to_json(),
        lp_note=lp_note(region),
    )


def _group_patterns(geo: Geometry, chunks, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First pass: the distinct packed pattern keys (P, bytes), each sample's index into them (N,), their counts."""
    keys = []
    for x, _ in chunks:
        pre, _ = geo.forward(x)
        on = torch.cat([z > 0 for z in pre], dim=1).numpy() if pre else np.zeros((len(x), 0), bool)
        keys.append(np.packbits(on, axis=1))
    packed = np.concatenate(keys)
    width = packed.shape[1]
    if width == 0:
        return np.zeros((1, 0), np.uint8), np.zeros(samples, np.intp), np.array([samples])
    void = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
    uniq_void, inverse, counts = np.unique(void, return_inverse=True, return_counts=True)
    return uniq_void.view(np.uint8).reshape(-1, width), inverse, counts


def _sampled_max(geo: Geometry, chunks, inverse: np.ndarray, top: np.ndarray, num_patterns: int) -> np.ndarray:
    """Second pass: the sampled max |net - Taylor-1| per analysed pattern (in the order of top) and output entry."""
    rank_of = np.full(num_patterns, -1)
    rank_of[top] = np.arange(len(top))
    sampled = np.zeros((len(top), geo.n**2))
    start = 0
    for x, e in chunks:
        _, y = geo.forward(x)
        a_inv_net = torch.from_numpy(geo.out_offset) + geo.out_scale * y
        # Taylor-1 as the same formula analysis compares with: K_lin + J_lin vec(E).
        taylor = torch.nn.functional.linear(e, torch.from_numpy(geo.j_lin), torch.from_numpy(geo.k_lin))
        diff = (a_inv_net - taylor).abs().numpy()
        ranks = rank_of[inverse.ravel()[start : start + len(x)]]
        start += len(x)
        sel = ranks >= 0
        np.maximum.at(sampled, ranks[sel], diff[sel])
    return sampled


def _pattern(
    geo: Geometry, rank: int, on: list[np.ndarray], count: int, samples: int, sampled: np.ndarray, bound: bool
) -> Pattern:
    """The Pattern of rank + 1 with masks on: its affine map, its gaps to Taylor-1 and (bound) its LP bound."""
    n = geo.n
    _, g_mat, g_vec = geo.affine(on)
    k, j = geo.user_map(g_mat, g_vec)
    lp, status = lp_bound(geo, on, k, j) if bound else (None, "not bounded")
    return Pattern(
        rank=rank + 1,
        bits=_bits_text(on),
        count=count,
        share=float(count) / samples,
        intercept=k.reshape(n, n),
        slopes=j.reshape(n, n, n, n),
        slope_gap=float(np.abs(j - geo.j_lin).max()),
        intercept_gap=float(np.abs(k - geo.k_lin).max()),
        sampled_max=sampled.reshape(n, n),
        lp_bound=None if lp is None else lp.reshape(n, n),
        status=status,
    )


def _distinct_maps(patterns: list[Pattern]) -> int:
    """How many different affine maps the patterns compute (equal within 1e-9 of the largest coefficient)."""
    maps = []
    for p in patterns:
        v = np.concatenate([p.intercept.ravel(), p.slopes.ravel()])
        tol = 1e-9 * max(1.0, np.abs(v).max())
        if not any(np.abs(v - u).max() <= tol for u in maps):
            maps.append(v)
    return len(maps)
