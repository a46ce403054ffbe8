"""neuralinv: neural approximation of the matrix inverse, after Ji, Wu and Xi (arXiv 2506.00642)."""

from neuralinv.baselines import exact_inverse, newton_schulz, taylor_inverse
from neuralinv.checkpoint import load, save
from neuralinv.data import Scaling, test_set
from neuralinv.errors import InputError
from neuralinv.models import MODELS, Network, get_model
from neuralinv.fit import fit_region
from neuralinv.regions import (DATASETS, Ball, Box, Equilibrated, Region, Symmetric, Union, get_dataset, load_region,
                               sigma_min)
from neuralinv.solve import certified_inverse
from neuralinv.train import TrainConfig, train_ensemble

__version__ = "0.1.0"

__all__ = ["Ball", "Box", "DATASETS", "Equilibrated", "InputError", "MODELS", "Network", "Region", "Scaling",
           "Symmetric", "TrainConfig", "Union", "certified_inverse", "exact_inverse", "fit_region", "get_dataset",
           "get_model", "load", "load_region", "newton_schulz", "save", "sigma_min", "taylor_inverse", "test_set",
           "train_ensemble"]
