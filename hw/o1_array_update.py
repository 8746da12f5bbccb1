"""``o1_array_update``: the O(1) synapse update in five pipeline stages (for the array's clock rate).

The same function as :func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`, bit for bit, split by
registers so that no clock period holds more than one carry chain (or the product alone):

* stage A: ``q = trunc(e / 2^s)`` (the bias form: ``(e + [e < 0] (2^s - 1)) >> s``) and ``pd = pot - dep``;
  registered;
* stage B: ``decayS(e) = e - q`` (it equals ``sign(e) (|e| - (|e| >> s))``); registered;
* stage C: ``e' = sat(decayS(e) + pd, -2^(T-1), 2^(T-1) - 1)`` (saturation by bit tests); registered;
* stage D: the product ``r * e'`` alone (a DSP block with a registered output where there is one);
  registered;
* stage E: ``w' = sat(w + ((r * e') >> L), 0, 2^W - 1)`` (:func:`~plasticore.hw.o1_weight_next.o1_weight_next`);
  registered (the outputs).

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
weight_next       out  unsigned ``W``  registered: valid after edge ``t + 4`` (latency 5 edges)
eligibility_next  out  signed ``T``    registered: valid after edge ``t + 4``

Every sum and product is its own range-sized signal with explicitly widened operands (see
:mod:`plasticore.hw.widths`); saturation tests bits, not constants >= 2^31.

:func:`~plasticore.hw.pipe_reg.delay_line` is the register chain the array uses to keep its tags and traces in
step with the update.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_eligibility_sat import o1_eligibility_sat
from .o1_pairing import o1_pairing
from .o1_weight_next import o1_weight_next
from .sign_extend import signed_signal
from .widths import O1Widths, PathSegment, eligibility_sum_range, product_range

UPDATE_LATENCY = 5


def stage_paths(config: OnlineO1Config) -> tuple[PathSegment, ...]:
    """The longest path of each of the five stages (one :class:`~plasticore.hw.widths.PathSegment` per
    stage, ``len == UPDATE_LATENCY``), ``K = T + 2`` the eligibility-sum width and ``N = max(W + 1 + ..., R + T)``
    the weight-sum/product width (:class:`~plasticore.hw.widths.O1Widths`):

    A: bias add or pairing mux, then ``pot - dep`` (2 levels, ``K`` carry bits); B: ``e - q`` (1, ``K``);
    C: ``+ pd`` and saturation by bit tests and a mux (3, ``K``); D: the product alone; E: ``w + delta``
    and saturation (3, ``N``).
    """
    w = O1Widths.of(config)
    k, n = w.eligibility_sum, max(w.weight_sum, w.product)
    return (
        PathSegment("A: bias add | pairing mux, pot - dep", 2, k),
        PathSegment("B: e - q", 1, k),
        PathSegment("C: + pd, saturate (bit tests, mux)", 3, k),
        PathSegment("D: r * e'", product=True),
        PathSegment("E: w + delta, saturate (bit tests, mux)", 3, n),
    )


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
    dither: Any = None,
) -> Any:
    c = config
    t, s = c.trace_bits, c.trace_decay_shift
    e_lo, e_hi, w_max = c.eligibility_min, c.eligibility_max, c.max_weight
    k = eligibility_sum_range(c).bits  # T + 2
    p = product_range(c).bits  # R + T
    assert k == t + 2
    decays = 0 < s < t  # s >= T: |e| <= 2^(T-1) < 2^s, so |e| >> s = 0 and e is unchanged
    bias = (1 << s) - 1

    # ---- stage A: quotient, pot - dep ----
    e_ext = signed_signal(k)
    bias_v = signed_signal(k)  # bias if e < 0 else 0
    e_b = signed_signal(k)  # e + bias (e < 0): in [-2^(T-1), 2^T - 2] for s < T
    q = signed_signal(k)  # trunc(e / 2^s)
    pd = signed_signal(k)  # pot - dep in [-M, M]
    a_e = signed_signal(k)
    a_q = signed_signal(k)
    a_pd = signed_signal(k)
    a_w = Signal(intbv(0, min=0, max=w_max + 1))
    a_r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    e_dec = signed_signal(k)  # stage B: decayS(e) = e - q

    @always_comb
    def extend() -> None:
        e_ext.next = concat(eligibility[t - 1], eligibility[t - 1], eligibility).signed()

    if decays:

        # one adder, its second operand a mux (folded into the adder's LUTs), not a mux after an adder
        @always_comb
        def bias_mux() -> None:  # a conditional expression: a continuous assignment in Verilog
            bias_v.next = bias if eligibility[t - 1] else 0

        @always_comb
        def add_bias() -> None:
            e_b.next = e_ext + bias_v

        @always_comb
        def quotient() -> None:
            q.next = e_b >> s

        @always(clk.posedge)
        def reg_q() -> None:
            a_q.next = q

        @always_comb
        def decay() -> None:
            e_dec.next = a_e - a_q

        stage_a_decay: tuple[Any, ...] = (bias_mux, add_bias, quotient, reg_q, decay)
    else:

        @always_comb
        def decay() -> None:
            e_dec.next = a_e

        stage_a_decay = (decay,)

    pair = o1_pairing(pre_trace, post_trace, pre_spike, post_spike, pd, c)

    @always(clk.posedge)
    def reg_a() -> None:
        a_e.next = e_ext
        a_pd.next = pd
        a_w.next = weight
        a_r.next = reward

    # ---- stage B: decay ----
    b_e_dec = signed_signal(k)
    b_pd = signed_signal(k)
    b_w = Signal(intbv(0, min=0, max=w_max + 1))
    b_r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    @always(clk.posedge)
    def reg_b() -> None:
        b_e_dec.next = e_dec
        b_pd.next = a_pd
        b_w.next = a_w
        b_r.next = a_r

    # ---- stage C: accumulate, saturate ----
    e_sum = signed_signal(k)
    e_new = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    c_e = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    c_w = Signal(intbv(0, min=0, max=w_max + 1))
    c_r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    @always_comb
    def accumulate() -> None:
        e_sum.next = b_e_dec + b_pd

    saturate_e = o1_eligibility_sat(e_sum, e_new, c)

    @always(clk.posedge)
    def reg_c() -> None:
        c_e.next = e_new
        c_w.next = b_w
        c_r.next = b_r

    # ---- stage D: the product alone ----
    prod = signed_signal(p)
    d_prod = signed_signal(p)
    d_e = Signal(intbv(0, min=e_lo, max=e_hi + 1))
    d_w = Signal(intbv(0, min=0, max=w_max + 1))

    @always_comb
    def multiply() -> None:
        prod.next = c_r * c_e

    @always(clk.posedge)
    def reg_d() -> None:
        d_prod.next = prod
        d_e.next = c_e
        d_w.next = c_w

    # ---- stage E: weight sum, saturate ----
    w_new = Signal(intbv(0, min=0, max=w_max + 1))
    weight_unit = o1_weight_next(d_w, d_prod, w_new, c, dither)  # dither: the draw for the item in stage E

    @always(clk.posedge)
    def reg_e() -> None:
        eligibility_next.next = d_e
        weight_next.next = w_new

    return (extend, *stage_a_decay, pair, reg_a, reg_b, accumulate, saturate_e, reg_c, multiply, reg_d,
            weight_unit, reg_e)
