"""neuralinv: neural approximation of the matrix inverse, after Ji, Wu and Xi (arXiv 2506.00642).

The public API, by task:
- regions of matrices: Box, Ball, Symmetric, Union, Equilibrated, load_region, fit_region, make_family;
- certified inverses: certified_inverse (a thin wrapper) or CertifiedInverter (an object that keeps its calibration,
  decisions and buffers), both returning CertifiedInverse;
- networks: Network (a torch.nn.Module), load_network / save_network, get_model, Scaling, linear_network (Eq. 11);
  ArchNetwork (any architecture of neuralinv.nets.architectures) and RationalHead (P(A) / q(A), after Cramer);
- training: TrainConfig, train_ensemble -> TrainResult (the networks, losses and timings), sample_test_set;
- the paper: DATASETS, get_dataset; classical methods: closed_form_inverse, taylor_inverse, newton_schulz.
"""

from neuralinv.certified.inverter import CertifiedInverter
from neuralinv.certified.result import CertifiedInverse
from neuralinv.certified.solve import certified_inverse
from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import closed_form_inverse, newton_schulz, taylor_inverse
from neuralinv.nets.checkpoint import load_network, save_network
from neuralinv.nets.construction import linear_network
from neuralinv.nets.mlp import MODELS, Network, get_model
from neuralinv.nets.model import ArchNetwork
from neuralinv.nets.rational import RationalHead
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import DATASETS, get_dataset
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.families import make_family
from neuralinv.regions.files import load_region
from neuralinv.regions.fit import fit_region
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, sigma_min
from neuralinv.training.data import AcceptRule, sample_test_set
from neuralinv.training.result import TrainResult
from neuralinv.training.train import TrainConfig, train_ensemble

__version__ = "0.1.0"

__all__ = [
    "AcceptRule",
    "ArchNetwork",
    "Ball",
    "Box",
    "CertifiedInverse",
    "CertifiedInverter",
    "DATASETS",
    "Equilibrated",
    "InputError",
    "MODELS",
    "Network",
    "RationalHead",
    "Region",
    "Scaling",
    "Symmetric",
    "TrainConfig",
    "TrainResult",
    "Union",
    "certified_inverse",
    "closed_form_inverse",
    "fit_region",
    "get_dataset",
    "get_model",
    "linear_network",
    "load_network",
    "load_region",
    "make_family",
    "newton_schulz",
    "sample_test_set",
    "save_network",
    "sigma_min",
    "taylor_inverse",
    "train_ensemble",
]
