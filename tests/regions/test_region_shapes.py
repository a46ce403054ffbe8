"""Region shapes, region files and fitting: certificates hold against sampled sigma_min, files round-trip, fits cover
their samples, bad input gets a one-line error."""

import json

import numpy as np
import pytest
import torch

from neuralinv import fit_region, load_region
from neuralinv.common.errors import InputError
from neuralinv.paper.presets import DATASETS
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.files import preset_names, region_from_json
from neuralinv.regions.shapes import Ball, Box, Symmetric, matrix_norm, sigma_min


def spd_center(rng, n, floor=1.0):
    m = rng.standard_normal((n, n))
    return m @ m.T / n + floor * np.eye(n)


SHAPE_NAMES = [
    "box-uniform",
    "box-entries",
    "ball-spectral",
    "ball-fro",
    "symmetric",
    "symmetric-fro",
    "symmetric-relative",
    "union",
    "equilibrated",
]


def shapes(rng):
    """One region of each shape, all certified clear of the singular set."""
    n = 5
    c = rng.standard_normal((n, n)) + 4 * np.eye(n)
    s = spd_center(rng, n)
    lam = np.linalg.eigvalsh(s)[0]
    d = np.array([1.0, 0.5, 4.0, 0.25, 2.0])
    return {
        "box-uniform": Box(c, 0.05),
        "box-entries": Box(c, rng.uniform(0.01, 0.2, (n, n))),
        "ball-spectral": Ball(c, 0.9 * sigma_min(c), norm="spectral"),
        "ball-fro": Ball(c, 0.9 * sigma_min(c), norm="fro"),
        "symmetric": Symmetric(s, 0.9 * lam),
        "symmetric-fro": Symmetric(s, 0.5 * lam, norm="fro"),
        "symmetric-relative": Symmetric(s, 0.9, norm="relative"),
        "union": Union([Box(c, 0.05), Ball(c + 0.3, 0.5, norm="fro")], weights=[3, 1]),
        "equilibrated": Equilibrated(Symmetric(s, 0.8 * lam), d),
    }


@pytest.mark.parametrize("name", SHAPE_NAMES)
def test_certificate_holds_against_sampled_sigma_min(name, rng):
    """Every sample lies in its region and has sigma_min at least the region's certified distance."""
    region = shapes(rng)[name]
    a = region.sample(3000, generator=torch.Generator().manual_seed(5)).numpy()
    assert region.contains(a, slack=1e-12).all()
    assert region.certified_distance > 0
    assert sigma_min(a).min() >= region.certified_distance * (1 - 1e-12)
    assert region.sampled_min_distance(500) >= region.certified_distance * (1 - 1e-12)


@pytest.mark.parametrize("name", SHAPE_NAMES)
def test_radius_is_an_entry_bound_on_every_shape(name, rng):
    """Whatever the shape, every sampled matrix and extreme point has |A_ij - A0_ij| <= radius, and the samples reach
    a good share of it (a radius far too large would be a useless scale for the paper's scaling)."""
    region = shapes(rng)[name]
    a = region.sample(4000, generator=torch.Generator().manual_seed(1)).numpy()
    reach = np.abs(np.concatenate([a, region.extreme_points()]) - region.center).max()
    assert reach <= region.radius * (1 + 1e-12) and reach >= 0.1 * region.radius
    assert f"{region.radius:.4g}" in region.radius_meaning


def test_a_relative_region_rewrites_its_radius_and_says_so(rng):
    """Relative to A0 the given r bounds ||A0^-1/2 E A0^-1/2||; radius becomes r lambda_max(A0), and radius_meaning
    names both numbers. A ball keeps its r as radius."""
    s = spd_center(rng, 4)
    region = Symmetric(s, 0.25, norm="relative")
    assert region.ball_radius == 0.25 and region.to_json()["radius"] == 0.25
    assert region.radius == pytest.approx(0.25 * np.linalg.eigvalsh(s)[-1], rel=1e-12)
    assert "0.25" in region.radius_meaning and f"{region.radius:.4g}" in region.radius_meaning
    assert "not the given r" in region.radius_meaning
    assert Ball(s, 0.25).radius == 0.25 == Symmetric(s, 0.25).radius


