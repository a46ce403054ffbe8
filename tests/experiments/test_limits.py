"""Why can't: counterexamples hold up under an independent float64 check; certified boxes have none; tails are heavy."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.common.errors import InputError
from neuralinv.experiments import limits
from neuralinv.linalg.classical import taylor_inverse
from neuralinv.nets import checkpoint
from neuralinv.nets.construction import linear_network
from neuralinv.nets.mlp import Network
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.files import region_from_json
from neuralinv.regions.shapes import Box
from neuralinv.training.train import TrainConfig, train_ensemble

EPS = np.finfo(np.float64).eps


def independent_error(model, x: np.ndarray) -> float:
    """||inv(x) - F(x)||_F with numpy's LAPACK inverse, computed here, not by limits."""
    fx = model(torch.from_numpy(x)[None]).double().numpy()[0]
    return float(np.linalg.norm(np.linalg.inv(x) - fx))


def assert_verified(model, result, threshold, region=None):
    """x lies in the stated region (and in region, when given) and its error exceeds the threshold, in float64."""
    assert result.found, result.message
    x = np.asarray(result.x, dtype=np.float64)
    for box in (result.region, region or result.region):
        assert np.all(np.abs(x - box.center) <= box.radius)
    # float64 still resolves inv(x): its forward error cond(x) * eps is far below the margin checked
    assert np.linalg.cond(x) * EPS < 1e-4
    error = independent_error(model, x)
    assert error > threshold
    assert error == pytest.approx(result.error, rel=1e-6)
    assert np.linalg.svd(x, compute_uv=False)[-1] == pytest.approx(result.sigma_min, rel=1e-6)


def hand_built_eq11(box: Box) -> Network:
    """Eq. 11 built here from its formula: y = ReLU(M x) - ReLU(-M x), M = -kron(B, B^T), B = A0^-1."""
    b = np.linalg.inv(box.center)
    m = torch.from_numpy(-np.kron(b, b.T))
    d = m.shape[0]
    eye = torch.eye(d, dtype=torch.float64)
    layers = [
        (torch.cat([m, -m]), torch.zeros(2 * d, dtype=torch.float64)),
        (torch.cat([eye, -eye], 1), torch.zeros(d, dtype=torch.float64)),
    ]
    return Network(layers, box, Scaling.for_region(box, "paper"))


@pytest.fixture(scope="module")
def tiny_nets():
    """A 2-FC net trained briefly on the singular box and one on the paper's (safe) 2x2 (First) box."""
    torch.manual_seed(0)
    out = {}
    for name, box in (("singular", limits.SINGULAR_BOX), ("safe", get_dataset("2x2-first").region)):
        config = TrainConfig.on_region(box, "2fc", steps=300, train_size=2000, seeds=(0,), lr=1e-3)
        out[name] = train_ensemble(config, progress=False).networks[0]
    return out


@pytest.mark.parametrize("threshold", [1.0, 1e3, 1e6])
@pytest.mark.parametrize("dataset", ["2x2-first", "3x3", "16x16"])
def test_eq11_counterexample_is_verified(dataset, threshold):
    """On the Eq. 11 net, a counterexample is found in the widened box and confirmed in float64."""
    net = linear_network(get_dataset(dataset).region)
    result = limits.counterexample(net, threshold)
    assert "widened" in result.region_note and result.region.radius > net.region.radius
    assert result.region.certified_distance <= 0
    assert_verified(net, result, threshold)


@pytest.mark.parametrize("threshold", [10.0, 1e6])
@pytest.mark.parametrize("which", ["singular", "safe"])
def test_trained_net_counterexample_is_verified(tiny_nets, which, threshold):
    """A trained net fails too: on its own singular box, or on its safe box widened until it holds a singular matrix."""
    net = tiny_nets[which]
    result = limits.counterexample(net, threshold)
    assert ("own box" in result.region_note) == (which == "singular")
    assert_verified(net, result, threshold)
    # the model stays bounded while the inverse blows up
    assert result.model_norm < 1e3 < result.inverse_norm or threshold < 1e3


