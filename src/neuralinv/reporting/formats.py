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
