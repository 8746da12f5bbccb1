"""``o1_array``: a dense ``n_pre x n_post`` layer of O(1) synapses in block RAM (``OnlineO1Layer`` in hardware).

Organisation
------------
``P = lanes`` parallel update lanes share one schedule. Lane ``p`` owns the post neurons (columns)
``j = k * P + p`` for ``k = 0 .. K - 1`` with ``K = ceil(n_post / P)``; see
:func:`~plasticore.hw.o1_array_lane.o1_array_lane` for its memories. State, all in simple dual-port RAMs
with a registered read (:func:`~plasticore.hw.o1_array_ram.o1_array_ram`, inferred as EBR / DP16KD):

=================  ==========================  ====================================  ======================
memory             where                       depth x word                          contents
=================  ==========================  ====================================  ======================
synapse RAM        one per lane                ``n_pre * K`` x ``W + T``             ``{weight, elig}`` of
                                                                                     ``(i, k*P+p)`` at ``i*K+k``
post-trace RAM     one per lane                ``K`` x ``T``                         post trace of ``k*P+p``
post-input RAM     one per lane                ``K`` x ``1 + R``                     ``{post spike, reward}``
pre-trace RAM      one                         ``2^ceil(log2 n_pre)`` x ``T``        pre trace of ``i`` at ``i``
pre-spike RAM      one                         ``2^ceil(log2 n_pre)`` x ``1``        pre spike of ``i``
=================  ==========================  ====================================  ======================

The reward is per post neuron (``OnlineO1Layer.step(..., reward=vector)``); for a scalar reward write the
same value with every post spike.

With ``memory="spram"`` each lane's synapse RAM is iCE40 UltraPlus SPRAM instead
(:func:`~plasticore.hw.o1_array_synmem.o1_array_synmem`: two single-port banks by address parity, which the
odd read-to-write distance of the pipeline keeps free of conflicts); everything else is unchanged.

Timestep (``start`` -> ``done``)
--------------------------------
A counter issues the ``N = n_pre * K`` items ``(i, k)`` row by row, one per clock (stage 0: the RAM read
addresses; item ``n`` is in stage 0 after edge ``E0 + n``, ``E0`` the edge that samples ``start``).
Stage 1: the RAMs read on edge ``E0 + n + 1``. Stage 2: their words are registered (edge ``E0 + n + 2``);
every lane computes the next weight and eligibility of its synapse ``(i, k*P+p)`` with
:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`, the array the next pre trace of row ``i`` and each
lane the next post trace of column ``k*P+p`` with :func:`~plasticore.hw.o1_trace.o1_trace_next`.
Stage 3: the results are registered (edge ``E0 + n + 3``) and written back on edge ``E0 + n + 4``
(with ``pipelined_update=True`` the update takes stages 2 to 6 in
:func:`~plasticore.hw.o1_array_update.o1_array_update`, results registered on ``E0 + n + 7`` and written back
on ``E0 + n + 8``; the read-to-write distance stays odd, 3 or 7 edges, for the SPRAM banks): every
synapse; the pre trace of row ``i`` with the row's last item (``k = K - 1``); the post traces during the
last row (``i = n_pre - 1``). Every synapse is read once and written once per timestep, each trace is
written only after its last read of the timestep, and a new timestep starts only after the last write:
there is no read-after-write hazard, and every synapse sees the traces from before the timestep, as in
``OnlineO1Layer``. One synapse per lane per clock: ``P`` synapse updates per clock in the steady state.

**Cycles per timestep** (rising edges from ``E0`` to the edge after which ``done`` is high, both included;
:func:`cycles_per_timestep`)::

    cycles = n_pre * ceil(n_post / lanes) + D        D = 4, or D = 8 with pipelined_update=True

``start`` may be raised again in the clock in which ``done`` is high, so back-to-back timesteps take
exactly ``cycles`` clocks each, plus the host's loads of spikes and rewards (one word per clock:
``n_pre + n_post`` clocks when every spike is rewritten; only the words that change need rewriting).
The timestep rate is ``f_clk / (cycles + loads)``.

Ports (``W, T, R`` from the config; ``Br = ceil(log2 n_pre)``, ``Bc = ceil(log2 n_post)``, at least 1)
-----
clk            in   clock; everything happens on its rising edge
rst            in   synchronous, active high: stops the schedule (busy, done and the pipeline to 0).
                    It does NOT clear the RAMs: initialise state through the host port.
start          in   1 bit: begin one timestep on this edge if ``busy`` is low (ignored while busy)
busy           out  1 bit: a timestep is running (rises on ``E0``, falls on the edge that raises ``done``)
done           out  1 bit: high for one clock after the last write of the timestep
row            in   ``Br`` host address: pre neuron ``i`` (``< n_pre``)
col            in   ``Bc`` host address: post neuron ``j`` (``< n_post``)
wr_syn         in   1 bit: write ``wr_weight`` and ``wr_elig`` to synapse ``(row, col)``
wr_pre_trace   in   1 bit: write ``wr_trace`` to the pre trace of ``row``
wr_post_trace  in   1 bit: write ``wr_trace`` to the post trace of ``col``
wr_pre_spike   in   1 bit: write ``wr_spike`` as the pre spike of ``row`` for the coming timesteps
wr_post_spike  in   1 bit: write ``wr_spike`` and ``wr_reward`` as post spike and reward of ``col``
wr_weight      in   unsigned ``W``
wr_elig        in   signed ``T``
wr_trace       in   unsigned ``T``
wr_spike       in   1 bit
wr_reward      in   signed ``R``
rd_weight      out  unsigned ``W``  weight of synapse ``(row, col)``  } the address sampled by rising edge ``n``
rd_elig        out  signed ``T``    eligibility of ``(row, col)``     } shows after edge ``n + 2`` (and until
rd_pre_trace   out  unsigned ``T``  pre trace of ``row``               } edge ``n + 3``): READ_LATENCY = 3 edges,
rd_post_trace  out  unsigned ``T``  post trace of ``col``              } ``n`` included; one read per clock

Parameters: ``config`` (:class:`~plasticore.refmodel.online_o1.OnlineO1Config`), ``n_pre`` and ``n_post``
in 1..65536 with ``n_pre * n_post <= 2^22``, ``lanes`` in ``1..n_post``, ``memory`` ``"inferred"`` or
``"spram"`` (``spram``: ``W + T <= 32`` and ``3 <= n_pre * ceil(n_post / lanes) <= 32768``); see
:func:`check_array_params`. ``pipelined_update``: ``False`` reuses the combinational
:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update` (one long path: ~12-16 MHz on the UP5K);
``True`` uses the five-stage :func:`~plasticore.hw.o1_array_update.o1_array_update` (four more clocks per
timestep, a much shorter critical path: no clock period holds more than one carry chain, or the product
alone). Emit HDL with :class:`plasticore.hw.array_emitter.OnlineO1ArrayEmitter`.

Host rules (each one tested in ``tests/test_array_host_port.py``):

* **Writes** are accepted only in a clock in which ``busy`` and ``start`` are low (writes presented while
  busy or together with ``start`` are dropped, so they cannot corrupt a running timestep). The address and
  data sampled by edge ``n`` are written on edge ``n + 1``; ``start`` may be raised in the clock right after
  the last write. Spikes and rewards stay in their RAMs until rewritten.
* **Which address a strobe uses:** ``wr_syn`` uses ``row`` and ``col``; ``wr_pre_trace`` and ``wr_pre_spike``
  use ``row`` only (``col`` is ignored); ``wr_post_trace`` and ``wr_post_spike`` use ``col`` only (``row`` is
  ignored).
* **Several strobes in one clock** are allowed in any combination: each writes its own memory
  (``wr_pre_trace`` and ``wr_post_trace`` together write the same ``wr_trace`` to both traces).
* **Reads** are valid only while ``busy`` is low (the schedule owns the RAM ports while busy; reads then
  return schedule data). The read port is also the inference port: one read per clock, see ``rd_*`` above.
* **Read during write:** a read presented in the same clock as a write of the same field (``wr_syn`` for
  ``rd_weight``/``rd_elig``, ``wr_pre_trace`` for ``rd_pre_trace``, ``wr_post_trace`` for ``rd_post_trace``)
  returns the value being written (write-first), with inferred RAM and SPRAM alike (a bypass beside the
  RAMs; the single-port SPRAM itself cannot read while it writes).
* **Time 0:** every output is defined from time 0 in every simulator once ``rst`` has been applied (the
  emitted Verilog has no combinational ``always`` block: :mod:`plasticore.hw.verilog_comb`), so inputs may
  hold constant values from time 0.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_array_lane import o1_array_lane
from .o1_array_ram import o1_array_ram
from .o1_array_synmem import synmem_check
from .o1_array_update import UPDATE_LATENCY
from .o1_trace import o1_trace_next
from .pipe_reg import delay_line
from .vocabulary import MEMORIES
from .widths import draws_lfsr

MAX_NEURONS = 1 << 16
READ_LATENCY = 3  # rising edges from the one sampling row/col to the one after which rd_* show the values
PIPELINE_DEPTH = 4  # edges from issuing an item (stage 0) to its write-back, both included
PIPELINED_DEPTH = 3 + UPDATE_LATENCY  # the same with pipelined_update=True (8)
MAX_SYNAPSES = 1 << 22
# the SPRAM parity banks need an odd read-to-write distance (depth - 1)
assert (PIPELINE_DEPTH - 1) % 2 == 1 and (PIPELINED_DEPTH - 1) % 2 == 1


def _check_count(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in {lo}..{hi}, not {type(value).__name__} {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {value}")
    return value


def check_array_params(
    config: object, n_pre: object, n_post: object, lanes: object, memory: object = "inferred"
) -> None:
    """Validate the elaboration parameters of :func:`o1_array`; raise errors that name the bad value."""
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    a = _check_count("n_pre", n_pre, 1, MAX_NEURONS)
    b = _check_count("n_post", n_post, 1, MAX_NEURONS)
    _check_count("lanes", lanes, 1, b)
    if a * b > MAX_SYNAPSES:
        raise ValueError(f"n_pre * n_post must be in 1..{MAX_SYNAPSES}, not {a} * {b} = {a * b}")
    if memory not in MEMORIES:
        raise ValueError(f"memory must be one of {list(MEMORIES)}, not {memory!r}")
    if memory == "spram":
        assert isinstance(lanes, int)
        synmem_check(synapse_depth(a, b, lanes), config.weight_bits + config.trace_bits,
                     addr_bits(synapse_depth(a, b, lanes)))


def addr_bits(n: int) -> int:
    """Bits of an unsigned index ``0 .. n - 1`` (at least 1)."""
    return max(1, (n - 1).bit_length())


def column_groups(n_post: int, lanes: int) -> int:
    """``K = ceil(n_post / lanes)``: words per lane per row."""
    return -(-n_post // lanes)


def synapse_depth(n_pre: int, n_post: int, lanes: int) -> int:
    """Words of each lane's synapse RAM: ``n_pre * K``."""
    return n_pre * column_groups(n_post, lanes)


