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
weight_next       out  unsigned ``W``       ``sat(w + ((r * e') >> L), 0, 2^W - 1)``
eligibility_next  out  signed ``T``         ``e' = sat(decayS(e) + pot - dep, -2^(T-1), 2^(T-1) - 1)``

``pot = (M if pre_spike else pre_trace) if post_spike else 0`` and ``dep = post_trace if pre_spike else 0``.

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

from .sign_extend import sign_extend
from .widths import eligibility_sum_range, product_range, weight_sum_range


def _signed(bits: int) -> Any:
    return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))


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
) -> Any:
    c = config
    t, s, m, sh = c.trace_bits, c.trace_decay_shift, c.max_trace, c.learning_shift
    e_lo, e_hi, w_max = c.eligibility_min, c.eligibility_max, c.max_weight
    k = eligibility_sum_range(c).bits  # T + 2: holds e, |e|, pot, dep and their sum
    p = product_range(c).bits  # R + T
    n = max(weight_sum_range(c).bits, p)  # holds w, (r*e') >> L and their sum
    assert k == t + 2

    e_ext = _signed(k)  # e sign-extended to K bits
    mag = _signed(k)  # |e| <= 2^(T-1)
    mag_dec = _signed(k)  # |e| - (|e| >> s), same range as |e|
    e_dec = _signed(k)  # decayS(e)
    pot = _signed(k)  # [0, M]
    dep = _signed(k)  # [0, M]
    e_sum = _signed(k)  # [-2^(T-1) - M, 2^(T-1) - 1 + M]
    e_new = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    prod = _signed(p)
    prod_ext = _signed(n)
    delta = _signed(n)
    w_ext = _signed(n)
    w_sum = _signed(n)

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

    @always_comb
    def pairing() -> None:
        if post_spike:
            if pre_spike:
                pot.next = m
            else:
                pot.next = concat(intbv(0)[2:], pre_trace).signed()
        else:
            pot.next = 0
        if pre_spike:
            dep.next = concat(intbv(0)[2:], post_trace).signed()
        else:
            dep.next = 0

    @always_comb
    def accumulate() -> None:
        e_sum.next = e_dec + pot - dep

    @always_comb
    def saturate_e() -> None:
        if e_sum > e_hi:
            e_new.next = e_hi
        elif e_sum < e_lo:
            e_new.next = e_lo
        else:
            e_new.next = e_sum

    @always_comb
    def multiply() -> None:
        prod.next = reward * e_new  # an R x T signed product is exactly R + T bits wide

    extend_prod = sign_extend(prod, prod_ext)
    w_pad = n - c.weight_bits  # >= 1: w + delta is signed and at least one bit wider than w

    if sh > 0:

        @always_comb
        def scale() -> None:
            delta.next = prod_ext >> sh

    else:

        @always_comb
        def scale() -> None:
            delta.next = prod_ext

    @always_comb
    def extend_w() -> None:
        w_ext.next = concat(intbv(0)[w_pad:], weight).signed()

    @always_comb
    def add_weight() -> None:
        w_sum.next = w_ext + delta

    wb = c.weight_bits

    # Saturation by bit tests, not by comparing with 2^W - 1: MyHDL writes constants >= 2^31 as
    # unsigned sized literals (33'h7fffffff), which would turn a signed comparison unsigned in Verilog.
    @always_comb
    def outputs() -> None:
        eligibility_next.next = e_new
        if w_sum[n - 1]:
            weight_next.next = 0
        elif w_sum[n - 1 : wb] != 0:
            weight_next.next = w_max
        else:
            weight_next.next = w_sum[wb:]

    return (extend, magnitude, decay, resign, pairing, accumulate, saturate_e, multiply, extend_prod, scale,
            extend_w, add_weight, outputs)
