"""Inside a ReLU MLP: activation patterns over its box (or any region), the affine map in each, and LP bounds against
Taylor-1.

Units. The network sees x = (vec(A) - o_in) / s_in and returns y with vec(A^-1) ~= o_out + s_out y (data.Scaling).
Write A = A0 + E with E = A' the perturbation, |E_ij| <= c_ij (c_ij = c for the paper's boxes; per-entry half-widths
in general), and E = c * u (entrywise) with u in [-1, 1]^(n^2).
A hidden layer's pre-activation z_l is affine in x; fixing which units are on (the activation pattern: bit = z > 0,
one bit per hidden unit, layers in order) makes the whole network affine:

    vec(A^-1)_net = K + J vec(E),   K (n^2,): the map's value at A0,  J (n^2, n^2): J[(k,l), (i,j)] = d(A^-1)_kl / dA_ij

in the user's units (the scaling undone). The linear approximation (Taylor-1, Eq. 10) is K_lin = vec(A0^-1),
J_lin = -kron(A0^-1, A0^-T) (d(A^-1)/dA_ij = -A0^-1 E_ij A0^-1). The "slope gap" of a pattern is max |J - J_lin| and
its "intercept gap" max |K - K_lin|.

The pattern's polytope is {u in [-1, 1]^(n^2): z_l(u) >= 0 for on units, <= 0 for off units}. For each output entry m
the difference to Taylor-1 is affine there, f_m(u) = (K - K_lin)_m + ((J - J_lin)_m * c) u, so max |f_m| over the
polytope is the larger of two linear programs, max f_m and max -f_m (SciPy's HiGHS). It bounds |net - Taylor-1| for
every matrix of the box whose pattern is this one, so it is never below the sampled maximum (up to the LP tolerance).
An infeasible LP means the polytope is empty (a pattern seen only through rounding on a boundary).

Other regions (a ball, symmetric perturbations, a union, an equilibrated region): the samples come from the region and
the LP runs over its bounding box (Region.bounding_box(), which holds it) intersected with the half-spaces. The bounds
stay valid for every matrix of the region, but may be loose: the bounding box is larger than the region.

The analysis runs in float64 on float64 copies of the weights, whatever dtype the checkpoint holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linprog

from neuralinv.common.errors import InputError
from neuralinv.nets.construction import linear_matrix
from neuralinv.nets.mlp import Network
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Box, Region
from neuralinv.reporting.formats import compact, share

DEFAULT_SAMPLES = 1_000_000
# Rows of float64 per chunk, summed over all layers: keeps a chunk's activations near 128 MB whatever the width.
CHUNK_ELEMENTS = 1 << 24
# HiGHS's default tolerances (1e-7) are loose next to bounds of order 1e-5; the objective is also normalised.
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}
FIGURE_NAME = "analysis-patterns.png"


@dataclass
class Pattern:
    """One activation pattern: its share of the samples, its affine map and its distance to Taylor-1.

    intercept (n, n) = K, slopes (n, n, n, n) with slopes[k, l, i, j] = d(A^-1)_kl / dA_ij, sampled_max and
    lp_bound (n, n): max |net - Taylor-1| per output entry over the samples / over the polytope.
    status: "bounded", "empty" (infeasible polytope), "lp failed", or "not bounded" (LP skipped).
    """

    rank: int
    bits: str  # "1" = unit on; hidden layers separated by "/" (a "|" would split Markdown table cells)
    count: int
    share: float
    intercept: np.ndarray
    slopes: np.ndarray
    slope_gap: float
    intercept_gap: float
    sampled_max: np.ndarray
    lp_bound: np.ndarray | None = None
    status: str = "not bounded"

    @property
    def lp_ok(self) -> bool | None:
        """True when every entry's LP bound is >= its sampled maximum (None without an LP bound)."""
        if self.lp_bound is None:
            return None
        tol = 1e-12 + 1e-7 * np.abs(self.sampled_max)
        return bool(np.all(self.lp_bound >= self.sampled_max - tol))

    def to_json(self) -> dict:
        return {
            "rank": self.rank,
            "bits": self.bits,
            "count": self.count,
            "share": self.share,
            "intercept": self.intercept.tolist(),
            "slopes": self.slopes.tolist(),
            "slope_gap": self.slope_gap,
            "intercept_gap": self.intercept_gap,
            "sampled_max": self.sampled_max.tolist(),
            "lp_bound": None if self.lp_bound is None else self.lp_bound.tolist(),
            "lp_bound_max": None if self.lp_bound is None else float(self.lp_bound.max()),
            "status": self.status,
            "lp_ge_sampled": self.lp_ok,
        }


