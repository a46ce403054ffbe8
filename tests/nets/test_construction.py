"""The Eq. 11 construction, .npz import/export, and the construct/import commands."""

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import taylor_inverse
from neuralinv.nets.checkpoint import load_network
from neuralinv.nets.construction import export_weights, import_weights, linear_matrix, linear_network, read_weights
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.shapes import Box

ATOL = 100 * np.finfo(np.float64).eps


@pytest.mark.parametrize("name", ["2x2-first", "2x2-second", "3x3", "16x16"])
def test_eq11_equals_taylor1(name):
    """The Eq. 11 net's output equals the linear approximation A0^-1 - A0^-1 E A0^-1 to float64 rounding."""
    box = get_dataset(name).region
    net = linear_network(box)
    assert net.layer_sizes == [box.n**2, 2 * box.n**2, box.n**2]
    a = box.sample(2000, generator=torch.Generator().manual_seed(1234))
    scale = np.abs(box.center_inverse).max()
    err = (net(a) - taylor_inverse(a, torch.tensor(box.center), 1)).abs().max().item()
    assert err <= ATOL * scale * box.n


def test_linear_matrix_is_the_derivative():
    """M[(k,l),(i,j)] = -(A0^-1)_ki (A0^-1)_jl, the derivative of A^-1 at A0 (checked by a central difference)."""
    box = Box(np.array([[2.0, 1.0], [0.0, -1.0]]), 0.01)
    m = linear_matrix(box)
    h = 1e-6
    for idx in range(4):
        e = np.zeros(4)
        e[idx] = h
        e = e.reshape(2, 2)
        diff = (np.linalg.inv(box.center + e) - np.linalg.inv(box.center - e)) / (2 * h)
        np.testing.assert_allclose(m[:, idx], diff.ravel(), atol=1e-8)


def test_eq11_checkpoint_round_trip(tmp_path):
    """construct writes a normal checkpoint that loads back to the same weights, box and paper scaling."""
    out = tmp_path / "eq11.safetensors"
    assert main(["construct", "--dataset", "3x3", "--out", str(out)]) == 0
    net = load_network(out, n=3)
    ref = linear_network(get_dataset("3x3").region)
    assert net.scaling == ref.scaling and net.scaling.name == "paper"
    for (w, b), (w0, b0) in zip(net.layers, ref.layers):
        assert torch.equal(w, w0) and torch.equal(b, b0)


def test_import_export_round_trip(tmp_path):
    """import (.npz -> checkpoint) then export (checkpoint -> .npz) gives back the same arrays, bit for bit."""
    rng = np.random.default_rng(1234)
    sizes = [4, 6, 5, 4]
    arrays = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        arrays[f"W{i}"] = rng.standard_normal((fan_out, fan_in)).astype(np.float32)
        arrays[f"b{i}"] = rng.standard_normal(fan_out).astype(np.float32)
    src = tmp_path / "w.npz"
    np.savez(src, **arrays)
    ckpt = tmp_path / "w.safetensors"
    rc = main(
        [
            "import",
            "--weights",
            str(src),
            "--center",
            "[[2, 2], [2, 3]]",
            "--radius",
            "0.01",
            "--scaling",
            "raw",
            "--out",
            str(ckpt),
        ]
    )
    assert rc == 0
    net = load_network(ckpt)
    assert net.scaling.name == "raw" and net.region.radius == 0.01 and net.layer_sizes == sizes
    back = tmp_path / "back.npz"
    export_weights(net, back)
    layers = read_weights(back)
    for i, (w, b) in enumerate(layers, start=1):
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, arrays[f"W{i}"])
        np.testing.assert_array_equal(b, arrays[f"b{i}"])
    again = import_weights(back, net.region, scaling="raw")
    a = net.region.sample(10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(net(a), again(a))


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _bad_files(tmp_path):
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = rng.standard_normal((8, 4)), rng.standard_normal(8), rng.standard_normal((4, 8)), np.zeros(4)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    return {
        "empty file": (empty, "not a readable .npz"),
        "no arrays": (_write(tmp_path / "none.npz"), "holds no arrays"),
        "wrong size for box": (
            _write(tmp_path / "size.npz", W1=rng.standard_normal((8, 9)), b1=b1, W2=w2, b2=b2),
            "do not fit a 2x2 region",
        ),
        "odd layer list": (_write(tmp_path / "odd.npz", W1=w1, b1=b1, W2=w2), "missing b2"),
        "non-relu": (
            _write(tmp_path / "tanh.npz", W1=w1, b1=b1, W2=w2, b2=b2, activation=np.array("tanh")),
            "only ReLU",
        ),
        "shapes do not chain": (
            _write(tmp_path / "chain.npz", W1=w1, b1=b1, W2=rng.standard_normal((4, 7)), b2=b2),
            "W2 takes 7 inputs",
        ),
        "unknown array": (_write(tmp_path / "extra.npz", W1=w1, b1=b1, W2=w2, b2=b2, gamma=b2), "'gamma'"),
        "bias shape": (_write(tmp_path / "bias.npz", W1=w1, b1=b1[:5], W2=w2, b2=b2), "b1 (out,)"),
        "nan": (_write(tmp_path / "nan.npz", W1=w1, b1=b1 * np.nan, W2=w2, b2=b2), "non-finite"),
        "missing file": (tmp_path / "nope.npz", "no such file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty file",
        "no arrays",
        "wrong size for box",
        "odd layer list",
        "non-relu",
        "shapes do not chain",
        "unknown array",
        "bias shape",
        "nan",
        "missing file",
    ],
)
def test_import_bad_input_one_line_error(tmp_path, capsys, case):
    """Bad weight files give exit code 2 and a one-line error that says what is wrong."""
    path, message = _bad_files(tmp_path)[case]
    out = tmp_path / "out.safetensors"
    rc = main(["import", "--weights", str(path), "--center", "[[2, 2], [2, 3]]", "--radius", "0.01", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("neuralinv import: error:")
    assert message in err
    assert not out.exists()


def test_import_bad_center(tmp_path, capsys):
    """A non-square centre is refused before the weights are read."""
    path = _write(tmp_path / "w.npz", W1=np.eye(4), b1=np.zeros(4), W2=np.eye(4), b2=np.zeros(4))
    rc = main(
        [
            "import",
            "--weights",
            str(path),
            "--center",
            "[[1, 2, 3]]",
            "--radius",
            "0.01",
            "--out",
            str(tmp_path / "o.safetensors"),
        ]
    )
    assert rc == 2 and "square" in capsys.readouterr().err


def test_read_weights_library_error(tmp_path):
    """The library function raises InputError (the CLI turns it into the one-line message)."""
    with pytest.raises(InputError, match="holds no arrays"):
        read_weights(_write(tmp_path / "none.npz"))


@pytest.mark.parametrize("center", ["[[1, 2], [2, 4]]", "[[1, 2], [2, 4.000000000000001]]"])
def test_import_refuses_a_centre_singular_to_rounding(tmp_path, capsys, center):
    """A singular centre, exactly or to rounding (Region.center_singular), is refused before the weights are read:
    exit 2, one line naming --center; a centre just clear of it is accepted."""
    path = _write(tmp_path / "w.npz", W1=np.eye(4), b1=np.zeros(4), W2=np.eye(4), b2=np.zeros(4))
    out = tmp_path / "o.safetensors"
    argv = ["import", "--weights", str(path), "--radius", "0.01", "--out", str(out), "--center"]
    rc = main([*argv, center])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--center is singular" in err and not out.exists()
    assert main([*argv, "[[1, 2], [2, 4.001]]"]) == 0 and out.exists()
