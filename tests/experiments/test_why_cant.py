"""Why can't, the awkward cases: a singular centre, or a box holding singular matrices of any rank, is handled
cleanly by train, evaluate, limits counterexample and region (a result or a one-line reason, never a traceback)."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.cli.train import print_summary
from neuralinv.common.errors import InputError
from neuralinv.experiments import limits
from neuralinv.nets import checkpoint
from neuralinv.nets.construction import linear_network
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Box, sigma_min
from neuralinv.training.runs import run_training
from neuralinv.training.train import TrainConfig

ZERO_BOX = Box(np.zeros((3, 3)), 1.0)  # entries uniform in [-1, 1]: the centre is the zero matrix (rank 0)
TAYLOR = {"taylor1", "taylor2", "taylor1+ns1"}


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tiny_config(box: Box, scaling: str) -> TrainConfig:
    return TrainConfig.on_region(
        box, "2fc", steps=50, train_size=1000, seeds=(0,), scaling=scaling, test_size=500, lr=1e-3
    )


@pytest.fixture(scope="module")
def zero_run(tmp_path_factory):
    """A 2-FC net trained 50 steps with raw scaling on the zero-centre 3x3 box: (run directory, run.json)."""
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("zero-run")
    return out, run_training(tiny_config(ZERO_BOX, "raw"), out, progress=False)


def test_raw_scaling_trains_on_a_singular_centre(zero_run, capsys):
    """Raw scaling trains on a box around the zero matrix; run.json records the linear MAE as null, the summary n/a."""
    out, summary = zero_run
    assert (out / "seed-0.safetensors").is_file() and (out / "run.json").is_file()
    assert np.isfinite(summary["test_mae"]["0"])
    assert summary["linear_mae"] is None
    assert json.loads((out / "run.json").read_text())["linear_mae"] is None
    assert not TAYLOR & set(summary["per_seed"]["0"])
    print_summary(summary, out)
    text = capsys.readouterr().out
    assert "linear approximation: n/a (singular centre)" in text and "custom 3x3 box" in text


@pytest.mark.parametrize("center", [np.zeros((3, 3)), np.array([[1.0, 2.0], [2.0, 4.0]])])
def test_paper_scaling_is_refused_on_a_singular_centre(center):
    """The paper's scaling needs A0^-1: on a singular centre it is refused up front with a one-line reason and fix."""
    box = Box(center, 0.5)
    with pytest.raises(InputError) as err:
        TrainConfig.on_region(box, "2fc", steps=10, train_size=1000, scaling="paper")
    message = str(err.value)
    assert "--scaling raw" in message and "sigma_min(A0) = " in message and "A0^-1" in message
    assert "\n" not in message
    with pytest.raises(InputError, match="--scaling raw"):
        Scaling.for_region(box, "paper")
    assert Scaling.for_region(box, "raw").name == "raw"


def test_evaluate_skips_the_taylor_baselines_and_says_why(zero_run, capsys):
    """evaluate on a singular-centre checkpoint exits 0, lists the skipped Taylor baselines and has no rows for them."""
    out, _ = zero_run
    code, text, err = run_cli(capsys, "evaluate", out / "seed-0.safetensors", "--test-size", 500, "--json")
    data = json.loads(text)
    assert code == 0 and err == ""
    assert set(data["skipped_baselines"]) == TAYLOR
    assert all("the centre is singular (sigma_min(A0) = 0)" in why for why in data["skipped_baselines"].values())
    assert set(data["metrics"]) == {"seed-0", "exact"}
    code, text, _ = run_cli(capsys, "evaluate", out, "--test-size", 500)
    left_out = [line for line in text.splitlines() if line.startswith("left out")]
    assert code == 0 and len(left_out) == 1 and "taylor1, taylor2, taylor1+ns1" in left_out[0]
    assert "singular" in left_out[0] and "seed 0" in text


def test_evaluate_on_an_invertible_centre_skips_nothing(capsys, tmp_path):
    """A regular centre keeps every baseline, and the JSON says that nothing was skipped."""
    checkpoint.save_network(linear_network(Box(np.diag([1.0, 2.0]), 0.1)), tmp_path / "eq11.safetensors")
    code, text, _ = run_cli(capsys, "evaluate", tmp_path / "eq11.safetensors", "--test-size", 200, "--json")
    data = json.loads(text)
    assert code == 0 and data["skipped_baselines"] == {} and TAYLOR <= set(data["metrics"])


