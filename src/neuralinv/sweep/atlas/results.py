"""Reading a sweep's results.csv: its rows with numbers parsed, or a one-line InputError naming what is wrong."""

from __future__ import annotations

import csv
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.sweep.columns import COLUMNS, FLOATS, INTEGERS, current_column

RESULTS = "results.csv"


def _number(text: str, column: str, line: int, path: Path, kind=float):
    text = text.strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}: line {line}, column {column}: {text!r} is not a number") from None
    if kind is int:
        if not value.is_integer():
            raise InputError(f"{path}: line {line}, column {column}: {text!r} is not a whole number")
        return int(value)
    return value


def _parse_row(raw: dict, line: int, path: Path) -> dict:
    raw = {current_column(c): v for c, v in raw.items()}
    row = {c: (raw.get(c) or "").strip() for c in COLUMNS}
    for c in INTEGERS:
        row[c] = _number(row[c], c, line, path, int)
    for c in FLOATS:
        row[c] = _number(row[c], c, line, path)
    if not row["trial_id"]:
        raise InputError(f"{path}: line {line}: empty trial_id")
    if row["n"] is None:
        raise InputError(f"{path}: line {line}: empty n")
    return row


def read(path: str | Path) -> list[dict]:
    """The rows of a results.csv, numbers parsed (None where the cell is empty); a one-line InputError when the file is
    missing, has no rows, lacks a column or holds a non-number where a number belongs."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"sweep report: no {path.name} at {str(path)!r} (run the sweep first)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in {current_column(f) for f in reader.fieldnames or []}]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = [_parse_row(raw, line, path) for line, raw in enumerate(reader, start=2)]
    if not rows:
        raise InputError(f"{path}: no rows (the sweep has not finished a run yet)")
    return rows
