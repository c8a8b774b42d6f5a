"""The share meter's arithmetic with a fake clock: each request gets the integral of 1/n(t)
over its slot time, n the requests running on its lane at that moment (exact)."""

from __future__ import annotations

import pytest

from bigshot_llm.services.usage.gpu_time import GpuMeter
from bigshot_llm.services.usage.pricing import Rates


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_issue_example_a_alone_both_b_alone() -> None:
    """A alone 0–1 s, A and B 1–2 s, B alone 2–3 s: 1.5 s each."""
    clock = Clock()
    meter = GpuMeter(clock)
    a = meter.start("lane")
    clock.now += 1
    b = meter.start("lane")
    clock.now += 1
    assert a.stop() == pytest.approx(1.5)
    clock.now += 1
    assert b.stop() == pytest.approx(1.5)


def test_three_way_sharing_sums_to_the_busy_time() -> None:
    clock = Clock()
    meter = GpuMeter(clock)
    a = meter.start("lane")
    clock.now += 3  # a alone: 3
    b = meter.start("lane")
    c = meter.start("lane")
    clock.now += 3  # three share: 1 each
    assert meter.running("lane") == 3
    assert c.stop() == pytest.approx(1.0)
    clock.now += 2  # two share: 1 each
    assert b.stop() == pytest.approx(2.0)
    clock.now += 1  # a alone: 1
    assert a.stop() == pytest.approx(6.0)  # 3 + 1 + 1 + 1
    # Every busy second is charged exactly once: 6 + 2 + 1 = 3 + 3 + 2 + 1.
    assert meter.running("lane") == 0


def test_lanes_are_separate_and_stop_is_idempotent() -> None:
    clock = Clock()
    meter = GpuMeter(clock)
    a = meter.start("gpu-1|model")
    b = meter.start("gpu-2|model")
    clock.now += 2
    assert a.stop() == pytest.approx(2.0)  # not shared: another instance
    clock.now += 5
    assert a.stop() == pytest.approx(2.0)  # a second stop changes nothing
    assert b.stop() == pytest.approx(7.0)


def test_an_idle_lane_starts_afresh() -> None:
    clock = Clock()
    meter = GpuMeter(clock)
    first = meter.start("lane")
    clock.now += 1
    first.stop()
    clock.now += 10  # idle: nobody is charged for it
    second = meter.start("lane")
    clock.now += 2
    assert second.stop() == pytest.approx(2.0)


def test_rates_energy_and_shadow_cost() -> None:
    rates = Rates(watts=300.0, input_per_mtok=2.5, output_per_mtok=10.0)
    assert rates.energy_wh(12.0) == pytest.approx(1.0)  # 12 s × 300 W = 3600 Ws = 1 Wh
    assert rates.shadow_cost(1_000_000, 500_000) == pytest.approx(7.5)
    assert Rates().energy_wh(12.0) is None and Rates().shadow_cost(10, 10) is None
    assert Rates(watts=100.0).shadow_cost(10, 10) is None
