"""The bench's fast paths compute what the plain ones do; its timing and roofline arithmetic are right.

No assertion here is about speed: timings on a shared machine are noise for a test (benchmarks/ holds the claims
about speed).
"""

import json
import time

import numpy as np
import pytest
import torch

from neuralinv.bench import batch_timing, frontier, networks, paths, roofline
from neuralinv.bench import table3 as t3
from neuralinv.cli import bench as cli_bench
from neuralinv.cli import main
from neuralinv.linalg.classical import METHODS, Classical, newton_schulz, taylor_inverse
from neuralinv.nets import mlp as models
from neuralinv.nets.checkpoint import save
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import get_dataset
from neuralinv.training.data import test_set as sample_test_set

EPS32 = float(torch.finfo(torch.float32).eps)


def assert_matches_plain(fast_out, plain_out, net):
    """Equal to float32 rounding in the network's own units, y = (A^-1 - offset) / s."""
    scale = net.scaling.target_scale
    y = (plain_out - torch.tensor(net.scaling.target_offset).view(plain_out.shape[-2:])) / scale
    atol = 100 * EPS32 * scale * (1 + float(y.abs().max()))
    assert fast_out.dtype == torch.float64
    assert fast_out.shape == plain_out.shape
    assert float((fast_out - plain_out).abs().max()) <= atol


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3"])
@pytest.mark.parametrize("model", ["2fc", "3fc", "2fc-small"])
@pytest.mark.parametrize("rows", [1, 5, 300])
def test_fast_network_matches_network_call(dataset, model, rows):
    """FastNetwork equals Network.forward_reference to float32 rounding on both plans (float64 small, float32 large)."""
    net = networks.random_network(dataset, model, seed=3)
    fast = models.FastNetwork(net)
    a, _ = sample_test_set(net.box, rows, seed=7)
    assert fast.plan_name(rows) == ("float64" if rows <= fast.SMALL_ROWS else "float32")
    assert_matches_plain(fast(a), net.forward_reference(a), net)


def test_fast_network_large_net_uses_float32_for_small_batches():
    """A 16x16 net's weights are too many for the float64 plan; it still matches, at one matrix and at many."""
    net = networks.random_network("16x16", "2fc", seed=1)
    fast = models.FastNetwork(net)
    assert fast.folded is None and fast.plan_name(1) == "float32"
    a, _ = sample_test_set(net.box, 70, seed=2)
    assert_matches_plain(fast(a), net.forward_reference(a), net)
    assert_matches_plain(fast(a[0]), net.forward_reference(a[0]), net)


def test_fast_network_batch_shapes_dtypes_and_fresh_outputs():
    """Any (..., n, n) batch works, float32 input too, and each call returns a new tensor (buffers never alias)."""
    net = networks.random_network("2x2-second", "3fc", seed=0)
    fast = models.FastNetwork(net)
    a, _ = sample_test_set(net.box, 600, seed=5)
    for batch in [a[0], a[:6].reshape(2, 3, 2, 2), a[:600].reshape(3, 200, 2, 2)]:
        assert_matches_plain(fast(batch), net.forward_reference(batch), net)
    assert_matches_plain(fast(a[:100].float()), net.forward_reference(a[:100].float()), net)
    first = fast(a[:300])
    kept = first.clone()
    fast(a[300:600])
    assert torch.equal(first, kept)


def test_fast_network_eq11_equals_linear_approximation():
    """The exact Eq. 11 net through the fast path gives Taylor-1, as through Network.forward_reference."""
    box = get_dataset("2x2-first").region
    fast = models.FastNetwork(linear_network(box))
    a, _ = sample_test_set(box, 500, seed=1)
    t1 = taylor_inverse(a, torch.tensor(box.center), 1)
    assert float((fast(a) - t1).abs().max()) < 1e-6 * box.radius * 10
    assert float((fast(a[:3]) - t1[:3]).abs().max()) < 1e-6 * box.radius * 10


