"""``o1_synapse_update``: next eligibility and weight of one synapse (combinational).

Ports (``W, T, R`` from the config; see :mod:`plasticore.hw.widths` for every intermediate range)
-----
weight            in   unsigned ``W``       weight before the step
eligibility       in   signed ``T``         eligibility before the step
pre_trace         in   unsigned ``T``       pre trace before the step
post_trace        in   unsigned ``T``       post trace before the step
pre_spike         in   1 bit
post_spike        in   1 bit
reward            in   signed ``R``         (already in the reward range: the port width saturates it)
dither            in   unsigned ``L``       only with ``rounding="stochastic"``: the lane's LFSR draw
weight_next       out  unsigned ``W``       ``sat(w + ((r * e') >> L), 0, 2^W - 1)``
eligibility_next  out  signed ``T``         ``e' = sat(decayS(e) + pot - dep, -2^(T-1), 2^(T-1) - 1)``

``pot = (M if pre_spike else pre_trace) if post_spike else 0`` and ``dep = post_trace if pre_spike else 0``
(:func:`~plasticore.hw.o1_pairing.o1_pairing`); the weight tail is
:func:`~plasticore.hw.o1_weight_next.o1_weight_next`.

Width discipline (TOOLCHAIN pitfall 1, and Verilator ``-Wall`` clean without a WIDTHEXPAND waiver):
each sum or product is its own signal, and the operands of every sum are first widened *explicitly*
(by concatenating sign or zero bits) to the width of the result, so no converter or simulator ever has
to extend an operand implicitly. The eligibility arithmetic runs at ``K = T + 2`` bits (the width of
``e_sum``), the weight arithmetic at the width of ``w + delta``; narrowing back to ``T`` and ``W``
happens only after saturation has put the value in range.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_eligibility_sat import o1_eligibility_sat
from .o1_pairing import o1_pairing
from .o1_weight_next import o1_weight_next
from .sign_extend import signed_signal
from .widths import eligibility_sum_range, product_range


@block
def o1_synapse_update(
    weight: Any,
    eligibility: Any,
    pre_trace: Any,
    post_trace: Any,
    pre_spike: Any,
    post_spike: Any,
    reward: Any,
    weight_next: Any,
    eligibility_next: Any,
    config: OnlineO1Config,
    dither: Any = None,
) -> Any:
    c = config
    t, s = c.trace_bits, c.trace_decay_shift
    e_lo, e_hi = c.eligibility_min, c.eligibility_max
    k = eligibility_sum_range(c).bits  # T + 2: holds e, |e|, pot, dep and their sum
    p = product_range(c).bits  # R + T
    assert k == t + 2

    e_ext = signed_signal(k)  # e sign-extended to K bits
    mag = signed_signal(k)  # |e| <= 2^(T-1)
    mag_dec = signed_signal(k)  # |e| - (|e| >> s), same range as |e|
    e_dec = signed_signal(k)  # decayS(e)
    pd = signed_signal(k)  # pot - dep in [-M, M]
    e_sum = signed_signal(k)  # [-2^(T-1) - M, 2^(T-1) - 1 + M]
    e_new = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    prod = signed_signal(p)

    @always_comb
    def extend() -> None:
        e_ext.next = concat(eligibility[t - 1], eligibility[t - 1], eligibility).signed()

    @always_comb
    def magnitude() -> None:
        if e_ext < 0:
            mag.next = -e_ext
        else:
            mag.next = e_ext

    if s > 0:

        @always_comb
        def decay() -> None:
            mag_dec.next = mag - (mag >> s)

    else:

        @always_comb
        def decay() -> None:
            mag_dec.next = mag

    @always_comb
    def resign() -> None:
        if e_ext < 0:
            e_dec.next = -mag_dec
        else:
            e_dec.next = mag_dec

    pair = o1_pairing(pre_trace, post_trace, pre_spike, post_spike, pd, c)

    @always_comb
    def accumulate() -> None:
        e_sum.next = e_dec + pd

    saturate_e = o1_eligibility_sat(e_sum, e_new, c)

    @always_comb
    def multiply() -> None:
        prod.next = reward * e_new  # an R x T signed product is exactly R + T bits wide

    weight_unit = o1_weight_next(weight, prod, weight_next, c, dither)

    @always_comb
    def outputs() -> None:
        eligibility_next.next = e_new

    return (extend, magnitude, decay, resign, pair, accumulate, saturate_e, multiply, weight_unit, outputs)