@pytest.mark.parametrize("norm", ["spectral", "fro"])
def test_ball_certificate_is_attained(norm, rng):
    """The ball's bound sigma_min(A0) - r is exact: A0 - r u v^T lies in the ball with that sigma_min."""
    c = rng.standard_normal((4, 4)) + 3 * np.eye(4)
    ball = Ball(c, 0.5 * sigma_min(c), norm=norm)
    (worst,) = ball.extreme_points()
    assert ball.contains(worst[None], slack=1e-12)[0]
    assert sigma_min(worst) == pytest.approx(ball.certified_distance, rel=1e-9)


def test_symmetric_region_certifies_definiteness(rng):
    """With lambda_min(A0) > r every sample is positive definite (Weyl), and non-symmetric matrices are outside."""
    s = spd_center(rng, 6)
    region = Symmetric(s, 0.95 * np.linalg.eigvalsh(s)[0])
    a = region.sample(2000, generator=torch.Generator().manual_seed(1)).numpy()
    assert region.positive_definite
    assert np.linalg.eigvalsh(a)[:, 0].min() > 0
    skew = a[:1] + 1e-3 * np.triu(np.ones((6, 6)), 1)
    assert not region.contains(skew)[0]


def test_box_entries_bound_is_the_spectral_norm_of_the_widths(rng):
    """A per-entry box is certified by sigma_min(A0) - ||W||_2, tighter than n max W and equal to n c when uniform."""
    c = rng.standard_normal((4, 4)) + 5 * np.eye(4)
    w = rng.uniform(0.01, 0.3, (4, 4))
    box = Box(c, w)
    assert box.certified_distance == pytest.approx(sigma_min(c) - np.linalg.norm(w, 2), rel=1e-9)
    assert box.certified_distance >= sigma_min(c) - 4 * w.max()
    assert Box(c, 0.1).certified_distance == pytest.approx(sigma_min(c) - 0.4)


@pytest.mark.parametrize(
    "name",
    [
        "box-uniform",
        "box-entries",
        "ball-spectral",
        "ball-fro",
        "symmetric",
        "symmetric-relative",
        "union",
        "equilibrated",
    ],
)
def test_region_files_round_trip(name, rng, tmp_path):
    """save then load_region gives a region with the same JSON, membership and certificate."""
    region = shapes(rng)[name]
    region.info["note"] = "kept"
    path = region.save(tmp_path / f"{name}.json")
    back = load_region(path)
    assert type(back) is type(region)
    assert back.to_json() == region.to_json()
    assert back.certified_distance == pytest.approx(region.certified_distance, rel=1e-12)
    a = region.sample(200, generator=torch.Generator().manual_seed(2)).numpy()
    assert np.array_equal(back.contains(a, slack=1e-12), region.contains(a, slack=1e-12))
    assert json.loads(path.read_text())["format"] == "neuralinv-region"


