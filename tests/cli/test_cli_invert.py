"""neuralinv invert: certified inverses written atomically, a summary, and one-line errors for bad input."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.nets import checkpoint
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import get_dataset


def run_cli(capsys, *argv):
    code = main([str(v) for v in argv])
    out, err = capsys.readouterr()
    return code, out, err


def sample(name, count, dtype=np.float32):
    box = get_dataset(name).region
    return box.sample(count, generator=torch.Generator().manual_seed(5)).numpy().astype(dtype)


def rel_errors(x, a):
    ref = np.linalg.inv(a.astype(np.float64))
    return np.linalg.norm(x - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))


def test_invert_region_json(capsys, tmp_path):
    """--region: OUT.npy has the input's shape and dtype, every bound <= tol holds, the summary is complete."""
    a = sample("16x16", 300).reshape(3, 100, 16, 16)
    np.save(tmp_path / "a.npy", a)
    code, out, _ = run_cli(
        capsys,
        "invert",
        "--region",
        "16x16",
        tmp_path / "a.npy",
        "--out",
        tmp_path / "x.npy",
        "--bounds",
        tmp_path / "b.npy",
        "--json",
        "--method",
        "fast",
    )
    info = json.loads(out)
    x, b = np.load(tmp_path / "x.npy"), np.load(tmp_path / "b.npy")
    assert code == 0 and x.shape == a.shape and x.dtype == np.float32 and b.shape == (3, 100)
    assert info["count"] == 300 and info["within_tol"] == 300 and info["exact_path"] == 0
    assert info["bound_quantiles"]["max"] <= 1e-4 and info["matrices_per_s"] > 0 and info["steps"] == {"1": 300}
    assert np.all(rel_errors(x, a) <= b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy", "x.npy"]  # no temporary files left


def test_invert_text_summary_and_outside(capsys, tmp_path):
    """Matrices outside the box take the exact path, are counted, and still get bounds within tol."""
    a = sample("3x3", 20, np.float64)
    a[:2] += 0.5
    np.save(tmp_path / "a.npy", a)
    code, out, _ = run_cli(
        capsys,
        "invert",
        "--region",
        "3x3",
        tmp_path / "a.npy",
        "--out",
        tmp_path / "x.npy",
        "--tol",
        "1e-8",
        "--init",
        "taylor2",
        "--method",
        "fast",
    )
    assert code == 0 and "outside the region: 2" in out and "matrices/s" in out
    assert np.all(rel_errors(np.load(tmp_path / "x.npy"), a) <= 1e-8)


def test_invert_checkpoint(capsys, tmp_path):
    """--checkpoint: the network's box is the region and its output the initial guess."""
    path = checkpoint.save_network(linear_network(get_dataset("2x2-first").region), tmp_path / "eq11.safetensors")
    np.save(tmp_path / "a.npy", sample("2x2-first", 50))
    code, out, _ = run_cli(
        capsys,
        "invert",
        "--checkpoint",
        path,
        tmp_path / "a.npy",
        "--out",
        tmp_path / "x.npy",
        "--json",
        "--method",
        "fast",
    )
    assert code == 0 and json.loads(out)["certified_by_newton_schulz"] == 50


def test_invert_uncertified_exit_3(capsys, tmp_path):
    """A singular matrix is not inverted (NaN) and the exit code says that not every answer is certified."""
    a = sample("2x2-second", 4, np.float64)
    a[1] = [[1.0, 2.0], [2.0, 4.0]]
    np.save(tmp_path / "a.npy", a)
    code, out, err = run_cli(
        capsys, "invert", "--region", "2x2-second", tmp_path / "a.npy", "--out", tmp_path / "x.npy", "--json"
    )
    x = np.load(tmp_path / "x.npy")
    assert code == 3 and json.loads(out)["singular"] == 1 and "warning" in err
    assert np.isnan(x[1]).all() and np.isfinite(x[[0, 2, 3]]).all()


@pytest.mark.parametrize(
    "array, extra, needle",
    [
        (np.zeros((5, 3, 3), np.float32), [], "(5, 3, 3)"),
        (np.zeros((5, 16, 15), np.float32), [], "(5, 16, 15)"),
        (np.zeros(16, np.float32), [], "(16,)"),
        (np.zeros((2, 16, 16), np.complex64), [], "complex64"),
        (np.zeros((2, 16, 16), np.float16), [], "float16"),
        (np.zeros((2, 16, 16), bool), [], "bool"),
        (np.full((2, 16, 16), np.nan, np.float32), [], "NaN"),
        (np.zeros((2, 16, 16), np.float32), ["--tol", "2"], "--tol"),
        (np.zeros((2, 16, 16), np.float32), ["--max-steps", "-1"], "--max-steps"),
    ],
)
def test_bad_input_one_line_error(capsys, tmp_path, array, extra, needle):
    np.save(tmp_path / "a.npy", array)
    code, _, err = run_cli(
        capsys, "invert", "--region", "16x16", tmp_path / "a.npy", "--out", tmp_path / "x.npy", *extra
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0], err
    assert not (tmp_path / "x.npy").exists()


def test_bad_files_one_line_error(capsys, tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"not an npy file")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "z.npz", a=np.eye(16))
    for path, needle in [
        (tmp_path / "missing.npy", "no such file"),
        (tmp_path / "junk.npy", "junk.npy"),
        (tmp_path / "obj.npy", "obj.npy"),
        (tmp_path / "z.npz", ".npz"),
    ]:
        code, _, err = run_cli(capsys, "invert", "--region", "16x16", path, "--out", tmp_path / "x.npy")
        assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    code, _, err = run_cli(capsys, "invert", "--region", "5x5", tmp_path / "junk.npy", "--out", tmp_path / "x.npy")
    assert code == 2 and "'5x5'" in err
    code, _, err = run_cli(
        capsys,
        "invert",
        "--checkpoint",
        tmp_path / "none.safetensors",
        tmp_path / "junk.npy",
        "--out",
        tmp_path / "x.npy",
    )
    assert code == 2 and "none.safetensors" in err


def test_init_with_checkpoint_rejected(capsys, tmp_path):
    path = checkpoint.save_network(linear_network(get_dataset("2x2-first").region), tmp_path / "n.safetensors")
    np.save(tmp_path / "a.npy", sample("2x2-first", 3))
    code, _, err = run_cli(
        capsys, "invert", "--checkpoint", path, tmp_path / "a.npy", "--out", tmp_path / "x.npy", "--init", "taylor2"
    )
    assert code == 2 and "--init" in err


@pytest.mark.parametrize("method", ["auto", "exact"])
def test_invert_says_what_it_chose(method, capsys, tmp_path):
    """Whatever route is taken, the summary names it and why, and every bound holds and is within tol."""
    a = sample("16x16", 1200)
    np.save(tmp_path / "a.npy", a)
    code, out, _ = run_cli(
        capsys,
        "invert",
        "--region",
        "16x16",
        tmp_path / "a.npy",
        "--out",
        tmp_path / "x.npy",
        "--bounds",
        tmp_path / "b.npy",
        "--method",
        method,
    )
    x, b = np.load(tmp_path / "x.npy"), np.load(tmp_path / "b.npy")
    assert code == 0 and f"method {method}: " in out and "the exact path (" in out
    assert np.all(rel_errors(x, a) <= b) and np.all(b <= 1e-4)
