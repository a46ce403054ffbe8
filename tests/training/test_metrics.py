"""The error measures on inputs whose values are known by hand, and against numpy on random ones."""

import json
import math

import numpy as np
import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.training.metrics import (
    field_metrics,
    lawt_accuracy,
    lawt_residual,
    mae,
    mae_by_sigma_min,
    max_error,
    relative_accuracy,
    relative_error,
    relative_error_quantiles,
    residual_norm,
    summarize,
)

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


# The field's metrics: LAWT's accuracy, relative accuracy and quantiles, MAE by sigma_min.

TOLS = (0.05, 0.02, 0.01, 0.005)


def seeded_batch(m=200, n=3, seed=5):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, size=(m, n, n)) + 1.5 * np.eye(n)
    return a, np.linalg.inv(a), rng


def test_exact_inverse_passes_every_tolerance():
    a, a_inv, _ = seeded_batch()
    assert lawt_accuracy(a, a_inv) == {tol: 1.0 for tol in TOLS}
    assert relative_accuracy(a_inv, a_inv) == {tol: 1.0 for tol in TOLS}
    assert set(relative_error_quantiles(a_inv, a_inv).values()) == {0.0}


def test_lawt_residual_of_a_known_perturbation():
    """A = 2I (3x3), P = A^-1 + d E_00: A P - I = 2d E_00, so the score is 2d / 3, whatever the sign of d."""
    a = 2 * np.eye(3)[None].repeat(2, 0)
    p = 0.5 * np.eye(3)[None].repeat(2, 0)
    p[0, 0, 0] += 0.03
    p[1, 0, 0] -= 0.0015
    assert lawt_residual(a, p).tolist() == pytest.approx([0.02, 0.001], rel=1e-12)
    # one matrix at 0.02 (not strictly below 0.02), one at 0.001
    assert lawt_accuracy(a, p) == {0.05: 1.0, 0.02: 0.5, 0.01: 0.5, 0.005: 0.5}
    assert lawt_accuracy(a, p, tols=(0.0201, 0.0009)) == {0.0201: 1.0, 0.0009: 0.0}


def test_one_passing_one_failing_matrix_gives_one_half():
    """Relative error 0.001 and 0.1: half the batch within every tolerance."""
    a_inv = np.stack([np.eye(2), np.eye(2)])
    p = a_inv * np.array([1.001, 1.1])[:, None, None]
    assert relative_accuracy(p, a_inv) == pytest.approx({tol: 0.5 for tol in TOLS})
    assert relative_accuracy(torch.from_numpy(p).float(), torch.from_numpy(a_inv)) == {tol: 0.5 for tol in TOLS}


def test_lawt_against_a_loop():
    a, a_inv, rng = seeded_batch()
    p = a_inv + rng.normal(scale=0.003, size=a.shape)
    n = a.shape[-1]
    scores = np.array([np.abs(a[k] @ p[k] - np.eye(n)).sum() / n for k in range(len(a))])
    rel = np.array([np.linalg.norm(p[k] - a_inv[k]) / np.linalg.norm(a_inv[k]) for k in range(len(a))])
    got, got_rel = lawt_accuracy(a, p), relative_accuracy(torch.from_numpy(p), torch.from_numpy(a_inv))
    for tol in TOLS:
        assert got[tol] == np.mean(scores < tol) and got_rel[tol] == np.mean(rel < tol)
    assert 0 < got[0.01] < 1 and 0 < got_rel[0.005] < 1  # the noise was picked so the tolerances split the batch
    quantiles = relative_error_quantiles(p, a_inv, qs=(0.0, 0.5, 0.9, 1.0))
    assert quantiles == pytest.approx(dict(zip((0.0, 0.5, 0.9, 1.0), np.quantile(rel, [0, 0.5, 0.9, 1]))), rel=1e-12)
    assert quantiles[0.0] == pytest.approx(rel.min(), rel=1e-12) and quantiles[1.0] == pytest.approx(rel.max())


def test_leading_dimensions_are_flattened():
    a, a_inv, rng = seeded_batch(m=12)
    p = a_inv + rng.normal(scale=0.01, size=a.shape)
    shaped = [x.reshape(3, 4, 3, 3) for x in (a, p, a_inv)]
    assert lawt_accuracy(*shaped[:2]) == lawt_accuracy(a, p)
    assert mae_by_sigma_min(*shaped) == mae_by_sigma_min(a, p, a_inv)


def test_mae_by_sigma_min_on_hand_made_bins():
    """diag(s, 1) has sigma_min = min(s, 1); errors of 4e-3 (one matrix at 0.05) and 1e-3 (two at 0.5, 1.0)."""
    a = np.stack([np.diag([s, 1.0]) for s in (0.05, 0.5, 1.0)])
    a_inv = np.linalg.inv(a)
    p = a_inv + np.array([4e-3, 1e-3, 1e-3])[:, None, None]
    out = mae_by_sigma_min(a, p, a_inv)
    assert out["edges"] == [0.01, 0.1, 1.0]  # decades around [0.05, 1.0]; 1.0 is in the last (closed) bin
    assert out["counts"] == [1, 2] and out["mae"] == pytest.approx([4e-3, 1e-3], rel=1e-12)
    given = mae_by_sigma_min(a, p, a_inv, edges=[0.1, 0.7, 2.0, 5.0])
    assert given["counts"] == [1, 1, 0] and given["mae"][:2] == pytest.approx([1e-3, 1e-3]) and given["mae"][2] is None
    with pytest.raises(InputError, match="edges"):
        mae_by_sigma_min(a, p, a_inv, edges=[1.0, 0.5])


def test_mae_by_sigma_min_against_a_loop():
    a, a_inv, rng = seeded_batch(m=500)
    a[:50] *= 1e-3  # some matrices two decades down
    a_inv[:50] *= 1e3
    p = a_inv + rng.normal(scale=0.01, size=a.shape)
    out = mae_by_sigma_min(a, p, a_inv)
    sigma = np.array([np.linalg.svd(m, compute_uv=False).min() for m in a])
    edges = out["edges"]
    assert edges[0] <= sigma.min() and sigma.max() <= edges[-1]
    assert all(math.isclose(hi / lo, 10) for lo, hi in zip(edges, edges[1:]))
    assert sum(out["counts"]) == len(a)
    for i, (lo, hi) in enumerate(zip(edges, edges[1:])):
        inside = [k for k in range(len(a)) if lo <= sigma[k] < hi or (i == len(edges) - 2 and sigma[k] == hi)]
        assert out["counts"][i] == len(inside)
        if inside:
            assert out["mae"][i] == pytest.approx(np.mean([np.abs(p[k] - a_inv[k]).mean() for k in inside]), rel=1e-12)


def test_field_metrics_has_json_keys():
    a, a_inv, rng = seeded_batch(m=50)
    p = a_inv + rng.normal(scale=0.01, size=a.shape)
    out = field_metrics(a, p, a_inv)
    assert json.loads(json.dumps(out)) == out
    assert list(out["lawt_accuracy"]) == ["0.05", "0.02", "0.01", "0.005"]
    assert list(out["relative_error_quantiles"]) == ["0.5", "0.9", "0.99", "1"]
    assert out["lawt_accuracy"]["0.01"] == lawt_accuracy(a, p)[0.01]
    assert out["mae_by_sigma_min"] == mae_by_sigma_min(a, p, a_inv)
