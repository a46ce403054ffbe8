"""Small specs of every architecture and a seeded perturbation, shared by the architecture and checkpoint tests."""

import torch

SMALL = {
    "mlp": {"arch": "mlp", "depth": 2, "width": 16},
    "resnet": {"arch": "resnet", "blocks": 2, "width": 16, "inner": 24},
    "entries": {"arch": "transformer", "tokens": "entries", "d_model": 16, "layers": 2, "heads": 2, "ff": 32},
    "rows": {"arch": "transformer", "tokens": "rows", "d_model": 16, "layers": 2, "heads": 4, "ff": 32},
}


def perturb(module, seed=1):
    """Every parameter moved off its initial value (zero-initialised branches included), seeded."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)
    return module