def pipeline_depth(pipelined_update: bool = False) -> int:
    """Edges from issuing an item to its write-back, both included: 4, or 8 with the pipelined update.

    The read-to-write distance (``depth - 1``) is odd, which the SPRAM parity banks rely on.
    """
    return PIPELINED_DEPTH if pipelined_update else PIPELINE_DEPTH


def cycles_per_timestep(n_pre: int, n_post: int, lanes: int, pipelined_update: bool = False) -> int:
    """Clocks from the edge sampling ``start`` to the edge raising ``done``, both included."""
    return synapse_depth(n_pre, n_post, lanes) + pipeline_depth(pipelined_update)


def array_port_signals(config: OnlineO1Config, n_pre: int, n_post: int) -> dict[str, Any]:
    """Fresh MyHDL signals for every port of :func:`o1_array`."""
    c = config
    w = Signal(intbv(0, min=0, max=c.max_weight + 1))
    return {
        "clk": Signal(bool(0)),
        "rst": Signal(bool(0)),
        "start": Signal(bool(0)),
        "busy": Signal(bool(0)),
        "done": Signal(bool(0)),
        "row": Signal(intbv(0)[addr_bits(n_pre):]),
        "col": Signal(intbv(0)[addr_bits(n_post):]),
        "wr_syn": Signal(bool(0)),
        "wr_pre_trace": Signal(bool(0)),
        "wr_post_trace": Signal(bool(0)),
        "wr_pre_spike": Signal(bool(0)),
        "wr_post_spike": Signal(bool(0)),
        "wr_weight": w,
        "wr_elig": Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1)),
        "wr_trace": Signal(intbv(0, min=0, max=c.max_trace + 1)),
        "wr_spike": Signal(bool(0)),
        "wr_reward": Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1)),
        "rd_weight": Signal(intbv(0, min=0, max=c.max_weight + 1)),
        "rd_elig": Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1)),
        "rd_pre_trace": Signal(intbv(0, min=0, max=c.max_trace + 1)),
        "rd_post_trace": Signal(intbv(0, min=0, max=c.max_trace + 1)),
    }


