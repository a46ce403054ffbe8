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
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
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
