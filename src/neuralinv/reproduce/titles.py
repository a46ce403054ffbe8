"""The reproduce report's vocabulary: its section titles and one name per method and data set."""

from __future__ import annotations

TITLES = {
    "table1": "Table 1: test MAE per entry",
    "table2": "Table 2: 2x2 (First), networks beside classical methods",
    "table3": "Table 3: seconds for 10,000 matrices",
    "figures": "Figures 1-2: where M_eps lies for 2x2 matrices",
    "curves": "Training curves",
    "analysis": "What the network learned",
    "limits": "Why can't: near-singular matrices",
    "setup": "How this report was made",
}
# One name per method across Tables 2 and 3 and the Summary.
METHODS = {
    "taylor1": "Linear approximation (Taylor-1)",
    "taylor2": "Second-order Taylor",
    "taylor1+ns1": "Linear + one Newton-Schulz step",
    "exact closed form": "Exact, closed form",
    "numpy.linalg.inv": "numpy.linalg.inv",
    "torch.linalg.inv": "torch.linalg.inv",
}
NOT_IN_PAPER = {"taylor2", "taylor1+ns1"}


def method_title(row: dict) -> str:
    """The name a row of Table 2 or 3 goes by everywhere in the report."""
    from neuralinv.nets.mlp import get_model

    if row.get("kind") == "network" or row.get("method") in ("2fc", "3fc", "2fc-small"):
        title = get_model(row["method"]).title + (" (h = 8)" if row["method"] == "2fc-small" else "")
        return f"{title} network"
    return METHODS.get(row["method"], row["method"])


def dataset_title(name: str) -> str:
    """A data set's title as the paper prints it: "2x2 (First)"."""
    from neuralinv.paper.presets import get_dataset

    return get_dataset(name).title