def test_counterexample_on_the_zero_centre_is_verified_with_numpy(zero_run, capsys):
    """limits counterexample on the zero-centre net exits 0 and its x has ||inv(x) - F(x)||_F > E by numpy's inverse."""
    out, _ = zero_run
    path = out / "seed-0.safetensors"
    threshold = 1e3
    code, text, err = run_cli(capsys, "limits", "counterexample", path, "--threshold", threshold, "--json")
    data = json.loads(text)
    assert code == 0 and err == "" and data["found"], data["message"]
    x = np.array(data["x"])
    assert np.all(np.abs(x) <= 1.0)  # in the box
    assert np.linalg.svd(np.array(data["singular_matrix"]), compute_uv=False)[0] == 0  # it stepped off A0 = 0 itself
    net = checkpoint.load_network(path)
    fx = net(torch.from_numpy(x)[None]).double().numpy()[0]
    assert np.linalg.norm(np.linalg.inv(x) - fx) > threshold
    code, text, err = run_cli(capsys, "limits", "counterexample", path, "--threshold", threshold)
    assert code == 0 and "found: " in text and "Traceback" not in err + text and "rank 0" in text


@pytest.mark.parametrize(
    "center",
    [np.zeros((4, 4)), np.outer([1.0, 2, 3, 4], [1.0, 0, -1, 2]), np.diag([1.0, 1, 0, 0])],
    ids=["rank0", "rank1", "rank2"],
)
def test_counterexample_at_any_rank(center):
    """From a singular centre of rank 0, 1 or n-2, the step direction makes sigma_min(S + t D) = t and a bounded
    model is beaten; a model tracking the inverse itself yields 'not found', not a crash."""
    box = Box(center, 0.5)
    point = limits.find_singular(box)
    u0, v0, gap = limits.null_directions(point.matrix)
    assert u0.shape[1] == 4 - np.linalg.matrix_rank(center)
    d, t_max, _ = limits.step_direction(point.matrix, box)
    for t in (0.25 * min(t_max, gap, 1.0), 1e-6):
        assert sigma_min(point.matrix + t * d) == pytest.approx(t, rel=1e-6)
    zero_model = lambda a: torch.zeros_like(a)  # noqa: E731
    result = limits.counterexample(zero_model, 1e4, region=box)
    assert result.found and np.linalg.norm(np.linalg.inv(result.x)) > 1e4 and box.contains(result.x)
    exact = limits.counterexample(lambda a: torch.linalg.inv(a), 1e4, region=box, max_steps=20)
    assert not exact.found and "no counterexample" in exact.message


def test_verify_reports_a_singular_matrix_instead_of_raising():
    """verify() of an exactly singular x gives an infinite error that never counts as a counterexample."""
    check = limits.verify(lambda a: torch.zeros_like(a), np.zeros((3, 3)), ZERO_BOX, 1.0)
    assert check["sigma_min"] == 0 and check["error"] == np.inf and not check["exceeds"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--center", "[[0,0],[0,0]]", "--radius", "1"],
        ["--center", "[[1,2],[2,4]]", "--radius", "0.1"],
        ["--center", "[[1,2],[2,4]]", "--radius", "1e-30"],  # sigma_min(A0) - n c > 0, but sigma_min(A0) is rounding
    ],
)
def test_region_with_a_singular_centre_exits_3_with_its_report(capsys, argv):
    """region on a singular centre exits 3 and prints its JSON or text report, with the warning on stderr."""
    code, out, err = run_cli(capsys, "region", *argv, "--samples", 1000, "--json")
    info = json.loads(out)
    assert code == 3 and info["center_singular"] and not info["avoids_M_eps"]
    assert info["center_sigma_min"] < 1e-12 and info["sampled_min_distance"] <= info["center_sigma_min"]
    assert "singular" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "region", *argv, "--samples", 1000)
    assert code == 3 and "sigma_min(A0)" in out and "certified distance" in out and "singular" in err


def test_zero_centre_region_json_values(capsys):
    """The zero 2x2 centre, c = 1: sigma_min(A0) = 0, certified distance -2, the sampled minimum 0 (the centre)."""
    code, out, _ = run_cli(capsys, "region", "--center", "[[0,0],[0,0]]", "--radius", 1, "--json", "--samples", 100)
    info = json.loads(out)
    assert code == 3 and info["center_sigma_min"] == 0 and info["certified_distance"] == -2
    assert info["sampled_min_distance"] == 0


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--center", "[[1, 2, 3], [4, 5, 6]]", "--radius", "0.1"], "(2, 3)"),
        (["--center", "[[1, NaN], [0, 1]]", "--radius", "0.1"], "nan"),
        (["--center", "[[0, 0], [0, 0]]"], "--radius"),
    ],
)
def test_region_bad_input_still_exits_2(capsys, argv, needle):
    """Truly bad input (not square, NaN, no radius) still exits 2 with a one-line error and no report."""
    code, out, err = run_cli(capsys, "region", *argv)
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1
