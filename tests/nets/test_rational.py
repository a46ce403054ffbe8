"""The rational head P(A) / q(A): exact Cramer coefficients, behaviour near and at singular matrices, training."""

import math
from fractions import Fraction

import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.rational import RationalHead, monomial_count, monomials


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def well_conditioned(n, count, seed=0):
    """Seeded matrices I * 2 + uniform [-0.5, 0.5) noise: sigma_min >= 2 - n / 2 > 0."""
    noise = torch.rand(count, n, n, generator=generator(seed), dtype=torch.float64) - 0.5
    return 2 * torch.eye(n, dtype=torch.float64) + noise


def relative(y, x):
    return ((y - x).flatten(-2).norm(dim=-1) / x.flatten(-2).norm(dim=-1)).max().item()


def exact_inverse(a):
    """The exact inverse of a float64 matrix's values, by Gauss-Jordan elimination in rationals, rounded once."""
    n = a.shape[0]
    m = [[Fraction(float(a[i, j])) for j in range(n)] + [Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for c in range(n):
        pivot = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[pivot] = m[pivot], m[c]
        m[c] = [x / m[c][c] for x in m[c]]
        for r in range(n):
            if r != c:
                m[r] = [x - m[r][c] * y for x, y in zip(m[r], m[c], strict=True)]
    return torch.tensor([[float(x) for x in row[n:]] for row in m], dtype=torch.float64)


def near_singular(n, smin, count, seed=0):
    """Seeded Q1 diag(2, ..., 1, smin) Q2^T: sigma_min = smin (to rounding), sigma_max = 2."""
    g = generator(seed)
    q1, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    s = torch.linspace(2, 1, n, dtype=torch.float64)
    s[-1] = smin
    return q1 @ torch.diag(s) @ q2.transpose(-2, -1)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("centred", [False, True])
def test_exact_head_is_the_inverse(n, centred):
    a = well_conditioned(n, 64, seed=n)
    center = torch.full((n, n), 0.7, dtype=torch.float64) + torch.eye(n, dtype=torch.float64) if centred else None
    head = RationalHead.cramer(n, center=center, scale=0.25 if centred else 1.0)
    assert relative(head(a), torch.linalg.inv(a)) < 1e-12


def test_exact_head_equals_adj_over_det_on_2x2():
    a = well_conditioned(2, 64, seed=5)
    p, q = a[..., 0, 0], a[..., 0, 1]
    r, s = a[..., 1, 0], a[..., 1, 1]
    adj = torch.stack([torch.stack([s, -q], -1), torch.stack([-r, p], -1)], -2)
    det = p * s - q * r
    head = RationalHead(2, exact=True)
    numerator, denominator = head.parts(a)
    assert torch.allclose(numerator, adj, rtol=1e-14, atol=1e-14)
    assert torch.allclose(denominator, det, rtol=1e-14, atol=1e-14)
    assert relative(head(a), adj / det[..., None, None]) < 1e-14


def test_exact_3x3_determinant_is_det():
    a = well_conditioned(3, 32, seed=6)
    _, q = RationalHead.cramer(3).parts(a)
    assert torch.allclose(q, torch.linalg.det(a), rtol=1e-13, atol=0)


@pytest.mark.parametrize("n", [2, 3])
def test_exact_head_stays_accurate_near_singular(n):
    # Against the exact inverse of each float64 matrix, the head's relative error stays at the unit roundoff times
    # the condition number, as torch.linalg.inv's does (measured max over 8 matrices at sigma_min 1e-8: ~5e-9 for
    # both), where a bounded-degree polynomial's output stays bounded and its relative error tends to 1.
    head = RationalHead.cramer(n)
    for smin in (1e-2, 1e-5, 1e-8):
        a = near_singular(n, smin, 8, seed=n)
        exact = torch.stack([exact_inverse(m) for m in a])
        error = relative(head(a), exact)
        assert error < 1e-6 and error < 10 * torch.finfo(torch.float64).eps * 2 / smin
        assert error < 50 * max(relative(torch.linalg.inv(a), exact), 1e-16)
    assert torch.linalg.svdvals(a)[:, -1].max() < 2e-8


def test_zero_denominator_gives_non_finite_output_without_exception():
    head = RationalHead.cramer(2)
    singular = torch.tensor([[[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]], dtype=torch.float64)
    _, q = head.parts(singular)
    assert (q == 0).all()
    y = head(singular)
    assert not torch.isfinite(y[0]).any() and torch.isnan(y[1]).all()


def test_gradients_are_finite_away_from_zero_denominator():
    head = RationalHead(3, seed=2)
    a = well_conditioned(3, 16, seed=3)
    loss = (head(a) - torch.linalg.inv(a)).square().mean()
    loss.backward()
    assert head.numerator.grad.abs().sum() > 0 and head.denominator.grad.abs().sum() > 0
    assert torch.isfinite(head.numerator.grad).all() and torch.isfinite(head.denominator.grad).all()


def test_learned_head_trains_on_a_small_box():
    center = torch.tensor([[2.0, 0.5], [-0.3, 1.5]], dtype=torch.float64)
    width = 0.3
    head = RationalHead(2, center=center, scale=width, seed=0)
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-2)
    g = generator(1)

    def loss_on(a):
        x = torch.linalg.inv(a)
        return ((head(a) - x).flatten(-2).norm(dim=-1) / x.flatten(-2).norm(dim=-1)).mean()

    test = center + width * (2 * torch.rand(512, 2, 2, generator=g, dtype=torch.float64) - 1)
    with torch.no_grad():
        before = loss_on(test).item()
    for _ in range(300):
        a = center + width * (2 * torch.rand(128, 2, 2, generator=g, dtype=torch.float64) - 1)
        optimiser.zero_grad()
        loss_on(a).backward()
        optimiser.step()
    with torch.no_grad():
        after = loss_on(test).item()
    assert before > 0.5 and after < 0.05 * before


def test_seeded_initialisation_and_small_coefficients():
    one, two, other = RationalHead(3, seed=4), RationalHead(3, seed=4), RationalHead(3, seed=5)
    assert torch.equal(one.numerator, two.numerator) and torch.equal(one.denominator, two.denominator)
    assert not torch.equal(one.numerator, other.numerator)
    assert one.numerator.abs().max() < 0.1 and (one.denominator[1:]).abs().max() < 0.1
    assert one.numerator.dtype == torch.float64


@pytest.mark.parametrize("n", [2, 3])
def test_monomial_and_parameter_counts(n):
    k = n * n
    for degree in (n - 1, n):
        formula = sum(math.comb(d + k - 1, d) for d in range(degree + 1))
        basis = monomials(k, degree)
        assert len(basis) == len(set(basis)) == formula == monomial_count(k, degree)
    head = RationalHead(n)
    expected = k * monomial_count(k, n - 1) + monomial_count(k, n)
    assert sum(p.numel() for p in head.parameters()) == expected == {2: 35, 3: 715}[n]


def test_bad_arguments_get_one_line_errors():
    with pytest.raises(InputError, match="n must be"):
        RationalHead(0)
    with pytest.raises(InputError, match="scale must be"):
        RationalHead(2, scale=0.0)
    with pytest.raises(InputError, match="center must be 2 x 2"):
        RationalHead(2, center=torch.zeros(3, 3))


def test_perturbed_coefficients_lose_the_bound_near_singular():
    # The bound is the exact coefficients' alone: moving q's constant term by 1e-6 moves q's zero set off the
    # singular set, and the relative error grows like 1e-6 / sigma_min until it saturates near 1, as a polynomial's.
    head = RationalHead.cramer(2)
    with torch.no_grad():
        head.denominator[0] += 1e-6
    errors = {}
    for smin in (1e-2, 1e-8):
        a = near_singular(2, smin, 8, seed=7)
        errors[smin] = relative(head(a), torch.stack([exact_inverse(m) for m in a]))
    assert errors[1e-2] < 1e-3 and errors[1e-8] > 0.5
