"""A path timed over calls of one batch size: prefixes, scaling to 10,000 matrices, extra samples of short passes."""

import time

import torch

from neuralinv.bench import batch_timing


def test_time_batches_counts_and_scales_a_prefix():
    """A long loop is cut to a prefix (at least the probe's 20 calls) and its time scaled to 10,000 matrices."""
    chunks = [torch.zeros(2, 2)] * 1000
    m = batch_timing.time_batches(
        lambda c: time.sleep(1e-3), chunks, batch=1, repeats=2, max_pass_s=0.005, min_total_s=0
    )
    assert m.calls == 20 and m.matrices == 20 and len(m.timing.times) == 2
    assert m.seconds > 0
    whole = batch_timing.time_batches(
        lambda c: None, batch_timing.split(torch.zeros(250, 2, 2), 100, 250), batch=100, repeats=1, min_total_s=0
    )
    assert whole.calls == 3 and whole.matrices == 250


def test_time_batches_repeats_short_passes_more():
    """A pass far shorter than min_total_s is sampled up to 100 times; the median is over all samples."""
    m = batch_timing.time_batches(lambda c: None, [torch.zeros(2, 2)], batch=1, repeats=3, min_total_s=10.0)
    assert len(m.timing.times) == 100 and m.to_json()["repeats"] == 100


def test_split_shapes():
    a = torch.zeros(300, 3, 3)
    assert [c.shape for c in batch_timing.split(a, 100, 300)] == [(100, 3, 3)] * 3
    singles = batch_timing.split(a, 1, 7)
    assert len(singles) == 7 and singles[0].shape == (3, 3)
