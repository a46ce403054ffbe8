"""The why-can't building blocks on their own: the singular search, the region edge, moments of a known error, the
per-decade bins, and --region as inline JSON on the limits command."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.experiments.limits import SINGULAR_BOX, find_singular, moment_growth
from neuralinv.experiments.limits.distance import decade_bins
from neuralinv.experiments.limits.geometry import project_to_region, room_along
from neuralinv.nets import checkpoint
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.composite import Union
from neuralinv.regions.files import region_from_json
from neuralinv.regions.shapes import Ball, Box

SAFE_BOX = get_dataset("2x2-first").region


@pytest.mark.parametrize(
    "region",
    [
        SINGULAR_BOX,
        Box(0.1 * np.eye(2), 0.07),  # the nearest singular matrix to the centre lies outside
        Box(np.diag([1.0, 2.0, 0.05]), 0.06),
        Ball(np.array([[1.0, 2.0], [2.0, 4.5]]), 0.2, norm="fro"),
        Union([SAFE_BOX, SINGULAR_BOX]),  # only the second member holds one
    ],
    ids=["singular-box", "off-centre", "3x3", "ball", "union"],
)
def test_find_singular_returns_a_singular_matrix_of_the_region(region):
    """The matrix found lies in the region and numpy's SVD puts its smallest singular value at rounding level."""
    point = find_singular(region, seed=3)
    assert point is not None, region.describe()
    assert region.contains(point.matrix, slack=1e-12)
    s = np.linalg.svd(point.matrix, compute_uv=False)
    assert s[-1] < 1e-10 * s[0]


def test_find_singular_finds_nothing_in_a_certified_box():
    """The paper's 2x2 (First) box is certified clear of the singular set: the search comes back empty."""
    assert SAFE_BOX.certified_distance > 0
    assert find_singular(SAFE_BOX, seed=0) is None


def test_room_along_a_ball_is_its_radius():
    """From the centre of a Frobenius ball of radius r along D, the edge is at t = r / ||D||_F (to bisection
    accuracy), and the point there is projected onto itself."""
    center = np.array([[2.0, 0.5], [0.5, 1.0]])
    ball = Ball(center, 0.3, norm="fro")
    d = np.array([[1.0, -2.0], [0.5, 3.0]])
    t = room_along(center, d, ball, 10.0)
    assert t == pytest.approx(0.3 / np.linalg.norm(d), rel=1e-9)
    edge = center + t * d
    assert ball.contains(edge)
    np.testing.assert_array_equal(project_to_region(edge, ball), edge)
    far = project_to_region(center + 10 * d, ball)
    assert np.linalg.norm(far - center) == pytest.approx(0.3, rel=1e-9)


def test_moment_growth_of_a_known_error():
    """A model off the inverse by exactly E = A - A0 on a box of half-width c: ||E||_F^2 has mean n^2 c^2 / 3, every
    N-sample mean settles there, and the error never exceeds n c."""
    box = SAFE_BOX
    center = torch.tensor(box.center)
    model = lambda a: torch.linalg.inv(a) - (a - center)  # noqa: E731
    summary = moment_growth(model, box, orders=(1, 2), max_samples=50_000, seed=5)["summary"]
    n, c = box.n, box.radius
    expected = n**2 * c**2 / 3
    assert summary["running"]["2"][-1] == pytest.approx(expected, rel=0.02)
    assert summary["typical"]["2"][-1] == pytest.approx(expected, rel=0.02)
    assert all(0.95 < g < 1.05 for g in summary["growth"].values())
    assert abs(summary["slope"]["2"]) < 0.02
    assert summary["max_error"] <= n * c


def test_decade_bins_group_samples_by_decade():
    """Samples fall into the decade of their sigma_min; empty decades are left out."""
    sig = np.array([0.005, 0.02, 0.05, 0.07, 0.5])
    err = np.array([200.0, 50.0, 20.0, 14.0, 2.0])
    bins = decade_bins(sig, err, 1 / sig)
    assert [(b["sigma_min_from"], b["sigma_min_to"], b["count"]) for b in bins] == [
        (1e-3, 1e-2, 1),
        (1e-2, 1e-1, 3),
        (1e-1, 1.0, 1),
    ]
    assert bins[1]["median_error"] == 20.0 and bins[1]["max_error"] == 50.0
    assert bins[1]["median_inverse_norm"] == pytest.approx(20.0)


@pytest.fixture(scope="module")
def eq11_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits-units") / "eq11.safetensors"
    checkpoint.save_network(linear_network(SAFE_BOX), path)
    return path


@pytest.mark.parametrize(
    "inline",
    [
        '{"center": [[1.0, 2.0], [2.0, 4.5]], "radius": 0.08}',
        json.dumps(SINGULAR_BOX.to_json()),
    ],
    ids=["center-radius", "region-json"],
)
def test_cli_region_as_inline_json(capsys, eq11_checkpoint, tmp_path, inline):
    """--region takes a region as JSON text: the same search as with the same box in a region file."""
    file = tmp_path / "box.json"
    SINGULAR_BOX.save(file)
    results = []
    for spec in (inline, str(file)):
        code = main(["limits", "counterexample", str(eq11_checkpoint), "-E", "1e6", "--json", "--region", spec])
        data = json.loads(capsys.readouterr().out)
        assert code == 0 and data["found"]
        results.append(data)
    assert region_from_json(results[0]["region"]).contains(np.array(results[0]["x"]))
    assert results[0]["region"] == results[1]["region"] == SINGULAR_BOX.to_json()
    assert results[0]["x"] == results[1]["x"]
    code = main(["limits", "error-vs-distance", str(eq11_checkpoint), "--samples", "500", "--json", "--region", inline])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["box"] == SINGULAR_BOX.to_json() and data["samples"] > 0


def test_cli_region_bad_inline_json(capsys, eq11_checkpoint):
    """Broken JSON after --region is a one-line error naming the flag."""
    code = main(["limits", "moments", str(eq11_checkpoint), "--region", '{"center": [[1, 2]'])
    err = capsys.readouterr().err
    assert code == 2 and "--region: not valid JSON" in err and len(err.strip().splitlines()) == 1