def test_a_region_file_of_an_older_version_reads_centres_as_centers(tmp_path):
    """A fit recorded "centres" in its info before the one spelling; the file still reads, as "centers"."""
    old = {"format": "neuralinv-region", "format_version": 1, "shape": "ball", "center": [[2.0, 0.0], [0.0, 3.0]]}
    old |= {"radius": 0.5, "info": {"fitted_from": 40, "centres": 3}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    region = load_region(tmp_path / "old.json")
    assert region.info == {"fitted_from": 40, "centers": 3} and region.ball_radius == 0.5


def test_presets_are_named_region_files():
    """Every data set preset is the region file of the same name, loadable by name."""
    assert set(preset_names()) == set(DATASETS)
    for name, preset in DATASETS.items():
        region = load_region(name)
        assert np.array_equal(region.center, preset.region.center) and region.radius == preset.region.radius


def test_checkpoint_region_without_shape_is_a_box():
    """A version-1 checkpoint's {center, radius} (no shape key) reads as a box."""
    box = region_from_json({"center": [[2.0, 2.0], [2.0, 3.0]], "radius": 0.01})
    assert isinstance(box, Box) and box.uniform and box.radius == 0.01


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"shape": "cone", "center": [[1.0]], "radius": 1}, "unknown shape"),
        ({"shape": "ball", "center": [[1.0]]}, "radius"),
        ({"shape": "box", "center": [[1.0, 2.0]], "radius": 1}, "square"),
        ({"shape": "box", "center": [[1.0]], "radius": -1}, "radius"),
        ({"shape": "symmetric", "center": [[1.0, 2.0], [0.0, 1.0]], "radius": 0.1}, "symmetric centre"),
        (
            {
                "shape": "union",
                "members": [{"center": [[1.0]], "radius": 1}, {"center": [[1.0, 0], [0, 1]], "radius": 1}],
            },
            "one matrix size",
        ),
        ({"format": "neuralinv-region", "format_version": 9, "center": [[1.0]], "radius": 1}, "version"),
    ],
)
def test_bad_region_files_get_one_line_errors(bad, message):
    """Each malformed region is refused with an InputError naming the problem."""
    with pytest.raises(InputError, match=message) as err:
        region_from_json(bad)
    assert "\n" not in str(err.value)


def test_unknown_region_name():
    """A name that is neither a preset nor a file lists the presets."""
    with pytest.raises(InputError, match="2x2-first"):
        load_region("no-such-region")


def family(rng, count, n=6, spread=0.1, scales=None):
    """Symmetric positive definite matrices around a centre, optionally with unequal variable scales."""
    c = spd_center(rng, n)
    g = rng.standard_normal((count, n, n)) * spread
    a = c + (g + np.swapaxes(g, 1, 2)) / 2
    if scales is not None:
        a = a * np.outer(scales, scales)
    return a


@pytest.mark.parametrize("shape", ["auto", "ball", "box", "symmetric"])
def test_fit_covers_its_sample(shape, rng):
    """A fit with coverage 1 holds every sample it was fitted on, and says so in its info."""
    a = family(rng, 400)
    region = fit_region(a, shape=shape)
    assert region.contains(a, slack=1e-9).all()
    assert region.info["coverage"] == 1.0 and region.info["fitted_from"] == 400
    if shape in ("auto", "symmetric"):
        assert isinstance(region, Symmetric)


def test_fit_coverage_quantile(rng):
    """coverage q holds about the share q of the sample, and the radius shrinks with it."""
    a = family(rng, 1000)
    full, part = fit_region(a), fit_region(a, coverage=0.9)
    assert part.ball_radius < full.ball_radius
    assert 0.88 <= part.info["coverage"] <= 0.92


def test_fit_equilibrates_unequal_scales(rng):
    """Unequal variable scales are equilibrated by powers of two; the region holds the sample in original units."""
    scales = np.array([1e3, 1.0, 1e-2, 5.0, 1e2, 0.3])
    a = family(rng, 300, scales=scales)
    region = fit_region(a)
    assert isinstance(region, Equilibrated) and region.info["equilibrated"]
    assert np.array_equal(region.scale, np.exp2(np.round(np.log2(region.scale))))
    assert region.contains(a, slack=1e-9).all()
    b = region.scale_matrix(a)
    assert np.median(np.abs(np.diagonal(b, axis1=1, axis2=2))) == pytest.approx(1, rel=1)
    spectral = fit_region(a, norm="spectral")
    assert fit_region(a, equilibrate=False, norm="spectral").certified_distance < spectral.certified_distance


