"""certified_inverse on regions of one's own: bounds hold for every shape (equilibrated, several centres), the auto
choice follows its cost model, and the exact path is chosen by measurement."""

import numpy as np
import pytest
import torch

from neuralinv import fit_region
from neuralinv.certified import solve
from neuralinv.certified.cost import AUTO_MARGIN, REPROBE_EVERY, Calibration, decide, steps_worth_trying
from neuralinv.certified.geometry import Geometry
from neuralinv.certified.solve import CertifiedInverter, certified_inverse
from neuralinv.cli import main
from neuralinv.linalg import exact
from neuralinv.regions.shapes import Ball, Box


@pytest.fixture(autouse=True)
def fresh_decisions():
    """Each test starts with no inverters kept by certified_inverse (so no remembered auto decisions)."""
    solve.INVERTERS.clear()
    yield
    solve.INVERTERS.clear()


def exact_costing(seconds: float) -> dict:
    """A mocked exact-path calibration: LU in float64 at `seconds` per matrix."""
    return {"method": "lu", "dtype": "float64", "per_matrix_s": seconds, "timings": {}}


def spd_family(rng, count, n=6, spread=0.05, scales=None, centre_shift=0.0, centre_seed=11):
    """Symmetric positive definite matrices around a seeded SPD centre (optionally with unequal variable scales)."""
    m = np.random.default_rng(centre_seed).standard_normal((n, n))
    c = m @ m.T / n + np.eye(n) + centre_shift * np.eye(n)
    g = rng.standard_normal((count, n, n)) * spread
    a = c + (g + np.swapaxes(g, 1, 2)) / 2
    return a * np.outer(scales, scales) if scales is not None else a


def rel_errors(res, a):
    ref = np.linalg.inv(np.asarray(a, dtype=np.float64))
    x = np.asarray(res.inverse, dtype=np.float64)
    return np.linalg.norm(x - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["auto", "fast", "exact"])
def test_bounds_hold_on_a_fitted_region(method, dtype, rng):
    """Every answer's error (against float64 numpy) is within its bound, whichever method, and none is NaN."""
    a = spd_family(rng, 3000).astype(dtype)
    region = fit_region(spd_family(np.random.default_rng(7), 500))
    res = certified_inverse(a, region=region, tol=1e-4, method=method)
    err = rel_errors(res, a)
    assert np.isfinite(res.bound).all() and (err <= res.bound).all()
    assert res.inverse.dtype == a.dtype
    if method == "exact":
        assert res.fallback.all()
    if method == "fast":
        assert (~res.fallback).mean() > 0.9 and (res.bound[~res.fallback] <= 1e-4).all()


def test_equilibrated_fast_path_bounds_hold(rng):
    """Variables of scales 1e-3..1e3: the fast path works in D A D and its bounds hold for A's own inverses."""
    scales = np.array([1e3, 1.0, 1e-3, 30.0, 0.1, 5.0])
    a = spd_family(rng, 2000, scales=scales)
    region = fit_region(spd_family(np.random.default_rng(3), 400, scales=scales))
    res = certified_inverse(a, region=region, tol=1e-6, method="fast", max_steps=6)
    err = rel_errors(res, a)
    assert (~res.fallback).mean() > 0.9
    assert (err <= res.bound).all() and (res.bound[~res.fallback] <= 1e-6).all()
    plain = certified_inverse(a, region=fit_region(a[:400], equilibrate=False), tol=1e-6, method="fast", max_steps=6)
    assert (~plain.fallback).sum() <= (~res.fallback).sum()


def test_several_centres_route_to_the_nearest(rng):
    """A two-cluster family: a two-centre union certifies nearly all, one centre far fewer; bounds hold for both."""
    a = np.concatenate([spd_family(rng, 1000, spread=0.02), spd_family(rng, 1000, spread=0.02, centre_shift=3.0)])
    one = certified_inverse(a, region=fit_region(a, centers=1), tol=1e-8, method="fast", max_steps=3)
    two = certified_inverse(a, region=fit_region(a, centers=2), tol=1e-8, method="fast", max_steps=3)
    for res in (one, two):
        assert (rel_errors(res, a) <= res.bound).all()
    assert (~two.fallback).mean() > 0.95 and (~two.fallback).sum() > (~one.fallback).sum()


def test_matrices_far_outside_go_exact_with_bounds(rng):
    """Matrices far from the region's centre fail to certify and take the exact path; non-finite ones are NaN."""
    region = Ball(np.eye(4) * 3, 0.5)
    a = rng.standard_normal((600, 4, 4)) * 3
    a[0] = np.nan
    res = certified_inverse(a, region=region, tol=1e-6, method="fast")
    assert res.fallback[0] and res.nonfinite[0] and np.isnan(res.inverse[0]).all()
    ok = np.isfinite(res.bound)
    assert (rel_errors(res, a)[ok] <= res.bound[ok]).all()
    assert res.fallback[1:].mean() > 0.9