@dataclass
class Analysis:
    """Patterns of a network over a region (by default its box), sorted by share; the first max_patterns are analysed
    in full. box is the region's JSON (any shape); lp_domain the box the linear programs ran over when that is not the
    region itself (its bounding box), with lp_note saying so."""

    n: int
    layer_sizes: list[int]
    box: dict
    scaling: str
    samples: int
    seed: int
    num_patterns: int
    patterns: list[Pattern]
    other_count: int  # samples in patterns beyond the analysed ones
    linear_intercept: np.ndarray  # (n, n) = A0^-1
    linear_slopes: np.ndarray  # (n, n, n, n)
    distinct_maps: int  # distinct affine maps among the analysed patterns
    wall_time_s: float
    info: dict = field(default_factory=dict)
    region_text: str = ""  # Region.describe()
    lp_domain: dict | None = None  # the LP's box (JSON) when it is not the region itself
    lp_note: str | None = None

    @property
    def region_shape(self) -> str:
        return self.box.get("shape", "box")

    @classmethod
    def from_json(cls, data: dict) -> "Analysis":
        """The inverse of to_json (reports rebuild their sections from stored results)."""

        def arr(x):
            return None if x is None else np.asarray(x, dtype=float)

        patterns = [
            Pattern(
                rank=p["rank"],
                bits=p["bits"],
                count=p["count"],
                share=p["share"],
                intercept=arr(p["intercept"]),
                slopes=arr(p["slopes"]),
                slope_gap=p["slope_gap"],
                intercept_gap=p["intercept_gap"],
                sampled_max=arr(p["sampled_max"]),
                lp_bound=arr(p["lp_bound"]),
                status=p["status"],
            )
            for p in data["patterns"]
        ]
        return cls(
            n=data["n"],
            layer_sizes=data["layer_sizes"],
            box=data["box"],
            scaling=data["scaling"],
            samples=data["samples"],
            seed=data["seed"],
            num_patterns=data["num_patterns"],
            patterns=patterns,
            other_count=round(data["other_patterns_share"] * data["samples"]),
            linear_intercept=arr(data["linear"]["intercept"]),
            linear_slopes=arr(data["linear"]["slopes"]),
            distinct_maps=data["distinct_maps"],
            wall_time_s=data["wall_time_s"],
            info=data.get("network_info", {}),
            region_text=data.get("region", ""),
            lp_domain=data.get("lp_bounding_box"),
            lp_note=data.get("lp_note"),
        )

    def to_json(self) -> dict:
        bounded = [p for p in self.patterns if p.lp_bound is not None]
        return {
            "n": self.n,
            "layer_sizes": self.layer_sizes,
            "box": self.box,
            "region_shape": self.region_shape,
            "region": self.region_text,
            "lp_domain": "region" if self.lp_domain is None else "bounding box",
            "lp_bounding_box": self.lp_domain,
            "lp_note": self.lp_note,
            "scaling": self.scaling,
            "samples": self.samples,
            "seed": self.seed,
            "num_patterns": self.num_patterns,
            "analysed_patterns": len(self.patterns),
            "other_patterns_share": self.other_count / self.samples,
            "distinct_maps": self.distinct_maps,
            "lp_ge_sampled": all(p.lp_ok for p in bounded) if bounded else None,
            "empty_patterns": [p.rank for p in self.patterns if p.status == "empty"],
            "linear": {"intercept": self.linear_intercept.tolist(), "slopes": self.linear_slopes.tolist()},
            "patterns": [p.to_json() for p in self.patterns],
            "wall_time_s": self.wall_time_s,
            "network_info": self.info,
        }


