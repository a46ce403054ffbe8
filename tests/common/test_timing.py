"""The one timing loop (neuralinv.common.timing), checked on a fake clock so nothing depends on the machine's speed."""

import pytest

from neuralinv.common import timing


class FakeClock:
    """perf_counter that advances only when the timed code says it spent time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def spend(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", fake)
    return fake


def test_timing_statistics():
    t = timing.Timing((3.0, 1.0, 10.0, 2.0))
    assert t.median == 2.5 and t.min == 1.0 and t.max == 10.0
    assert t.scaled(2).times == (6.0, 2.0, 20.0, 4.0)
    assert t.to_json() == {"median": 2.5, "min": 1.0, "max": 10.0, "repeats": 4}


def test_time_fn_warms_up_then_times_each_repeat(clock):
    costs = iter([100.0, 100.0, 1.0, 2.0, 3.0, 4.0, 50.0])  # two warm-up runs, then five timed
    calls = []

    def fn():
        calls.append(1)
        clock.spend(next(costs))

    t = timing.time_fn(fn, warmup=2, repeats=5)
    assert len(calls) == 7
    assert t.times == (1.0, 2.0, 3.0, 4.0, 50.0)  # the warm-up runs are not in it
    assert t.median == 3.0
    with pytest.raises(ValueError, match="repeats"):
        timing.time_fn(fn, repeats=0)


def test_time_interleaved_alternates_and_times_each(clock):
    order = []

    def make(name, cost):
        def fn():
            order.append(name)
            clock.spend(cost)

        return fn

    t = timing.time_interleaved({"a": make("a", 1.0), "b": make("b", 5.0)}, warmup=1, repeats=3)
    assert order == ["a", "b"] * 4  # one warm-up round, then a, b in turn
    assert t["a"].times == (1.0,) * 3 and t["b"].times == (5.0,) * 3


def test_per_step_seconds_cancels_setup(clock):
    """run(n) costs setup + n * step: the difference method returns the step cost, whatever the set-up."""

    def run(n):
        clock.spend(7.0 + 0.002 * n)

    assert timing.per_step_seconds(run, steps=(100, 600), repeats=3) == pytest.approx(0.002)