def unit(product=1.0, passes=0.1):
    return {"product": product, "pass": passes}


GEO = Geometry(None, np.eye(4)[None], (np.inf,), 1.0, False)


def test_decide_prefers_fast_when_it_certifies_early():
    """All of a probe certified after one step at cost well under the exact path's: fast, with max_steps 1."""
    counts = np.array([0, 100, 0, 0])
    k, ratio = decide(counts, 0, c_exact=20.0, unit=unit(), converted=False, geo=GEO)
    assert k == 1 and 0 < ratio < AUTO_MARGIN


def test_decide_goes_exact_when_the_fast_path_costs_more():
    """Matrices needing many steps, each step dearer than the exact inverse: exact (None)."""
    counts = np.array([0, 0, 0, 10, 90])
    k, ratio = decide(counts, 0, c_exact=5.0, unit=unit(), converted=False, geo=GEO)
    assert k is None and ratio >= 0.85


def test_decide_stops_at_the_cheapest_step_count():
    """When all but one certify after 2 steps and that one after 6, stopping at 2 (it goes exact) is cheapest."""
    counts = np.array([0, 0, 100, 0, 0, 0, 1])
    k, _ = decide(counts, 0, c_exact=10.0, unit=unit(passes=0.0), converted=False, geo=GEO)
    assert k == 2


def test_failures_count_against_the_fast_path():
    """A probe where most fail pays their wasted work plus the exact path: exact."""
    counts = np.array([0, 10, 0])
    k, ratio = decide(counts, 90, c_exact=10.0, unit=unit(), converted=False, geo=GEO)
    assert k is None and ratio >= 1


def test_steps_worth_trying():
    """Steps are worth trying only while their cost alone stays below the exact path's."""
    assert steps_worth_trying(1.0, unit(), converted=False, geo=GEO) == -1
    k = steps_worth_trying(100.0, unit(), converted=False, geo=GEO)
    assert k == 6  # capped at AUTO_MAX_STEPS


def test_auto_picks_the_cheaper_route_on_a_mocked_calibration(rng):
    """With the machine's costs set on the inverter, auto takes the fast path when products are cheap and the exact
    inverse dear, and the exact path when those costs are swapped; the answers hold their bounds either way."""
    a = spd_family(rng, 3000, spread=0.01)
    region = fit_region(a[:500])

    def run(product: float, exact_s: float):
        calibration = Calibration(exact=exact_costing(exact_s), unit=unit(product, product / 10))
        res = CertifiedInverter(region, tol=1e-4, calibration=calibration)(a)
        assert (rel_errors(res, a) <= res.bound).all()
        return res

    cheap = run(product=1e-9, exact_s=1e-6)
    assert cheap.route["chosen"] == "fast" and cheap.route["probe"]["estimated_time_vs_exact"] < AUTO_MARGIN
    assert (~cheap.fallback).mean() > 0.95
    dear = run(product=1e-6, exact_s=1e-9)
    assert dear.route["chosen"] == "exact" and dear.fallback.all()


def test_auto_probe_sends_a_batch_it_cannot_certify_exact(rng):
    """Cheap products but matrices far from the region's centre: the probe finds the fast path would mostly fail,
    so the batch goes exact although each fast attempt costs little."""
    region = fit_region(spd_family(np.random.default_rng(7), 500, spread=0.01))
    a = spd_family(rng, 3000, spread=0.6)
    calibration = Calibration(exact=exact_costing(1e-6), unit=unit(1e-9, 1e-10))
    res = CertifiedInverter(region, tol=1e-10, calibration=calibration)(a)
    assert res.route["chosen"] == "exact" and res.route["probe"]["certified"] < res.route["probe"]["matrices"] / 2
    ok = np.isfinite(res.bound)
    assert res.fallback.all() and (rel_errors(res, a)[ok] <= res.bound[ok]).all()


def test_auto_skips_the_fast_path_when_the_exact_path_is_cheap(rng):
    """If the exact path is measured cheaper than a Taylor guess, auto goes exact without probing, and says why."""
    a = spd_family(rng, 3000)
    res = CertifiedInverter(fit_region(a[:500]), tol=1e-4, calibration=Calibration(exact=exact_costing(1e-12)))(a)
    assert res.fallback.all() and res.route["chosen"] == "exact" and "probe" not in res.route
    assert (rel_errors(res, a) <= res.bound).all()


