"""neuralinv: neural approximation of the matrix inverse, after Ji, Wu and Xi (arXiv 2506.00642)."""

from neuralinv.baselines import exact_inverse, newton_schulz, taylor_inverse
from neuralinv.checkpoint import load, save
from neuralinv.data import Scaling, test_set
from neuralinv.errors import InputError
from neuralinv.models import MODELS, Network, get_model
from neuralinv.regions import DATASETS, Box, get_dataset, sigma_min
from neuralinv.solve import certified_inverse
from neuralinv.train import TrainConfig, train_ensemble

__version__ = "0.1.0"

__all__ = ["Box", "DATASETS", "InputError", "MODELS", "Network", "Scaling", "TrainConfig", "certified_inverse",
           "exact_inverse", "get_dataset", "get_model", "load", "newton_schulz", "save", "sigma_min", "taylor_inverse",
           "test_set", "train_ensemble"]
