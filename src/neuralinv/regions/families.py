"""Real matrix families, built from data that packages ship, for examples, benchmarks and tests.

A fast inverse for a *family* of matrices pays off when the family is real: many matrices that share
a structure and lie near one another, as they come out of an actual computation.  These families
are made from data sets bundled with scikit-learn and from small, standard dynamical systems, with
no download and no synthetic random entries; only the resampling and the initial condition are
seeded, with ``numpy.random.default_rng(seed)``.

Bootstrap covariance and correlation matrices (:func:`bootstrap_covariances`)
    Rows of a scikit-learn data set (``wine``: 13 chemical measurements of 178 wines;
    ``breast_cancer``: 30 features of 569 tumour images; ``diabetes``: 10 baseline variables of 442
    patients) are resampled with replacement, and the covariance or correlation matrix of each
    resample is computed.  This is what a bootstrap confidence interval for a regression, a PCA or
    a Mahalanobis distance inverts thousands of times.  The matrices are symmetric positive definite
    and scatter around the full-sample matrix by the sampling error.  ``kind="covariance"`` keeps
    the raw units, so the scales differ wildly (wine: proline's variance is about 1e5, hue's about
    0.05), which makes the matrices badly scaled; ``"correlation"`` and ``"standardized-covariance"``
    remove the scales; breast-cancer features (radius, perimeter, area) are nearly collinear, so its
    correlation matrices are ill-conditioned.

Implicit-Euler iteration matrices of Lorenz-96 (:func:`implicit_euler_jacobians`)
    A stiff or implicit integrator solves, at every step, a linear system with the Newton matrix
    ``I - h J(x)``, where ``J`` is the Jacobian of the right-hand side at the current state.  Here the
    system is the Lorenz-96 atmosphere model ``dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F``
    (cyclic indices, chaotic at ``F = 8``), and the states come from one trajectory on its attractor.
    The matrices are non-symmetric and, for small ``h``, well conditioned.

Stiffness matrices of a Fermi-Pasta-Ulam-Tsingou chain (:func:`spring_chain_hessians`)
    ``n`` unit masses joined by ``n + 1`` nonlinear springs with fixed ends, potential
    ``V = sum_k (d_k^2 / 2 + beta d_k^4 / 4)`` with ``d_k = x_{k+1} - x_k`` and ``x_0 = x_{n+1} = 0``.
    The Hessian of ``V`` along a trajectory is what a Newton step of an implicit (e.g. Newmark)
    integrator or a normal-mode analysis inverts: tridiagonal, symmetric positive definite, with the
    spring stiffnesses ``1 + 3 beta d_k^2`` changing as the chain moves.

Every function returns a C-contiguous float64 array of shape ``(count, n, n)``.  :data:`FAMILIES` maps
names to ``(callable, description)``, and :func:`make_family` builds one by name.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from neuralinv.common.errors import InputError

__all__ = ["FAMILIES", "bootstrap_covariances", "implicit_euler_jacobians", "make_family", "spring_chain_hessians"]

_DATASET_LOADERS = {"wine": "load_wine", "breast_cancer": "load_breast_cancer", "diabetes": "load_diabetes"}
_KINDS = ("covariance", "correlation", "standardized-covariance")
_CHUNK_ELEMENTS = 4_000_000  # bound on the per-chunk work arrays (about 32 MB of float64)


def _check_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise InputError(f"count must be a positive integer, got {count!r}")
    return int(count)


def _load_dataset(dataset: str) -> np.ndarray:
    if dataset not in _DATASET_LOADERS:
        raise InputError(f"unknown dataset {dataset!r}; valid: {', '.join(_DATASET_LOADERS)}")
    try:
        import sklearn.datasets  # noqa: F401  (checked on every call: the cache below must not hide its absence)
    except ImportError as e:
        raise InputError("bootstrap families need scikit-learn: pip install 'neuralinv[families]'") from e
    return _load_bundled(dataset)


@lru_cache(maxsize=None)
def _load_bundled(dataset: str) -> np.ndarray:
    """The data matrix of a scikit-learn bundled data set, read once per process (read-only)."""
    import sklearn.datasets as skd

    x = np.array(getattr(skd, _DATASET_LOADERS[dataset])().data, dtype=np.float64)
    x.setflags(write=False)
    return x


def _symmetrize(s: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((s + s.transpose(0, 2, 1)) / 2, dtype=np.float64)


def bootstrap_covariances(
    dataset: str = "wine",
    count: int = 20_000,
    *,
    kind: str = "correlation",
    seed: int = 0,
    sample_size: int | None = None,
) -> np.ndarray:
    """Covariance or correlation matrices of ``count`` bootstrap resamples of a scikit-learn data set.

    ``dataset``: ``"wine"`` (13 variables), ``"breast_cancer"`` (30) or ``"diabetes"`` (10).
    ``kind``: ``"covariance"`` (raw units), ``"correlation"``, or ``"standardized-covariance"``
    (covariance of the data standardized once, over all rows).  Each resample draws ``sample_size``
    rows with replacement (default: the number of rows).  A resample in which some variable is
    constant (possible only for tiny ``sample_size``) is drawn again.  Returns an exactly symmetric
    float64 array of shape ``(count, p, p)``.
    """
    count = _check_count(count)
    if kind not in _KINDS:
        raise InputError(f"unknown kind {kind!r}; valid: {', '.join(_KINDS)}")
    x = _load_dataset(dataset)
    m = x.shape[0] if sample_size is None else sample_size
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2:
        raise InputError(f"sample_size must be an integer >= 2, got {sample_size!r}")
    x = x - x.mean(axis=0)  # covariance is shift invariant; centring first keeps the sums accurate
    if kind == "standardized-covariance":
        x = x / x.std(axis=0, ddof=1)
    out = _resampled_covariances(x, count, int(m), np.random.default_rng(seed))
    if kind == "correlation":
        p = x.shape[1]
        d = np.sqrt(np.diagonal(out, axis1=1, axis2=2))
        out /= d[:, :, None] * d[:, None, :]
        out = _symmetrize(out)
        out[:, np.arange(p), np.arange(p)] = 1.0
        return out
    return _symmetrize(out)


def _resampled_covariances(x: np.ndarray, count: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Sample covariances (count, p, p) of count resamples of m rows of the centred data x (rows, p), drawn with
    replacement by rng, in chunks; a resample with a constant variable is drawn again (up to 100 times)."""
    rows, p = x.shape
    chunk = max(1, min(1000, _CHUNK_ELEMENTS // max(rows, m, p * p)))
    outer = (x[:, :, None] * x[:, None, :]).reshape(rows, p * p)  # row-wise x x^T, one GEMM serves a chunk
    floor = 1e-10 * x.var(axis=0, ddof=1)  # below this a resampled variance is rounding error: a constant variable
    out = np.empty((count, p, p), dtype=np.float64)

    def covariances(k: int) -> np.ndarray:
        idx = rng.integers(0, rows, size=(k, m))  # k resamples, rows drawn with replacement
        weights = np.bincount((idx + rows * np.arange(k)[:, None]).ravel(), minlength=k * rows)
        weights = weights.reshape(k, rows).astype(np.float64)  # how often each row was drawn
        mean = weights @ x / m
        second = (weights @ outer).reshape(k, p, p)
        return (second - m * mean[:, :, None] * mean[:, None, :]) / (m - 1)

    done = 0
    while done < count:
        k = min(chunk, count - done)
        s = covariances(k)
        bad = ~(np.diagonal(s, axis1=1, axis2=2) > floor).all(axis=1)
        for _ in range(100):
            if not bad.any():
                break
            s[bad] = covariances(int(bad.sum()))
            bad = ~(np.diagonal(s, axis1=1, axis2=2) > floor).all(axis=1)
        else:
            raise InputError(f"sample_size={m} keeps giving resamples with a constant variable")
        out[done : done + k] = s
        done += k
    return out


def _lorenz96_neighbours(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cyclic index arrays ``i + 1``, ``i - 1``, ``i - 2`` (fancy indexing is several times faster than np.roll)."""
    i = np.arange(n)
    return (i + 1) % n, (i - 1) % n, (i - 2) % n


def _lorenz96_rhs(x: np.ndarray, forcing: float) -> np.ndarray:
    """Lorenz-96 right-hand side ``(x_{i+1} - x_{i-2}) x_{i-1} - x_i + F`` along the last axis."""
    ip1, im1, im2 = _lorenz96_neighbours(x.shape[-1])
    return (x[..., ip1] - x[..., im2]) * x[..., im1] - x + forcing


def _lorenz96_jacobian(x: np.ndarray) -> np.ndarray:
    """Analytic Jacobian of the Lorenz-96 right-hand side at each state of ``x`` (shape ``(..., n)``)."""
    n = x.shape[-1]
    i = np.arange(n)
    ip1, im1, im2 = _lorenz96_neighbours(n)
    jac = np.zeros(x.shape + (n,), dtype=np.float64)
    jac[..., i, i] = -1.0
    jac[..., i, ip1] += x[..., im1]  # d f_i / d x_{i+1} = x_{i-1}
    jac[..., i, im2] -= x[..., im1]  # d f_i / d x_{i-2} = -x_{i-1}
    jac[..., i, im1] += x[..., ip1] - x[..., im2]  # d f_i / d x_{i-1} = x_{i+1} - x_{i-2}
    return jac


def _lorenz96_trajectory(
    count: int, n: int, forcing: float, seed: int, dt: float = 0.01, spin_up: float = 10.0
) -> np.ndarray:
    """States ``(count, n)`` of one Lorenz-96 trajectory, sampled every ``dt`` after ``spin_up`` time units."""
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(seed)
    x0 = forcing + 0.01 * rng.standard_normal(n)
    t_eval = spin_up + dt * np.arange(count)
    ip1, im1, im2 = _lorenz96_neighbours(n)

    def rhs(t, x):
        return (x[ip1] - x[im2]) * x[im1] - x + forcing

    sol = solve_ivp(rhs, (0.0, t_eval[-1]), x0, method="RK45", t_eval=t_eval, rtol=1e-8, atol=1e-8)
    if not sol.success:  # pragma: no cover - RK45 does not fail on this smooth system
        raise RuntimeError(f"Lorenz-96 integration failed: {sol.message}")
    return np.ascontiguousarray(sol.y.T)


def implicit_euler_jacobians(
    count: int = 20_000, *, n: int = 16, h: float = 0.05, forcing: float = 8.0, seed: int = 0
) -> np.ndarray:
    """Implicit-Euler / Newton matrices ``I - h J(x(t))`` along one Lorenz-96 trajectory.

    The trajectory starts from ``x = F`` plus a seeded perturbation of size 0.01, is integrated with
    RK45 for a spin-up of 10 time units onto the attractor, and is then sampled every 0.01 time units.
    ``J`` is the analytic Jacobian of the right-hand side.  Returns ``(count, n, n)``, non-symmetric.
    """
    count = _check_count(count)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise InputError(f"Lorenz-96 needs n >= 4 variables, got {n!r}")
    states = _lorenz96_trajectory(count, int(n), float(forcing), seed)
    a = -float(h) * _lorenz96_jacobian(states)
    a[:, np.arange(n), np.arange(n)] += 1.0
    return np.ascontiguousarray(a, dtype=np.float64)


def _fpu_springs(x: np.ndarray) -> np.ndarray:
    """Spring extensions ``d_k = x_{k+1} - x_k``, k = 0..n, with fixed ends ``x_0 = x_{n+1} = 0``."""
    pad = np.zeros(x.shape[:-1] + (1,))
    return np.diff(np.concatenate([pad, x, pad], axis=-1), axis=-1)


def spring_chain_hessians(
    count: int = 20_000, *, n: int = 12, seed: int = 0, beta: float = 1.0, amplitude: float = 1.0, dt: float = 0.05
) -> np.ndarray:
    """Hessians of a Fermi-Pasta-Ulam-Tsingou beta chain with fixed ends, along one trajectory.

    ``n`` unit masses; initial displacements and velocities are ``amplitude`` times seeded standard
    normals; the motion is integrated with RK45 (scipy ``solve_ivp``) and sampled every ``dt``.  With
    spring stiffnesses ``s_k = 1 + 3 beta d_k^2`` the Hessian is tridiagonal, ``H_ii = s_{i-1} + s_i``
    and ``H_{i,i+1} = -s_i``: symmetric positive definite.  Returns ``(count, n, n)``.
    """
    from scipy.integrate import solve_ivp

    count = _check_count(count)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if beta < 0:
        raise InputError(f"beta must be >= 0 (a softening chain can lose definiteness), got {beta!r}")
    n = int(n)
    rng = np.random.default_rng(seed)
    y0 = amplitude * rng.standard_normal(2 * n)

    padded = np.zeros(n + 2)  # fixed ends x_0 = x_{n+1} = 0
    dy = np.empty(2 * n)

    def rhs(t, y):
        padded[1:-1] = y[:n]
        d = padded[1:] - padded[:-1]
        force = d + beta * d * d * d  # V'(d_k)
        dy[:n] = y[n:]
        dy[n:] = force[1:] - force[:-1]
        return dy.copy()

    t_eval = dt * np.arange(count)
    sol = solve_ivp(rhs, (0.0, max(t_eval[-1], dt)), y0, method="RK45", t_eval=t_eval, rtol=1e-8, atol=1e-8)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"FPU chain integration failed: {sol.message}")
    s = 1.0 + 3.0 * beta * _fpu_springs(sol.y[:n].T) ** 2  # (count, n + 1)
    i = np.arange(n)
    hess = np.zeros((count, n, n), dtype=np.float64)
    hess[:, i, i] = s[:, :-1] + s[:, 1:]
    hess[:, i[:-1], i[:-1] + 1] = -s[:, 1:-1]
    hess[:, i[:-1] + 1, i[:-1]] = -s[:, 1:-1]
    return hess


def _bootstrap(dataset: str, kind: str):
    def make(count: int, seed: int = 0) -> np.ndarray:
        return bootstrap_covariances(dataset, count, kind=kind, seed=seed)

    return make


FAMILIES = {
    "wine-correlation": (
        _bootstrap("wine", "correlation"),
        "bootstrap correlation matrices of the wine data (13x13, SPD)",
    ),
    "wine-covariance": (
        _bootstrap("wine", "covariance"),
        "bootstrap covariance matrices of the wine data in raw units (13x13, SPD, scales 0.01 to 1e5)",
    ),
    "wine-standardized-covariance": (
        _bootstrap("wine", "standardized-covariance"),
        "bootstrap covariances of the globally standardized wine data (13x13, SPD)",
    ),
    "diabetes-correlation": (
        _bootstrap("diabetes", "correlation"),
        "bootstrap correlation matrices of the diabetes data (10x10, SPD)",
    ),
    "breast-cancer-correlation": (
        _bootstrap("breast_cancer", "correlation"),
        "bootstrap correlation matrices of the breast-cancer data (30x30, SPD, nearly collinear features)",
    ),
    "lorenz96-jacobian": (
        lambda count, seed=0: implicit_euler_jacobians(count, seed=seed),
        "implicit-Euler matrices I - 0.05 J along a Lorenz-96 trajectory (16x16, non-symmetric)",
    ),
    "fpu-hessian": (
        lambda count, seed=0: spring_chain_hessians(count, seed=seed),
        "Hessians along a Fermi-Pasta-Ulam-Tsingou beta chain trajectory (12x12, tridiagonal SPD)",
    ),
}


def make_family(name: str, count: int = 20_000, *, seed: int = 0) -> np.ndarray:
    """Build the family ``name`` of :data:`FAMILIES`: ``count`` matrices, seeded by ``seed``."""
    if name not in FAMILIES:
        raise InputError(f"unknown family {name!r}; valid: {', '.join(FAMILIES)}")
    return FAMILIES[name][0](count, seed=seed)
