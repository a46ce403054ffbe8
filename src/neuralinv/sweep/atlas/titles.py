"""The atlas's section titles (the Summary links to them) and the sentence a section shows when it has nothing to
plot."""

from __future__ import annotations

TITLES = {
    "heatmap": "Where a network beats Taylor-1",
    "steps": "MAE against training steps",
    "radius": "MAE against radius",
    "time": "Accuracy against inference time",
    "wins": "Where a network wins at equal or lower inference time",
    "failures": "Failed runs",
    "results": "Results per trial",
    "setup": "How this atlas was made",
}
NOTHING = "No run succeeded, so there is nothing to plot."
