"""The result of an activation-pattern analysis: one Pattern per activation pattern, the Analysis holding them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
        """Every field as JSON-able data, with the largest LP bound and lp_ok ("lp_ge_sampled") beside them."""
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
        """The region's shape name ("box", "ball", ...)."""
        return self.box.get("shape", "box")

    @classmethod
    def from_json(cls, data: dict) -> "Analysis":
        """The inverse of to_json (reports rebuild their sections from stored results)."""

        def arr(x):
            """A stored list as a float array (None stays None)."""
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
        """Every field as JSON-able data (the form reports store and from_json reads back), with summary flags."""
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
