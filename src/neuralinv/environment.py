"""The machine and library versions, recorded beside every result."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict:
    import numpy
    import scipy
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "platform": platform.platform(), "python": sys.version.split()[0],
            "versions": {"torch": torch.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__}}


def machine_line(info: dict | None = None) -> str:
    info = info or describe()
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return f"{info['cpu']} ({info['cores']} cores{gpu}); torch {info['versions']['torch']}"


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
        from neuralinv.files import write_json

        write_json(path, data)
    except (OSError, ValueError):
        pass