class _Geometry:
    """The float64 weights and the change of variables u -> x = x0 + r * u (u in [-1, 1]^(n^2)) of one network.

    The LP domain is the region's bounding box (the region itself for a box): E = A - A0 = c * u entrywise, with c
    (n^2,) its per-entry half-widths, and r = c / s_in. A0 is the region's centre, where Taylor-1 is taken.
    """

    def __init__(self, net: Network, region: Region | None = None):
        self.torch_layers = [(w.detach().cpu().double(), b.detach().cpu().double()) for w, b in net.layers]
        self.layers = [(w.numpy(), b.numpy()) for w, b in self.torch_layers]
        self.region = net.box if region is None else region
        self.domain: Box = self.region.bounding_box()
        self.n = net.n
        self.c = self.domain.half_widths.ravel()  # (n^2,) per-entry half-widths of the LP domain
        s = net.scaling
        self.x0 = (self.domain.center.ravel() - np.array(s.input_offset)) / s.input_scale
        self.r = self.c / s.input_scale
        self.out_offset, self.out_scale, self.in_scale = np.array(s.target_offset), s.target_scale, s.input_scale
        self.hidden = [w.shape[0] for w, _ in self.layers[:-1]]
        self.k_lin = self.domain.center_inverse.ravel()
        self.j_lin = linear_matrix(self.domain)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden pre-activations [(N, h_l)] and output y (N, n^2) for float64 inputs x (N, n^2).

        torch rather than numpy: its matmul stays on BLAS for the thin (N, n^2) x (n^2, h) products here.
        """
        pre = []
        for w, b in self.torch_layers[:-1]:
            z = torch.nn.functional.linear(x, w, b)
            pre.append(z)
            x = torch.relu(z)
        w, b = self.torch_layers[-1]
        return pre, torch.nn.functional.linear(x, w, b)

    def affine(self, on: list[np.ndarray]) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """For the pattern on (bool masks per hidden layer): pre-activations z_l = P_l x + p_l, and y = G x + g."""
        d = self.n**2
        p_mat, p_vec = np.eye(d), np.zeros(d)
        pieces = []
        for (w, b), mask in zip(self.layers[:-1], on):
            p_mat, p_vec = w @ p_mat, w @ p_vec + b
            pieces.append((p_mat, p_vec))
            p_mat, p_vec = p_mat * mask[:, None], p_vec * mask
        w, b = self.layers[-1]
        return pieces, w @ p_mat, w @ p_vec + b

    def user_map(self, g_mat: np.ndarray, g_vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """K (n^2,) and J (n^2, n^2) of vec(A^-1) = K + J vec(A - A0), from the scaled map y = G x + g."""
        k = self.out_offset + self.out_scale * (g_mat @ self.x0 + g_vec)
        return k, self.out_scale / self.in_scale * g_mat

    def constraints(self, pieces, on) -> tuple[np.ndarray, np.ndarray, bool]:
        """A_ub u <= b_ub for the pattern's half-spaces (rows normalised), and False if a constant row is violated."""
        rows, rhs = [], []
        for (p_mat, p_vec), mask in zip(pieces, on):
            a = p_mat * self.r  # z = a u + q (x_i = x0_i + r_i u_i scales column i)
            q = p_mat @ self.x0 + p_vec
            sign = np.where(mask, -1.0, 1.0)  # on: -z <= 0; off: z <= 0
            rows.append(sign[:, None] * a)
            rhs.append(-sign * q)
        if not rows:
            return np.zeros((0, self.n**2)), np.zeros(0), True
        a_ub, b_ub = np.concatenate(rows), np.concatenate(rhs)
        norms = np.linalg.norm(a_ub, axis=1)
        # A unit that does not depend on u is a constant: its half-space is all or nothing.
        constant = norms <= 1e-14 * max(1.0, norms.max(initial=0.0))
        feasible = bool(np.all(b_ub[constant] >= -1e-12))
        keep = ~constant
        return a_ub[keep] / norms[keep, None], b_ub[keep] / norms[keep], feasible


