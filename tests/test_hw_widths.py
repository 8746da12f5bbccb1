"""Width helpers of the datapath, checked by brute force over every input of small configs."""

from __future__ import annotations

import itertools

import pytest

from plasticore.hw.widths import (
    O1Widths,
    delta_range,
    eligibility_sum_range,
    magnitude_range,
    product_range,
    signed_bits,
    unsigned_bits,
    weight_sum_range,
)
from plasticore.refmodel.online_o1 import OnlineO1Config, decay_signed


def test_bit_counts() -> None:
    assert signed_bits(-128, 127) == 8 and signed_bits(-129, 0) == 9 and signed_bits(0, 128) == 9
    assert signed_bits(-1, 0) == 1 and signed_bits(0, 0) == 1
    assert unsigned_bits(0) == 1 and unsigned_bits(255) == 8 and unsigned_bits(256) == 9
    with pytest.raises(ValueError, match="signed_bits needs lo <= hi, not lo=3 > hi=2"):
        signed_bits(3, 2)
    with pytest.raises(ValueError, match="unsigned_bits needs hi >= 0, not -1"):
        unsigned_bits(-1)


def test_documented_widths_of_the_default_config() -> None:
    w = O1Widths.of(OnlineO1Config())
    assert (w.eligibility, w.eligibility_sum, w.product) == (12, 12 + 2, 8 + 12)
    assert w.magnitude == 12  # |e| <= 2^11 fits 12 unsigned bits (13 as signed)


SMALL = [
    OnlineO1Config(weight_bits=w, trace_bits=t, reward_bits=r, learning_shift=sh, trace_decay_shift=s)
    for w, t, r, sh, s in [(1, 2, 1, 0, 0), (3, 3, 2, 1, 1), (4, 4, 3, 0, 2), (5, 2, 4, 3, 0), (2, 5, 1, 2, 3)]
]


@pytest.mark.parametrize("c", SMALL, ids=lambda c: f"W{c.weight_bits}T{c.trace_bits}R{c.reward_bits}")
def test_ranges_are_exact_over_all_inputs(c: OnlineO1Config) -> None:
    """Enumerate every state and input: each helper's range contains every value that occurs (safe), and its
    width equals the width of the exact range (no bit wasted). With s = 0 the ranges are exact."""
    m = c.max_trace
    sums, prods, deltas, wsums, mags = set(), set(), set(), set(), set()
    for e, pre, post, pre_sp, post_sp in itertools.product(
        range(c.eligibility_min, c.eligibility_max + 1), range(m + 1), range(m + 1), (0, 1), (0, 1)
    ):
        mags.add(abs(e))
        pot = (m if pre_sp else pre) if post_sp else 0
        dep = post if pre_sp else 0
        sums.add(decay_signed(e, c.trace_decay_shift) + pot - dep)
    for r, e2, w in itertools.product(range(c.reward_min, c.reward_max + 1),
                                      range(c.eligibility_min, c.eligibility_max + 1), range(c.max_weight + 1)):
        prods.add(r * e2)
        deltas.add((r * e2) >> c.learning_shift)
        wsums.add(w + ((r * e2) >> c.learning_shift))
    for rng, seen in [(eligibility_sum_range(c), sums), (product_range(c), prods), (delta_range(c), deltas),
                      (weight_sum_range(c), wsums), (magnitude_range(c), mags)]:
        assert rng.lo <= min(seen) and max(seen) <= rng.hi
        exact = signed_bits(min(seen), max(seen)) if rng.lo < 0 else unsigned_bits(max(seen))
        assert rng.bits == exact
        if c.trace_decay_shift == 0:
            assert (rng.lo, rng.hi) == (min(seen), max(seen))
