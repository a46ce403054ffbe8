"""--region NAME|FILE on analyze, limits and bench: a region file saved from a preset acts as the preset itself, other
shapes work, and wrong sizes or missing files are one-line errors with exit code 2."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.experiments import limits
from neuralinv.nets.checkpoint import load_network, save_network
from neuralinv.nets.construction import linear_network
from neuralinv.nets.mlp import Network, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Ball

PRESET = "2x2-first"
SINGULAR_CENTER = [[1.0, 2.0], [2.0, 4.5]]  # limits.SINGULAR_BOX's centre: sigma_min = 0.092


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Checkpoints (a random 4-8-4 net and the Eq. 11 net on the preset's box) and region files."""
    tmp = tmp_path_factory.mktemp("regions")
    box = load_region(PRESET)
    layers = [(w, b * 2) for w, b in init_layers([4, 8, 4], 0)]
    save_network(Network(layers, box, Scaling.for_region(box, "paper")), tmp / "random.safetensors")
    save_network(linear_network(box), tmp / "eq11.safetensors")
    box.save(tmp / "first.json")
    Ball(box.center, 0.01, norm="fro").save(tmp / "ball-small.json")  # bounding box = the preset's box
    Ball(SINGULAR_CENTER, 0.2).save(tmp / "ball.json")  # holds a singular matrix
    limits.SINGULAR_BOX.save(tmp / "singular-box.json")
    load_region("3x3").save(tmp / "three.json")
    a = box.sample(200, generator=torch.Generator().manual_seed(3), dtype=torch.float32).numpy()
    np.save(tmp / "mats.npy", a)
    return tmp


def numbers(data: dict) -> dict:
    """The deterministic part of an analyze --json answer."""
    return {k: v for k, v in data.items() if k not in ("wall_time_s", "region_source")}


def test_analyze_preset_file_and_default_agree(files, capsys):
    """analyze over the preset, its saved region file and the checkpoint's own box gives the same JSON numbers."""
    runs = []
    for extra in ([], ["--region", PRESET], ["--region", files / "first.json"]):
        code, out, _ = run_cli(
            capsys,
            "analyze",
            files / "random.safetensors",
            "--samples",
            2000,
            "--max-patterns",
            4,
            "--seed",
            5,
            "--json",
            *extra,
        )
        assert code == 0
        runs.append(numbers(json.loads(out)))
    assert runs[0] == runs[1] == runs[2]
    assert runs[0]["lp_domain"] == "region" and runs[0]["lp_note"] is None and runs[0]["lp_ge_sampled"] is True


def test_analyze_ball_file_runs_lp_over_its_bounding_box(files, capsys):
    """A ball region: samples from the ball, LP over its bounding box (noted), bounds >= sampled maxima."""
    code, out, _ = run_cli(
        capsys,
        "analyze",
        files / "random.safetensors",
        "--samples",
        2000,
        "--max-patterns",
        4,
        "--region",
        files / "ball-small.json",
    )
    assert code == 0 and "ball" in out and "LP over the bounding box of a ball region" in out
    code, out, _ = run_cli(
        capsys,
        "analyze",
        files / "random.safetensors",
        "--samples",
        2000,
        "--max-patterns",
        4,
        "--region",
        files / "ball-small.json",
        "--json",
    )
    ball = json.loads(out)
    assert ball["region_shape"] == "ball" and ball["lp_domain"] == "bounding box"
    assert "bounds are valid, possibly loose" in ball["lp_note"] and ball["lp_ge_sampled"] is True
    # The ball's bounding box is the preset's box, so a pattern's LP bound is the one analyze finds over the box.
    code, out, _ = run_cli(
        capsys, "analyze", files / "random.safetensors", "--samples", 2000, "--max-patterns", 8, "--json"
    )
    box_bounds = {p["bits"]: p["lp_bound"] for p in json.loads(out)["patterns"]}
    shared = [p for p in ball["patterns"] if p["bits"] in box_bounds]
    assert shared
    for p in shared:
        np.testing.assert_allclose(p["lp_bound"], box_bounds[p["bits"]], rtol=1e-9, atol=1e-12)


def test_limits_counterexample_preset_and_file_agree(files, capsys):
    """counterexample: preset and file give the same certificate; a box file and its inline JSON the same x."""
    outs = [
        run_cli(capsys, "limits", "counterexample", files / "eq11.safetensors", "-E", "1e6", "--json", "--region", spec)
        for spec in (PRESET, files / "first.json")
    ]
    data = [json.loads(out) for code, out, _ in outs]
    assert all(code == 0 for code, _, _ in outs)
    for d in data:
        d.pop("region_note")
    assert data[0] == data[1] and data[0]["certified"]
    inline = json.dumps({"center": SINGULAR_CENTER, "radius": 0.08})
    outs = [
        run_cli(capsys, "limits", "counterexample", files / "eq11.safetensors", "-E", "1e6", "--json", "--region", spec)
        for spec in (files / "singular-box.json", inline)
    ]
    found = [json.loads(out) for _, out, _ in outs]
    assert found[0]["found"] and found[0]["x"] == found[1]["x"] and found[0]["path"] == found[1]["path"]