def test_fast_network_rejects_wrong_size():
    """A matrix of the wrong size is an InputError (a ValueError)."""
    fast = models.FastNetwork(networks.random_network("2x2-first", "2fc"))
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 2\)"):
        fast(torch.zeros(4, 3, 3, dtype=torch.float64))


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3", "16x16"])
def test_classical_fast_paths_match_baselines(dataset):
    """Precomputed Taylor-1/2 and Newton-Schulz equal baselines' functions to float64 rounding."""
    box = get_dataset(dataset).region
    a, _ = sample_test_set(box, 200, seed=4)
    center = torch.tensor(box.center)
    cl = Classical(box)
    atol = 1e3 * np.finfo(np.float64).eps * float(np.abs(box.center_inverse).max())
    t1 = taylor_inverse(a, center, 1)
    torch.testing.assert_close(cl.taylor1(a), t1, rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor2(a), taylor_inverse(a, center, 2), rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor1_ns1(a), newton_schulz(a, t1, 1), rtol=0, atol=atol)
    torch.testing.assert_close(cl.taylor1(a[0]), t1[0], rtol=0, atol=atol)
    assert tuple(cl.methods()) == METHODS and cl.methods()["taylor1+ns1"] == cl.taylor1_ns1


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3"])
def test_exact_paths_agree_with_numpy(dataset):
    box = get_dataset(dataset).region
    a, _ = sample_test_set(box, 100, seed=6)
    ref = torch.from_numpy(np.linalg.inv(a.numpy()))
    found = paths.classical_paths(box)
    assert {"exact closed form", "numpy.linalg.inv", "torch.linalg.inv", *METHODS} == set(found)
    for name, (kind, fn) in found.items():
        if kind == "exact":
            torch.testing.assert_close(fn(a), ref, rtol=1e-12, atol=1e-12)


def test_time_batches_counts_and_scales_a_prefix():
    """A long loop is cut to a prefix (at least the probe's 20 calls) and its time scaled to 10,000 matrices."""
    chunks = [torch.zeros(2, 2)] * 1000
    m = batch_timing.time_batches(
        lambda c: time.sleep(1e-3), chunks, batch=1, repeats=2, max_pass_s=0.005, min_total_s=0
    )
    assert m.calls == 20 and m.matrices == 20 and len(m.timing.times) == 2
    assert m.seconds > 0
    whole = batch_timing.time_batches(
        lambda c: None, batch_timing.split(torch.zeros(250, 2, 2), 100, 250), batch=100, repeats=1, min_total_s=0
    )
    assert whole.calls == 3 and whole.matrices == 250


def test_time_batches_repeats_short_passes_more():
    """A pass far shorter than min_total_s is sampled up to 100 times; the median is over all samples."""
    m = batch_timing.time_batches(lambda c: None, [torch.zeros(2, 2)], batch=1, repeats=3, min_total_s=10.0)
    assert len(m.timing.times) == 100 and m.to_json()["repeats"] == 100


def test_split_shapes():
    a = torch.zeros(300, 3, 3)
    assert [c.shape for c in batch_timing.split(a, 100, 300)] == [(100, 3, 3)] * 3
    singles = batch_timing.split(a, 1, 7)
    assert len(singles) == 7 and singles[0].shape == (3, 3)


def test_roofline_known_case():
    """4-32-4 at 10,000 matrices: 5.12 MFLOP; float64 in and out plus float32 weights; bound is the larger term."""
    assert roofline.mlp_flops([4, 32, 4], 10_000) == 2 * 10_000 * (4 * 32 + 32 * 4)
    assert (
        roofline.mlp_bytes([4, 32, 4], 10_000, in_bytes=8, out_bytes=8)
        == 10_000 * (4 * 8 + 4 * 8) + (4 * 32 + 32 + 32 * 4 + 4) * 4
    )
    assert roofline.roofline_bound(1e9, 1e9, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.1)
    assert roofline.roofline_bound(1e10, 1e8, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.1)
    assert roofline.roofline_bound(1e9, 1e8, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.01)


def test_machine_rates_are_positive():
    assert roofline.measure_gemm_rate(size=128, repeats=1) > 0
    assert roofline.measure_bandwidth(mbytes=4, repeats=1) > 0
    assert roofline.measure_op_overhead(repeats=1, calls=10) > 0


def test_paper_times():
    assert t3.paper_times("3fc", 16)["cpu_bs1"] == 25.887
    assert t3.paper_times("3fc", 16)["exact_cpu"] == 1.196  # printed on the 2-FC row of the same size
    assert t3.paper_times("2fc", 5) is None


FAKE_RATES = {"gemm_flops": 1e10, "bandwidth": 1e10, "op_overhead_s": 1e-6}


@pytest.fixture(scope="module")
def tiny_table():
    box = get_dataset("2x2-first").region
    settings = t3.Settings(repeats=1, max_pass_s=0.01, total=200, batches=(1, 100))
    return t3.table3(
        "cpu",
        datasets=("2x2-first",),
        models=("2fc",),
        settings=settings,
        networks={("2x2-first", "2fc"): linear_network(box)},
        rates=FAKE_RATES,
    )


