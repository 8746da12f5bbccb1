"""``o1_weight_next``: the weight after a step, from the weight and the product ``r * e'`` (combinational).

Ports (``W`` from the config, ``P = R + T``)
-----
weight       in   unsigned ``W``  weight before the step
prod         in   signed ``P``    ``r * e'`` (``e'``: the eligibility after the step)
weight_next  out  unsigned ``W``  ``sat(w + ((r * e' + d) >> L), 0, 2^W - 1)``
dither       in   unsigned ``L``  (``rounding="stochastic"`` only, :func:`~plasticore.hw.o1_lfsr.o1_lfsr`'s draw)

The rounding dither ``d`` (:mod:`plasticore.refmodel.rounding`) enters as a carry into the weight sum, so no
adder is added to the path: with ``x = r * e'`` and ``x mod 2^L`` its low ``L`` bits,
``(x + d) >> L = (x >> L) + [x mod 2^L + d >= 2^L]``: for ``"nearest"`` (``d = 2^(L-1)``) the carry is bit
``L - 1`` of ``x``; for ``"stochastic"`` it is the compare ``x mod 2^L > ~u`` (``~u = 2^L - 1 - u``, ``L`` bits).
``"floor"`` (and every mode at ``L = 0``) builds exactly the floor circuit.

The sum runs at ``N = max(width of w + delta, P)`` bits (:mod:`plasticore.hw.widths`), every operand
widened explicitly first; saturation tests bits, not constants: MyHDL writes constants ``>= 2^31`` as
unsigned sized literals (``33'h7fffffff``), which would turn a signed comparison unsigned in Verilog.
Shared by every update block.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .sign_extend import sign_extend, signed_signal
from .widths import dithered, draws_lfsr, product_range, weight_sum_range


@block
def o1_weight_next(weight: Any, prod: Any, weight_next: Any, config: OnlineO1Config, dither: Any = None) -> Any:
    c = config
    rounds, stochastic = dithered(c), draws_lfsr(c)
    if stochastic and (dither is None or len(dither) != c.learning_shift):
        raise ValueError(f"rounding='stochastic' needs a dither of L = {c.learning_shift} bits (the LFSR draw)")
    if dither is not None and not stochastic:
        raise ValueError(f"a dither port is only for rounding='stochastic' with L > 0, not {c.rounding!r}, "
                         f"L = {c.learning_shift}")
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

    carry: tuple[Any, ...] = ()
    if rounds:
        cin = signed_signal(n)  # 0 or 1: the rounding carry into the weight sum
        if stochastic:  # x mod 2^L + u >= 2^L  <=>  x mod 2^L > 2^L - 1 - u = ~u (an L-bit compare)
            low, not_u = Signal(intbv(0)[sh:]), Signal(intbv(0)[sh:])

            @always_comb
            def low_bits() -> None:
                low.next = prod[sh:]
                not_u.next = ~dither

            @always_comb
            def round_carry() -> None:
                if low > not_u:
                    cin.next = 1
                else:
                    cin.next = 0

            carry = (low_bits, round_carry)
        else:

            @always_comb
            def round_carry() -> None:
                cin.next = concat(intbv(0)[n - 1:], prod[sh - 1]).signed()

            carry = (round_carry,)

        @always_comb
        def add_weight() -> None:
            w_sum.next = w_ext + delta + cin

    else:

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

    return extend_prod, scale, extend_w, *carry, add_weight, saturate_w
