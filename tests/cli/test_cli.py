"""The command line: every bad input gets a one-line error naming the value, and a non-zero exit."""

import json

import numpy as np
import pytest

from neuralinv.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_json(capsys):
    code, out, _ = run_cli(capsys, "presets", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["datasets"]["2x2-first"]["center"] == [[2.0, 2.0], [2.0, 3.0]]
    assert data["datasets"]["16x16"]["radius"] == 0.01
    assert data["models"]["2fc"]["layer_sizes"]["3x3"] == [9, 72, 9]
    assert data["models"]["3fc"]["layer_sizes"]["16x16"] == [256, 2048, 2048, 256]
    assert data["models"]["2fc-small"]["layer_sizes"]["2x2-first"] == [4, 8, 4]


def test_presets_text(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0 and "2x2-second" in out and "4-32-32-4" in out


def test_region_certifies_preset(capsys):
    code, out, _ = run_cli(capsys, "region", "--dataset", "2x2-first", "--json", "--samples", "1000")
    info = json.loads(out)
    assert code == 0 and info["avoids_M_eps"]
    assert info["center_sigma_min"] == pytest.approx((5 - 17**0.5) / 2)
    assert info["certified_distance"] == pytest.approx(info["center_sigma_min"] - 0.02)
    assert info["sampled_min_distance"] >= info["certified_distance"]
    assert info["radius"] == 0.01 and "half-width c = 0.01" in info["radius_meaning"]


def test_region_eps_warning(capsys):
    code, _, err = run_cli(
        capsys, "region", "--center", "[[2, 2], [2, 3]]", "--radius", "0.01", "--eps", "0.5", "--samples", "100"
    )
    assert code == 0 and "M_eps" in err


def test_region_from_npy(capsys, tmp_path):
    np.save(tmp_path / "c.npy", np.diag([1.0, 2.0, 3.0]))
    code, out, _ = run_cli(
        capsys, "region", "--center", str(tmp_path / "c.npy"), "--radius", "0.1", "--json", "--samples", "100"
    )
    assert code == 0 and json.loads(out)["certified_distance"] == pytest.approx(0.7)


def test_region_touching_singular_set_exits_nonzero(capsys):
    code, _, err = run_cli(capsys, "region", "--center", "[[1, 2], [2, 4.001]]", "--radius", "0.01", "--samples", "100")
    assert code == 3 and "not certified" in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["region", "--center", "[[1, 2, 3], [4, 5, 6]]", "--radius", "0.1"], "(2, 3)"),
        (["region", "--center", "[[1, NaN], [0, 1]]", "--radius", "0.1"], "nan"),
        (["region", "--center", "[[1, 0], [0, 1]]"], "--radius"),
        (["region", "--center", "[[1, 0], [0, 1]]", "--radius", "-1"], "-1"),
        (["region", "--dataset", "5x5"], "'5x5'"),
        (["train", "--dataset", "5x5", "--model", "2fc", "--out", "x"], "'5x5'"),
        (["train", "--dataset", "2x2-first", "--model", "9fc", "--out", "x"], "'9fc'"),
        (["train", "--dataset", "2x2-first", "--model", "2fc", "--steps", "0", "--out", "x"], "steps"),
        (["evaluate", "/nonexistent/dir"], "/nonexistent/dir"),
    ],
)
def test_bad_input_one_line_error(capsys, argv, needle):
    code, _, err = run_cli(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


def test_region_fit_centres_is_a_one_line_error_naming_centers(capsys, tmp_path):
    """The old spelling --centres is hidden from --help and refused with exit 2, naming --centers; nothing is
    written. --centers K fits K centers."""
    a = np.random.default_rng(0).normal(size=(60, 2, 2)) * 0.01 + np.eye(2)
    a[30:] += np.eye(2)
    np.save(tmp_path / "m.npy", a)
    fit = ["region", "fit", str(tmp_path / "m.npy"), "--out", str(tmp_path / "r.json"), "--sub-sample", "30"]
    code, out, err = run_cli(capsys, *fit, "--centres", "2")
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "--centers" in lines[0], err
    assert not (tmp_path / "r.json").exists()
    with pytest.raises(SystemExit):
        main(["region", "fit", "--help"])
    assert "--centres" not in capsys.readouterr().out
    code, out, _ = run_cli(capsys, *fit, "--centers", "2", "--json")
    assert code == 0 and json.loads(out)["fit"]["centers"] == 2


def test_checkpoint_of_another_size(capsys, tmp_path):
    from neuralinv.nets.checkpoint import save_network
    from neuralinv.nets.mlp import Network, init_layers
    from neuralinv.nets.scaling import Scaling
    from neuralinv.paper.presets import get_dataset

    box = get_dataset("2x2-first").region
    save_network(Network(init_layers([4, 8, 4], 0), box, Scaling.for_region(box)), tmp_path / "n.safetensors")
    code, _, err = run_cli(capsys, "evaluate", str(tmp_path / "n.safetensors"), "--dataset", "3x3")
    assert code == 2 and "2x2" in err and "3x3" in err and len(err.strip().splitlines()) == 1


def test_corrupt_checkpoint(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    code, _, err = run_cli(capsys, "evaluate", str(bad))
    assert code == 2 and "bad.safetensors" in err and len(err.strip().splitlines()) == 1


def test_train_cli_writes_run(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "train",
        "--dataset",
        "3x3",
        "--model",
        "2fc-small",
        "--seeds",
        "0",
        "1",
        "--steps",
        "50",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert code == 0 and "linear approximation" in out
    assert (tmp_path / "run.json").is_file() and (tmp_path / "seed-1.safetensors").is_file()


def test_checkpoint_of_another_format_version(capsys, tmp_path):
    """A file claiming another format version is refused with both versions named; nothing in it is run."""
    import torch
    from safetensors.torch import save_file

    meta = {"format": "neuralinv-checkpoint", "format_version": 99, "layer_sizes": [4, 8, 4], "activation": "relu"}
    path = tmp_path / "future.safetensors"
    save_file({"layers.0.weight": torch.zeros(8, 4)}, str(path), metadata={"neuralinv": json.dumps(meta)})
    code, _, err = run_cli(capsys, "evaluate", str(path))
    assert code == 2 and "99" in err and "version 1" in err and len(err.strip().splitlines()) == 1
