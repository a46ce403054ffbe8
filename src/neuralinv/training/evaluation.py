"""Metrics of networks and classical baselines on one seeded test set."""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.linalg.classical import newton_schulz, taylor_inverse
from neuralinv.nets.mlp import Network
from neuralinv.regions.shapes import Region, singular_center
from neuralinv.training.data import TEST_SEED, AcceptRule, sample_test_set
from neuralinv.training.metrics import summarize

NEEDS_CENTER_INVERSE = ("taylor1", "taylor2", "taylor1+ns1")  # all expand around A0^-1


def skipped_baselines(region: Region) -> dict[str, str]:
    """{name: why} for the baselines that cannot run on this region: those built on A0^-1 when the centre is
    singular."""
    reason = singular_center(region)
    return {} if reason is None else {name: reason for name in NEEDS_CENTER_INVERSE}


def baseline_predictions(region: Region, a: torch.Tensor, a_inv: torch.Tensor) -> dict[str, torch.Tensor]:
    """The classical methods on a (N, n, n): exact (as computed in float64), Taylor-1/2, Taylor-1 + one Newton-Schulz.

    On a region with a singular centre only "exact" is returned (see skipped_baselines).
    """
    if skipped_baselines(region):
        return {"exact": a_inv}
    center = torch.tensor(region.center)
    t1 = taylor_inverse(a, center, 1)
    return {
        "exact": a_inv,
        "taylor1": t1,
        "taylor2": taylor_inverse(a, center, 2),
        "taylor1+ns1": newton_schulz(a, t1, 1),
    }


def evaluate(
    networks: dict[str, Network],
    region: Region,
    *,
    test_size: int = 10_000,
    seed: int = TEST_SEED,
    baselines: bool = True,
    matrices=None,
    rule: AcceptRule | None = None,
) -> dict[str, dict]:
    """{name: {mae, max_error, rel_fro_mean, rel_fro_max}} for each network and, optionally, each baseline.

    The test matrices are matrices (N, n, n) when given (one's own, or a held-out share), else test_size seeded
    samples of region kept by rule. The exact inverse here is LAPACK in float64 (numpy's), the reference for every
    other row. Baselines that skipped_baselines(region) names (the Taylor ones around its centre, when it is
    singular) have no row.
    """
    if matrices is None:
        a, _ = sample_test_set(region, test_size, seed, rule=rule)
    else:
        a = torch.as_tensor(matrices, dtype=torch.float64)
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    rows = {name: summarize(net(a), a_inv) for name, net in networks.items()}
    if baselines:
        rows.update({name: summarize(x, a_inv) for name, x in baseline_predictions(region, a, a_inv).items()})
    return rows