def test_auto_takes_the_fast_path_when_the_exact_path_is_dear(rng):
    """If the exact path is measured very dear, auto probes, takes the fast path, and reports the probe."""
    a = spd_family(rng, 3000, spread=0.01)
    res = CertifiedInverter(fit_region(a[:500]), tol=1e-4, calibration=Calibration(exact=exact_costing(1.0)))(a)
    assert res.route["chosen"] == "fast" and res.route["probe"]["certified"] > 0
    assert (~res.fallback).mean() > 0.95 and (rel_errors(res, a) <= res.bound).all()


def test_exact_marks_singular(rng):
    """A singular matrix on the exact path is NaN with bound inf, its neighbours unaffected."""
    a = rng.standard_normal((4, 3, 3)) + 3 * np.eye(3)
    a[2] = [[1, 2, 3], [2, 4, 6], [0, 1, 1]]
    res = certified_inverse(a, region=Box(np.eye(3) * 3, 0.1), method="exact")
    assert res.singular[2] and np.isinf(res.bound[2]) and np.isnan(res.inverse[2]).all()
    assert np.isfinite(res.bound[[0, 1, 3]]).all()


def test_cli_fit_then_invert(tmp_path, capsys, rng):
    """region fit writes a region file and reports its fast-path share; invert --region FILE uses it."""
    a = spd_family(rng, 1500)
    np.save(tmp_path / "mats.npy", a)
    code = main(["region", "fit", str(tmp_path / "mats.npy"), "--out", str(tmp_path / "r.json"), "--sub-sample", "300"])
    out = capsys.readouterr().out
    assert code == 0 and "fast path certifies" in out and "predicted speed" in out
    code = main(
        [
            "invert",
            "--region",
            str(tmp_path / "r.json"),
            str(tmp_path / "mats.npy"),
            "--out",
            str(tmp_path / "inv.npy"),
            "--bounds",
            str(tmp_path / "b.npy"),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and '"chosen"' in out
    inv, bound = np.load(tmp_path / "inv.npy"), np.load(tmp_path / "b.npy")
    ref = np.linalg.inv(a)
    err = np.linalg.norm(inv - ref, axis=(1, 2)) / np.linalg.norm(ref, axis=(1, 2))
    assert (err <= bound).all() and (bound <= 1e-4).all()


@pytest.mark.parametrize(
    "make, args, needle",
    [
        (lambda d: np.save(d / "m.npy", np.ones((50, 3, 4))), [], "shape"),
        (lambda d: np.save(d / "m.npy", np.full((50, 3, 3), np.nan)), [], "NaN"),
        (lambda d: np.save(d / "m.npy", np.ones((3, 3, 3))), [], "too few"),
        (lambda d: np.save(d / "m.npy", np.ones((50, 3, 3))), ["--coverage", "2"], "coverage"),
    ],
)
def test_cli_fit_bad_input(make, args, needle, tmp_path, capsys):
    """region fit: bad samples or options exit 2 with a one-line error naming the problem."""
    make(tmp_path)
    code = main(["region", "fit", str(tmp_path / "m.npy"), "--out", str(tmp_path / "r.json"), *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1


def test_cli_fit_unknown_shape(tmp_path):
    """An unknown --shape is refused by the parser (exit 2)."""
    np.save(tmp_path / "m.npy", np.ones((50, 3, 3)))
    with pytest.raises(SystemExit) as err:
        main(["region", "fit", str(tmp_path / "m.npy"), "--out", str(tmp_path / "r.json"), "--shape", "cone"])
    assert err.value.code == 2


def test_cli_invert_wrong_n_for_region_file(tmp_path, capsys, rng):
    """invert with matrices of another size than the region file's: exit 2 naming both sizes."""
    Ball(np.eye(3) * 2, 0.5).save(tmp_path / "r.json")
    np.save(tmp_path / "m.npy", np.ones((5, 4, 4)))
    code = main(
        ["invert", "--region", str(tmp_path / "r.json"), str(tmp_path / "m.npy"), "--out", str(tmp_path / "o.npy")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "3x3" in err and "(5, 4, 4)" in err and err.count("\n") == 1


def test_auto_remembers_a_regions_probe(rng):
    """A second batch of the same region reuses the first probe's decision, and REPROBE_EVERY calls later probes
    again; the answers stay within their bounds throughout."""
    a = spd_family(rng, 2000, spread=0.01)
    inverter = CertifiedInverter(fit_region(a[:500]), tol=1e-6, calibration=Calibration(exact=exact_costing(1.0)))
    first = inverter(a)
    second = inverter(a)
    assert "remembered" not in first.route["why"] and "remembered" in second.route["why"]
    assert second.route["chosen"] == first.route["chosen"]
    probed = 0
    for _ in range(REPROBE_EVERY):
        last = inverter(a)
        probed += "remembered" not in last.route["why"]
    assert probed == 1
    assert (rel_errors(last, a) <= last.bound).all()
    fresh = CertifiedInverter(inverter.region, tol=1e-6, calibration=inverter.calibration)(a)
    assert "remembered" not in fresh.route["why"]  # decisions belong to the inverter that made them


def test_certified_inverse_reuses_one_inverter_per_region_and_settings(rng):
    """certified_inverse keeps one inverter per region content and settings (equal regions share it), so a
    repeated call finds the calibration and decisions of the first; other settings get another inverter."""
    centre = spd_family(np.random.default_rng(3), 1)[0]
    settings = dict(tol=1e-4, method="auto", init="taylor1", max_steps=None, residual_dtype=None, spd=None)
    region = Ball(centre, 0.1)
    first = solve.INVERTERS.get(region, **settings)
    assert solve.INVERTERS.get(region, **settings) is first
    assert solve.INVERTERS.get(Ball(centre.copy(), 0.1), **settings) is first
    assert solve.INVERTERS.get(Ball(centre, 0.2), **settings) is not first
    assert solve.INVERTERS.get(Ball(centre, 0.1), **{**settings, "tol": 1e-6}) is not first
    assert first.calibration is solve.INVERTERS.calibration and first.scratch is solve.INVERTERS.scratch
    a = spd_family(rng, 100)
    assert np.array_equal(certified_inverse(a, region=Ball(centre, 0.1)).bound, first(a).bound)
    solve.INVERTERS.clear()
    assert solve.INVERTERS.get(region, **settings) is not first


def test_equilibrated_region_with_a_singular_centre(tmp_path, capsys):
    """A region file whose (equilibrated) centre is singular: invert goes exact and says why; no traceback."""
    path = tmp_path / "r.json"
    path.write_text(
        '{"shape": "equilibrated", "scale": [1.0, 2.0], "region": {"shape": "symmetric", '
        '"center": [[1.0, 1.0], [1.0, 1.0]], "radius": 0.1}}'
    )
    a = np.array([[[2.0, 0.5], [0.5, 1.0]]] * 600)
    np.save(tmp_path / "a.npy", a)
    code = main(["invert", "--region", str(path), str(tmp_path / "a.npy"), "--out", str(tmp_path / "x.npy")])
    out = capsys.readouterr().out
    assert code == 0 and "exact path (the centre is singular" in out
    assert np.allclose(np.load(tmp_path / "x.npy"), np.linalg.inv(a))


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_cli_fit_on_a_singular_family(fill, tmp_path, capsys):
    """Matrices that are all singular (zero, rank one): region fit writes the region, says the fast path is not
    available and certifies nothing; no traceback."""
    np.save(tmp_path / "m.npy", np.full((60, 3, 3), fill))
    code = main(["region", "fit", str(tmp_path / "m.npy"), "--out", str(tmp_path / "r.json"), "--sub-sample", "30"])
    out = capsys.readouterr().out
    assert code == 0 and "none: the centre is singular" in out and "no certificate" in out
    assert "refuses the singular matrices" in out and (tmp_path / "r.json").is_file()


def test_cli_fit_relative_needs_a_definite_mean(tmp_path, capsys):
    """--norm relative on a family whose mean is not positive definite: exit 2 with a one-line error."""
    np.save(tmp_path / "m.npy", np.zeros((60, 3, 3)))
    code = main(["region", "fit", str(tmp_path / "m.npy"), "--out", str(tmp_path / "r.json"), "--norm", "relative"])
    err = capsys.readouterr().err
    assert code == 2 and "positive definite" in err and err.count("\n") == 1


def test_a_calibration_measures_once(monkeypatch):
    """A Calibration asks linalg.exact once per kind of matrix and keeps the answer; fixed costs are never measured."""
    calls = []
    monkeypatch.setattr(exact, "calibrate", lambda *a, **k: calls.append(a) or {"method": "lu", "per_matrix_s": 1.0})
    cal = Calibration()
    for _ in range(3):
        cal.exact_choice(4, torch.float32, "cpu", spd=False)
    cal.exact_choice(4, torch.float32, "cpu", spd=True)
    assert len(calls) == 2
    fixed = Calibration(exact={"method": "numpy", "per_matrix_s": 2.0}, unit={"product": 1.0, "pass": 0.5})
    assert fixed.exact_choice(9, torch.float64, "cpu", spd=True)["method"] == "numpy" and len(calls) == 2
    assert fixed.unit_costs(9, torch.float64, "cpu") == {"product": 1.0, "pass": 0.5}
