"""``o1_lane_pipelined``: one O(1) learning synapse, one step per clock, at a high clock rate.

:func:`~plasticore.hw.o1_lane.o1_lane` finishes a whole step in the clock period in which it starts, so its
period holds the full chain: eligibility decay, pairing sum, saturation, the product ``r * e'``, the weight
sum and its saturation (15 MHz on the UP5K, 31 MHz on the ECP5). This lane still accepts **one operation per
clock** (a step, a load, or nothing) but gives each state field its own pipeline stage, so that the clock
period holds one field's recurrence (its new value from its old one), not the chain:

* stage 1 (edge ``t``): traces, ``pre' = M if pre_spike else decayU(pre)`` (same for post), and
  ``pd = pot - dep`` from the traces *before* the step, registered with the reward;
* stage 2 (edge ``t + 1``): eligibility. ``decayS(e) = e - trunc(e / 2^s)``, ``trunc(e / 2^s) = (e >> s) + c``
  with ``c = [e < 0 and e mod 2^s != 0]``, and ``-x = ~x + 1``, so
  ``e' = sat(e + ~(e >> s) + pd + (1 - c))``: one 3:2 compressor level (LUTs) with ``1 - c`` as the free low
  bit of its carry word, one carry chain, saturation by bit tests. ``c`` is kept in a register beside ``e``;
* stage 3 (edge ``t + 2``): ``r * e'`` as partial products and the first levels of a Wallace tree, registered
  as at most four carry-save words (:func:`~plasticore.hw.csa_multiplier.csa_partial_sums`, LUTs only: a DSP
  block's own delay plus its routing would not fit a 150 MHz period on the ECP5);
* stage 4 (edge ``t + 3``): the last Wallace levels and the product's carry chain
  (:func:`~plasticore.hw.csa_multiplier.csa_final_sum`);
* stage 5 (edge ``t + 4``): weight, ``w' = sat(w + ((r * e') >> L), 0, 2^W - 1)``
  (:func:`~plasticore.hw.o1_weight_next.o1_weight_next`; the pair term of stage 1 is
  :func:`~plasticore.hw.o1_pairing.o1_pairing`).

The equations are those of :mod:`plasticore.refmodel.online_o1` (Izhikevich 2007; Florian 2007), bit for
bit. A load travels down the same stages (stage 1 clears the traces, stage 2 the eligibility, stage 5
writes the weight), so steps and loads take effect in the order they were sampled.

Ports: those of :func:`~plasticore.hw.o1_lane.o1_lane` (:func:`~plasticore.hw.o1_lane.lane_port_signals`).
With ``rounding="stochastic"`` (and ``L > 0``) an :func:`~plasticore.hw.o1_lfsr.o1_lfsr` draws once per step,
on the edge the step's weight is written (stage 5); ``rst`` restores it (the dropped operations draw nothing).

Timing contract
---------------
* An operation (``load_en``, else ``step_en``) sampled on edge ``t`` shows on **all four** outputs from edge
  ``t + PIPELINE_DELAY`` (``= t + 4``) on: after edge ``u`` the outputs are the state after every operation
  sampled on edges ``<= u - 4`` (traces and eligibility are delayed to line up with the weight).
  Operations may be sampled on every edge; idle edges (neither enable) are allowed anywhere.
* ``rst`` (synchronous, highest priority) zeroes the state and the outputs on its edge and **drops the
  operations sampled on the four edges before it**: after edge ``u`` the outputs show the state after the
  operations sampled on edges ``<= u - 4`` *and after the last reset*.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv, modbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .csa_multiplier import STAGE_WORDS, csa_final_sum, csa_partial_sums, stage_words, wallace_levels
from .o1_eligibility_sat import o1_eligibility_sat
from .o1_lfsr import o1_lfsr
from .o1_pairing import o1_pairing
from .o1_trace import o1_trace_next
from .o1_weight_next import o1_weight_next
from .sign_extend import signed_signal
from .widths import O1Widths, PathSegment, draws_lfsr, eligibility_sum_range, product_range

PIPELINE_DELAY = 4  # edges from an operation's sampling edge to the edge its state shows on the outputs
STAGES = PIPELINE_DELAY + 1  # register stages an operation passes (traces ... weight)


def stage_paths(config: OnlineO1Config) -> tuple[PathSegment, ...]:
    """The longest path of each of the :data:`STAGES` stages (one :class:`~plasticore.hw.widths.PathSegment`
    each; ``K = T + 2``, ``P = R + T``, ``N = max(weight sum, P)`` bits):

    1: pairing mux + ``(pot - dep)`` (2 levels, ``K`` carry bits); 2: one 3:2 compressor level, the
    ``K + 1``-bit carry chain, saturation by bit tests and a mux (3, ``K + 1``); 3: partial products and
    the first Wallace levels down to :data:`~plasticore.hw.csa_multiplier.STAGE_WORDS` words
    (``1 + wallace_levels(R + 1, STAGE_WORDS)``, LUTs only); 4: the last Wallace levels and the product's
    carry chain (``wallace_levels(stage_words(R), 2) + 1``, ``P``); 5: ``w + delta`` and saturation (3, ``N``).
    """
    c = config
    w = O1Widths.of(c)
    k, n, r = w.eligibility_sum, max(w.weight_sum, w.product), c.reward_bits
    return (
        PathSegment("1: pairing mux, pot - dep", 2, k),
        PathSegment("2: 3:2 compressor, carry chain, saturate", 3, k + 1),
        PathSegment("3: partial products, first Wallace levels", 1 + wallace_levels(r + 1, STAGE_WORDS)),
        PathSegment("4: last Wallace levels, product carry chain", wallace_levels(stage_words(r), 2) + 1, w.product),
        PathSegment("5: w + delta, saturate", 3, n),
    )


@block
def o1_lane_pipelined(
    clk: Any,
    rst: Any,
    load_en: Any,
    load_weight: Any,
    step_en: Any,
    pre_spike: Any,
    post_spike: Any,
    reward: Any,
    weight: Any,
    pre_trace: Any,
    post_trace: Any,
    eligibility: Any,
    config: OnlineO1Config,
) -> Any:
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    c = config
    t, s, m = c.trace_bits, c.trace_decay_shift, c.max_trace
    e_lo, e_hi, w_max = c.eligibility_min, c.eligibility_max, c.max_weight
    k = eligibility_sum_range(c).bits  # T + 2
    p = product_range(c).bits  # R + T
    assert k == t + 2
    decays = 0 < s < t  # s >= T: |e| <= 2^(T-1) < 2^s, so trunc(e / 2^s) = 0 and e is unchanged

    def unsigned(hi: int) -> Any:
        return Signal(intbv(0, min=0, max=hi + 1))

    def elig() -> Any:
        return Signal(intbv(0, min=e_lo, max=e_hi + 1))

    def rew() -> Any:
        return Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    # ---- stage 1: traces; pot - dep from the old traces ----
    pre_q, post_q, pre_n, post_n = unsigned(m), unsigned(m), unsigned(m), unsigned(m)
    pd, s1_pd = signed_signal(k), signed_signal(k)
    s1_r, s1_lw = rew(), unsigned(w_max)
    s1_step, s1_load = Signal(bool(0)), Signal(bool(0))

    pre_unit = o1_trace_next(pre_q, pre_spike, pre_n, c)
    post_unit = o1_trace_next(post_q, post_spike, post_n, c)

    pair = o1_pairing(pre_q, post_q, pre_spike, post_spike, pd, c)

    @always(clk.posedge)
    def stage1() -> None:
        if rst:
            pre_q.next = 0
            post_q.next = 0
            s1_step.next = False
            s1_load.next = False
        elif load_en:
            pre_q.next = 0
            post_q.next = 0
            s1_step.next = False
            s1_load.next = True
        elif step_en:
            pre_q.next = pre_n
            post_q.next = post_n
            s1_step.next = True
            s1_load.next = False
        else:
            s1_step.next = False
            s1_load.next = False
        s1_pd.next = pd
        s1_r.next = reward
        s1_lw.next = load_weight

    # ---- stage 2: eligibility ----
    # decayS(e) = e - trunc(e / 2^s), trunc(e / 2^s) = (e >> s) + c, c = [e < 0 and e mod 2^s != 0], and
    # -x = ~x + 1, so e' = sat(e + ~(e >> s) + pd + (1 - c)): one 3:2 compressor level on the K-bit patterns
    # of e, ~(e >> s) and pd, with 1 - c as the free low bit of its carry word, then one carry chain.
    # c is a register (c_q) kept in step with e_q, computed from the sum beside the saturation.
    e_q = elig()
    c_q = Signal(bool(0))  # [e_q < 0 and e_q mod 2^s != 0] (with decay only)
    e_ext, sh_e, e_sum, e_new = signed_signal(k), signed_signal(k), signed_signal(k), elig()
    a_u, b_u, d_u, x_u, y_u = (Signal(intbv(0)[k:]) for _ in range(5))
    maj_u = Signal(intbv(0)[k - 1:])  # the top bit's majority would shift out: not computed
    tot = Signal(modbv(0)[k:])  # the sum modulo 2^K: a modbv wraps, and converts to a K-bit sum
    c_next, not_c = Signal(bool(0)), Signal(bool(0))
    s2_r, s2_lw = rew(), unsigned(w_max)
    s2_step, s2_load = Signal(bool(0)), Signal(bool(0))

    @always_comb
    def extend() -> None:
        e_ext.next = concat(e_q[t - 1], e_q[t - 1], e_q).signed()

    if decays:

        @always_comb
        def shift_e() -> None:
            sh_e.next = e_ext >> s

        @always_comb
        def patterns() -> None:
            a_u.next = e_ext[k:]
            b_u.next = ~sh_e[k:]
            d_u.next = s1_pd[k:]

        @always_comb
        def compress() -> None:
            x_u.next = a_u ^ b_u ^ d_u
            maj_u.next = (a_u[k - 1:] & b_u[k - 1:]) | (a_u[k - 1:] & d_u[k - 1:]) | (b_u[k - 1:] & d_u[k - 1:])

        @always_comb
        def invert_c() -> None:
            not_c.next = not c_q

        @always_comb
        def carry_word() -> None:
            y_u.next = concat(maj_u, not_c)  # a signal, not an expression: VHDL concatenates std_logic

        @always_comb
        def accumulate() -> None:
            tot.next = x_u + y_u

        @always_comb
        def wrap() -> None:
            e_sum.next = tot.signed()

        # e' < 0 with a low bit set: only when the sum is in range (top three bits all ones); a saturated
        # -2^(T-1) has its low s < T bits clear
        @always_comb
        def next_c() -> None:
            c_next.next = e_sum[k - 1] and e_sum[k - 2] and e_sum[t - 1] and e_sum[s:] != 0

        @always(clk.posedge)
        def track_c() -> None:
            if rst or s1_load:
                c_q.next = False
            elif s1_step:
                c_q.next = c_next

        stage2_decay: tuple[Any, ...] = (shift_e, patterns, compress, invert_c, carry_word, accumulate, wrap,
                                         next_c, track_c)
    else:

        @always_comb
        def accumulate() -> None:
            e_sum.next = e_ext + s1_pd

        stage2_decay = (accumulate,)

    saturate_e = o1_eligibility_sat(e_sum, e_new, c)

    @always(clk.posedge)
    def stage2() -> None:
        if rst:
            e_q.next = 0
            s2_step.next = False
            s2_load.next = False
        else:
            if s1_load:
                e_q.next = 0
            elif s1_step:
                e_q.next = e_new
            s2_step.next = s1_step
            s2_load.next = s1_load
        s2_r.next = s1_r
        s2_lw.next = s1_lw

    # ---- stage 3: partial products of r * e' and the first Wallace levels (LUTs, no DSP block) ----
    words_q = [Signal(intbv(0)[p:]) for _ in range(stage_words(c.reward_bits))]
    s3_lw = unsigned(w_max)
    s3_step, s3_load = Signal(bool(0)), Signal(bool(0))
    mult = csa_partial_sums(clk, s2_r, e_q, words_q)

    @always(clk.posedge)
    def stage3() -> None:
        if rst:
            s3_step.next = False
            s3_load.next = False
        else:
            s3_step.next = s2_step
            s3_load.next = s2_load
        s3_lw.next = s2_lw

    # ---- stage 4: the last Wallace levels and the product's carry chain ----
    prod = signed_signal(p)
    s4_prod = signed_signal(p)
    s4_lw = unsigned(w_max)
    s4_step, s4_load = Signal(bool(0)), Signal(bool(0))
    add_product = csa_final_sum(words_q, prod)

    @always(clk.posedge)
    def stage4() -> None:
        if rst:
            s4_step.next = False
            s4_load.next = False
        else:
            s4_step.next = s3_step
            s4_load.next = s3_load
        s4_prod.next = prod
        s4_lw.next = s3_lw

    # ---- stage 5: weight ----
    w_q, w_new = unsigned(w_max), unsigned(w_max)
    rounding: tuple[Any, ...] = ()
    dither = None
    if draws_lfsr(c):  # one LFSR draw per step, as the step reaches stage 5
        dither = Signal(intbv(0)[c.learning_shift:])
        rounding = (o1_lfsr(clk, rst, s4_step, dither, c, 0),)
    weight_unit = o1_weight_next(w_q, s4_prod, w_new, c, dither)

    @always(clk.posedge)
    def stage5() -> None:
        if rst:
            w_q.next = 0
        elif s4_load:
            w_q.next = s4_lw
        elif s4_step:
            w_q.next = w_new

    # ---- outputs: traces and eligibility delayed to line up with the weight ----
    e_d1, e_d2, e_d3 = elig(), elig(), elig()
    pre_d1, pre_d2, pre_d3, pre_d4 = unsigned(m), unsigned(m), unsigned(m), unsigned(m)
    post_d1, post_d2, post_d3, post_d4 = unsigned(m), unsigned(m), unsigned(m), unsigned(m)

    @always(clk.posedge)
    def align() -> None:
        if rst:
            e_d1.next = 0
            e_d2.next = 0
            e_d3.next = 0
            pre_d1.next = 0
            pre_d2.next = 0
            pre_d3.next = 0
            pre_d4.next = 0
            post_d1.next = 0
            post_d2.next = 0
            post_d3.next = 0
            post_d4.next = 0
        else:
            e_d1.next = e_q
            e_d2.next = e_d1
            e_d3.next = e_d2
            pre_d1.next = pre_q
            pre_d2.next = pre_d1
            pre_d3.next = pre_d2
            pre_d4.next = pre_d3
            post_d1.next = post_q
            post_d2.next = post_d1
            post_d3.next = post_d2
            post_d4.next = post_d3

    @always_comb
    def drive_outputs() -> None:
        weight.next = w_q
        pre_trace.next = pre_d4
        post_trace.next = post_d4
        eligibility.next = e_d3

    return (pre_unit, post_unit, pair, stage1, extend, *stage2_decay, saturate_e, stage2, mult, stage3,
            add_product, stage4, *rounding, weight_unit, stage5, align, drive_outputs)
