"""The exact path: every candidate's a posteriori bound covers its true error against a float64 reference, singular
input comes back NaN with bound inf, and the calibration is measured once per machine."""

import numpy as np
import pytest
import torch

from neuralinv.linalg import exact


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return torch.linalg.matrix_norm(x.double() - ref) / torch.linalg.matrix_norm(ref)


def spd(rng, count, n=5):
    m = rng.standard_normal((count, n, n)) / np.sqrt(n)
    return torch.from_numpy(m @ np.swapaxes(m, 1, 2) + np.eye(n))


@pytest.mark.parametrize("kind", ["general", "spd"])
def test_every_candidate_inverts_within_its_bound(kind, rng):
    """Every exact candidate, in float32 and float64, inverts within its bound; Cholesky and Gauss-Jordan on a
    non-SPD matrix are redone by LU (still within the bound)."""
    a = spd(rng, 200) if kind == "spd" else torch.from_numpy(rng.standard_normal((200, 5, 5)) + 4 * np.eye(5))
    ref = torch.linalg.inv(a)
    for method in exact.CANDIDATES:
        for dtype in (torch.float32, torch.float64):
            data = a.to(dtype)
            x, bound, singular = exact.inverse_with_bound(data, method=method, dtype=dtype)
            err = rel_err(x, torch.linalg.inv(data.double()))  # the reference of the data as given (float32 rounded)
            assert not singular.any() and (err <= bound).all()
            assert x.dtype == dtype and (bound < 1e-3).all()
    assert ref.dtype == torch.float64


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bound_covers_ill_conditioned_matrices_and_is_not_absurd(dtype):
    """On matrices of condition 1e1..1e6 the bound covers the error against torch's float64 inverse of the same
    (float32-rounded) data, and stays within a modest factor of n u cond, the size of LU's actual error."""
    g = torch.Generator().manual_seed(3)
    n, count = 6, 300
    q1, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    cond = 10.0 ** torch.linspace(1, 6 if dtype == torch.float64 else 4, count, dtype=torch.float64)
    s = torch.stack([torch.logspace(0, 1, n, dtype=torch.float64)] * count) / 10
    s[:, 0] = s[:, -1] / cond
    a = (q1 * s[:, None, :] @ q2.mT).to(dtype)
    x, bound, singular = exact.inverse_with_bound(a, method="lu", dtype=dtype)
    err = rel_err(x, torch.linalg.inv(a.double()))
    assert not singular.any() and (err <= bound).all()
    u = torch.finfo(dtype).eps / 2
    assert (bound <= 100 * n * u * cond).all()


def test_singular_input_is_not_inverted():
    """An exactly singular matrix (a repeated row), a zero one and a NaN one come back NaN with bound inf; the
    others in the batch are unaffected."""
    a = torch.eye(3, dtype=torch.float64).repeat(5, 1, 1) * 2
    a[1] = torch.tensor([[1.0, 2, 3], [1, 2, 3], [0, 1, 1]])
    a[2] = 0
    a[3, 0, 0] = float("nan")
    for method in ("lu", "numpy"):
        x, bound, singular = exact.inverse_with_bound(a, method=method, dtype=torch.float64)
        assert singular.tolist() == [False, True, True, True, False]
        assert torch.isinf(bound[1:4]).all() and torch.isnan(x[1:4]).all()
        assert torch.allclose(x[[0, 4]], torch.eye(3, dtype=torch.float64) / 2) and (bound[[0, 4]] < 1e-14).all()


def test_overflowing_inverse_is_singular():
    """A float64 inverse that overflows float32 on the way out is reported singular, not returned as inf."""
    a = torch.eye(2, dtype=torch.float64)[None] * 1e-39
    x, bound, singular = exact.inverse_with_bound(a, method="lu", dtype=torch.float64, out_dtype=torch.float32)
    assert singular.all() and torch.isinf(bound).all() and torch.isnan(x).all() and x.dtype == torch.float32


def test_float32_residual_tier_bounds_hold(rng):
    """Bounds from a float32 residual (redone in float64 where above tol) still cover every error."""
    a = torch.from_numpy(rng.standard_normal((500, 8, 8)) + 6 * np.eye(8)).float()
    a[:50] = torch.from_numpy(rng.standard_normal((50, 8, 8))).float()  # worse conditioned: their float32 bounds fail
    ref = torch.linalg.inv(a.double())
    x, bound, singular = exact.inverse_with_bound(a, method="lu", dtype=torch.float32, tol=1e-5, float32_residual=True)
    assert not singular.any() and (rel_err(x, ref) <= bound).all()
    _, bound64, _ = exact.inverse_with_bound(a, method="lu", dtype=torch.float32)
    assert (bound >= bound64 * (1 - 1e-12)).all() and ((bound <= 1e-5) | (bound == bound64)).all()


def test_scratch_buffers_give_the_same_answers(rng):
    """Reused work buffers (a Scratch) change nothing: the same inverses and bounds as fresh memory, call after call,
    for batches of different sizes."""
    scratch = exact.Scratch()
    for count in (300, 50, 300):
        a = torch.from_numpy(rng.standard_normal((count, 4, 4)) + 3 * np.eye(4)).float()
        plain = exact.inverse_with_bound(a, method="lu", dtype=torch.float32)
        reused = exact.inverse_with_bound(a, method="lu", dtype=torch.float32, scratch=scratch)
        for p, r in zip(plain, reused):
            assert torch.equal(p, r)


@pytest.fixture
def quick_calibration(tmp_path, monkeypatch):
    """Calibrations on small batches, stored in a folder of their own (not the session's timing cache)."""
    monkeypatch.setenv("NEURALINV_CACHE", str(tmp_path))
    monkeypatch.setattr(exact, "CALIBRATION_ENTRIES", 1 << 14)


def test_calibrate_picks_a_candidate_of_the_right_kind(quick_calibration):
    """The calibration names a measured candidate, Cholesky and Gauss-Jordan only for SPD input."""
    for spd_input in (False, True):
        choice = exact.calibrate(5, torch.float64, "cpu", spd=spd_input)
        assert choice["method"] in exact.CANDIDATES and choice["per_matrix_s"] > 0
        assert spd_input or choice["method"] not in ("cholesky", "gauss-jordan")
        assert choice["per_matrix_s"] == min(choice["timings"].values())


def test_timings_are_remembered_between_processes(quick_calibration, tmp_path, monkeypatch):
    """A calibration is stored in NEURALINV_CACHE and read back by a fresh process state; "off" stores nothing."""
    first = exact.calibrate(7, torch.float64, "cpu")
    assert (tmp_path / "timings.json").is_file()
    monkeypatch.setattr(exact, "_synthetic", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-measured")))
    assert exact.calibrate(7, torch.float64, "cpu") == first
    monkeypatch.setenv("NEURALINV_CACHE", "off")
    with pytest.raises(AssertionError, match="re-measured"):
        exact.calibrate(7, torch.float64, "cpu")
