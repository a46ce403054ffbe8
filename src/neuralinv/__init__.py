"""neuralinv: neural approximation of the matrix inverse, after Ji, Wu and Xi (arXiv 2506.00642)."""

from neuralinv.certified.solve import certified_inverse
from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import exact_inverse, newton_schulz, taylor_inverse
from neuralinv.nets.checkpoint import load, save
from neuralinv.nets.mlp import MODELS, Network, get_model
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import DATASETS, get_dataset
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.files import load_region
from neuralinv.regions.fit import fit_region
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, sigma_min
from neuralinv.training.data import test_set
from neuralinv.training.train import TrainConfig, train_ensemble

__version__ = "0.1.0"

__all__ = [
    "Ball",
    "Box",
    "DATASETS",
    "Equilibrated",
    "InputError",
    "MODELS",
    "Network",
    "Region",
    "Scaling",
    "Symmetric",
    "TrainConfig",
    "Union",
    "certified_inverse",
    "exact_inverse",
    "fit_region",
    "get_dataset",
    "get_model",
    "load",
    "load_region",
    "newton_schulz",
    "save",
    "sigma_min",
    "taylor_inverse",
    "test_set",
    "train_ensemble",
]
