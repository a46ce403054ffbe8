"""Shared output helpers for subcommands: JSON or aligned text tables."""

from __future__ import annotations

import json
import sys

from neuralinv.reporting.formats import cell


def print_json(data) -> None:
    """data as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list], *, file=None) -> None:
    """rows under headers as an aligned text table (numbers formatted by reporting.formats.cell), on file or
    stdout."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = file or sys.stdout
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)), file=out)
