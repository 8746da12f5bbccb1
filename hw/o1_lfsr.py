"""``o1_lfsr``: the stochastic-rounding LFSR of one update lane (:mod:`plasticore.refmodel.rounding`).

A 32-bit Galois LFSR shifting right with taps ``0x80200003`` (``x^32 + x^22 + x^2 + x + 1``), reset to
:func:`~plasticore.refmodel.rounding.lane_initial_state` ``(config.lfsr_seed, lane)``. Each clock it offers the
draw of the current state, ``u = b_0 + 2 b_1 + ... + 2^(L-1) b_(L-1)`` (``L`` LFSR steps unrolled, one
combinational stage per step: a shift and three XORs), and on an edge with ``advance`` high it takes the state
after those ``L`` steps. ``rst`` (synchronous) restores the initial state and wins over ``advance``.

Ports
-----
clk      in   clock
rst      in   1 bit, synchronous
advance  in   1 bit: the draw ``u`` is consumed on this edge
u        out  unsigned ``L``: the draw of the current state

The state is two 16-bit registers (no constant ``>= 2^31`` reaches the HDL: GHDL's integers are 32-bit signed),
and one step is written as a concatenation of slices, ``s' = {b, s[31:23], s[22]^b, s[21:3], s[2]^b, s[1]^b}``
with ``b = s[0]``.
"""

from __future__ import annotations

from typing import Any

from myhdl import ConcatSignal, Signal, always, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config
from plasticore.refmodel.rounding import LFSR_BITS, LFSR_MASK, lane_initial_state

assert LFSR_BITS == 32 and LFSR_MASK == (1 << 31) | (1 << 21) | (1 << 1) | 1  # the slices below


@block
def o1_lfsr_step(s_in: Any, s_out: Any, bit: Any) -> Any:
    """One LFSR step: ``bit = s_in[0]``, ``s_out = (s_in >> 1) ^ (bit ? 0x80200003 : 0)``."""

    @always_comb
    def step() -> None:
        bit.next = s_in[0]
        s_out.next = concat(s_in[0], s_in[32:23], s_in[22] ^ s_in[0], s_in[22:3], s_in[2] ^ s_in[0],
                            s_in[1] ^ s_in[0])

    return step


@block
def o1_lfsr(clk: Any, rst: Any, advance: Any, u: Any, config: OnlineO1Config, lane: int) -> Any:
    n = config.learning_shift
    if n < 1:
        raise ValueError(f"o1_lfsr needs learning_shift >= 1 (L = 0 draws nothing), not {n}")
    if len(u) != n:
        raise ValueError(f"u must have L = {n} bits, not {len(u)}")
    init = lane_initial_state(config.lfsr_seed, lane)
    init_hi, init_lo = init >> 16, init & 0xFFFF
    hi = Signal(intbv(init_hi)[16:])
    lo = Signal(intbv(init_lo)[16:])
    states = [ConcatSignal(hi, lo)] + [Signal(intbv(0)[32:]) for _ in range(n)]
    bits = [Signal(bool(0)) for _ in range(n)]
    steps = [o1_lfsr_step(states[k], states[k + 1], bits[k]) for k in range(n)]
    last = states[n]

    @always(clk.posedge)
    def reg() -> None:
        if rst:
            hi.next = init_hi
            lo.next = init_lo
        elif advance:
            hi.next = last[32:16]
            lo.next = last[16:]

    if n == 1:
        b0 = bits[0]

        @always_comb
        def draw() -> None:
            u.next = b0

    else:
        packed = ConcatSignal(*reversed(bits))

        @always_comb
        def draw() -> None:
            u.next = packed

    return steps, reg, draw


__all__ = ["o1_lfsr", "o1_lfsr_step"]
