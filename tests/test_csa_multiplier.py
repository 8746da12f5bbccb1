"""The carry-save multiplier of the pipelined lane, exhaustively against Python's integer product."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("myhdl")
from myhdl import Signal, Simulation, StopSimulation, delay, instance, intbv

from plasticore.hw.csa_multiplier import (
    csa_final_sum,
    csa_partial_sums,
    stage_words,
    wallace_levels,
    wallace_plan,
)


def _signed(bits: int) -> Any:
    return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))


@pytest.mark.parametrize(("r", "t"), [(1, 2), (2, 3), (3, 4), (4, 6), (5, 3), (8, 4)])
def test_every_product(r: int, t: int) -> None:
    """Both stages in series (registered words, then the final sum) give ``a * b`` for every ``a`` and ``b``."""
    p = r + t
    clk, a, b, prod = Signal(bool(0)), _signed(r), _signed(t), _signed(p)
    words = [Signal(intbv(0)[p:]) for _ in range(stage_words(r))]
    dut = (csa_partial_sums(clk, a, b, words), csa_final_sum(words, prod))
    seen = [0]

    @instance
    def stim() -> Any:
        for x in range(-(1 << (r - 1)), 1 << (r - 1)):
            for y in range(-(1 << (t - 1)), 1 << (t - 1)):
                a.next, b.next = x, y
                yield delay(1)
                clk.next = 1
                yield delay(1)
                clk.next = 0
                yield delay(1)
                assert int(prod.val) == x * y, (x, y, int(prod.val))
                seen[0] += 1
        raise StopSimulation

    Simulation(dut, stim).run(quiet=1)
    assert seen[0] == 1 << (r + t)


def test_tree_shape() -> None:
    assert [stage_words(r) for r in (1, 2, 3, 4, 8, 30)] == [2, 3, 4, 4, 4, 4]
    assert wallace_levels(9) == 4 and wallace_levels(9, 4) == 2 and wallace_levels(4) == 2
    triples, left = wallace_plan(9, 4)
    assert len(triples) == 5 and len(left) == 4  # 9 -> 6 -> 4 words
    used = [i for tr in triples for i in tr]
    assert len(used) == len(set(used))  # every word enters at most one compressor


def test_bad_sizes() -> None:
    clk, a, b = Signal(bool(0)), _signed(4), _signed(6)
    with pytest.raises(ValueError, match=r"words_q must hold stage_words\(4\) = 4 words, not 2"):
        csa_partial_sums(clk, a, b, [Signal(intbv(0)[10:]) for _ in range(2)])
    with pytest.raises(ValueError, match="at least R \\+ T = 10 bits, not 8"):
        csa_partial_sums(clk, a, b, [Signal(intbv(0)[8:]) for _ in range(4)])


def test_register_bits_hand_counted() -> None:
    """R = 1: the words are ``~b`` (T distinct bits, the rest sign copies) and the correction bit: T + 1.
    R = 2, T = 3, P = 5: pp0 has 3 distinct bits, pp1 (bits 1..4) 3, the correction 1, all left as they are."""
    from plasticore.hw.csa_multiplier import register_bits

    assert register_bits(1, 5, 6) == 6
    assert register_bits(2, 3, 5) == 7
    assert register_bits(4, 6, 10) < stage_words(4) * 10