def test_hand_built_net_and_callable():
    """A hand-built Eq. 11 net equals Taylor-1; it and a plain callable give verified counterexamples in a given box."""
    box = limits.SINGULAR_BOX
    net = hand_built_eq11(box)
    a = box.sample(1000, generator=torch.Generator().manual_seed(1234))
    assert torch.allclose(net(a), taylor_inverse(a, torch.tensor(box.center), 1), rtol=1e-12, atol=1e-12)
    center = torch.tensor(box.center)
    callable_model = lambda m: taylor_inverse(m, center, 1)  # noqa: E731
    for model in (net, callable_model):
        result = limits.counterexample(model, 1e6, region=box)
        assert result.region_note.startswith("the given box")
        assert_verified(model, result, 1e6, region=box)


def test_singular_matrix_found_away_from_the_nearest_one():
    """In 0.1 I +- 0.07 the nearest singular matrix (0.1 away) lies outside, but [[.05, .05], [.05, .05]] is inside."""
    box = Box(0.1 * np.eye(2), 0.07)
    assert not box.contains(limits.nearest_singular(box.center)[0])
    point = limits.find_singular(box)
    assert point is not None and box.contains(point.matrix)
    assert point.singular_values[-1] < 1e-12 * point.singular_values[0]
    model = lambda m: 10 * torch.eye(2, dtype=torch.float64).expand_as(m)  # noqa: E731
    assert_verified(model, limits.counterexample(model, 1e6, region=box), 1e6, region=box)


def test_safe_box_is_certified_without_counterexample(tiny_nets, gen):
    """A box with sigma_min(A0) - n c > 0 is certified: no x is returned, and 1/distance bounds ||A^-1||_2 there."""
    box = get_dataset("2x2-first").region
    result = limits.counterexample(tiny_nets["safe"], 1e6, region=box)
    assert result.certified and not result.found and result.x is None
    assert result.max_inverse_norm == pytest.approx(1 / box.certified_distance)
    a = box.sample(10_000, generator=gen).numpy()
    assert np.linalg.norm(np.linalg.inv(a), 2, axis=(-2, -1)).max() <= result.max_inverse_norm
    assert "certified" in result.message


def test_exact_inverse_is_no_counterexample():
    """A model that is the inverse itself never passes: rounding in inv(x) is subtracted before comparing with E."""
    box = limits.SINGULAR_BOX
    result = limits.counterexample(lambda m: torch.linalg.inv(m), 1e6, region=box)
    assert not result.found and "float64 stops resolving" in result.message


@pytest.mark.parametrize("threshold", [0, -1.0, float("nan"), float("inf"), "big"])
def test_bad_threshold(threshold):
    with pytest.raises(InputError, match="threshold"):
        limits.counterexample(linear_network(get_dataset("2x2-first").region), threshold)


def test_region_of_wrong_size():
    with pytest.raises(InputError, match="3x3 box, but the model is for 2x2"):
        limits.counterexample(linear_network(get_dataset("2x2-first").region), 1.0, region=get_dataset("3x3").region)


def test_hill_estimate_on_pareto(rng):
    """Hill's estimator recovers alpha = 1 from a Pareto sample, to about 3 standard errors."""
    x = rng.pareto(1.0, 200_000) + 1
    assert limits.hill_tail_index(x, 2000) == pytest.approx(1.0, abs=3 / 2000**0.5)


def test_moments_grow_on_singular_box_and_settle_on_safe_box():
    """Singular box: tail index about 1 and the k = 5 estimate explodes; safe box: bounded error, moments flat."""
    singular = limits.moment_growth(linear_network(limits.SINGULAR_BOX), limits.SINGULAR_BOX, max_samples=200_000)[
        "summary"
    ]
    assert 0.8 < singular["tail_index"] < 1.2
    assert singular["growth"]["5"] > 1e6 and singular["slope"]["2"] > 0.5
    box = get_dataset("2x2-first").region
    safe = limits.moment_growth(linear_network(box), box, max_samples=20_000)["summary"]
    assert safe["tail_index"] > 3
    assert all(0.8 < g < 1.25 for g in safe["growth"].values())
    assert all(0.9 < g < 1.1 for g in safe["last_decade_growth"].values())


