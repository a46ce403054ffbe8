"""Sweep files: the spec is checked before any work starts, and expands into trials and packs as documented."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import get_model
from neuralinv.regions.shapes import Box, sigma_min
from neuralinv.sweep.spec import load_spec, packs, parse_spec, random_int_center

TINY = Path(__file__).resolve().parents[2] / "examples" / "sweeps" / "tiny.toml"


def test_tiny_example_expands_as_documented():
    spec = load_spec(TINY)
    assert spec.seeds == (0, 1) and len(spec.trials) == 8 and len(spec.units()) == 16
    for t in spec.trials:
        s = sigma_min(np.array(t.center_matrix))
        assert t.radius == pytest.approx(t.relative_radius * s / t.n)  # c = relative_radius * sigma_min(A0) / n
        assert Box(np.array(t.center_matrix), t.radius).certified_distance > 0
        assert t.steps == 300 and t.lr == 5e-5 and t.schedule == "paper"
    assert len({t.trial_id for t in spec.trials}) == 8
    # One pack per (n, model): the two radii and both seeds of a shape share one ensemble.
    assert sorted(len(p) for p in packs(spec.units(), 24)) == [4, 4, 4, 4]
    assert sorted(len(p) for p in packs(spec.units(), 3)) == [1, 1, 1, 1, 3, 3, 3, 3]


def test_random_int_center_is_the_16x16_presets():
    from neuralinv.paper.presets import get_dataset

    a, seed = random_int_center(16)
    assert seed == 1 and np.array_equal(a, get_dataset("16x16").region.center)
    a3, _ = random_int_center(3)
    assert set(np.unique(a3)) <= {-2, -1, 0, 1, 2} and sigma_min(a3) >= 2 * 3 * 0.01


def test_depth_width_and_random_search():
    spec = parse_spec(
        {
            "sweep": {"seeds": [0], "budget": "fast", "samples": 3, "search_seed": 1},
            "grid": {"n": [2], "radius": [0.01], "depth": [1, 3], "width": ["4n2", 20]},
            "random": {"lr": {"min": 1e-4, "max": 1e-2, "log": True}},
        }
    )
    widths = {(t.depth, t.width) for t in spec.trials}
    assert widths == {(1, 16), (1, 20), (3, 16), (3, 20)} and len(spec.trials) == 12
    assert all(1e-4 <= t.lr <= 1e-2 for t in spec.trials) and len({t.lr for t in spec.trials}) == 12
    assert {t.steps for t in spec.trials} == {15_625}  # "fast": a tenth of the paper's 156,250 for 2x2
    assert get_model(spec.trials[0].model).layer_sizes(2)[1] == spec.trials[0].width


BASE = {"sweep": {"seeds": [0], "steps": 10}, "grid": {"n": [2], "relative_radius": [0.5], "model": ["2fc"]}}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sweep": {"seeds": [0], "steps": 10, "stepz": 3}}, "unknown key"),
        ({"extra": {}}, "unknown section"),
        ({"grid": {"n": [], "relative_radius": [0.5], "model": ["2fc"]}}, "grid.n: an empty axis"),
        ({"grid": {"n": [2], "relative_radius": [1.5], "model": ["2fc"]}}, "may hold singular matrices"),
        ({"grid": {"n": [2], "radius": [5.0], "model": ["2fc"]}}, "n=2, center random-int, radius 5"),
        ({"grid": {"n": [2], "relative_radius": [0.5], "model": ["9fc"]}}, "unknown preset"),
        ({"grid": {"n": [2], "relative_radius": [0.5], "radius": [0.1], "model": ["2fc"]}}, "exactly one of relative"),
        ({"sweep": {"seeds": [0]}}, "exactly one of sweep.steps"),
        ({"sweep": {"seeds": [0], "budget": "huge"}}, "sweep.budget"),
        ({"grid": {"n": [2], "relative_radius": [0.5], "model": ["2fc"], "schedule": ["linear"]}}, "grid.schedule"),
        ({"grid": {"n": [2], "relative_radius": [0.5], "depth": [1], "width": ["8x"]}}, "multiple of n^2"),
        ({"sweep": {"seeds": [0], "steps": 10, "train_size": 10**12}}, "GiB"),
        ({"grid": {"n": [100], "relative_radius": [0.5], "model": ["2fc"]}}, "grid.n: 100 is above"),
    ],
)
def test_spec_errors(change, message):
    data = {**BASE, **change}
    with pytest.raises(InputError, match=message.replace("^", r"\^").replace("(", r"\(")):
        parse_spec(data)


def test_singular_centre_is_refused(tmp_path):
    """A region file whose centre is singular: sigma_min(A0) is rounding noise, so c = r sigma_min / n is too, and the
    spec must say so before any work (it had run, and every unit failed in the worker)."""
    (tmp_path / "sing.json").write_text(
        '{"format": "neuralinv-region", "format_version": 1, "shape": "box", '
        '"center": [[1, 2, 0], [2, 4, 0], [0, 0, 1]], "radius": 0.01}'
    )
    data = {
        "sweep": {"seeds": [0], "steps": 10},
        "grid": {"n": [3], "center": ["sing.json"], "relative_radius": [0.1], "model": ["2fc"]},
    }
    with pytest.raises(InputError, match="center sing.json .n=3. is singular to working precision"):
        parse_spec(data, base=tmp_path)
    data["grid"] = {"n": [3], "center": ["sing.json"], "radius": [0.001], "model": ["2fc"]}
    with pytest.raises(InputError, match="is singular to working precision"):
        parse_spec(data, base=tmp_path)


@pytest.mark.integration  # a subprocess
def test_cli_rejects_a_bad_spec_before_any_work(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep]\nseeds = [0]\nsteps = 10\n[grid]\nn = [2]\nrelative_radius = [1.0]\nmodel = ["2fc"]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "neuralinv", "sweep", "run", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "may hold singular matrices" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_fast_budget_is_the_recipe_the_search_found():
    """`--budget fast` (train.FAST_LR, a tenth of the steps) is a recipe that reached Table 1's MAE on all six 2x2 and
    3x3 cells in the recorded recipe search (docs/recipe), and its configuration is the one the search trained."""
    import csv
    import statistics

    from neuralinv.paper import numbers as paper
    from neuralinv.sweep.pack import config_for
    from neuralinv.training.train import FAST_LR, TrainConfig

    docs = Path(__file__).resolve().parents[2] / "docs" / "recipe"
    rows = [r for name in ("results-2x2.csv", "results-3x3.csv") for r in csv.DictReader(open(docs / name))]
    cells = {}
    for r in rows:
        if r["status"] == "ok" and float(r["lr"]) == FAST_LR and r["schedule"] == "paper" and r["batch_size"] == "128":
            cells.setdefault((r["center"], r["model"]), []).append(float(r["mae"]))
    assert len(cells) == 6 and all(len(v) == 3 for v in cells.values())
    assert all(statistics.mean(v) <= paper.TABLE1[cell] for cell, v in cells.items())
    spec = load_spec(docs / "recipe-3x3.toml")
    trial = next(
        t for t in spec.trials if t.lr == FAST_LR and t.schedule == "paper" and t.batch_size == 128 and t.model == "2fc"
    )
    searched, fast = config_for(trial, (0, 1, 2)), TrainConfig.resolve("3x3", "2fc", budget="fast")
    for field in (
        "steps",
        "epoch_steps",
        "lr",
        "batch_size",
        "t_0",
        "t_mult",
        "eta_min",
        "weight_decay",
        "train_size",
        "scaling",
        "seeds",
    ):
        assert getattr(fast, field) == getattr(searched, field), field


@pytest.mark.integration  # a subprocess
@pytest.mark.parametrize("command", [["sweep", "run", str(TINY)], ["reproduce", "--only", "table1"]])
def test_unreachable_address_is_a_one_line_error(tmp_path, command):
    """Nothing listens on port 1: a one-line error at once (Ray itself would retry for minutes), nothing written."""
    out = tmp_path / "out"
    start = __import__("time").perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "neuralinv", *command, "--out", str(out), "--address", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no Ray head answers there" in proc.stderr
    assert not out.exists() and __import__("time").perf_counter() - start < 30
