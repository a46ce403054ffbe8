"""The machine and library versions, recorded beside every result."""

from __future__ import annotations

import os
import platform
import sys


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what platform reports."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict:
    """CPU, cores, torch threads, GPU, platform and library versions, as stored beside results."""
    import numpy
    import scipy
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {"torch": torch.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__},
    }


def machine_line(info: dict | None = None) -> str:
    """One line naming the machine (of describe(), or of info read back from a result)."""
    info = info or describe()
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return f"{info['cpu']} ({info['cores']} cores{gpu}); torch {info['versions']['torch']}"