def test_limits_error_vs_distance_preset_and_file_agree(files, capsys):
    """error-vs-distance: the same samples and numbers from the preset name and from its region file."""
    outs = [
        run_cli(
            capsys,
            "limits",
            "error-vs-distance",
            files / "eq11.safetensors",
            "--samples",
            500,
            "--json",
            "--region",
            spec,
        )
        for spec in (PRESET, files / "first.json")
    ]
    data = [json.loads(out) for _, out, _ in outs]
    for d in data:
        d.pop("region_note")
    assert data[0] == data[1] and data[0]["samples"] == 500


def test_limits_with_a_ball_file(files, capsys):
    """A ball region file: the counterexample lies in the ball and passes an independent float64 check."""
    code, out, _ = run_cli(
        capsys,
        "limits",
        "counterexample",
        files / "eq11.safetensors",
        "-E",
        "1e6",
        "--json",
        "--region",
        files / "ball.json",
    )
    data = json.loads(out)
    assert code == 0 and data["found"] and data["region"]["shape"] == "ball"
    x = np.array(data["x"])
    ball = load_region(files / "ball.json")
    assert ball.contains(x)
    fx = load_network(files / "eq11.safetensors")(torch.from_numpy(x)[None]).double().numpy()[0]
    assert np.linalg.norm(np.linalg.inv(x) - fx) > 1e6
    code, out, _ = run_cli(
        capsys, "limits", "counterexample", files / "eq11.safetensors", "-E", "1e6", "--region", files / "ball.json"
    )
    assert code == 0 and "2x2 ball, radius 0.2" in out and "sigma_min(A0) - r" in out and "found:" in out
    code, out, _ = run_cli(
        capsys,
        "limits",
        "error-vs-distance",
        files / "eq11.safetensors",
        "--samples",
        500,
        "--json",
        "--region",
        files / "ball.json",
    )
    data = json.loads(out)
    assert code == 0 and data["box"]["shape"] == "ball" and data["certified_distance"] < 0


def test_bench_region_file_with_matrices(files, capsys):
    """bench --region FILE --matrices MATS.npy prints the ratios, the route and 0 bound violations."""
    code, out, _ = run_cli(
        capsys, "bench", "--region", files / "first.json", "--matrices", files / "mats.npy", "--repeats", 1
    )
    assert code == 0 and "ratio vs torch" in out and "200 float32 matrices" in out and "auto chose" in out
    header, _, row = out.strip().splitlines()[-3:]
    assert header.split()[-2:] == ["bound", "violations"] and row.split()[-1] == "0"
    runs = []
    for spec in (PRESET, files / "first.json"):
        code, out, _ = run_cli(capsys, "bench", "--region", spec, "--samples", 300, "--repeats", 1, "--json")
        assert code == 0
        r = json.loads(out)["certified"]["region_runs"][0]
        assert r["violations_total"] == 0 and r["route_chosen"] in ("fast", "exact") and r["route_why"]
        runs.append({k: r["assess"][k] for k in ("matrices", "fast_certified", "steps", "violations")})
    assert runs[0] == runs[1] and runs[0]["matrices"] == 300


@pytest.mark.parametrize("command", ["analyze", "counterexample", "bench"])
def test_region_of_wrong_size(files, capsys, command):
    """A 3x3 region file for a 2x2 checkpoint (or 2x2 matrices) is a one-line error naming both sizes, exit 2."""
    spec = files / "three.json"
    argv = {
        "analyze": ["analyze", files / "random.safetensors", "--samples", 100, "--region", spec],
        "counterexample": ["limits", "counterexample", files / "eq11.safetensors", "-E", 1, "--region", spec],
        "bench": ["bench", "--region", spec, "--matrices", files / "mats.npy"],
    }[command]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "3x3" in err and "2x2" in err


@pytest.mark.parametrize("command", ["analyze", "counterexample", "error-vs-distance", "bench"])
def test_missing_region_file(files, capsys, command):
    """A region file that does not exist is a one-line error naming it, exit 2."""
    spec = files / "no-such-region.json"
    argv = {
        "analyze": ["analyze", files / "random.safetensors", "--region", spec],
        "counterexample": ["limits", "counterexample", files / "eq11.safetensors", "-E", 1, "--region", spec],
        "error-vs-distance": ["limits", "error-vs-distance", files / "eq11.safetensors", "--region", spec],
        "bench": ["bench", "--region", spec],
    }[command]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(spec) in err
