"""Checkpoints of any architecture: round trips keep outputs, spec, region, scaling and info; bad files are refused
in one line; today's Network files are written byte for byte as before."""

import hashlib
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from nets.arch_cases import SMALL, perturb
from neuralinv.common.errors import InputError
from neuralinv.nets.architectures import build, build_model
from neuralinv.nets.checkpoint import load_network, save_network
from neuralinv.nets.mlp import Network, init_layers
from neuralinv.nets.model import ArchNetwork
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset


def arch_network(name, ns_steps, dataset="3x3"):
    region = get_dataset(dataset).region
    info = {"dataset": dataset, "seed": 7, "note": name}
    return perturb(ArchNetwork({**SMALL[name], "ns_steps": ns_steps}, region, Scaling.for_region(region), info))


def matrices(net, m=20):
    return net.region.sample(m, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("ns_steps", [0, 1])
@pytest.mark.parametrize("name", list(SMALL))
def test_round_trip_keeps_outputs_and_metadata(tmp_path, name, ns_steps):
    net = arch_network(name, ns_steps)
    path = save_network(net, tmp_path / f"{name}.safetensors")
    loaded = load_network(path, n=3)
    assert isinstance(loaded, ArchNetwork)
    a = matrices(net)
    with torch.no_grad():
        out, back = net(a), loaded(a)
    assert out.dtype == back.dtype == torch.float64 and out.shape == (20, 3, 3)
    assert torch.equal(out, back)
    assert loaded.spec == net.spec and loaded.spec["ns_steps"] == loaded.ns_steps == ns_steps
    assert loaded.region.to_json() == net.region.to_json()
    assert loaded.scaling == net.scaling
    assert loaded.info == net.info
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_float64_round_trip(tmp_path):
    net = arch_network("resnet", 1, dataset="2x2-first").to(torch.float64)
    loaded = load_network(save_network(net, tmp_path / "r.safetensors"))
    assert loaded.dtype == torch.float64
    a = matrices(net)
    with torch.no_grad():
        assert torch.equal(net(a), loaded(a))


def test_wrapping_a_built_base_shares_it(tmp_path):
    """A base trained elsewhere (a MatrixModel's, from build_model) is saved with its spec and loads equal."""
    region = get_dataset("2x2-first").region
    model = perturb(build_model({**SMALL["resnet"], "ns_steps": 1}, Scaling.for_region(region)))
    net = ArchNetwork({**SMALL["resnet"], "ns_steps": 1}, region, model.scaling, base=model.base)
    assert net.base is model.base
    a = matrices(net)
    loaded = load_network(save_network(net, tmp_path / "w.safetensors"))
    with torch.no_grad():
        assert torch.equal(loaded(a), model(a))


def test_mismatched_base_or_scaling_is_refused():
    region = get_dataset("2x2-first").region
    scaling = Scaling.for_region(region)
    with pytest.raises(InputError, match="base built for spec"):
        ArchNetwork(SMALL["mlp"], region, scaling, base=build(SMALL["resnet"], 2))
    with pytest.raises(InputError, match="needs a scaling for 4 entries"):
        ArchNetwork(SMALL["mlp"], region, Scaling.for_region(get_dataset("3x3").region))


def test_wrong_size_is_refused(tmp_path):
    path = save_network(arch_network("mlp", 0), tmp_path / "m.safetensors")
    with pytest.raises(InputError, match="expected 2x2"):
        load_network(path, n=2)


def rewrite(path, tensors=None, **meta_changes):
    """The checkpoint at path written again with its metadata changed (None deletes a key) and, given, tensors."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["neuralinv"])
    for key, value in meta_changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    save_file(load_file(str(path)) if tensors is None else tensors, str(path), {"neuralinv": json.dumps(meta)})
    return path


def one_line_error(path, match):
    with pytest.raises(InputError, match=match) as err:
        load_network(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_unknown_arch_is_refused(tmp_path):
    net = arch_network("mlp", 0)
    path = rewrite(save_network(net, tmp_path / "m.safetensors"), spec={**net.spec, "arch": "lstm"})
    one_line_error(path, "unknown architecture 'lstm'")


def test_bad_spec_is_refused(tmp_path):
    net = arch_network("entries", 0)
    path = rewrite(save_network(net, tmp_path / "t.safetensors"), spec={**net.spec, "heads": 3})
    one_line_error(path, "heads 3 does not divide d_model 16")


def test_ns_steps_disagreeing_with_the_spec_is_refused(tmp_path):
    path = rewrite(save_network(arch_network("mlp", 1), tmp_path / "m.safetensors"), ns_steps=2)
    one_line_error(path, "ns_steps 2 differs from the spec's 1")


def test_missing_spec_is_refused(tmp_path):
    path = rewrite(save_network(arch_network("mlp", 0), tmp_path / "m.safetensors"), spec=None)
    one_line_error(path, "metadata lacks key 'spec'")


def test_missing_tensor_is_refused(tmp_path):
    path = save_network(arch_network("resnet", 1), tmp_path / "r.safetensors")
    tensors = load_file(str(path))
    dropped = sorted(tensors)[0]
    del tensors[dropped]
    one_line_error(rewrite(path, tensors), f"lacks tensor '{dropped}'")


def test_extra_tensor_is_refused(tmp_path):
    path = save_network(arch_network("mlp", 0), tmp_path / "m.safetensors")
    tensors = {**load_file(str(path)), "extra.weight": torch.zeros(2)}
    one_line_error(rewrite(path, tensors), "unexpected tensor 'extra.weight'")


def test_tensor_of_wrong_shape_is_refused(tmp_path):
    net = arch_network("mlp", 0)
    path = save_network(net, tmp_path / "m.safetensors")
    # The same tensors under a wider spec: every hidden tensor is now too small.
    one_line_error(rewrite(path, spec={**net.spec, "width": 17}), "the spec needs")


# sha256 of the file below as save_network wrote it before checkpoints of other architectures existed.
NETWORK_FILE_SHA256 = "d6b44ca25d4bf88209c434d22df969b46b906b20d3310bf2dae95fba2bb511f1"


def test_network_file_unchanged(tmp_path):
    """A plain Network is still written as format version 1 with today's metadata, byte for byte, and loads as a
    Network."""
    region = get_dataset("2x2-first").region
    net = Network(init_layers([4, 8, 4], seed=0), region, Scaling.for_region(region), {"model": "x", "seed": 3})
    path = save_network(net, tmp_path / "n.safetensors")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == NETWORK_FILE_SHA256
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["neuralinv"])
    assert list(meta) == ["format", "format_version", "layer_sizes", "activation", "region", "scaling", "dtype", "info"]
    assert meta["format_version"] == 1 and meta["layer_sizes"] == [4, 8, 4] and meta["dtype"] == "float32"
    loaded = load_network(path)
    assert type(loaded) is Network
    a = region.sample(10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded(a), net(a))
