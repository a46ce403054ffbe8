"""The reproduce report's "What the network learned" section for one checkpoint."""

from __future__ import annotations

from pathlib import Path

from neuralinv.experiments.analysis.figure import plot
from neuralinv.experiments.analysis.patterns import DEFAULT_SAMPLES, analyze
from neuralinv.experiments.analysis.text import markdown

FIGURE_NAME = "analysis-patterns.png"


def report_section(checkpoint_path, out_dir, samples: int = DEFAULT_SAMPLES) -> dict:
    """The reproduce report's "What the network learned" section for one checkpoint (a 2-FC small on 2x2 First).

    Writes the pattern figure into out_dir and returns {"markdown", "results", "figures"}; the Markdown's figure
    link is relative to out_dir.
    """
    from neuralinv.nets import checkpoint

    net = checkpoint.load_network(checkpoint_path)
    result = analyze(net, samples=samples)
    out_dir = Path(out_dir)
    figure = plot(result, out_dir / FIGURE_NAME)
    results = result.to_json()
    results["checkpoint"] = str(checkpoint_path)
    return {"markdown": markdown(result, figure=FIGURE_NAME), "results": results, "figures": [str(figure)]}
