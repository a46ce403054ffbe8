"""Checkpoints: files written by an earlier neuralinv still load, a round trip keeps everything, bad files are refused.

tests/nets/data/v1-*.safetensors were written by neuralinv at commit 20c497f (before Network became a torch module):
v1-2fc-box by `neuralinv train --dataset 2x2-first --model 2fc --steps 300 --seeds 0 1` (seed 0, float32, paper
scaling), v1-3fc-fitted by `neuralinv train --matrices` (3-FC, a fitted ellipsoidal region, data scaling), v1-eq11
by `neuralinv construct --dataset 2x2-second` (float64). v1-outputs.npz holds, for each, 70 fixed matrices "a" and
what that code returned for them: net(a) ("large", the float32 plan), net(a[:5]) ("small", the float64 plan) and
forward_reference(a).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file as load_numpy

from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import taylor_inverse
from neuralinv.nets import checkpoint
from neuralinv.nets.checkpoint import load_network, save_network
from neuralinv.nets.mlp import Network, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.files import region_from_json
from neuralinv.regions.shapes import Ball

DATA = Path(__file__).parent / "data"
OLD = ["v1-2fc-box", "v1-3fc-fitted", "v1-eq11"]


def header(path: Path) -> dict:
    with safe_open(str(path), framework="numpy") as f:
        return json.loads(f.metadata()["neuralinv"])


@pytest.fixture(scope="module")
def outputs():
    with np.load(DATA / "v1-outputs.npz") as npz:
        return {k: npz[k] for k in npz.files}


@pytest.mark.parametrize("name", OLD)
def test_an_old_checkpoint_loads_to_the_same_weights_region_and_scaling(name):
    """Weights bit for bit as stored (read here with safetensors alone), the stored region and scaling."""
    path = DATA / f"{name}.safetensors"
    net = load_network(path)
    raw, meta = load_numpy(str(path)), header(path)
    assert net.layer_sizes == meta["layer_sizes"]
    for i, (w, b) in enumerate(net.layers):
        assert (
            np.array_equal(w.numpy(), raw[f"layers.{i}.weight"])
            and w.dtype == torch.from_numpy(raw[f"layers.{i}.weight"]).dtype
        )
        assert np.array_equal(b.numpy(), raw[f"layers.{i}.bias"])
    # A fit's info said "centres" then; it reads as "centers" now.
    assert net.region.to_json() == json.loads(json.dumps(meta["region"]).replace('"centres"', '"centers"'))
    assert net.scaling == Scaling.from_json(meta["scaling"])
    assert net.info == meta["info"]


def test_the_old_files_hold_what_their_commands_made():
    """The regions and scalings the commands bound (a preset's box and paper scaling; a fitted region, data scaling)."""
    box = load_network(DATA / "v1-2fc-box.safetensors")
    preset = get_dataset("2x2-first").region
    assert box.region.to_json() == preset.to_json()
    assert box.scaling == Scaling.for_region(preset, "paper")
    assert box.info["seed"] == 0 and box.info["steps"] == 300
    fitted = load_network(DATA / "v1-3fc-fitted.safetensors")
    assert fitted.scaling.name == "data" and fitted.layer_sizes == [4, 32, 32, 4]
    assert fitted.region.to_json() == region_from_json(header(DATA / "v1-3fc-fitted.safetensors")["region"]).to_json()
    assert header(DATA / "v1-3fc-fitted.safetensors")["region"]["info"]["centres"] == 1
    assert fitted.region.info["centers"] == 1 and "centres" not in fitted.region.info
    eq11 = load_network(DATA / "v1-eq11.safetensors")
    assert (
        eq11.layers[0][0].dtype == torch.float64 and eq11.region.to_json() == get_dataset("2x2-second").region.to_json()
    )


@pytest.mark.parametrize("name", OLD)
def test_an_old_checkpoint_gives_the_same_outputs(name, outputs):
    """net(a) on both inference plans and forward_reference give what the code that wrote the file gave."""
    net = load_network(DATA / f"{name}.safetensors")
    a = torch.from_numpy(outputs[f"{name}.a"])
    scale = float(np.abs(outputs[f"{name}.reference"]).max())
    atol = 1e-12 * scale  # same weights, same float64 offsets: differences are reduction-order rounding at most
    np.testing.assert_allclose(net(a).numpy(), outputs[f"{name}.large"], rtol=0, atol=atol)
    np.testing.assert_allclose(net(a[:5]).numpy(), outputs[f"{name}.small"], rtol=0, atol=atol)
    np.testing.assert_allclose(net.forward_reference(a).numpy(), outputs[f"{name}.reference"], rtol=0, atol=atol)


def test_the_old_eq11_file_is_still_the_linear_approximation(outputs):
    """An independent check of the stored numbers: the Eq. 11 net is Taylor-1 around its centre."""
    net = load_network(DATA / "v1-eq11.safetensors")
    a = torch.from_numpy(outputs["v1-eq11.a"])
    expected = taylor_inverse(a, torch.tensor(net.region.center), 1)
    np.testing.assert_allclose(outputs["v1-eq11.small"], expected[:5].numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(net(a).numpy(), expected.numpy(), rtol=0, atol=1e-5)  # float32 plan


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_trip_keeps_weights_region_scaling_and_info(tmp_path, dtype):
    """save_network then load_network: same tensors and dtype, same region (a ball here), scaling and info."""
    region = Ball(np.array([[2.0, 0.5], [0.3, 1.5]]), 0.4)
    layers = [(w.to(dtype), b.to(dtype)) for w, b in init_layers([4, 16, 16, 4], 7)]
    net = Network(layers, region, Scaling.for_region(region, "paper"), {"seed": 7, "note": "x"})
    path = save_network(net, tmp_path / "n.safetensors")
    back = load_network(path, n=2)
    assert back.region.to_json() == region.to_json() and back.scaling == net.scaling and back.info == net.info
    assert all(torch.equal(w, w2) and torch.equal(b, b2) for (w, b), (w2, b2) in zip(net.layers, back.layers))
    assert back.layers[0][0].dtype == dtype
    a = region.sample(100, generator=torch.Generator().manual_seed(3))
    assert torch.equal(back(a), net(a))


def test_old_names_are_the_new_functions():
    assert checkpoint.load is load_network and checkpoint.save is save_network


def test_wrong_size_is_refused(tmp_path):
    with pytest.raises(InputError, match="2x2 matrices, expected 3x3"):
        load_network(DATA / "v1-2fc-box.safetensors", n=3)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", json.dumps({"a": 1}).encode(), b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "],
)
def test_a_file_that_is_not_a_checkpoint_is_one_line_naming_it(tmp_path, content):
    path = tmp_path / "bogus.safetensors"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_network(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_safetensors_file_without_neuralinv_metadata_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(3)}, str(path))
    with pytest.raises(InputError, match="no neuralinv metadata") as err:
        load_network(path)
    assert str(path) in str(err.value)


def test_a_missing_file_and_a_directory_are_refused(tmp_path):
    for path in (tmp_path / "none.safetensors", tmp_path):
        with pytest.raises(InputError) as err:
            load_network(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
