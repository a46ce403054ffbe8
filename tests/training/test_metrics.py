"""The error measures on inputs whose values are known by hand, and against numpy on random ones."""

import math

import numpy as np
import pytest
import torch

from neuralinv.training.metrics import mae, max_error, relative_error, residual_norm, summarize

EYE = torch.eye(2, dtype=torch.float64)


def test_known_values():
    """X = I + diag(3, 4) against A^-1 = I: MAE 7/4, max 4, ||X - I||_F = 5, relative 5 / sqrt(2)."""
    x = (EYE + torch.diag(torch.tensor([3.0, 4.0], dtype=torch.float64)))[None]
    a_inv = EYE[None]
    assert mae(x, a_inv) == 1.75 and max_error(x, a_inv) == 4.0
    assert relative_error(x, a_inv).item() == pytest.approx(5 / math.sqrt(2), rel=1e-15)
    row = summarize(x.float(), a_inv)
    assert row == pytest.approx({"mae": 1.75, "max_error": 4.0, "rel_fro_mean": 5 / 2**0.5, "rel_fro_max": 5 / 2**0.5})


def test_residual_of_an_exact_and_a_wrong_inverse():
    a = 2 * EYE[None].repeat(2, 1, 1)
    x = torch.stack([0.5 * EYE, EYE])
    assert residual_norm(a, x).tolist() == pytest.approx([0.0, math.sqrt(2)], abs=1e-15)


def test_against_numpy():
    rng = np.random.default_rng(0)
    a_inv = rng.normal(size=(50, 3, 3))
    x = a_inv + rng.normal(size=(50, 3, 3)) * 1e-3
    diff = x - a_inv
    rel = np.linalg.norm(diff, axis=(1, 2)) / np.linalg.norm(a_inv, axis=(1, 2))
    row = summarize(torch.from_numpy(x), torch.from_numpy(a_inv))
    assert row["mae"] == pytest.approx(np.abs(diff).mean(), rel=1e-12)
    assert row["max_error"] == np.abs(diff).max()
    assert row["rel_fro_mean"] == pytest.approx(rel.mean(), rel=1e-12)
    assert row["rel_fro_max"] == pytest.approx(rel.max(), rel=1e-12)