def test_fit_several_centers(rng):
    """k-means centers give a union that covers a two-cluster sample with smaller members than one centre."""
    a = np.concatenate([family(rng, 200), family(np.random.default_rng(9), 200) + 3 * np.eye(6)])
    one, two = fit_region(a), fit_region(a, centers=2)
    assert isinstance(two, Union) and len(two.members) == 2
    assert one.info["centers"] == 1 and two.info["centers"] == 2 and "centres" not in two.info
    assert two.contains(a, slack=1e-9).all()
    assert max(m.ball_radius for m in two.members) < one.ball_radius
    assert sorted(np.bincount(two.nearest(a))) == [200, 200]


@pytest.mark.parametrize(
    "a, kwargs, message",
    [
        (np.ones((50, 3, 4)), {}, "shape"),
        (np.full((50, 3, 3), np.nan), {}, "NaN"),
        (np.ones((5, 3, 3)), {}, "too few"),
        (np.ones((50, 3, 3)), {"shape": "cone"}, "shape"),
        (np.ones((50, 3, 3)), {"coverage": 0}, "coverage"),
        (np.ones((50, 3, 3)), {"centers": 0}, "centers"),
    ],
)
def test_fit_bad_input(a, kwargs, message):
    """Bad samples or options get a one-line InputError naming the problem."""
    with pytest.raises(InputError, match=message):
        fit_region(a, **kwargs)


def test_fit_symmetric_refuses_nonsymmetric(rng):
    """shape='symmetric' on non-symmetric matrices says how far from symmetric they are."""
    a = rng.standard_normal((50, 3, 3)) + 3 * np.eye(3)
    with pytest.raises(InputError, match="symmetric"):
        fit_region(a, shape="symmetric")


def test_matrix_norm_matches_numpy(rng):
    """matrix_norm agrees with numpy's spectral and Frobenius norms."""
    e = rng.standard_normal((10, 4, 4))
    assert np.allclose(matrix_norm(e, "spectral"), np.linalg.norm(e, 2, axis=(1, 2)))
    assert np.allclose(matrix_norm(e, "fro"), np.linalg.norm(e, axis=(1, 2)))


def test_relative_certificate_is_attained_and_definite(rng):
    """Relative to A0: (1 - r) A0 lies in the region with sigma_min exactly (1 - r) lambda_min(A0), and r < 1
    certifies positive definiteness; r >= 1 does not."""
    s = spd_center(rng, 5)
    region = Symmetric(s, 0.6, norm="relative")
    (worst,) = region.extreme_points()
    assert region.contains(worst[None], slack=1e-12)[0] and region.positive_definite
    assert sigma_min(worst) == pytest.approx(region.certified_distance, rel=1e-9)
    assert region.certified_distance == pytest.approx(0.4 * np.linalg.eigvalsh(s)[0])
    assert not Symmetric(s, 1.2, norm="relative").positive_definite
    with pytest.raises(InputError, match="positive definite"):
        Symmetric(-s, 0.5, norm="relative")


def test_fit_picks_relative_for_proportional_perturbations(rng):
    """Perturbations proportional to an ill-conditioned A0 (as bootstrap covariances are): the fit's auto norm takes
    the relative shape, which is certified where the spectral ball around the same centre is not."""
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    c = q @ np.diag([100.0, 30, 10, 3, 1, 0.3]) @ q.T
    half = np.linalg.cholesky(c)
    g = rng.standard_normal((500, 6, 6)) * 0.08
    a = c + half @ ((g + np.swapaxes(g, 1, 2)) / 2) @ half.T
    auto = fit_region(a)
    assert isinstance(auto, Symmetric) and auto.norm == "relative" and auto.positive_definite
    assert auto.contains(a, slack=1e-9).all() and auto.certified_distance > 0
    assert fit_region(a, norm="spectral").certified_distance < 0 < auto.certified_distance


def test_a_centre_singular_to_rounding_certifies_nothing():
    """A rank-one centre has sigma_min at rounding level: however small the radius, the region does not avoid the
    singular set."""
    region = Symmetric(np.ones((3, 3)), 1e-300)
    assert region.center_singular and not region.avoids(0)
