"""The exact and classical paths Table 3 times give the inverses they name."""

import numpy as np
import pytest
import torch

from neuralinv.bench import paths
from neuralinv.linalg.classical import METHODS, Classical, newton_schulz, taylor_inverse
from neuralinv.paper.presets import get_dataset
from neuralinv.training.data import sample_test_set


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3", "16x16"])
def test_classical_fast_paths_match_baselines(dataset):
    """Precomputed Taylor-1/2 and Newton-Schulz equal baselines' functions to float64 rounding."""
    box = get_dataset(dataset).region
    a, _ = sample_test_set(box, 200, seed=4)
    center = torch.tensor(box.center)
    cl = Classical(box)
    atol = 1e3 * np.finfo(np.float64).eps * float(np.abs(box.center_inverse).max())
    t1 = taylor_inverse(a, center, 1)
    torch.testing.assert_close(cl.taylor1(a), t1, rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor2(a), taylor_inverse(a, center, 2), rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor1_ns1(a), newton_schulz(a, t1, 1), rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor1(a[0]), t1[0], rtol=0, atol=atol)
    assert tuple(cl.methods()) == METHODS and cl.methods()["taylor1+ns1"] == cl.taylor1_ns1


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3"])
def test_exact_paths_agree_with_numpy(dataset):
    box = get_dataset(dataset).region
    a, _ = sample_test_set(box, 100, seed=6)
    ref = torch.from_numpy(np.linalg.inv(a.numpy()))
    found = paths.classical_paths(box)
    assert {"exact closed form", "numpy.linalg.inv", "torch.linalg.inv", *METHODS} == set(found)
    for name, (kind, fn) in found.items():
        if kind == "exact":
            torch.testing.assert_close(fn(a), ref, rtol=1e-12, atol=1e-12)
