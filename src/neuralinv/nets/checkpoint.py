"""Checkpoints: one safetensors file per network, weights as tensors and the metadata as JSON in its header.

Tensors: "layers.{i}.weight" (out, in) and "layers.{i}.bias" (out,). Header metadata key "neuralinv" holds JSON:
format, format_version, layer_sizes, activation, region (a region file's JSON: {center, radius} for a box, or
any shape with its "shape" key), scaling {...}, dtype, info {...}.
Format version 2 holds a network of any registered architecture (nets/model.py ArchNetwork): tensors are its
state_dict, and the metadata has format, format_version 2, spec (the normalised arch spec, as spec_to_json writes
it), ns_steps, region, scaling, dtype, info. Loading rebuilds the module with build() from the spec and fills it with
load_state_dict(strict=True). Version 1 files (no spec) load as Network, as they always did.
Loading reads tensors and JSON only: nothing from the file is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path
from neuralinv.nets.architectures import spec_to_json
from neuralinv.nets.mlp import Network
from neuralinv.nets.model import ArchNetwork
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.files import region_from_json

FORMAT = "neuralinv-checkpoint"
FORMAT_VERSION = 1
# Files with an arch spec: older readers refuse them by version rather than misreading them as MLPs.
ARCH_FORMAT_VERSION = 2


def save_network(net: Network | ArchNetwork, path: str | Path) -> Path:
    """Write net to path as a checkpoint (atomically); returns path. A Network is written as format version 1,
    an ArchNetwork as version 2 (its spec in the metadata)."""
    path = Path(path)
    if isinstance(net, ArchNetwork):
        return _save_arch(net, path)
    tensors = {}
    for i, (w, b) in enumerate(net.layers):
        tensors[f"layers.{i}.weight"] = w.detach().cpu().contiguous()
        tensors[f"layers.{i}.bias"] = b.detach().cpu().contiguous()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layer_sizes": net.layer_sizes,
        "activation": "relu",
        "region": net.region.to_json(),
        "scaling": net.scaling.to_json(),
        "dtype": str(net.layers[0][0].dtype).removeprefix("torch."),
        "info": net.info,
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"neuralinv": json.dumps(meta)})
    return path


def _save_arch(net: ArchNetwork, path: Path) -> Path:
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    meta = {
        "format": FORMAT,
        "format_version": ARCH_FORMAT_VERSION,
        "spec": json.loads(spec_to_json(net.spec)),
        "ns_steps": net.ns_steps,
        "region": net.region.to_json(),
        "scaling": net.scaling.to_json(),
        "dtype": str(net.dtype).removeprefix("torch."),
        "info": net.info,
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"neuralinv": json.dumps(meta)})
    return path


def read_metadata(path: str | Path) -> dict:
    """The neuralinv metadata of the checkpoint at path, checked (format, version, activation) without reading its
    tensors; a one-line InputError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint: no such file {str(path)!r}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"checkpoint: {str(path)!r} is not a safetensors file ({err})") from None
    if "neuralinv" not in header:
        raise InputError(f"checkpoint: {str(path)!r} has no neuralinv metadata (see README: checkpoint format)")
    meta = json.loads(header["neuralinv"])
    if meta.get("format") != FORMAT or meta.get("format_version") not in (FORMAT_VERSION, ARCH_FORMAT_VERSION):
        raise InputError(
            f"checkpoint: {str(path)!r} has format {meta.get('format')!r} version "
            f"{meta.get('format_version')!r}; this neuralinv reads {FORMAT!r} version {FORMAT_VERSION} (MLPs) "
            f"and version {ARCH_FORMAT_VERSION} (any architecture)"
        )
    if meta["format_version"] == FORMAT_VERSION and meta.get("activation") != "relu":
        raise InputError(f"checkpoint: activation {meta.get('activation')!r} is not supported (only 'relu')")
    return meta


def load_network(path: str | Path, *, n: int | None = None) -> Network | ArchNetwork:
    """The network in path: a Network for a file without an arch spec, an ArchNetwork for one with; n, when
    given, is the matrix size the caller expects."""
    meta = read_metadata(path)
    tensors = load_file(str(path))
    if meta["format_version"] == ARCH_FORMAT_VERSION:
        net = _load_arch(Path(path), meta, tensors)
        if n is not None and net.n != n:
            raise InputError(f"checkpoint: {str(path)!r} is for {net.n}x{net.n} matrices, expected {n}x{n}")
        return net
    count = len(meta["layer_sizes"]) - 1
    try:
        layers = [(tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]) for i in range(count)]
    except KeyError as err:
        raise InputError(f"checkpoint: {str(path)!r} lacks tensor {err.args[0]!r}") from None
    net = Network(layers, region_from_json(meta["region"]), Scaling.from_json(meta["scaling"]), meta.get("info", {}))
    if net.layer_sizes != meta["layer_sizes"]:
        raise InputError(f"checkpoint: tensors have sizes {net.layer_sizes}, metadata says {meta['layer_sizes']}")
    if n is not None and net.n != n:
        raise InputError(f"checkpoint: {str(path)!r} is for {net.n}x{net.n} matrices, expected {n}x{n}")
    return net


def _load_arch(path: Path, meta: dict, tensors: dict) -> ArchNetwork:
    where = f"checkpoint: {str(path)!r}"
    try:
        spec = meta["spec"]
        if meta.get("ns_steps", spec.get("ns_steps", 0)) != spec.get("ns_steps", 0):
            raise InputError(f"ns_steps {meta['ns_steps']!r} differs from the spec's {spec.get('ns_steps')!r}")
        net = ArchNetwork(spec, region_from_json(meta["region"]), Scaling.from_json(meta["scaling"]), meta["info"])
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    except KeyError as err:
        raise InputError(f"{where}: metadata lacks key {err.args[0]!r}") from None
    except (TypeError, AttributeError, ValueError) as err:
        raise InputError(f"{where}: bad metadata ({type(err).__name__}: {err})") from None
    dtype = getattr(torch, str(meta.get("dtype", "float32")), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InputError(f"{where}: dtype {meta.get('dtype')!r} is not a floating-point torch dtype")
    net.to(dtype)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        what = f"lacks tensor {missing[0]!r}" if missing else f"has unexpected tensor {unexpected[0]!r}"
        counts = f"{len(missing)} missing, {len(unexpected)} extra"
        raise InputError(f"{where} {what} for arch {net.spec['arch']} ({counts})")
    for key, value in expected.items():
        if tensors[key].shape != value.shape:
            raise InputError(
                f"{where}: tensor {key!r} has shape {tuple(tensors[key].shape)}, the spec needs {tuple(value.shape)}"
            )
    net.load_state_dict(tensors, strict=True)
    return net


# The old names, kept while callers move to the new ones.
save = save_network
load = load_network
