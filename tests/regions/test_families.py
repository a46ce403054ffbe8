import sys

import numpy as np
import pytest

from neuralinv.common.errors import InputError
from neuralinv.regions.families import (
    FAMILIES,
    _lorenz96_rhs,
    _lorenz96_trajectory,
    bootstrap_covariances,
    implicit_euler_jacobians,
    make_family,
    spring_chain_hessians,
)

COUNT = 500
SIZES = {
    "wine-correlation": 13,
    "wine-covariance": 13,
    "wine-standardized-covariance": 13,
    "diabetes-correlation": 10,
    "breast-cancer-correlation": 30,
    "lorenz96-jacobian": 16,
    "fpu-hessian": 12,
}
SYMMETRIC = [name for name in SIZES if name != "lorenz96-jacobian"]


@pytest.fixture(scope="module")
def families():
    return {name: make_family(name, COUNT, seed=0) for name in FAMILIES}


def test_required_families_are_listed():
    """FAMILIES holds every required name, each with a callable and a one-line description."""
    assert set(SIZES) <= set(FAMILIES)
    for f, description in FAMILIES.values():
        assert callable(f) and isinstance(description, str) and "\n" not in description


@pytest.mark.parametrize("name", list(SIZES))
def test_shape_and_dtype(name, families):
    """Each family is a C-contiguous float64 array of shape (count, n, n) with finite entries."""
    a = families[name]
    n = SIZES[name]
    assert a.shape == (COUNT, n, n)
    assert a.dtype == np.float64 and a.flags.c_contiguous
    assert np.isfinite(a).all()


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_families_are_symmetric_positive_definite(name, families):
    """Covariance, correlation and Hessian families are exactly symmetric and positive definite."""
    a = families[name]
    assert np.array_equal(a, a.transpose(0, 2, 1))
    np.linalg.cholesky(a)
    assert (np.linalg.eigvalsh(a)[:, 0] > 0).all()


@pytest.mark.parametrize("name", ["wine-correlation", "diabetes-correlation", "breast-cancer-correlation"])
def test_correlation_matrices_have_unit_diagonal(name, families):
    """Correlation matrices have ones on the diagonal and entries in [-1, 1]."""
    a = families[name]
    assert np.array_equal(np.diagonal(a, axis1=1, axis2=2), np.ones((COUNT, SIZES[name])))
    assert np.abs(a).max() <= 1.0


def test_wine_covariance_has_unequal_scales(families):
    """Raw wine covariances have diagonals spanning more than a factor 1e4 (proline vs hue)."""
    d = np.diagonal(families["wine-covariance"], axis1=1, axis2=2)
    assert (d.max(axis=1) / d.min(axis=1) > 1e4).all()


def test_bootstrap_matches_direct_covariance():
    """A bootstrap covariance equals np.cov of the data restricted to the drawn rows."""
    from sklearn.datasets import load_wine

    x = load_wine().data
    rng = np.random.default_rng(3)
    idx = rng.integers(0, x.shape[0], size=(1, x.shape[0]))
    a = bootstrap_covariances("wine", 1, kind="covariance", seed=3)
    np.testing.assert_allclose(a[0], np.cov(x[idx[0]], rowvar=False), rtol=1e-9, atol=1e-9 * np.abs(a[0]).max())


def test_standardized_covariance_is_near_correlation():
    """Covariances of the standardized data are close to (not equal to) the bootstrap correlations."""
    s = bootstrap_covariances("wine", 50, kind="standardized-covariance", seed=1)
    r = bootstrap_covariances("wine", 50, kind="correlation", seed=1)
    assert np.abs(s - r).max() < 0.5
    assert not np.array_equal(s, r)


def test_sample_size_is_respected():
    """A small sample_size gives a wider spread of bootstrap correlations than the full sample size."""
    small = bootstrap_covariances("diabetes", 200, sample_size=20, seed=0)
    full = bootstrap_covariances("diabetes", 200, seed=0)
    assert small.std(axis=0).mean() > 2 * full.std(axis=0).mean()


def test_lorenz_jacobians_are_non_symmetric(families):
    """Lorenz-96 implicit-Euler matrices are not symmetric."""
    a = families["lorenz96-jacobian"]
    assert (np.abs(a - a.transpose(0, 2, 1)).max(axis=(1, 2)) > 1e-3).all()


def test_lorenz_matrix_is_finite_difference_jacobian():
    """I - hJ equals the central-difference Jacobian of x - h f(x) at a trajectory point."""
    h, forcing, k = 0.05, 8.0, 123
    a = implicit_euler_jacobians(200, h=h, forcing=forcing, seed=4)
    x = _lorenz96_trajectory(200, 16, forcing, 4)[k]
    eps = 1e-5
    g = lambda y: y - h * _lorenz96_rhs(y, forcing)  # noqa: E731
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(16)], axis=1)
    np.testing.assert_allclose(a[k], fd, atol=1e-6, rtol=0)


def test_fpu_hessian_is_tridiagonal_with_stiff_springs(families):
    """FPU Hessians are tridiagonal, with off-diagonal -(1 + 3 beta d^2) <= -1."""
    a = families["fpu-hessian"]
    n = a.shape[1]
    band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
    assert (a[:, ~band] == 0).all()
    assert (np.diagonal(a, 1, axis1=1, axis2=2) <= -1).all()
    assert (np.diagonal(a, axis1=1, axis2=2) >= 2).all()


@pytest.mark.parametrize("name", list(SIZES))
def test_seed_determines_family(name):
    """The same seed gives an identical array, a different seed a different one."""
    f = FAMILIES[name][0]
    a = f(50, seed=0)
    assert np.array_equal(a, f(50, seed=0))
    assert not np.array_equal(a, f(50, seed=1))


def test_unknown_family_raises_input_error():
    """An unknown family name raises InputError listing the valid names."""
    with pytest.raises(InputError, match="wine-correlation"):
        make_family("no-such-family", 10)


@pytest.mark.parametrize(
    "call",
    [
        lambda: bootstrap_covariances("iris", 10),
        lambda: bootstrap_covariances(kind="cov"),
        lambda: bootstrap_covariances(count=0),
        lambda: implicit_euler_jacobians(10, n=3),
        lambda: spring_chain_hessians(10, beta=-1.0),
    ],
)
def test_bad_arguments_raise_input_error(call):
    """Unknown data sets or kinds, non-positive counts and invalid sizes raise InputError."""
    with pytest.raises(InputError):
        call()


def test_missing_scikit_learn_is_explained(monkeypatch):
    """Without scikit-learn, bootstrap families raise InputError telling how to install it."""
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(InputError, match=r"pip install 'neuralinv\[families\]'"):
        bootstrap_covariances("wine", 10)


def test_resamples_with_a_constant_variable_are_redrawn():
    """Resamples with a constant variable are redrawn: tiny resamples give finite unit-diagonal correlations."""
    a = bootstrap_covariances("diabetes", 300, sample_size=3, seed=0)  # sex is binary: 3 draws often agree
    assert np.isfinite(a).all()
    assert np.array_equal(np.diagonal(a, axis1=1, axis2=2), np.ones((300, 10)))
