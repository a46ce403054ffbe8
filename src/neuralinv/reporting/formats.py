"""Number formats: the one place a report, a table or a CLI line turns a number into text.

Missing values (None, and for `sci` also NaN and infinities) print as a dash, so a table cell is never "None".
"""

from __future__ import annotations

import math


def sci(x, digits: int = 3) -> str:
    """Scientific notation with `digits` significant digits: 1.23e-04."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.{digits - 1}e}"


def short(x, digits: int = 3) -> str:
    """The shortest of fixed or scientific notation with `digits` significant digits: 0.0123, 1.23e+04."""
    return "-" if x is None else f"{x:.{digits}g}"


def measured(x, digits: int = 3) -> str:
    """Like `short`, but a median with nothing to take it over (NaN, infinity) also prints as a dash: 0.0123, -."""
    return f"{x:.{digits}g}" if _finite(x) else "-"


def plain(x) -> str:
    """%g, the way a sweep axis value is written in its spec (0.5, 1e-05); missing or not finite as a dash."""
    return f"{x:g}" if _finite(x) else "-"


def fixed(x, decimals: int = 2) -> str:
    """Fixed-point with `decimals` decimals: 0.54; missing as a dash."""
    return "-" if x is None else f"{x:.{decimals}f}"


def times(x: float) -> str:
    """A ratio as a multiple, two significant digits below 10 and three above: 0.3x, 2.5x, 12.5x."""
    return f"{x:.2g}x" if x < 10 else f"{x:.3g}x"


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def compact(x) -> str:
    """Three significant digits, switching to scientific below 1e-3 so small values keep their digits: 2.50e-04."""
    return "-" if x is None else f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def share(x: float, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.123 -> 12.3%; shares that would print as 0.0% keep two significant digits
    instead (0.00012 -> 0.012%)."""
    return f"{100 * x:.{decimals}f}%" if x >= 10.0 ** -(decimals + 2) or x == 0 else f"{100 * x:.2g}%"


def cell(value) -> str:
    """A table cell in the CLI's plain-text tables: floats to four significant digits, anything else as str."""
    if isinstance(value, float):
        return f"{value:.4g}" if value == value else "nan"
    return str(value)


def setting(v) -> str:
    """A sweep setting: floats as %g, integers with thousands separators, missing as a dash."""
    if v is None or v == "":
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