def _unpack(key: np.ndarray, hidden: list[int]) -> list[np.ndarray]:
    bits = np.unpackbits(key)[: sum(hidden)].astype(bool)
    return np.split(bits, np.cumsum(hidden)[:-1])


def _bits_text(on: list[np.ndarray]) -> str:
    return "/".join("".join("1" if v else "0" for v in mask) for mask in on)


def _chunks(samples: int, chunk: int):
    for start in range(0, samples, chunk):
        yield min(chunk, samples - start)


def _sample_chunks(net: Network, samples: int, seed: int, chunk: int, region: Region | None = None):
    """Network inputs x (m, n^2) and perturbations vec(A - A0) (m, n^2), float64 tensors, per chunk, for samples of
    region (default: the network's box), A0 its centre.

    A seed gives one fixed stream, so the two passes of analyze see the same matrices.
    """
    region = net.box if region is None else region
    g = torch.Generator().manual_seed(seed)
    center = torch.tensor(region.center.ravel())
    offset = torch.tensor(net.scaling.input_offset, dtype=torch.float64)
    for m in _chunks(samples, chunk):
        a = region.sample(m, generator=g, dtype=torch.float64).reshape(m, -1)
        yield (a - offset) / net.scaling.input_scale, a - center


def lp_bound(geo: _Geometry, on: list[np.ndarray], k: np.ndarray, j: np.ndarray) -> tuple[np.ndarray | None, str]:
    """max over the pattern's polytope of |(K - K_lin)_m + ((J - J_lin)_m * c) u| per output entry m: (n^2,), status."""
    pieces, _, _ = geo.affine(on)
    a_ub, b_ub, feasible = geo.constraints(pieces, on)
    if not feasible:
        return None, "empty"
    d = geo.n**2
    dk, dj = k - geo.k_lin, (j - geo.j_lin) * geo.c
    a_ub, b_ub = (a_ub, b_ub) if len(a_ub) else (None, None)

    def solve(objective):
        return linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(-1.0, 1.0), method="highs", options=HIGHS_OPTIONS)

    if not np.any(dj):  # every entry's difference is constant: only feasibility is in question
        res = solve(np.zeros(d))
        return (np.abs(dk), "bounded") if res.status == 0 else (None, "empty" if res.status == 2 else "lp failed")
    bound = np.empty(d)
    for m in range(d):
        # Normalise the objective so HiGHS's absolute tolerances act relative to the bound's size.
        scale = max(np.abs(dj[m]).max(), abs(dk[m]), 1e-300)
        best = 0.0
        for sign in (1.0, -1.0):
            res = solve(-sign * dj[m] / scale)
            if res.status == 2:
                return None, "empty"
            if res.status != 0:
                return None, "lp failed"
            best = max(best, sign * dk[m] + scale * -res.fun)
        bound[m] = best
    return bound, "bounded"


