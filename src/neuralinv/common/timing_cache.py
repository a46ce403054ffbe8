"""Timings measured on this machine, kept on disk between processes (which exact inverse is fastest, what a product
costs), keyed by CPU, torch version and thread count."""

from __future__ import annotations

import json
import os
from pathlib import Path

from neuralinv.common.files import write_json
from neuralinv.common.machine import cpu_name


# Timings measured on this machine (which exact inverse is fastest, what a product costs) are kept between processes,
# so that a one-shot `neuralinv invert` does not pay for measuring them again. NEURALINV_CACHE names the folder
# ("off" keeps nothing); by default $XDG_CACHE_HOME/neuralinv or ~/.cache/neuralinv.
def _timings_path() -> Path | None:
    setting = os.environ.get("NEURALINV_CACHE")
    if setting == "off":
        return None
    base = Path(setting) if setting else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "neuralinv"
    return base / "timings.json"


def _timing_key(kind: str, parts: tuple) -> str:
    import torch

    return "|".join([kind, cpu_name(), torch.__version__, str(torch.get_num_threads()), *map(str, parts)])


def remembered_timing(kind: str, parts: tuple) -> dict | None:
    """A timing stored by remember_timing on this machine (same CPU, torch and thread count), or None."""
    path = _timings_path()
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text()).get(_timing_key(kind, parts))
    except (OSError, ValueError):
        return None


def remember_timing(kind: str, parts: tuple, value: dict) -> None:
    """Store a timing for later processes (best effort: an unwritable cache is skipped)."""
    path = _timings_path()
    if path is None:
        return
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
        data[_timing_key(kind, parts)] = value
        write_json(path, data)
    except (OSError, ValueError):
        pass
