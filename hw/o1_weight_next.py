"""``o1_weight_next``: the weight after a step, from the weight and the product ``r * e'`` (combinational).

Ports (``W`` from the config, ``P = R + T``)
-----
weight       in   unsigned ``W``  weight before the step
prod         in   signed ``P``    ``r * e'`` (``e'``: the eligibility after the step)
weight_next  out  unsigned ``W``  ``sat(w + ((r * e') >> L), 0, 2^W - 1)``

The sum runs at ``N = max(width of w + delta, P)`` bits (:mod:`plasticore.hw.widths`), every operand
widened explicitly first; saturation tests bits, not constants: MyHDL writes constants ``>= 2^31`` as
unsigned sized literals (``33'h7fffffff``), which would turn a signed comparison unsigned in Verilog.
Shared by every update block.
"""

from __future__ import annotations

from typing import Any

from myhdl import always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .sign_extend import sign_extend, signed_signal
from .widths import product_range, weight_sum_range


@block
def o1_weight_next(weight: Any, prod: Any, weight_next: Any, config: OnlineO1Config) -> Any:
    c = config
    sh, wb, w_max = c.learning_shift, c.weight_bits, c.max_weight
    p = product_range(c).bits
    if len(prod) != p:
        raise ValueError(f"prod must have P = R + T = {p} bits, not {len(prod)}")
    n = max(weight_sum_range(c).bits, p)
    w_pad = n - wb  # >= 1: w + delta is signed and at least one bit wider than w
    prod_ext, delta, w_ext, w_sum = signed_signal(n), signed_signal(n), signed_signal(n), signed_signal(n)

    extend_prod = sign_extend(prod, prod_ext)

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

    @always_comb
    def saturate_w() -> None:
        if w_sum[n - 1]:
            weight_next.next = 0
        elif w_sum[n - 1 : wb] != 0:
            weight_next.next = w_max
        else:
            weight_next.next = w_sum[wb:]

    return extend_prod, scale, extend_w, add_weight, saturate_w
