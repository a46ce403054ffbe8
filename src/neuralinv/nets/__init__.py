"""Networks: the paper's ReLU MLPs as torch modules, their fast inference path, scaling, checkpoints, and the Eq. 11
construction."""
