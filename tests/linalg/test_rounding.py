"""The standard model of rounding that every bound rests on: gamma_k covers the actual rounding error of float32
and float64 inner products and matrix products (measured against exact or float64 arithmetic), fro_bound covers the
true Frobenius norm (underflow included), and neither is absurdly loose."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from neuralinv.linalg.rounding import U64, fro_bound, fro_upper, gamma, unit_roundoff


def test_unit_roundoff():
    """u is half the machine epsilon: 2^-24 in float32, 2^-53 in float64 (U64)."""
    assert unit_roundoff(torch.float32) == 2.0**-24 and unit_roundoff(torch.float64) == 2.0**-53 == U64
    assert gamma(10, 2.0**-24) == pytest.approx(10 * 2.0**-24, rel=1e-6) and gamma(10, 2.0**-24) > 10 * 2.0**-24


def test_gamma_covers_float64_inner_products_exactly_measured():
    """|fl(x . y) - x . y| <= gamma_k sum |x_i y_i| for float64 dot products, with x . y in exact rational arithmetic,
    including sums with heavy cancellation; the worst case seen is within 100x of the bound."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for trial in range(200):
        k = int(rng.integers(2, 40))
        x, y = rng.standard_normal(k), rng.standard_normal(k)
        if trial % 2:  # cancellation: the exact sum is far below sum |x_i y_i|
            y[-1] = -float(np.dot(x[:-1], y[:-1])) / x[-1]
        computed = float(torch.dot(torch.from_numpy(x), torch.from_numpy(y)))
        exact = sum(Fraction(a) * Fraction(b) for a, b in zip(x, y))
        scale = float(np.abs(x * y).sum())
        err = abs(Fraction(computed) - exact)
        assert err <= Fraction(gamma(k, U64) * scale)
        worst = max(worst, float(err) / (gamma(k, U64) * scale))
    assert worst > 1e-2


@pytest.mark.parametrize("n", [3, 16, 64])
def test_gamma_covers_float32_matrix_products(n):
    """Entrywise |fl(A B) - A B| <= gamma_n |A||B| for float32 batched products in IEEE mode, against float64
    products of the same float32 values (exact up to ~n u64, far below float32's rounding)."""
    g = torch.Generator().manual_seed(n)
    a = torch.randn(200, n, n, generator=g)
    b = torch.randn(200, n, n, generator=g)
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        computed = torch.bmm(a, b).double()
    finally:
        torch.set_float32_matmul_precision(old)
    reference = torch.bmm(a.double(), b.double())
    scale = torch.bmm(a.abs().double(), b.abs().double())
    err = (computed - reference).abs()
    reference_err = gamma(n, U64) * scale
    assert (err <= gamma(n, unit_roundoff(torch.float32)) * scale + reference_err).all()
    # Not absurdly loose: some entry's error reaches a sizeable share of the per-entry bound.
    assert float((err / (gamma(n, unit_roundoff(torch.float32)) * scale)).max()) > 1e-2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fro_bound_covers_the_true_norm_tightly(dtype):
    """fro_upper of matrices (norms computed in their own dtype) is >= their true Frobenius norm (computed in
    exact arithmetic from float64 squares for float32, in rationals for a float64 sample), and above it by no more
    than twice the model's (n^2 + 8) u (the computed norm's own error, then the widening)."""
    g = torch.Generator().manual_seed(1)
    n = 8
    m = (torch.randn(500, n, n, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(-5, 6, (500, 1, 1))).to(dtype)
    bound = fro_upper(m)
    if dtype == torch.float32:
        true = torch.linalg.vector_norm(m.double(), dim=(-2, -1))  # squares of float32 values are exact in float64
        true_hi = true * (1 + (n * n + 2) * U64)
    else:
        true_hi = torch.tensor(
            [float(sum(Fraction(v) ** 2 for v in mat.flatten().tolist())) ** 0.5 * (1 + 4 * U64) for mat in m[:60]],
            dtype=torch.float64,
        )
        bound, true = bound[:60], true_hi / (1 + 4 * U64)
    u = unit_roundoff(dtype)
    assert (bound >= true_hi).all()
    assert ((bound / true - 1) <= 2 * (n * n + 8) * u).all()


def test_fro_bound_covers_norms_whose_squares_underflow():
    """Entries of 1e-25 in float32 have squares below the smallest subnormal: whatever the computed norm, the bound
    still covers the true norm (the n sqrt(tiny) term); inf and NaN stay inf and NaN."""
    m = torch.full((4, 5, 5), 1e-25, dtype=torch.float32)
    m[1] *= 3.0
    true = torch.linalg.vector_norm(m.double(), dim=(-2, -1))
    assert (fro_upper(m) >= true).all()
    assert float(fro_upper(m).max()) < 5 * float(torch.finfo(torch.float32).tiny) ** 0.5 + 1e-20
    v = np.array([np.inf, np.nan, 1.0])
    out = fro_bound(v, 3, torch.float32)
    assert np.isinf(out[0]) and np.isnan(out[1]) and out[2] > 1.0
