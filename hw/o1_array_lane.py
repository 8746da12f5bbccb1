"""``o1_array_lane``: one lane of :func:`plasticore.hw.o1_array.o1_array` (its synapse and post-neuron memories).

Lane ``p`` of ``P`` owns the post neurons ``j = k * P + p`` (``k = 0 .. K - 1``, ``K = ceil(n_post / P)``) and
the synapses ``(i, j)`` of those columns. Its three memories (all :func:`~plasticore.hw.o1_array_ram.o1_array_ram`,
simple dual port, registered read):

* synapse RAM, depth ``n_pre * K``, word ``{weight[W], eligibility[T]}`` (eligibility as its two's-complement
  bit pattern), synapse ``(i, k * P + p)`` at address ``i * K + k``;
* post-trace RAM, depth ``K``, word ``post_trace[T]`` of post neuron ``k * P + p`` at address ``k``;
* post-input RAM, depth ``K``, word ``{post_spike[1], reward[R]}`` (reward as its bit pattern), loaded by the host.

If ``P`` does not divide ``n_post`` the last lanes have unused slots ``j >= n_post``: they are processed like the
others (their results are never visible) so every lane runs the same schedule.

Ports (``W, T, R`` from the config; ``Aw`` synapse address bits, ``Ak`` column-group address bits)
-----
clk            in   clock
syn_raddr      in   ``Aw``  synapse RAM read address (shared by all lanes; the array muxes pipeline/host)
syn_waddr      in   ``Aw``  synapse RAM write address (shared)
post_raddr     in   ``Ak``  post RAMs read address (shared)
post_waddr     in   ``Ak``  post RAMs write address (shared)
pre_trace      in   ``T``   pipeline stage 2: pre trace (before the step) of the row being processed
pre_spike      in   1 bit   pipeline stage 2: pre spike of that row
wb_valid       in   1 bit   the write-back stage holds a result: the synapse RAM writes it (priority over the host)
wb_last_row    in   1 bit   the write-back item is in the last row: the post-trace RAM writes the next post trace
host_lane      in   lane index selected by the host column (registered host stage h1)
host_we_syn    in   1 bit   host writes ``{host_weight, host_elig}`` to the synapse RAM (if this lane is selected)
host_we_trace  in   1 bit   host writes ``host_trace`` to the post-trace RAM (if selected)
host_we_input  in   1 bit   host writes ``{host_spike, host_reward}`` to the post-input RAM (if selected)
host_weight    in   ``W``   unsigned
host_elig      in   ``T``   signed
host_trace     in   ``T``   unsigned
host_spike     in   1 bit
host_reward    in   ``R``   signed
read_lane      in   lane index of the host read now in the stage-2 registers (host stage h3)
q_syn_in       in   ``W + T`` read-back chain from lane ``p - 1`` (not read by lane 0)
q_syn_out      out  ``W + T`` ``q_syn_in | r_syn`` (the registered synapse word) if ``read_lane == p``
                            else ``q_syn_in`` (``q_syn_in = 0`` for lane 0)
q_post_in      in   ``T``
q_post_out     out  ``T``     same chain for the post trace

With ``rounding="stochastic"`` (and ``L > 0``) the lane owns an :func:`~plasticore.hw.o1_lfsr.o1_lfsr` for lane
``p``: ``draw`` (high while the stage computing the weight holds a schedule item, padding items included) consumes
one draw per item, ``rst`` restores it.

Parameters: ``config``, ``lane`` (``p``), ``syn_depth`` (``n_pre * K``), ``post_depth`` (``K``), ``memory``
(``"inferred"``: :func:`~plasticore.hw.o1_array_ram.o1_array_ram`; ``"spram"``:
:func:`~plasticore.hw.o1_array_synmem.o1_array_synmem`), ``pipelined`` (the update in one stage with
:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`, or in five with
:func:`~plasticore.hw.o1_array_update.o1_array_update`).

Timing: stage 1, the RAMs read on the edge after the address; stage 2, their words are registered
(``r_*``). Then either the next eligibility/weight (:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`)
and next post trace (:func:`~plasticore.hw.o1_trace.o1_trace_next`) are computed combinationally and
registered (``wb_*``, stage 3), or (``pipelined``) the five-stage update produces them four clocks later
(stages 3 to 7) and the post trace is delayed to match; the RAMs write the ``wb_*`` words on the next edge.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_array_ram import o1_array_ram
from .o1_array_synmem import o1_array_synmem
from .o1_array_update import UPDATE_LATENCY, o1_array_update
from .o1_lfsr import o1_lfsr
from .o1_synapse_update import o1_synapse_update
from .o1_trace import o1_trace_next
from .pipe_reg import delay_line
from .widths import draws_lfsr


@block
def o1_array_lane(
    clk: Any,
    syn_raddr: Any,
    syn_waddr: Any,
    post_raddr: Any,
    post_waddr: Any,
    pre_trace: Any,
    pre_spike: Any,
    wb_valid: Any,
    wb_last_row: Any,
    host_lane: Any,
    host_we_syn: Any,
    host_we_trace: Any,
    host_we_input: Any,
    host_weight: Any,
    host_elig: Any,
    host_trace: Any,
    host_spike: Any,
    host_reward: Any,
    read_lane: Any,
    q_syn_in: Any,
    q_syn_out: Any,
    q_post_in: Any,
    q_post_out: Any,
    config: OnlineO1Config,
    lane: int,
    syn_depth: int,
    post_depth: int,
    memory: str = "inferred",
    pipelined: bool = False,
    rst: Any = None,
    draw: Any = None,
) -> Any:
    c = config
    wb, tb, rb = c.weight_bits, c.trace_bits, c.reward_bits
    p = lane

    # ---- synapse RAM ----
    syn_we = Signal(bool(0))
    syn_wdata = Signal(intbv(0)[wb + tb:])
    syn_rdata = Signal(intbv(0)[wb + tb:])
    if memory == "spram":
        syn_ram = o1_array_synmem(clk, syn_we, syn_waddr, syn_wdata, syn_raddr, syn_rdata, syn_depth, f"spram_l{p}")
    elif memory == "inferred":
        syn_ram = o1_array_ram(clk, syn_we, syn_waddr, syn_wdata, syn_raddr, syn_rdata, syn_depth)
    else:
        raise ValueError(f"memory must be one of ['inferred', 'spram'], not {memory!r}")
    # ---- post-trace RAM ----
    trace_we = Signal(bool(0))
    trace_wdata = Signal(intbv(0)[tb:])
    trace_rdata = Signal(intbv(0)[tb:])
    trace_ram = o1_array_ram(clk, trace_we, post_waddr, trace_wdata, post_raddr, trace_rdata, post_depth)
    # ---- post-input RAM ----
    input_we = Signal(bool(0))
    input_wdata = Signal(intbv(0)[rb + 1:])
    input_rdata = Signal(intbv(0)[rb + 1:])
    input_ram = o1_array_ram(clk, input_we, post_waddr, input_wdata, post_raddr, input_rdata, post_depth)

    # ---- stage 2: the RAM words registered, decoded; the next state computed combinationally ----
    r_syn = Signal(intbv(0)[wb + tb:])
    r_trace = Signal(intbv(0)[tb:])
    r_input = Signal(intbv(0)[rb + 1:])

    @always(clk.posedge)
    def stage2() -> None:
        r_syn.next = syn_rdata
        r_trace.next = trace_rdata
        r_input.next = input_rdata

    w_old = Signal(intbv(0, min=0, max=c.max_weight + 1))
    e_old = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    post_spike = Signal(bool(0))
    reward = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    w_new = Signal(intbv(0, min=0, max=c.max_weight + 1))
    e_new = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    post_new = Signal(intbv(0, min=0, max=c.max_trace + 1))

    @always_comb
    def decode() -> None:
        w_old.next = r_syn[wb + tb:tb]
        e_old.next = r_syn[tb:].signed()
        post_spike.next = r_input[rb]
        reward.next = r_input[rb:].signed()

    post_unit = o1_trace_next(r_trace, post_spike, post_new, c)

    # ---- write-back words: stage 3 registers, or the pipelined update's outputs (stage 5) ----
    wb_w = Signal(intbv(0)[wb:])
    wb_e = Signal(intbv(0)[tb:])  # two's-complement bit pattern
    wb_post = Signal(intbv(0)[tb:])

    rounding: tuple[Any, ...] = ()
    dither = None
    if draws_lfsr(c):
        if rst is None or draw is None:
            raise ValueError("rounding='stochastic' needs the lane's rst and draw signals")
        dither = Signal(intbv(0)[c.learning_shift:])
        rounding = (o1_lfsr(clk, rst, draw, dither, c, p),)

    if pipelined:
        update = o1_array_update(clk, w_old, e_old, pre_trace, r_trace, pre_spike, post_spike, reward, w_new, e_new,
                                 c, dither)

        @always_comb
        def stage3() -> None:
            wb_w.next = w_new
            wb_e.next = e_new[tb:]

        post_delay = delay_line(clk, post_new, wb_post, UPDATE_LATENCY)

        stages: tuple[Any, ...] = (update, stage3, post_delay)
    else:
        update = o1_synapse_update(w_old, e_old, pre_trace, r_trace, pre_spike, post_spike, reward, w_new, e_new, c,
                                   dither)

        @always(clk.posedge)
        def stage3() -> None:
            wb_w.next = w_new
            wb_e.next = e_new[tb:]
            wb_post.next = post_new

        stages = (update, stage3)

    # ---- write ports: the pipeline has priority over the host ----
    @always_comb
    def write_ports() -> None:
        if wb_valid:
            syn_we.next = 1
            syn_wdata.next = concat(wb_w, wb_e)
            trace_we.next = wb_last_row
            trace_wdata.next = wb_post
        else:
            syn_we.next = host_we_syn and host_lane == p
            syn_wdata.next = concat(host_weight, host_elig[tb:])
            trace_we.next = host_we_trace and host_lane == p
            trace_wdata.next = host_trace
        input_we.next = host_we_input and host_lane == p
        input_wdata.next = concat(host_spike, host_reward[rb:])

    # ---- read-back chain (lane 0 starts it and does not read its chain inputs) ----
    if p == 0:

        @always_comb
        def read_back() -> None:
            if read_lane == p:
                q_syn_out.next = r_syn
                q_post_out.next = r_trace
            else:
                q_syn_out.next = 0
                q_post_out.next = 0

    else:

        @always_comb
        def read_back() -> None:
            if read_lane == p:
                q_syn_out.next = q_syn_in | r_syn
                q_post_out.next = q_post_in | r_trace
            else:
                q_syn_out.next = q_syn_in
                q_post_out.next = q_post_in

    return syn_ram, trace_ram, input_ram, stage2, decode, post_unit, *rounding, *stages, write_ports, read_back
