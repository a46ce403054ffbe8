import numpy as np
import pytest
import torch

from neuralinv.linalg.classical import (
    METHODS,
    Classical,
    closed_form_inverse,
    method_name,
    newton_schulz,
    taylor_inverse,
)
from neuralinv.paper.presets import DATASETS
from neuralinv.regions.shapes import Box


@pytest.mark.parametrize("n", [1, 2, 3, 4, 16])
def test_exact_inverse_matches_numpy(n, rng):
    """Closed form (n <= 3) and LAPACK (n > 3) agree with float64 numpy.linalg.inv on a batch."""
    a = rng.standard_normal((5, 7, n, n)) + 3 * np.eye(n)
    ours = closed_form_inverse(torch.from_numpy(a)).numpy()
    np.testing.assert_allclose(ours, np.linalg.inv(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(DATASETS))
def test_taylor_error_falls_with_order(name, gen):
    """On each preset box, the Taylor series error falls strictly with its order, and order 0 is A0^-1."""
    box = DATASETS[name].region
    a = box.sample(200, generator=gen)
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    center = torch.tensor(box.center)
    errors = [float((taylor_inverse(a, center, k) - a_inv).abs().max()) for k in range(4)]
    assert all(e1 < 0.5 * e0 for e0, e1 in zip(errors, errors[1:])), errors
    assert torch.allclose(taylor_inverse(a, center, 0), torch.linalg.inv(center).expand_as(a))


def test_taylor1_is_the_linear_approximation(gen):
    box = DATASETS["2x2-first"].region
    a = box.sample(50, generator=gen)
    c0 = torch.tensor(box.center)
    c_inv = torch.linalg.inv(c0)
    assert torch.allclose(taylor_inverse(a, c0, 1), c_inv - c_inv @ (a - c0) @ c_inv, atol=1e-14)


def test_newton_schulz_squares_the_residual(gen):
    """After one step R' = R^2 exactly (in exact arithmetic); the error shrinks quadratically."""
    box = Box(np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]), 0.05)
    a = box.sample(20, generator=gen)
    x = taylor_inverse(a, torch.tensor(box.center), 1)
    eye = torch.eye(3, dtype=torch.float64)
    r = eye - a @ x
    x1 = newton_schulz(a, x, 1)
    assert torch.allclose(eye - a @ x1, r @ r, atol=1e-14)
    a_inv = torch.linalg.inv(a)
    assert (x1 - a_inv).abs().max() < (x - a_inv).abs().max() ** 1.5


def test_one_vocabulary_old_spellings_map_to_it():
    """Each classical method has one name; the old spellings of Taylor-1 + one Newton-Schulz step map to it."""
    assert METHODS == ("taylor1", "taylor2", "taylor1+ns1")
    assert all(method_name(m) == m for m in METHODS)
    assert method_name("ns1") == method_name("taylor1_ns1") == "taylor1+ns1"
    with pytest.raises(ValueError, match="taylor1, taylor2, taylor1\\+ns1"):
        method_name("ns2")


@pytest.mark.parametrize("name", ["2x2-first", "3x3", "16x16"])
def test_precomputed_methods_match_float64_inverse_errors(name, gen):
    """Classical's methods, centre precomputed, land as close to the float64 inverse as the functions do, in the
    order of accuracy their names promise."""
    box = DATASETS[name].region
    a = box.sample(300, generator=gen)
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    center = torch.tensor(box.center)
    t1 = taylor_inverse(a, center, 1)
    expected = {"taylor1": t1, "taylor2": taylor_inverse(a, center, 2), "taylor1+ns1": newton_schulz(a, t1, 1)}
    errors = {}
    for method, fn in Classical(box).methods().items():
        errors[method] = float((fn(a) - a_inv).abs().max())
        reference = float((expected[method] - a_inv).abs().max())
        assert errors[method] == pytest.approx(reference, rel=1e-6, abs=1e-15)
    assert errors["taylor1+ns1"] < errors["taylor2"] < errors["taylor1"]