def test_table3_rows_and_answers(tiny_table):
    """Every path gets a time per batch size; MAEs are checked before timing; networks carry their roofline."""
    rows = {(r["method"], r["variant"]): r for r in tiny_table["rows"]}
    assert {
        ("taylor1", None),
        ("taylor2", None),
        ("taylor1+ns1", None),
        ("exact closed form", None),
        ("numpy.linalg.inv", None),
        ("torch.linalg.inv", None),
        ("2fc", "full"),
        ("2fc", "plain"),
        ("2fc", "mlp"),
    } == set(rows)
    for r in rows.values():
        assert set(r["times"]) == {"1", "100"}
        assert all(t["seconds"] > 0 for t in r["times"].values())
    assert rows[("exact closed form", None)]["mae"] < 1e-14
    t1 = rows[("taylor1", None)]["mae"]
    assert 1e-4 < t1 < 4e-4  # the paper's linear approximation, 1.97e-4 on 10,000 matrices
    assert rows[("taylor2", None)]["mae"] < t1 / 10
    # The Eq. 11 net is the linear approximation: same MAE through both network paths.
    assert rows[("2fc", "full")]["mae"] == pytest.approx(t1, rel=1e-3)
    assert rows[("2fc", "plain")]["mae"] == pytest.approx(t1, rel=1e-3)
    full = rows[("2fc", "full")]
    assert full["bound_s"] == pytest.approx(
        roofline.roofline_bound(full["flops"], full["bytes"], gemm_rate=1e10, bandwidth=1e10)
    )
    assert full["ratio"] == pytest.approx(full["seconds"] / full["bound_s"])
    assert (full["miss"] is None) == (full["ratio"] <= roofline.ROOFLINE_TARGET)
    assert full["paper"]["cpu_bs1"] == 1.703
    assert full["max_abs_diff_vs_plain"] < 1e-8
    json.dumps(tiny_table)  # the whole result is JSON


def test_frontier_figure_writes_png(tiny_table, tmp_path):
    path = tmp_path / "frontier.png"
    frontier.frontier_figure(tiny_table, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_networks_from_runs(tmp_path):
    """Run directories are found recursively; the lowest seed's checkpoint is used."""
    run = tmp_path / "runs" / "first-2fc"
    run.mkdir(parents=True)
    for seed in (1, 0):
        net = networks.random_network("2x2-first", "2fc", seed=seed)
        save(net, run / f"seed-{seed}.safetensors")
    (run / "run.json").write_text(
        json.dumps(
            {
                "config": {"dataset": "2x2-first", "model": "2fc"},
                "checkpoints": {"1": "seed-1.safetensors", "0": "seed-0.safetensors"},
            }
        )
    )
    found = networks.networks_from_runs([tmp_path])
    assert set(found) == {("2x2-first", "2fc")}
    expected = networks.random_network("2x2-first", "2fc", seed=0)
    assert torch.equal(found[("2x2-first", "2fc")].layers[0][0], expected.layers[0][0])


def test_cli_bench_bad_input(capsys):
    assert main(["bench", "--device", "tpu"]) == 2
    assert "--device" in capsys.readouterr().err
    assert main(["bench", "--repeats", "0"]) == 2
    assert main(["bench", "--runs", "/nonexistent/dir"]) == 2


def test_cli_bench_runs_and_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_bench, "measure_rates", lambda device, quick=False: FAKE_RATES)  # measured above
    out = tmp_path / "b"
    code = main(
        [
            "bench",
            "--quick",
            "--datasets",
            "2x2-second",
            "--models",
            "2fc",
            "--repeats",
            "1",
            "--max-pass",
            "0.01",
            "--threads",
            str(torch.get_num_threads()),
            "--out",
            str(out),
            "--sections",
            "inference",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Table 3" in text and "Roofline" in text
    data = json.loads((out / "bench.json").read_text())
    assert data["inference"]["device"] == "cpu"
    assert (out / "frontier.png").is_file() and (out / "bench.md").read_text().startswith("# neuralinv bench")


def test_short_training_records_its_steps():
    nets = networks.short_training(["3x3"], ["2fc-small"], steps=3)
    net = nets[("3x3", "2fc-small")]
    assert net.info["trained_steps"] == 3 and net.layer_sizes == [9, 18, 9]


def test_bench_rejects_unknown_section(capsys):
    assert main(["bench", "--sections", "inference,warp"]) == 2
    assert "warp" in capsys.readouterr().err