def test_error_vs_distance_slope():
    """Near the singular set the error follows 1 / sigma_min: log-log slope about -1."""
    box = limits.SINGULAR_BOX
    result = limits.error_vs_distance({"eq11": linear_network(box)}, box, samples=20_000)
    assert result["summary"]["models"]["eq11"]["slope_near_singular"] == pytest.approx(-1, abs=0.15)
    assert result["summary"]["inverse_slope"] == pytest.approx(-1, abs=0.05)


def test_report_section_at_a_tiny_budget(tmp_path, monkeypatch):
    """The report section writes its figures and returns Markdown naming them and JSON-able results."""
    monkeypatch.setitem(
        limits.BUDGET_SETTINGS,
        "quick",
        {"steps": 50, "train_size": 1000, "seeds": (0,), "lr": 1e-3, "scatter": 2000, "moment_samples": 20_000},
    )
    section = limits.report_section(tmp_path, budget="quick", progress=False)
    assert len(section["figures"]) == 3
    for path in section["figures"]:
        assert path.endswith(".png") and (tmp_path / path.split("/")[-1]).stat().st_size > 1000
        assert path.split("/")[-1] in section["markdown"]
    results = json.loads(json.dumps(section["results"]))
    assert all(ce["found"] for ce in results["counterexamples"].values())
    assert results["safe_box_certificate"]["certified"]
    assert "Why can't" in section["markdown"] and "tail index" in section["markdown"].lower()


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def eq11_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "eq11.safetensors"
    checkpoint.save_network(linear_network(get_dataset("2x2-first").region), path)
    return path


def test_cli_counterexample_json(capsys, eq11_checkpoint):
    """The command's x passes the independent check against the checkpoint as loaded from disk."""
    code, out, _ = run_cli(capsys, "limits", "counterexample", str(eq11_checkpoint), "--threshold", "1e6", "--json")
    data = json.loads(out)
    assert code == 0 and data["found"] and "widened" in data["region_note"]
    x, box = np.array(data["x"]), region_from_json(data["region"])
    assert box.contains(x)
    assert independent_error(checkpoint.load_network(eq11_checkpoint), x) > 1e6


def test_cli_counterexample_certified_region(capsys, eq11_checkpoint):
    code, out, _ = run_cli(
        capsys, "limits", "counterexample", str(eq11_checkpoint), "-E", "1e6", "--region", "2x2-first"
    )
    assert code == 0 and "certified" in out and "no counterexample" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threshold", "0"], "threshold"),
        (["--threshold", "-3"], "threshold"),
        (["-E", "1", "--region", "3x3"], "3x3 box, but the model is for 2x2"),
        (["-E", "1", "--region", '{"center": [[1, 2, 3]], "radius": 0.1}'], "square"),
        (["-E", "1", "--region", '{"center": [[1, 2], [3, 4]]}'], "center and radius"),
        (["-E", "1", "--region", "no-such-preset"], "preset"),
        (["-E", "1", "--radius", "-1"], "radius"),
    ],
)
def test_cli_bad_input(capsys, eq11_checkpoint, argv, message):
    code, _, err = run_cli(capsys, "limits", "counterexample", str(eq11_checkpoint), *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_experiments_run(capsys, eq11_checkpoint, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "limits",
        "error-vs-distance",
        str(eq11_checkpoint),
        "--samples",
        "2000",
        "--plot",
        str(tmp_path / "evd.png"),
    )
    assert code == 0 and "slope near the singular set" in out and (tmp_path / "evd.png").is_file()
    code, out, _ = run_cli(capsys, "limits", "moments", str(eq11_checkpoint), "--max-samples", "20000", "--json")
    data = json.loads(out)
    assert code == 0 and data["sizes"][-1] == 20_000 and set(data["typical"]) == {"1", "2", "5"}


def test_cli_help_explains_each_experiment(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["limits", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for name in ("counterexample", "error-vs-distance", "moments", "report"):
        assert name in out