ARRAY_PORTS: tuple[str, ...] = tuple(array_port_signals(OnlineO1Config(), 2, 2))


@block
def o1_array(
    clk: Any,
    rst: Any,
    start: Any,
    busy: Any,
    done: Any,
    row: Any,
    col: Any,
    wr_syn: Any,
    wr_pre_trace: Any,
    wr_post_trace: Any,
    wr_pre_spike: Any,
    wr_post_spike: Any,
    wr_weight: Any,
    wr_elig: Any,
    wr_trace: Any,
    wr_spike: Any,
    wr_reward: Any,
    rd_weight: Any,
    rd_elig: Any,
    rd_pre_trace: Any,
    rd_post_trace: Any,
    config: OnlineO1Config,
    n_pre: int,
    n_post: int,
    lanes: int,
    memory: str = "inferred",
    pipelined_update: bool = False,
) -> Any:
    check_array_params(config, n_pre, n_post, lanes, memory)
    if not isinstance(pipelined_update, bool):
        raise TypeError(f"pipelined_update must be a bool, not {type(pipelined_update).__name__} {pipelined_update!r}")
    c = config
    wb, tb = c.weight_bits, c.trace_bits
    n_lanes = lanes
    kk = column_groups(n_post, lanes)
    depth = n_pre * kk
    ab, kb, ib, lb = addr_bits(depth), addr_bits(kk), addr_bits(n_pre), addr_bits(lanes)
    if len(row) != addr_bits(n_pre) or len(col) != addr_bits(n_post):
        raise ValueError(
            f"row/col ports must be {addr_bits(n_pre)}/{addr_bits(n_post)} bits wide, not {len(row)}/{len(col)}"
        )
    cb = len(col)

    # ---- host address decode ROMs (padded to the full address range: complete case statements) ----
    col_group = tuple((j // lanes) if j < n_post else 0 for j in range(1 << cb))
    col_lane = tuple((j % lanes) if j < n_post else 0 for j in range(1 << cb))
    row_base = tuple((i * kk) if i < n_pre else 0 for i in range(1 << ib))

    h_k = Signal(intbv(0)[kb:])
    h_lane = Signal(intbv(0)[lb:])
    h_base = Signal(intbv(0)[ab:])
    h_k_ext = Signal(intbv(0)[ab:])
    h_addr = Signal(intbv(0)[ab:])

    @always_comb
    def decode_col() -> None:
        h_k.next = col_group[col]

    @always_comb
    def decode_lane() -> None:
        h_lane.next = col_lane[col]

    @always_comb
    def decode_row() -> None:
        h_base.next = row_base[row]

    if ab > kb:

        @always_comb
        def extend_k() -> None:
            h_k_ext.next = concat(intbv(0)[ab - kb:], h_k)

    else:

        @always_comb
        def extend_k() -> None:
            h_k_ext.next = h_k

    @always_comb
    def host_addr() -> None:
        h_addr.next = h_base + h_k_ext

    # ---- host stage h1 (registered requests), h2/h3 (read lane) ----
    # Signals are declared before the always_comb that reads them: MyHDL infers the sensitivity list from
    # the names bound when the decorator runs.
    busy_q = Signal(bool(0))
    host_ok = Signal(bool(0))  # host writes are accepted only while idle and not starting

    @always_comb
    def host_gate() -> None:
        host_ok.next = not busy_q and not start

    h1_row = Signal(intbv(0)[ib:])
    h1_k = Signal(intbv(0)[kb:])
    h1_addr = Signal(intbv(0)[ab:])
    h1_lane = Signal(intbv(0)[lb:])
    h2_lane = Signal(intbv(0)[lb:])
    h3_lane = Signal(intbv(0)[lb:])
    h1_we_syn = Signal(bool(0))
    h1_we_pre_trace = Signal(bool(0))
    h1_we_post_trace = Signal(bool(0))
    h1_we_pre_spike = Signal(bool(0))
    h1_we_post_spike = Signal(bool(0))
    h1_weight = Signal(intbv(0, min=0, max=c.max_weight + 1))
    h1_elig = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    h1_trace = Signal(intbv(0, min=0, max=c.max_trace + 1))
    h1_spike = Signal(bool(0))
    h1_reward = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))

    @always(clk.posedge)
    def host_stage() -> None:
        h1_row.next = row
        h1_k.next = h_k
        h1_addr.next = h_addr
        h1_lane.next = h_lane
        h2_lane.next = h1_lane
        h3_lane.next = h2_lane
        h1_we_syn.next = wr_syn & host_ok
        h1_we_pre_trace.next = wr_pre_trace & host_ok
        h1_we_post_trace.next = wr_post_trace & host_ok
        h1_we_pre_spike.next = wr_pre_spike & host_ok
        h1_we_post_spike.next = wr_post_spike & host_ok
        h1_weight.next = wr_weight
        h1_elig.next = wr_elig
        h1_trace.next = wr_trace
        h1_spike.next = wr_spike
        h1_reward.next = wr_reward

    # ---- schedule: stage 0 counters, stage 1..3 tags ----
    s0_valid = Signal(bool(0))
    s0_i = Signal(intbv(0)[ib:])
    s0_k = Signal(intbv(0)[kb:])
    s0_a = Signal(intbv(0)[ab:])
    s0_last_col = Signal(bool(0))
    s0_last_row = Signal(bool(0))
    s1_valid = Signal(bool(0))
    s1_i = Signal(intbv(0)[ib:])
    s1_k = Signal(intbv(0)[kb:])
    s1_a = Signal(intbv(0)[ab:])
    s1_last_col = Signal(bool(0))
    s1_last_row = Signal(bool(0))
    s2_valid = Signal(bool(0))
    s2_i = Signal(intbv(0)[ib:])
    s2_k = Signal(intbv(0)[kb:])
    s2_a = Signal(intbv(0)[ab:])
    s2_last_col = Signal(bool(0))
    s2_last_row = Signal(bool(0))
    wb_valid = Signal(bool(0))  # write-back stage
    wb_i = Signal(intbv(0)[ib:])
    wb_k = Signal(intbv(0)[kb:])
    wb_a = Signal(intbv(0)[ab:])
    wb_last_col = Signal(bool(0))
    wb_last_row = Signal(bool(0))
    done_q = Signal(bool(0))
    last_i, last_k = n_pre - 1, kk - 1

    @always_comb
    def stage0_flags() -> None:
        s0_last_col.next = s0_k == last_k
        s0_last_row.next = s0_i == last_i

    @always(clk.posedge)
    def schedule() -> None:
        if rst:
            s0_valid.next = 0
            s1_valid.next = 0
            s2_valid.next = 0
            s0_i.next = 0
            s0_k.next = 0
            s0_a.next = 0
            busy_q.next = 0
            done_q.next = 0
        else:
            s1_valid.next = s0_valid
            s2_valid.next = s1_valid
            done_q.next = 0
            if s0_valid:
                if s0_last_col:
                    s0_k.next = 0
                    if s0_last_row:
                        s0_valid.next = 0
                        s0_i.next = 0
                        s0_a.next = 0
                    else:
                        s0_i.next = s0_i + 1
                        s0_a.next = s0_a + 1
                else:
                    s0_k.next = s0_k + 1
                    s0_a.next = s0_a + 1
            elif start and not busy_q:
                s0_valid.next = 1
                busy_q.next = 1
            if wb_valid and wb_last_col and wb_last_row:
                busy_q.next = 0
                done_q.next = 1

    if pipelined_update:  # UPDATE_LATENCY - 1 more stages between stage 2 and the write-back
        lat = UPDATE_LATENCY
        x_valid = Signal(intbv(0)[lat:])  # bit j: the item of stage 3 + j is valid

        @always(clk.posedge)
        def valid_pipe() -> None:
            if rst:
                x_valid.next = 0
            else:
                x_valid.next = concat(x_valid[lat - 1:0], s2_valid)

        @always_comb
        def valid_wb() -> None:
            wb_valid.next = x_valid[lat - 1]

        tags_wb = [delay_line(clk, s2_i, wb_i, lat), delay_line(clk, s2_k, wb_k, lat),
                   delay_line(clk, s2_a, wb_a, lat), delay_line(clk, s2_last_col, wb_last_col, lat),
                   delay_line(clk, s2_last_row, wb_last_row, lat), valid_pipe]

    else:

        @always(clk.posedge)
        def valid_wb() -> None:
            if rst:
                wb_valid.next = 0
            else:
                wb_valid.next = s2_valid

        @always(clk.posedge)
        def tags_wb() -> None:
            wb_i.next = s2_i
            wb_k.next = s2_k
            wb_a.next = s2_a
            wb_last_col.next = s2_last_col
            wb_last_row.next = s2_last_row

    @always(clk.posedge)
    def tags() -> None:
        s1_i.next = s0_i
        s1_k.next = s0_k
        s1_a.next = s0_a
        s1_last_col.next = s0_last_col
        s1_last_row.next = s0_last_row
        s2_i.next = s1_i
        s2_k.next = s1_k
        s2_a.next = s1_a
        s2_last_col.next = s1_last_col
        s2_last_row.next = s1_last_row

    # ---- shared RAM address muxes: the schedule owns the ports while its stage is valid ----
    syn_raddr = Signal(intbv(0)[ab:])
    syn_waddr = Signal(intbv(0)[ab:])
    post_raddr = Signal(intbv(0)[kb:])
    post_waddr = Signal(intbv(0)[kb:])
    pre_raddr = Signal(intbv(0)[ib:])
    pre_waddr = Signal(intbv(0)[ib:])

    @always_comb
    def read_addr() -> None:
        if s0_valid:
            syn_raddr.next = s0_a
            post_raddr.next = s0_k
            pre_raddr.next = s0_i
        else:
            syn_raddr.next = h1_addr
            post_raddr.next = h1_k
            pre_raddr.next = h1_row

    @always_comb
    def write_addr() -> None:
        if wb_valid:
            syn_waddr.next = wb_a
            post_waddr.next = wb_k
            pre_waddr.next = wb_i
        else:
            syn_waddr.next = h1_addr
            post_waddr.next = h1_k
            pre_waddr.next = h1_row

    # ---- pre-neuron memories ----
    pre_depth = 1 << ib
    pre_we = Signal(bool(0))
    pre_wdata = Signal(intbv(0)[tb:])
    pre_rdata = Signal(intbv(0)[tb:])
    pre_ram = o1_array_ram(clk, pre_we, pre_waddr, pre_wdata, pre_raddr, pre_rdata, pre_depth)
    spike_we = Signal(bool(0))
    spike_wdata = Signal(intbv(0)[1:])
    spike_rdata = Signal(intbv(0)[1:])
    spike_ram = o1_array_ram(clk, spike_we, pre_waddr, spike_wdata, pre_raddr, spike_rdata, pre_depth)

    r_pre = Signal(intbv(0)[tb:])
    r_spike = Signal(bool(0))
    pre_next = Signal(intbv(0, min=0, max=c.max_trace + 1))
    wb_pre = Signal(intbv(0)[tb:])

    @always(clk.posedge)
    def pre_stage2() -> None:
        r_pre.next = pre_rdata
        r_spike.next = spike_rdata[0]

    pre_unit = o1_trace_next(r_pre, r_spike, pre_next, c)

    if pipelined_update:
        pre_next_u = Signal(intbv(0)[tb:])

        @always_comb
        def pre_bits() -> None:
            pre_next_u.next = pre_next

        pre_stage3 = [pre_bits, delay_line(clk, pre_next_u, wb_pre, UPDATE_LATENCY)]

    else:

        @always(clk.posedge)
        def pre_stage3() -> None:
            wb_pre.next = pre_next

    @always_comb
    def pre_write() -> None:
        if wb_valid:
            pre_we.next = wb_last_col
            pre_wdata.next = wb_pre
        else:
            pre_we.next = h1_we_pre_trace
            pre_wdata.next = h1_trace
        spike_we.next = h1_we_pre_spike
        spike_wdata.next = h1_spike

    # ---- stochastic rounding: each lane draws once per item, in the clock its weight is computed ----
    draw_ports: dict[str, Any] = {}
    draw_logic: tuple[Any, ...] = ()
    if draws_lfsr(c):
        draw = Signal(bool(0))
        if pipelined_update:
            x_valid_ref = x_valid  # stage E (3 + lat - 2) feeds the weight register of the write-back stage

            @always_comb
            def draw_valid() -> None:
                draw.next = x_valid_ref[UPDATE_LATENCY - 2]

        else:

            @always_comb
            def draw_valid() -> None:
                draw.next = s2_valid

        draw_ports = {"rst": rst, "draw": draw}
        draw_logic = (draw_valid,)

    # ---- lanes and the read-back chain ----
    q_syn = [Signal(intbv(0)[wb + tb:]) for _ in range(n_lanes + 1)]
    q_post = [Signal(intbv(0)[tb:]) for _ in range(n_lanes + 1)]
    lane_insts = [
        o1_array_lane(
            clk, syn_raddr, syn_waddr, post_raddr, post_waddr, r_pre, r_spike, wb_valid, wb_last_row,
            h1_lane, h1_we_syn, h1_we_post_trace, h1_we_post_spike, h1_weight, h1_elig, h1_trace, h1_spike,
            h1_reward, h3_lane, q_syn[p], q_syn[p + 1], q_post[p], q_post[p + 1],
            config=c, lane=p, syn_depth=depth, post_depth=kk, memory=memory, pipelined=pipelined_update,
            **draw_ports,
        )
        for p in range(n_lanes)
    ]
    q_syn_last, q_post_last = q_syn[n_lanes], q_post[n_lanes]

    # ---- read during write: a read presented with a write of the same field returns the written value ----
    # (host mode reads and writes one address, h1; the RAMs alone would give the old word (inferred, read-first)
    # or an undefined one (SPRAM, single-port): both memories give the written value through this bypass)
    h2_byp_syn, h2_byp_pre, h2_byp_post = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    h3_byp_syn, h3_byp_pre, h3_byp_post = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    h2_weight, h3_weight = (Signal(intbv(0, min=0, max=c.max_weight + 1)) for _ in range(2))
    h2_elig, h3_elig = (Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1)) for _ in range(2))
    h2_trace, h3_trace = (Signal(intbv(0, min=0, max=c.max_trace + 1)) for _ in range(2))

    @always(clk.posedge)
    def bypass() -> None:
        h2_byp_syn.next = h1_we_syn
        h2_byp_pre.next = h1_we_pre_trace
        h2_byp_post.next = h1_we_post_trace
        h2_weight.next = h1_weight
        h2_elig.next = h1_elig
        h2_trace.next = h1_trace
        h3_byp_syn.next = h2_byp_syn
        h3_byp_pre.next = h2_byp_pre
        h3_byp_post.next = h2_byp_post
        h3_weight.next = h2_weight
        h3_elig.next = h2_elig
        h3_trace.next = h2_trace

    @always_comb
    def outputs() -> None:
        busy.next = busy_q
        done.next = done_q
        if h3_byp_syn:
            rd_weight.next = h3_weight
            rd_elig.next = h3_elig
        else:
            rd_weight.next = q_syn_last[wb + tb:tb]
            rd_elig.next = q_syn_last[tb:].signed()
        if h3_byp_pre:
            rd_pre_trace.next = h3_trace
        else:
            rd_pre_trace.next = r_pre
        if h3_byp_post:
            rd_post_trace.next = h3_trace
        else:
            rd_post_trace.next = q_post_last

    return (decode_col, decode_lane, decode_row, extend_k, host_addr, host_gate, host_stage, stage0_flags, schedule,
            valid_wb, tags_wb, tags, read_addr, write_addr, pre_ram, spike_ram, pre_stage2, pre_unit, pre_stage3,
            pre_write, *draw_logic, lane_insts, bypass, outputs)
