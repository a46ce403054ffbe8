"""Table 3: every path checked then timed at each batch size, networks with their roofline; the frontier figure."""

import json

import pytest

from neuralinv.bench import frontier, roofline
from neuralinv.bench import table3 as t3
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import get_dataset


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


def test_frontier_figure_draws_one_panel_per_data_set(tiny_table, tmp_path):
    """One data set gives one 6.2 x 4.6 inch panel at 120 dpi; two give two side by side; the panels are drawn."""
    import matplotlib.image

    path = tmp_path / "frontier.png"
    frontier.frontier_figure(tiny_table, path)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (552, 744)
    assert (image[..., :3] < 0.5).any()  # markers, labels and axes, not a blank page
    twice = {**tiny_table, "rows": tiny_table["rows"] + [{**r, "dataset": "copy"} for r in tiny_table["rows"]]}
    frontier.frontier_figure(twice, path)
    assert matplotlib.image.imread(path).shape[:2] == (552, 1488)
