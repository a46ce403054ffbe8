"""The sweep atlas: DIR/atlas.md, a self-contained DIR/atlas.html and PNG figures, built from DIR/results.csv alone.

`neuralinv sweep report DIR` calls `write(DIR)`. results.csv has one row per trial and seed, as the sweep runner writes
it; every number in the atlas is computed from it (medians over a trial's successful seeds), so nothing is typed by
hand. The page itself is neuralinv.reporting.document's.

What the atlas shows: where over matrix size n and box radius a trained network is more accurate than the linear
approximation (Taylor-1), how accuracy moves with training steps and radius, accuracy against inference time for every
method, and where (if anywhere) a network beats a classical method at equal or lower inference time.

Modules: `results` reads results.csv, `trials` is the trial model, `compare` the comparisons, `style`, `heatmap` and
`curves` the figures, `summary`, `sections` and `tables` the prose, `page` puts them together.
"""

from __future__ import annotations

from neuralinv.sweep.atlas.compare import wins
from neuralinv.sweep.atlas.curves import RADIUS_FIGURE, STEPS_FIGURE, TIME_FIGURE
from neuralinv.sweep.atlas.heatmap import HEATMAP
from neuralinv.sweep.atlas.page import build, write
from neuralinv.sweep.atlas.results import RESULTS, read
from neuralinv.sweep.atlas.titles import NOTHING, TITLES
from neuralinv.sweep.atlas.trials import Trial, trials
from neuralinv.sweep.columns import COLUMNS

__all__ = [
    "COLUMNS",
    "HEATMAP",
    "NOTHING",
    "RADIUS_FIGURE",
    "RESULTS",
    "STEPS_FIGURE",
    "TIME_FIGURE",
    "TITLES",
    "Trial",
    "build",
    "read",
    "trials",
    "wins",
    "write",
]
