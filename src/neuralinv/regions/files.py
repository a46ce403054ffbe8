"""Region files: JSON that names a shape and its parameters, and the named regions shipped with the package."""

from __future__ import annotations

import json
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.shapes import FORMAT, FORMAT_VERSION, SHAPES, Ball, Box, Region, Symmetric

PRESET_DIR = Path(__file__).with_name("presets")

# ---------------------------------------------------------------------------------------------------------------------
# Region files


def region_from_json(data: dict) -> Region:
    """The region a region file's JSON describes (a file without "shape" is a box, as in checkpoints of version 1)."""
    if not isinstance(data, dict):
        raise InputError(f"region: expected a JSON object, got {type(data).__name__}")
    if "format" in data and (data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION):
        raise InputError(
            f"region: format {data.get('format')!r} version {data.get('format_version')!r}; this "
            f"neuralinv reads {FORMAT!r} version {FORMAT_VERSION}"
        )
    shape = data.get("shape", "box")
    info = _current_info(data.get("info"))
    try:
        if shape == "box":
            return Box(data["center"], data["radius"], info=info)
        if shape in ("ball", "symmetric"):
            cls = Ball if shape == "ball" else Symmetric
            return cls(data["center"], data["radius"], norm=data.get("norm", "spectral"), info=info)
        if shape == "union":
            return Union([region_from_json(m) for m in data["members"]], weights=data.get("weights"), info=info)
        if shape == "equilibrated":
            return Equilibrated(region_from_json(data["region"]), data["scale"], info=info)
    except KeyError as err:
        raise InputError(f"region: a {shape!r} region needs the key {err.args[0]!r}") from None
    raise InputError(f"region: unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")


def _current_info(info):
    """A region's info with the keys of older versions renamed: a fit recorded "centres" before it was "centers"."""
    if isinstance(info, dict) and "centres" in info and "centers" not in info:
        info = {("centers" if k == "centres" else k): v for k, v in info.items()}
    return info


def preset_names() -> list[str]:
    """The names of the regions shipped with the package (the paper's boxes), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_region(spec) -> Region:
    """A Region from a Region, a preset name ("16x16"), a region file path, or its JSON as a dict."""
    if isinstance(spec, Region):
        return spec
    if isinstance(spec, dict):
        return region_from_json(spec)
    if isinstance(getattr(spec, "region", None), Region):  # a data set preset (neuralinv.paper.presets)
        return spec.region
    if not isinstance(spec, (str, Path)):
        raise InputError(f"region: expected a Region, a preset name or a region file, got {type(spec).__name__}")
    text = str(spec)
    path = Path(text)
    if not path.is_file():
        preset = PRESET_DIR / f"{text}.json"
        if "/" not in text and preset.is_file():
            path = preset
        else:
            raise InputError(f"region: {text!r} is neither a preset ({', '.join(preset_names())}) nor a region file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"region: {text!r} is not JSON ({err})") from None
    return region_from_json(data)
