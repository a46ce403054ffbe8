"""The roofline arithmetic, and the machine rates it is measured against."""

import pytest

from neuralinv.bench import roofline


def test_roofline_known_case():
    """4-32-4 at 10,000 matrices: 5.12 MFLOP; float64 in and out plus float32 weights; bound is the larger term."""
    assert roofline.mlp_flops([4, 32, 4], 10_000) == 2 * 10_000 * (4 * 32 + 32 * 4)
    assert (
        roofline.mlp_bytes([4, 32, 4], 10_000, in_bytes=8, out_bytes=8)
        == 10_000 * (4 * 8 + 4 * 8) + (4 * 32 + 32 + 32 * 4 + 4) * 4
    )
    assert roofline.roofline_bound(1e9, 1e9, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.1)
    assert roofline.roofline_bound(1e10, 1e8, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.1)
    assert roofline.roofline_bound(1e9, 1e8, gemm_rate=1e11, bandwidth=1e10) == pytest.approx(0.01)


def test_machine_rates_are_positive():
    assert roofline.measure_gemm_rate(size=128, repeats=1) > 0
    assert roofline.measure_bandwidth(mbytes=4, repeats=1) > 0
    assert roofline.measure_op_overhead(repeats=1, calls=10) > 0
