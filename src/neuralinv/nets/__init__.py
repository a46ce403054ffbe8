"""Networks: the paper's ReLU MLPs as torch modules, their fast inference path, scaling, checkpoints, the Eq. 11
construction, and the architectures built from a declarative spec (mlp, resnet, transformer, Newton-Schulz head)."""
