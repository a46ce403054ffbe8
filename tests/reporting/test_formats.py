"""Number formats: the text each format gives for ordinary, missing and non-finite values."""

import math

import pytest

from neuralinv.reporting import formats

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "fn, value, text",
    [
        (formats.sci, 1.2345e-4, "1.23e-04"),
        (formats.sci, NAN, "-"),
        (formats.sci, None, "-"),
        (formats.short, 0.012345, "0.0123"),
        (formats.short, 12345.0, "1.23e+04"),
        (formats.short, None, "-"),
        (formats.measured, 0.012345, "0.0123"),
        (formats.measured, 12345.0, "1.23e+04"),
        (formats.measured, NAN, "-"),  # a median over no seed
        (formats.measured, INF, "-"),
        (formats.measured, None, "-"),
        (formats.plain, 0.5, "0.5"),
        (formats.plain, 1e-5, "1e-05"),
        (formats.plain, 2, "2"),
        (formats.plain, NAN, "-"),
        (formats.plain, None, "-"),
        (formats.fixed, 0.5432, "0.54"),
        (formats.fixed, 13.0, "13.00"),
        (formats.fixed, None, "-"),
        (formats.times, 0.25, "0.25x"),
        (formats.times, 2.54, "2.5x"),
        (formats.times, 12.54, "12.5x"),
        (formats.compact, 2.5e-4, "2.50e-04"),
        (formats.compact, 0.125, "0.125"),
        (formats.compact, 0, "0"),
        (formats.share, 0.123, "12.3%"),
        (formats.share, 0.00012, "0.012%"),
        (formats.cell, 1.23456, "1.235"),
        (formats.cell, NAN, "nan"),
        (formats.cell, 7, "7"),
        (formats.setting, 1000, "1,000"),
        (formats.setting, 0.001, "0.001"),
        (formats.setting, "cosine", "cosine"),
        (formats.setting, "", "-"),
        (formats.setting, None, "-"),
    ],
)
def test_format(fn, value, text):
    assert fn(value) == text


def test_digits_and_decimals():
    assert formats.sci(math.pi, 2) == "3.1e+00" and formats.short(math.pi, 5) == "3.1416"
    assert formats.measured(math.pi, 5) == "3.1416" and formats.fixed(math.pi, 3) == "3.142"
    assert formats.share(0.1234, 2) == "12.34%"
