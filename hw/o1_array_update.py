"""``o1_array_update``: the O(1) synapse update in three pipeline stages (for the array's clock rate).

The same function as :func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`, bit for bit, split by
registers so that no clock period holds more than about two carry chains:

* stage A: ``decayS(e) = e - trunc(e / 2^s)`` (the bias form: ``(e + [e < 0] (2^s - 1)) >> s`` is
  ``trunc(e / 2^s)``; it equals ``sign(e) (|e| - (|e| >> s))``) and ``pd = pot - dep``; registered;
* stage B: ``e' = sat(decayS(e) + pd, -2^(T-1), 2^(T-1) - 1)``; registered;
* stage C: ``w' = sat(w + ((r * e') >> L), 0, 2^W - 1)``; registered (the outputs).

Ports (``W, T, R`` from the config)
-----
clk               in   clock
weight            in   unsigned ``W``  weight before the step              } sampled on edge ``t``
eligibility       in   signed ``T``    eligibility before the step         }
pre_trace         in   unsigned ``T``  pre trace before the step           }
post_trace        in   unsigned ``T``  post trace before the step          }
pre_spike         in   1 bit                                              }
post_spike        in   1 bit                                              }
reward            in   signed ``R``                                        }
weight_next       out  unsigned ``W``  registered: valid after edge ``t + 2`` (latency 3 edges)
eligibility_next  out  signed ``T``    registered: valid after edge ``t + 2``

Every sum and product is its own range-sized signal with explicitly widened operands (see
:mod:`plasticore.hw.widths`); saturation of the weight tests bits, not constants >= 2^31.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv
from plasticore.refmodel.online_o1 import OnlineO1Config

from .sign_extend import sign_extend
from .widths import eligibility_sum_range, product_range, weight_sum_range

UPDATE_LATENCY = 3


def _signed(bits: int) -> Any:
    return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))


@block
def o1_array_update(
    clk: Any,
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
    t, s, m, sh, wb = c.trace_bits, c.trace_decay_shift, c.max_trace, c.learning_shift, c.weight_bits
    e_lo, e_hi, w_max = c.eligibility_min, c.eligibility_max, c.max_weight
    k = eligibility_sum_range(c).bits  # T + 2
    p = product_range(c).bits  # R + T
    n = max(weight_sum_range(c).bits, p)
    decays = 0 < s < t  # s >= T: |e| <= 2^(T-1) < 2^s, so |e| >> s = 0 and e is unchanged
    bias = (1 << s) - 1

    # ---- stage A ----
    e_ext = _signed(k)
    e_b = _signed(k)  # e + bias (e < 0): in [-2^(T-1), 2^T - 2] for s < T
    q = _signed(k)  # trunc(e / 2^s)
    e_dec = _signed(k)
    pot = _signed(k)
    dep = _signed(k)
    pd = _signed(k)  # pot - dep in [-M, M]
    a_e_dec = _signed(k)
    a_pd = _signed(k)
    a_w = Signal(intbv(0, min=0, max=w_max + 1))
    a_r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    @always_comb
    def extend() -> None:
        e_ext.next = concat(eligibility[t - 1], eligibility[t - 1], eligibility).signed()

    if decays:

        @always_comb
        def add_bias() -> None:
            if e_ext < 0:
                e_b.next = e_ext + bias
            else:
                e_b.next = e_ext

        @always_comb
        def quotient() -> None:
            q.next = e_b >> s

        @always_comb
        def decay() -> None:
            e_dec.next = e_ext - q

        stage_a_decay: tuple[Any, ...] = (add_bias, quotient, decay)
    else:

        @always_comb
        def decay() -> None:
            e_dec.next = e_ext

        stage_a_decay = (decay,)

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
    def difference() -> None:
        pd.next = pot - dep

    @always(clk.posedge)
    def reg_a() -> None:
        a_e_dec.next = e_dec
        a_pd.next = pd
        a_w.next = weight
        a_r.next = reward

    # ---- stage B ----
    e_sum = _signed(k)
    e_new = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    b_e = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    b_w = Signal(intbv(0, min=0, max=w_max + 1))
    b_r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    @always_comb
    def accumulate() -> None:
        e_sum.next = a_e_dec + a_pd

    @always_comb
    def saturate_e() -> None:
        if e_sum > e_hi:
            e_new.next = e_hi
        elif e_sum < e_lo:
            e_new.next = e_lo
        else:
            e_new.next = e_sum

    @always(clk.posedge)
    def reg_b() -> None:
        b_e.next = e_new
        b_w.next = a_w
        b_r.next = a_r

    # ---- stage C ----
    prod = _signed(p)
    prod_ext = _signed(n)
    delta = _signed(n)
    w_ext = _signed(n)
    w_sum = _signed(n)
    w_pad = n - wb

    @always_comb
    def multiply() -> None:
        prod.next = b_r * b_e

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
        w_ext.next = concat(intbv(0)[w_pad:], b_w).signed()

    @always_comb
    def add_weight() -> None:
        w_sum.next = w_ext + delta

    @always(clk.posedge)
    def reg_c() -> None:
        eligibility_next.next = b_e
        if w_sum[n - 1]:
            weight_next.next = 0
        elif w_sum[n - 1:wb] != 0:
            weight_next.next = w_max
        else:
            weight_next.next = w_sum[wb:]

    return (extend, *stage_a_decay, pairing, difference, reg_a, accumulate, saturate_e, reg_b, multiply,
            extend_prod, scale, extend_w, add_weight, reg_c)
