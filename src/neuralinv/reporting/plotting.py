"""Plotting set-up: the part of pyplot the toolkit draws with, on Figure objects with their own Agg canvas.

Figures are made as `matplotlib.figure.Figure`, never through pyplot's global state, so importing or running any
part of neuralinv leaves the caller's backend (a notebook's, say) untouched and needs no display.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure

_FIGURE_KEYS = ("figsize", "dpi", "facecolor", "layout", "constrained_layout", "tight_layout")


class _Plotting:
    """pyplot's subplots/figure/close/rc_context/get_cmap, without a global figure manager or backend switch."""

    MaxNLocator = matplotlib.ticker.MaxNLocator
    rcParams = matplotlib.rcParams
    rc_context = staticmethod(matplotlib.rc_context)

    @staticmethod
    def figure(**kwargs) -> Figure:
        """A new Figure (pyplot.figure's keywords)."""
        return Figure(**kwargs)

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
        """A new Figure and its grid of axes, as pyplot.subplots returns them."""
        fig = Figure(**{k: kwargs.pop(k) for k in _FIGURE_KEYS if k in kwargs})
        return fig, fig.subplots(nrows, ncols, **kwargs)

    @staticmethod
    def close(fig=None) -> None:
        """Nothing to release: a Figure made here belongs to no figure manager."""

    @staticmethod
    def get_cmap(name: str):
        """The registered colour map of that name."""
        return matplotlib.colormaps[name]


def pyplot() -> _Plotting:
    """What every figure of the toolkit draws with (see the module docstring)."""
    return _Plotting()
