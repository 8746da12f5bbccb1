"""``o1_lane``: one O(1) learning synapse in registers, one update per clock.

Ports (``W, T, R`` from the :class:`~plasticore.refmodel.online_o1.OnlineO1Config`)
-----
clk          in   clock; everything happens on its rising edge
rst          in   synchronous, active high: weight, traces and eligibility to 0 (highest priority)
load_en      in   sets the weight to ``load_weight`` and clears traces and eligibility (priority over step)
load_weight  in   unsigned ``W``
step_en      in   one step of the rule on this edge
pre_spike    in   1 bit
post_spike   in   1 bit
reward       in   signed ``R``
weight       out  unsigned ``W``   registered state: after the edge it shows the new state
pre_trace    out  unsigned ``T``
post_trace   out  unsigned ``T``
eligibility  out  signed ``T``

With ``rounding="stochastic"`` (and ``L > 0``) the lane holds an :func:`~plasticore.hw.o1_lfsr.o1_lfsr` that
draws once per step (``step_en`` without ``load_en``) and is restored by ``rst``.

With ``step_en`` low and no reset or load the state holds. The state is bit-exact with
:class:`~plasticore.refmodel.online_o1.OnlineO1Synapse` after every edge.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_lfsr import o1_lfsr
from .o1_synapse_update import o1_synapse_update
from .o1_trace import o1_trace_next
from .widths import O1Widths, PathSegment, draws_lfsr


def update_path(config: OnlineO1Config) -> tuple[PathSegment, ...]:
    """The longest path of the combinational update (:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`,
    used by this lane and by the array without ``pipelined_update``), in order (``K = T + 2``,
    ``N = max(weight sum, R + T)`` bits, ``s`` = trace_decay_shift):

    the eligibility: ``|e|`` (negate, mux), decay, re-sign (negate, mux), ``+ pot``, ``- dep``, saturation
    (compare, mux): 8 levels and ``6 K`` carry bits (7 and ``5 K`` without decay, ``s = 0``); then the
    product ``r * e'``; then ``w + delta`` and its saturation (2 levels, ``N`` carry bits). The first
    segment alone is the eligibility register's own path.
    """
    c = config
    w = O1Widths.of(c)
    k, n = w.eligibility_sum, max(w.weight_sum, w.product)
    decay = c.trace_decay_shift > 0
    return (
        PathSegment("eligibility: |e|, decay, re-sign, + pot - dep, saturate", 8 if decay else 7,
                    (6 if decay else 5) * k),
        PathSegment("product r * e'", product=True),
        PathSegment("w + delta, saturate", 2, n),
    )


def lane_port_signals(config: OnlineO1Config) -> dict[str, Any]:
    """Fresh MyHDL signals for every port of :func:`o1_lane` (for conversion and simulation)."""
    c = config
    return {
        "clk": Signal(bool(0)),
        "rst": Signal(bool(0)),
        "load_en": Signal(bool(0)),
        "load_weight": Signal(intbv(0, min=0, max=c.max_weight + 1)),
        "step_en": Signal(bool(0)),
        "pre_spike": Signal(bool(0)),
        "post_spike": Signal(bool(0)),
        "reward": Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1)),
        "weight": Signal(intbv(0, min=0, max=c.max_weight + 1)),
        "pre_trace": Signal(intbv(0, min=0, max=c.max_trace + 1)),
        "post_trace": Signal(intbv(0, min=0, max=c.max_trace + 1)),
        "eligibility": Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1)),
    }


@block
def o1_lane(
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
    # Internal state registers (VHDL cannot read an output port: TOOLCHAIN pitfall 2).
    w_q = Signal(intbv(0, min=0, max=c.max_weight + 1))
    pre_q = Signal(intbv(0, min=0, max=c.max_trace + 1))
    post_q = Signal(intbv(0, min=0, max=c.max_trace + 1))
    e_q = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    w_n = Signal(intbv(0, min=0, max=c.max_weight + 1))
    pre_n = Signal(intbv(0, min=0, max=c.max_trace + 1))
    post_n = Signal(intbv(0, min=0, max=c.max_trace + 1))
    e_n = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))

    pre_unit = o1_trace_next(pre_q, pre_spike, pre_n, c)
    post_unit = o1_trace_next(post_q, post_spike, post_n, c)
    rounding: tuple[Any, ...] = ()
    dither = None
    if draws_lfsr(c):  # one LFSR draw per step (a load draws nothing)
        advance = Signal(bool(0))

        @always_comb
        def draws() -> None:
            advance.next = step_en and not load_en

        dither = Signal(intbv(0)[c.learning_shift:])
        rounding = (o1_lfsr(clk, rst, advance, dither, c, 0), draws)
    syn_unit = o1_synapse_update(w_q, e_q, pre_q, post_q, pre_spike, post_spike, reward, w_n, e_n, c, dither)

    @always(clk.posedge)
    def registers() -> None:
        if rst:
            w_q.next = 0
            pre_q.next = 0
            post_q.next = 0
            e_q.next = 0
        elif load_en:
            w_q.next = load_weight
            pre_q.next = 0
            post_q.next = 0
            e_q.next = 0
        elif step_en:
            w_q.next = w_n
            pre_q.next = pre_n
            post_q.next = post_n
            e_q.next = e_n

    @always_comb
    def drive_outputs() -> None:
        weight.next = w_q
        pre_trace.next = pre_q
        post_trace.next = post_q
        eligibility.next = e_q

    return pre_unit, post_unit, *rounding, syn_unit, registers, drive_outputs
