"""Atomic writes: a result file is either the old one or the complete new one, never half written."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside path; on success it replaces path in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp's 0600 would make every result private to its writer
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, data) -> Path:
    """Write data as indented JSON, atomically (readers never see half a file); returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write text atomically (readers never see half a file); returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def read_npy(path: str | Path, *, name: str):
    """The one array of a .npy file, never unpickling; a one-line InputError when the file is missing or is not one
    .npy array (name says which argument it came from)."""
    import numpy as np

    from neuralinv.common.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file {str(path)!r}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{name}: {str(path)!r} is not a .npy array of numbers ({str(err).splitlines()[0]})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{name}: {str(path)!r} holds several arrays (.npz); give one .npy array")
    return arr


def read_matrices(
    path: str | Path,
    *,
    name: str,
    n: int | None = None,
    keep_dtype: bool = False,
    flat: bool = True,
    minimum: int | None = None,
    half: bool = False,
):
    """Square matrices from a .npy file, checked with one-line InputErrors that start with `name`.

    Real entries; shape (m, n, n) (a single (n, n) matrix counts as m = 1), or any (..., n, n) with flat=False; of
    size n when n is given; every entry finite; at least `minimum` matrices. Returned C-contiguous, as float64, or
    with keep_dtype as stored when float32 or float64 (integers become float64). float16 entries are refused (too
    coarse for a bound to mean much) unless half, which widens them to float64 as integers are."""
    import numpy as np

    from neuralinv.common.errors import InputError

    a = read_npy(path, name=name)
    if a.dtype.kind not in "fiu" or (a.dtype.kind == "f" and a.dtype.itemsize not in ((2, 4, 8) if half else (4, 8))):
        raise InputError(f"{name}: expected real float32, float64 or integer entries, got dtype {a.dtype}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or (flat and a.ndim > 3) or a.size == 0:
        want = "(m, n, n)" if flat else "(..., n, n)"
        raise InputError(f"{name}: expected an array of square matrices {want}, got shape {a.shape}")
    if n is not None and a.shape[-1] != n:
        raise InputError(f"{name}: expected {n}x{n} matrices (the region's size), got shape {a.shape}")
    if flat:
        a = a.reshape(-1, *a.shape[-2:])
    bad = ~np.isfinite(a).all(axis=(-2, -1))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        first = first[0] if len(first) == 1 else first
        raise InputError(f"{name}: {int(bad.sum())} matrices have NaN or Inf entries (the first at index {first})")
    if minimum is not None and len(a) < minimum:
        raise InputError(
            f"{name}: {len(a)} matrices are too few; give at least {minimum} (a training set and a held-out test "
            "set are drawn from them)"
        )
    keep = keep_dtype and a.dtype in (np.float32, np.float64)
    return np.ascontiguousarray(a if keep else a.astype(np.float64))
