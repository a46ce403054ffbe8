"""The one matrix reader (common.files.read_matrices): what it accepts, what it returns, and its one-line errors."""

import numpy as np
import pytest

from neuralinv.common.errors import InputError
from neuralinv.common.files import read_matrices


def save(tmp_path, arr, name="m.npy"):
    path = tmp_path / name
    np.save(path, arr)
    return path


def test_returns_float64_flat_batch(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 4, 4)).astype(np.float32)
    out = read_matrices(save(tmp_path, a), name="--matrices")
    assert out.dtype == np.float64 and out.shape == (6, 4, 4) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, a.astype(np.float64))
    one = read_matrices(save(tmp_path, a[0], "one.npy"), name="--matrices")
    assert one.shape == (1, 4, 4)


def test_keep_dtype_and_batch_shape(tmp_path):
    a = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3)
    out = read_matrices(save(tmp_path, a), name="x", keep_dtype=True, flat=False)
    assert out.dtype == np.float32 and out.shape == a.shape
    ints = read_matrices(save(tmp_path, np.eye(3, dtype=np.int64)), name="x", keep_dtype=True)
    assert ints.dtype == np.float64 and ints.shape == (1, 3, 3)


@pytest.mark.parametrize(
    "arr, kwargs, needle",
    [
        (np.ones((4, 2, 3)), {}, "square matrices (m, n, n), got shape (4, 2, 3)"),
        (np.ones((2, 2, 3, 3)), {}, "got shape (2, 2, 3, 3)"),
        (np.ones((4, 3, 3)), {"n": 2}, "expected 2x2 matrices"),
        (
            np.array([np.eye(2), np.full((2, 2), np.nan)]),
            {},
            "1 matrices have NaN or Inf entries (the first at index 1)",
        ),
        (np.ones((3, 2, 2)), {"minimum": 5}, "3 matrices are too few; give at least 5"),
        (np.ones((3, 2, 2), dtype=np.complex128), {}, "got dtype complex128"),
    ],
)
def test_one_line_errors_name_the_argument(tmp_path, arr, kwargs, needle):
    with pytest.raises(InputError) as err:
        read_matrices(save(tmp_path, arr), name="--matrices", **kwargs)
    text = str(err.value)
    assert text.startswith("--matrices: ") and needle in text and "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="--input: no such file"):
        read_matrices(tmp_path / "nope.npy", name="--input")


def test_float16_refused_unless_half(tmp_path):
    """float16 files: refused by default (invert), widened exactly to float64 with half=True (bench)."""
    a = np.random.default_rng(1).standard_normal((3, 2, 2)).astype(np.float16)
    path = save(tmp_path, a)
    with pytest.raises(InputError, match="got dtype float16"):
        read_matrices(path, name="--matrices", keep_dtype=True)
    out = read_matrices(path, name="--matrices", keep_dtype=True, half=True)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, a.astype(np.float64))