def lp_note(region: Region) -> str | None:
    """What the LP domain is, when it is not the region itself (None for a box)."""
    if isinstance(region, Box):
        return None
    article = "an" if region.shape == "equilibrated" else "a"
    return (
        f"LP over the bounding box of {article} {region.shape} region: bounds are valid, possibly loose "
        f"(the box is larger than the region)"
    )


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
    region = net.box if region is None else load_region(region)
    if region.n != net.n:
        raise InputError(
            f"region: a {region.n}x{region.n} {region.shape}, but the network is for {net.n}x{net.n} matrices"
        )
    geo = _Geometry(net, region)
    n, d = net.n, net.n**2
    chunk = max(1, min(chunk, CHUNK_ELEMENTS // max(1, sum(net.layer_sizes))))
    keys = []
    for x, _ in _sample_chunks(net, samples, seed, chunk, region):
        pre, _ = geo.forward(x)
        on = torch.cat([z > 0 for z in pre], dim=1).numpy() if pre else np.zeros((len(x), 0), bool)
        keys.append(np.packbits(on, axis=1))
    packed = np.concatenate(keys)
    width = packed.shape[1]
    if width == 0:
        uniq, inverse, counts = np.zeros((1, 0), np.uint8), np.zeros(samples, np.intp), np.array([samples])
    else:
        void = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
        uniq_void, inverse, counts = np.unique(void, return_inverse=True, return_counts=True)
        uniq = uniq_void.view(np.uint8).reshape(-1, width)
    del packed, keys
    order = np.argsort(-counts, kind="stable")
    top = order[:max_patterns]
    rank_of = np.full(len(counts), -1)
    rank_of[top] = np.arange(len(top))

    # Second pass: sampled max |net - Taylor-1| per analysed pattern and output entry.
    sampled = np.zeros((len(top), d))
    start = 0
    for x, e in _sample_chunks(net, samples, seed, chunk, region):
        _, y = geo.forward(x)
        a_inv_net = torch.from_numpy(geo.out_offset) + geo.out_scale * y
        # Taylor-1 as the same formula analysis compares with: K_lin + J_lin vec(E).
        taylor = torch.nn.functional.linear(e, torch.from_numpy(geo.j_lin), torch.from_numpy(geo.k_lin))
        diff = (a_inv_net - taylor).abs().numpy()
        ranks = rank_of[inverse.ravel()[start : start + len(x)]]
        start += len(x)
        sel = ranks >= 0
        np.maximum.at(sampled, ranks[sel], diff[sel])

    patterns = []
    for rank, idx in enumerate(top):
        on = _unpack(uniq[idx], geo.hidden)
        _, g_mat, g_vec = geo.affine(on)
        k, j = geo.user_map(g_mat, g_vec)
        lp, status = lp_bound(geo, on, k, j) if bound else (None, "not bounded")
        patterns.append(
            Pattern(
                rank=rank + 1,
                bits=_bits_text(on),
                count=int(counts[idx]),
                share=float(counts[idx]) / samples,
                intercept=k.reshape(n, n),
                slopes=j.reshape(n, n, n, n),
                slope_gap=float(np.abs(j - geo.j_lin).max()),
                intercept_gap=float(np.abs(k - geo.k_lin).max()),
                sampled_max=sampled[rank].reshape(n, n),
                lp_bound=None if lp is None else lp.reshape(n, n),
                status=status,
            )
        )
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


def _distinct_maps(patterns: list[Pattern]) -> int:
    """How many different affine maps the patterns compute (equal within 1e-9 of the largest coefficient)."""
    maps = []
    for p in patterns:
        v = np.concatenate([p.intercept.ravel(), p.slopes.ravel()])
        tol = 1e-9 * max(1.0, np.abs(v).max())
        if not any(np.abs(v - u).max() <= tol for u in maps):
            maps.append(v)
    return len(maps)


# ---- presentation -------------------------------------------------------------------------------------------------


def entry_name(n: int, m: int) -> str:
    """Name of output entry m (row-major) of A^-1: b11, b12, ... (b_kl = (A^-1)_kl, 1-based)."""
    row, col = divmod(m, n)
    return f"b{row + 1}{col + 1}" if n <= 9 else f"b{row + 1},{col + 1}"


def _pert_name(n: int, m: int) -> str:
    i, j = divmod(m, n)
    return f"a'{i + 1}{j + 1}" if n <= 9 else f"a'{i + 1},{j + 1}"


def affine_text(n: int, intercept: float, coeffs: np.ndarray, digits: int = 4) -> str:
    """'1.500000 - 2.2500 a'11 + 1.5000 a'12 ...': an entry of A^-1 as an affine function of the perturbation.

    The intercept gets two more digits: a trained net's intercepts differ from A0^-1 by about 1e-5.
    """
    text = f"{intercept:.{digits + 2}f}"
    for m, v in enumerate(coeffs):
        text += f" {'-' if v < 0 else '+'} {abs(v):.{digits}f} {_pert_name(n, m)}"
    return text


def summary_rows(result: Analysis, top: int = 20) -> list[list]:
    rows = []
    for p in result.patterns[:top]:
        lp = None if p.lp_bound is None else float(p.lp_bound.max())
        rows.append(
            [
                p.rank,
                p.bits,
                share(p.share, decimals=2),
                p.slope_gap,
                p.intercept_gap,
                float(p.sampled_max.max()),
                lp if lp is not None else p.status,
            ]
        )
    return rows


SUMMARY_HEADERS = ["#", "pattern", "share", "slope gap", "intercept gap", "sampled max |net-lin|", "LP bound |net-lin|"]


def markdown(
    result: Analysis,
    *,
    title: str = "What the network learned",
    figure: str | None = None,
    top: int = 20,
    level: int = 2,
    entries: bool = True,
) -> str:
    """A Markdown section: summary, pattern table, Eq. 13 comparison of the top two, and (entries, n <= 3) the
    per-entry LP tables folded at the end (entry_tables gives them on their own, for an appendix)."""
    from neuralinv.reporting.document import figure as numbered_figure
    from neuralinv.reporting.document import table

    n = result.n
    h = "#" * level
    lines = [f"{h} {title}", ""]
    top_share = sum(p.share for p in result.patterns[:3])
    info = result.info
    source = ", ".join(f"{k} {info[k]}" for k in ("dataset", "model", "seed", "steps") if k in info)
    radius = result.box.get("radius")
    if result.region_shape == "box" and isinstance(radius, (int, float)):
        where = f"the {n}x{n} box of half-width c = {radius:g} around A0 = {result.box['center']}"
        domain = "the box"
    else:
        where = f"the region: {result.region_text or result.region_shape}"
        domain = "the box" if result.lp_domain is None else "the region's bounding box"
    drawn = "uniform samples" if result.region_shape == "box" else "samples of the region"
    lines.append(
        f"ReLU MLP {'-'.join(map(str, result.layer_sizes))} ({result.scaling} scaling{'; ' + source if source else ''})"
        f" on {where}. "
        f"{result.samples:,} {drawn} (sampling seed {result.seed}) fall into {result.num_patterns} activation "
        f"patterns; "
        f"the largest {min(3, len(result.patterns))} hold {100 * top_share:.1f}% of them. Inside a pattern the network "
        f"is affine, A^-1 ~= K + J (A - A0). {result.distinct_maps} distinct affine map(s) among the "
        f"{len(result.patterns)} analysed patterns." + (f" Note: {result.lp_note}." if result.lp_note else "")
    )
    if result.other_count:
        lines.append(
            f"Patterns beyond the {len(result.patterns)} largest hold "
            f"{100 * result.other_count / result.samples:.3f}% of the samples and are not analysed."
        )
    rows = [
        [str(row[0]), f"`{row[1]}`", row[2], *(compact(v) if not isinstance(v, str) else v for v in row[3:])]
        for row in summary_rows(result, top)
    ]
    lines += [
        "",
        table(SUMMARY_HEADERS, rows, total=result.num_patterns, what="patterns (the largest, by share)"),
        "",
        f"Columns: **pattern** is which hidden units are on (1) or off (0), layers separated by /; "
        f"**share** the share of the samples in it; **slope gap** max |J - J_lin| and **intercept gap** "
        f"max |K - A0^-1| against the linear approximation (Taylor-1, Eq. 10); **sampled max** the largest "
        f"|net - Taylor-1| over the samples in the pattern; **LP bound** max |net - Taylor-1| over the whole "
        f"polytope ({domain} intersected with the pattern's half-spaces), by linear programming (HiGHS), in "
        f"units of A^-1: it is never below the sampled maximum.",
    ]
    if figure:
        lines += [
            "",
            numbered_figure(
                "patterns",
                figure,
                f"The largest activation patterns of the {'-'.join(map(str, result.layer_sizes))} network over its "
                f"{'box' if result.region_shape == 'box' else 'region'} ({result.samples:,} samples), by share of the "
                "samples (top, log scale: the shares span decades), and "
                "the largest |net - Taylor-1| in each (bottom): the LP bound over the pattern's "
                "whole polytope beside the "
                "maximum over the samples that fell into it.",
            ),
        ]
    if n * n <= 9:
        lines += [""] + eq13_lines(result, level=level + 1)
        if entries:
            lines += [
                "",
                entry_tables(result, title="Per output entry (as the paper's Tables 4-7)", level=level + 1, top=top),
            ]
    return "\n".join(lines).rstrip() + "\n"


def document(result: Analysis, figure: str | None, *, top: int = 20):
    """The stand-alone report of `neuralinv analyze --out` (analysis.md and analysis.html)."""
    from neuralinv.reporting.document import Document

    bounded = [p for p in result.patterns if p.lp_bound is not None]
    points = [
        f"{result.samples:,} samples fall into {result.num_patterns} activation patterns; the largest "
        f"{min(3, len(result.patterns))} hold {100 * sum(p.share for p in result.patterns[:3]):.1f}% of them, "
        f"with {result.distinct_maps} distinct affine map(s) among the {len(result.patterns)} analysed."
    ]
    if bounded:
        worst = max(bounded, key=lambda p: float(p.lp_bound.max()))
        points.append(
            f"The largest LP bound on |net - Taylor-1| is {compact(float(worst.lp_bound.max()))} (pattern "
            f"{worst.rank}, {share(worst.share, decimals=2)} of the samples); every bound is at least its sampled "
            f"maximum: {'yes' if all(p.lp_ok for p in bounded) else 'no'}."
        )
    return Document(
        title=f"Activation patterns of a {'-'.join(map(str, result.layer_sizes))} ReLU MLP",
        html_title=f"neuralinv analyze: {'-'.join(map(str, result.layer_sizes))} ReLU MLP",
        summary=points,
        sections=[markdown(result, figure=figure, top=top)],
    )


def entry_tables(result: Analysis, *, title: str, level: int = 2, top: int = 20) -> str:
    """The per-output-entry tables (the paper's Tables 4-7), each folded in a <details> block."""
    from neuralinv.reporting.document import details, table

    n, d = result.n, result.n**2
    lines = [
        f"{'#' * level} {title}",
        "",
        "For each entry bkl of A^-1: each pattern's affine map in the perturbations a'ij = (A - A0)ij, its largest "
        "slope difference from the linear approximation, and |net - Taylor-1| sampled and bounded by LP.",
    ]
    for m in range(d):
        name = entry_name(n, m)
        rows = []
        for p in result.patterns[:top]:
            coeffs = p.slopes.reshape(d, d)[m]
            gap = np.abs(coeffs - result.linear_slopes.reshape(d, d)[m]).max()
            lp = None if p.lp_bound is None else float(p.lp_bound.ravel()[m])
            rows.append(
                [
                    p.rank,
                    share(p.share, decimals=2),
                    affine_text(n, p.intercept.ravel()[m], coeffs),
                    compact(float(gap)),
                    compact(float(p.sampled_max.ravel()[m])),
                    compact(lp) if lp is not None else p.status,
                ]
            )
        body = (
            f"Linear approximation: {name} = "
            f"{affine_text(n, result.linear_intercept.ravel()[m], result.linear_slopes.reshape(d, d)[m])}\n\n"
            + table(
                ["#", "share", "affine map", "slope gap", "sampled max", "LP bound"],
                rows,
                total=result.num_patterns,
                what="patterns",
            )
        )
        lines += ["", details(f"{name}: {len(rows)} patterns", body)]
    return "\n".join(lines) + "\n"


def eq13_lines(result: Analysis, *, level: int = 3) -> list[str]:
    """The two largest patterns' maps beside the linear approximation, entry by entry (the paper's Eq. 13)."""
    n, d = result.n, result.n**2
    lines = [
        f"{'#' * level} The two largest patterns against the linear approximation (as the paper's Eq. 13)",
        "",
        "Perturbation a'ij = (A - A0)ij; bkl = (A^-1)kl.",
        "",
        "```",
    ]
    lin_j = result.linear_slopes.reshape(d, d)
    for m in range(d):
        name = entry_name(n, m)
        lines.append(f"linear      {name} = {affine_text(n, result.linear_intercept.ravel()[m], lin_j[m])}")
        for p in result.patterns[:2]:
            label = f"pattern {p.rank}".ljust(11)
            lines.append(f"{label} {name} = {affine_text(n, p.intercept.ravel()[m], p.slopes.reshape(d, d)[m])}")
        lines.append("")
    lines[-1] = "```"
    gaps = ", ".join(
        f"pattern {p.rank} ({100 * p.share:.1f}%): slope gap {p.slope_gap:.3g}, intercept gap {p.intercept_gap:.3g}"
        for p in result.patterns[:2]
    )
    return lines + ["", f"Largest coefficient differences from the linear approximation: {gaps}.", ""]


def plot(result: Analysis, path: str | Path, *, top: int = 20) -> Path:
    """PNG: share of samples (bars, log scale so the small patterns show) and max LP bound / sampled max (markers)
    of the largest patterns. No title: the report's caption says which network and how many samples."""
    from matplotlib import ticker

    from neuralinv.reporting.plotting import pyplot  # here, not at the top: matplotlib is slow to import

    plt = pyplot()

    def log_ticks(ax, values, formatter):
        """Labelled ticks on a log axis whatever its range: decades when it spans two of them, else 1-2-5 steps."""
        v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
        if (
            v.size
            and [t for t in ticker.LogLocator(numticks=6).tick_values(v.min(), v.max()) if v.min() <= t <= v.max()][1:]
        ):
            ax.yaxis.set_major_locator(ticker.LogLocator(numticks=6))
        else:
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12))
        ax.yaxis.set_major_formatter(formatter)
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())

    pats = result.patterns[:top]
    ranks = [p.rank for p in pats]
    shares = [100 * p.share for p in pats]
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
    ):
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7.5, 5.8), sharex=True, layout="constrained")
        ax1.bar(ranks, shares, color="tab:blue")
        ax1.set_yscale("log")
        if pats and min(shares) > 0:  # bars start at the decade below the smallest share, not at an arbitrary floor
            ax1.set_ylim(bottom=10.0 ** np.floor(np.log10(min(shares))))
        log_ticks(ax1, shares, ticker.FuncFormatter(lambda v, _pos: f"{v:.3g}%"))
        ax1.set_ylabel("share of samples\n(log scale)")
        ax1.grid(True, axis="y", which="major", alpha=0.3)
        lp = [np.nan if p.lp_bound is None else p.lp_bound.max() for p in pats]
        sampled = [max(p.sampled_max.max(), 1e-300) for p in pats]
        ax2.semilogy(ranks, lp, "o", ms=7, color="tab:red", label="LP bound over the polytope")
        ax2.semilogy(ranks, sampled, "x", ms=7, mew=1.5, color="k", label="sampled max")
        log_ticks(ax2, lp + sampled, ticker.LogFormatterSciNotation(labelOnlyBase=False))
        ax2.set_ylabel("max |net - Taylor-1|")
        ax2.set_xlabel("pattern (rank by share)")
        ax2.grid(True, axis="y", which="major", alpha=0.3)
        if len(ranks) <= 20:
            ax2.set_xticks(ranks)
        else:
            ax2.xaxis.set_major_locator(ticker.MaxNLocator(10, integer=True))
        fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return path


def report_section(checkpoint_path, out_dir, samples: int = DEFAULT_SAMPLES) -> dict:
    """The reproduce report's "What the network learned" section for one checkpoint (a 2-FC small on 2x2 First).

    Writes the pattern figure into out_dir and returns {"markdown", "results", "figures"}; the Markdown's figure
    link is relative to out_dir.
    """
    from neuralinv.nets import checkpoint

    net = checkpoint.load(checkpoint_path)
    result = analyze(net, samples=samples)
    out_dir = Path(out_dir)
    figure = plot(result, out_dir / FIGURE_NAME)
    results = result.to_json()
    results["checkpoint"] = str(checkpoint_path)
    return {"markdown": markdown(result, figure=FIGURE_NAME), "results": results, "figures": [str(figure)]}
