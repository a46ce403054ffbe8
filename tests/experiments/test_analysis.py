"""Activation patterns, affine maps and LP bounds (analysis), and the analyze command."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.experiments.analysis import Geometry, analyze, lp_bound, report_section
from neuralinv.nets import checkpoint
from neuralinv.nets.construction import linear_network, network_from_weights
from neuralinv.nets.mlp import Network, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset

BOX = get_dataset("2x2-first").region
A0_INV = BOX.center_inverse
J_LIN = -np.kron(A0_INV, A0_INV.T)


def hand_built() -> Network:
    """4 -> 2 -> 1 -> 4 in paper scaling: units z1 = x1 + 0.5, z2 = x2, z3 = relu(z1) + 1 (always on), y = v h3 + w.

    x1, x2 are uniform on [-1, 1], so z1 > 0 with probability 3/4 and z2 > 0 with 1/2. z2 feeds nothing, so the map
    depends on z1 alone: on, y = v (x1 + 1.5) + w; off, y = v + w.
    """
    v, w = np.array([0.3, -0.2, 0.1, 0.4]), np.array([0.05, 0.0, -0.1, 0.2])
    layers = [
        (np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]), np.array([0.5, 0.0])),
        (np.array([[1.0, 0.0]]), np.array([1.0])),
        (v[:, None], w),
    ]
    return network_from_weights(layers, BOX, scaling="paper")


def test_hand_built_shares_and_maps():
    """A hand-built net with known regions gives the known shares (3/8, 3/8, 1/8, 1/8) and the known affine maps."""
    result = analyze(hand_built(), samples=20_000, seed=1234)
    pats = {p.bits: p for p in result.patterns}
    assert set(pats) == {"11/1", "10/1", "01/1", "00/1"} and result.num_patterns == 4
    expected = {"11/1": 3 / 8, "10/1": 3 / 8, "01/1": 1 / 8, "00/1": 1 / 8}
    for bits, share in expected.items():
        assert abs(pats[bits].share - share) < 0.015
    assert sum(p.count for p in result.patterns) == 20_000
    v, w, c = np.array([0.3, -0.2, 0.1, 0.4]), np.array([0.05, 0.0, -0.1, 0.2]), BOX.radius
    on_j = np.zeros((4, 4))
    on_j[:, 0] = v  # y depends on x1 = a'11 / c, and A^-1 = A0^-1 + c y
    for bits in ("11/1", "10/1"):
        np.testing.assert_allclose(pats[bits].intercept.ravel(), A0_INV.ravel() + c * (1.5 * v + w), atol=1e-14)
        np.testing.assert_allclose(pats[bits].slopes.reshape(4, 4), on_j, atol=1e-14)
    for bits in ("01/1", "00/1"):
        np.testing.assert_allclose(pats[bits].intercept.ravel(), A0_INV.ravel() + c * (v + w), atol=1e-14)
        np.testing.assert_allclose(pats[bits].slopes.reshape(4, 4), 0, atol=1e-14)
    assert result.distinct_maps == 2
    np.testing.assert_allclose(pats["00/1"].slope_gap, np.abs(J_LIN).max())


def _random_net(sizes, seed, dtype=torch.float32) -> Network:
    layers = [(w.to(dtype), (b * 2).to(dtype)) for w, b in init_layers(sizes, seed)]
    return Network(layers, BOX, Scaling.for_region(BOX, "paper"))


@pytest.mark.parametrize("sizes,seed", [([4, 8, 4], 0), ([4, 6, 5, 4], 1), ([4, 5, 4, 3, 4], 2)])
def test_lp_bound_at_least_sampled_max(sizes, seed):
    """In every pattern and output entry, the LP bound over the polytope is >= the sampled max |net - Taylor-1|."""
    result = analyze(_random_net(sizes, seed), samples=20_000, seed=1234, max_patterns=40)
    assert result.num_patterns > 3
    for p in result.patterns:
        assert p.status == "bounded"
        assert p.lp_ok, (p.rank, p.lp_bound, p.sampled_max)
        assert np.all(p.lp_bound >= p.sampled_max - 1e-12)
    # The bound is the polytope's maximum, not a loose number: the biggest pattern's samples come close to it.
    big = result.patterns[0]
    assert np.all(big.sampled_max >= 0.8 * big.lp_bound)


def test_eq11_analysis_finds_the_linear_approximation():
    """Analysing the Eq. 11 net finds one affine map, equal to the linear approximation, with LP bound ~ 0."""
    result = analyze(linear_network(BOX), samples=20_000, seed=0)
    assert result.distinct_maps == 1
    for p in result.patterns:
        assert p.slope_gap < 1e-13 and p.intercept_gap < 1e-15
        assert p.lp_bound.max() < 1e-15
        np.testing.assert_allclose(p.slopes.reshape(4, 4), J_LIN, atol=1e-13)
        np.testing.assert_allclose(p.intercept, A0_INV, atol=1e-15)


def test_raw_scaling_maps_in_user_units():
    """The Eq. 11 net rewritten for raw inputs (vec A -> vec A^-1) has the same maps in user units: "
    "scaling is undone."""
    paper = linear_network(BOX)
    (w1, b1), (w2, b2) = [(w.numpy(), b.numpy()) for w, b in paper.layers]
    c, a0, k0 = BOX.radius, BOX.center.ravel(), A0_INV.ravel()
    raw_layers = [(w1 / c, b1 - w1 @ a0 / c), (c * w2, c * b2 + k0)]
    raw = network_from_weights(raw_layers, BOX, scaling="raw")
    a = BOX.sample(100, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(raw(a).numpy(), paper(a).numpy(), atol=1e-12, rtol=0)
    result = analyze(raw, samples=5_000, seed=0, max_patterns=4)
    assert result.distinct_maps == 1
    p = result.patterns[0]
    np.testing.assert_allclose(p.slopes.reshape(4, 4), J_LIN, atol=1e-9)
    assert p.intercept_gap < 1e-9 and p.lp_bound.max() < 1e-9


def test_empty_polytope_is_reported():
    """A pattern no matrix of the box can have (x1 - 0.5 > 0 while x1 + 0.5 <= 0) is reported as 'empty'."""
    layers = [(np.array([[1.0, 0, 0, 0], [1.0, 0, 0, 0]]), np.array([-0.5, 0.5])), (np.ones((4, 2)), np.zeros(4))]
    geo = Geometry(network_from_weights(layers, BOX))
    on = [np.array([True, False])]
    _, g_mat, g_vec = geo.affine(on)
    k, j = geo.user_map(g_mat, g_vec)
    bound, status = lp_bound(geo, on, k, j)
    assert bound is None and status == "empty"
    # A unit that never depends on the input: "on" is impossible when its constant is negative.
    layers = [(np.zeros((1, 4)), np.array([-1.0])), (np.ones((4, 1)), np.zeros(4))]
    geo = Geometry(network_from_weights(layers, BOX))
    assert lp_bound(geo, [np.array([True])], geo.k_lin, geo.j_lin)[1] == "empty"


def test_analyze_cli_outputs(tmp_path, capsys):
    """analyze prints the table, and with --out writes analysis.json, analysis.md and the figure."""
    ckpt = tmp_path / "net.safetensors"
    checkpoint.save_network(_random_net([4, 8, 4], 0), ckpt)
    out = tmp_path / "an"
    assert main(["analyze", str(ckpt), "--samples", "5000", "--max-patterns", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "activation patterns" in text and "LP bound" in text and "linear      b11" in text
    data = json.loads((out / "analysis.json").read_text())
    assert data["samples"] == 5000 and data["lp_ge_sampled"] is True
    assert abs(sum(p["share"] for p in data["patterns"]) + data["other_patterns_share"] - 1) < 1e-12
    assert (out / "analysis-patterns.png").stat().st_size > 0
    assert "](analysis-patterns.png)" in (out / "analysis.md").read_text()
    assert main(["analyze", str(ckpt), "--samples", "2000", "--json", "--no-lp"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patterns"][0]["lp_bound"] is None and data["patterns"][0]["status"] == "not bounded"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["analyze", "{tmp}/missing.safetensors"], "no such file"),
        (["analyze", "{ckpt}", "--samples", "0"], "--samples"),
        (["analyze", "{tmp}/junk.safetensors"], "not a safetensors file"),
    ],
)
def test_analyze_bad_input(tmp_path, capsys, argv, message):
    """Bad input gives exit code 2 and a one-line error."""
    ckpt = tmp_path / "net.safetensors"
    checkpoint.save_network(_random_net([4, 8, 4], 0), ckpt)
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    rc = main([a.format(tmp=tmp_path, ckpt=ckpt) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err


def test_report_section(tmp_path):
    """report_section returns the Markdown section, JSON-able results and the figure it wrote into out_dir."""
    ckpt = tmp_path / "net.safetensors"
    checkpoint.save_network(hand_built(), ckpt)
    section = report_section(ckpt, tmp_path / "report", samples=5000)
    assert section["markdown"].startswith("## What the network learned")
    assert "as the paper's Eq. 13" in section["markdown"] and "| 1 |" in section["markdown"]
    json.dumps(section["results"])
    assert section["results"]["samples"] == 5000
    for fig in section["figures"]:
        assert (tmp_path / "report" / "analysis-patterns.png").samefile(fig)


def test_same_seed_same_result():
    """The analysis is seeded: the same seed gives the same patterns and numbers."""
    net = _random_net([4, 8, 4], 5)
    r1, r2 = (analyze(net, samples=3000, seed=7, bound=False) for _ in range(2))
    assert [(p.bits, p.count) for p in r1.patterns] == [(p.bits, p.count) for p in r2.patterns]
    assert all(np.array_equal(p.sampled_max, q.sampled_max) for p, q in zip(r1.patterns, r2.patterns))
