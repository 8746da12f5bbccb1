"""``o1_core``: a closed-loop learning SNN core: integer LIF neurons on the O(1) synapse array, behind SPI.

The hardware of :class:`plasticore.refmodel.o1_network.OnlineO1Network`, bit-exact: ``n_pre`` inputs,
``n_post`` LIF neurons and the ``n_post x n_pre`` learning synapses of :func:`~plasticore.hw.o1_array.o1_array`,
driven by a host over SPI (:mod:`plasticore.host.regmap`: frames, registers, error effects).

Blocks
------
* :func:`~plasticore.hw.spi_slave.spi_slave` (bytes) -> :func:`~plasticore.hw.o1_core_frame.o1_core_frame`
  (register accesses) -> the access unit here (registers, memories, the array's host port while idle);
* the timestep sequencer, :func:`~plasticore.hw.o1_core_neuron.o1_core_neuron` and the array.

Memories (all :func:`~plasticore.hw.o1_array_ram.o1_array_ram`, inferred EBR), besides the array's:
two spike-input banks ``ceil(n_pre / 32) x 32`` (the host writes the pending bank while a timestep scans the
other; the scan clears each word after reading it, so every timestep's input starts empty), the active-row
list ``n_pre x ceil(log2 n_pre)``, the membranes ``n_post x V``, the per-neuron rewards ``n_post x R``, the
step's spikes ``n_post x 1``, the packed output spikes ``2 * 2^ceil(log2 ceil(n_post / 32)) x 32`` and the output
events ``2 * 2^ceil(log2 n_post) x ceil(log2 n_post)`` (two banks each:
the host reads the last completed step's events while the next step writes the other bank). Each depth is
rounded up to its address space (a power of two), so reads ahead past the last item stay in bounds.

One timestep (``TICK``; ``TICK_NEXT``, which while a step runs is queued and starts one clock after it ends;
or the internal tick), with ``A`` = active (spiking) inputs, ``NW = ceil(n_pre/32)``, ``K = ceil(n_post / lanes)``.
The start raises ``BUSY`` and enters a START state; the pending spike bank, ``REWARD`` and the mode are latched
there, one clock later, so the start decision itself drives only two registers (a timing path on the UP5K):

1. **scan** (``n_pre`` clocks): the active bank's bits are copied into the array's pre-spike memory,
   one per clock, and the indices of the spiking inputs appended to the active-row list;
2. **integrate and fire** (``n_post * max(A, 1)`` clocks plus the pipeline's drain): for each neuron ``j`` the
   weights of the active rows are read through the array's read port, one per clock (silent rows cost
   nothing), accumulated as ``sum (w - weight_offset)``, and the neuron updated
   (:func:`~plasticore.hw.o1_core_neuron.o1_core_neuron`; the membrane is read two stages ahead and
   registered); its spike is recorded, shifted into the packed output word (written every 32 neurons and at
   the last) and, if it fired, its index appended to the output events;
3. **post load** (``n_post`` clocks): each neuron's spike and reward (the scalar reward latched at the
   tick, or ``REWARD_VEC[j]``) are written into the array's post-input memory;
4. **learn** (``cycles_per_timestep`` of the array: ``n_pre * K + D``): the array's O(1) update of every synapse.

:func:`core_cycles_per_timestep` is the exact number of clocks ``BUSY`` is high (``CORE_OVERHEAD = 18`` clocks
beyond the four passes' item counts).

Ports: ``clk``; ``rst`` (synchronous, active high: stops everything, clears the registers and both spike
banks in ``NW`` clocks while ``BUSY``; it does not clear the state memories: reload them over SPI);
``sck``, ``cs_n``, ``mosi`` in and ``miso``, ``miso_oe`` out (SPI mode 0, SCK at most ``f_clk / 8``);
``busy`` and ``error`` out (status LEDs: a timestep runs; a sticky error is set).
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv, modbv

from plasticore.host.regmap import ID_VALUE, PARAM_FIELDS, SPIKES_PER_WORD, VERSION, Reg, rounding_params
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

from .o1_array import addr_bits, check_array_params, cycles_per_timestep, o1_array
from .o1_array_ram import o1_array_ram
from .o1_core_frame import o1_core_frame
from .o1_core_neuron import o1_core_neuron
from .pipe_reg import pipe_reg
from .sign_extend import sign_extend, signed_signal
from .spi_slave import spi_slave

MAX_CORE_FIELD_BITS = 16  # weight and eligibility share one 32-bit SYN word
# BUSY-high clocks of one timestep beyond the four passes' item counts (measured in simulation and checked for
# every timestep of every regression config): the scan's two and the post pass's pipeline registers, the START,
# PREP, LEARN0 and END states, the drain of the last neuron through the list RAM, the array's read port and the
# NEURON_LATENCY stages, and the array's start/done handshake
CORE_OVERHEAD = 18
ACCESS_CLOCKS = 6  # the access unit answers every access in this many clocks

_S_CLEAR, _S_IDLE, _S_START, _S_SCAN, _S_PREP, _S_INTEG, _S_DRAIN, _S_POST, _S_LEARN0, _S_LEARN, _S_END = range(11)
_N_STATES = 11
_A_IDLE, _A_ISSUE, _A_WAIT, _A_DONE = range(4)


def check_core_params(o1: object, lif: object, n_pre: object, n_post: object, lanes: object,
                      memory: object = "inferred") -> None:
    """Validate the core's parameters (the array's, plus ``W, T <= 16`` for the SYN word, and the LIF config)."""
    check_array_params(o1, n_pre, n_post, lanes, memory)
    assert isinstance(o1, OnlineO1Config)
    if not isinstance(lif, FixedLIFConfig):
        raise TypeError(f"lif must be a FixedLIFConfig, not {type(lif).__name__}")
    lif.check_against(o1)
    for name, v in (("weight_bits", o1.weight_bits), ("trace_bits", o1.trace_bits), ("reward_bits", o1.reward_bits)):
        if v > MAX_CORE_FIELD_BITS:
            raise ValueError(f"{name} must be in 1..{MAX_CORE_FIELD_BITS} for the core's 32-bit SYN/reward words, "
                             f"not {v}")


def spike_words(n_pre: int) -> int:
    """``ceil(n_pre / 32)``: words of one spike-input bank."""
    return -(-n_pre // SPIKES_PER_WORD)


def accumulator_bits(o1: OnlineO1Config, lif: FixedLIFConfig, n_pre: int) -> int:
    """Signed bits of ``I = sum (w - offset)`` over up to ``n_pre`` rows (at least ``W + 2``)."""
    lo = n_pre * lif.weight_offset
    hi = n_pre * (o1.max_weight - lif.weight_offset)
    return max(lo.bit_length(), hi.bit_length(), o1.weight_bits + 1) + 1


def core_cycles_per_timestep(n_active: int, n_pre: int, n_post: int, lanes: int,
                             pipelined_update: bool = False) -> int:
    """Clocks in which ``BUSY`` is high for one timestep with ``n_active`` spiking inputs::

        n_pre  +  n_post * max(n_active, 1)  +  n_post  +  (n_pre * ceil(n_post / lanes) + D)  +  CORE_OVERHEAD
        scan      integrate and fire            post load   learn (the array)                    18
    """
    return (n_pre + n_post * max(n_active, 1) + n_post + cycles_per_timestep(n_pre, n_post, lanes, pipelined_update)
            + CORE_OVERHEAD)


def param_values(o1: OnlineO1Config, lif: FixedLIFConfig, n_pre: int, n_post: int, lanes: int, memory: str,
                 pipelined_update: bool) -> dict[str, int]:
    """The PARAM table (:data:`plasticore.host.regmap.PARAM_FIELDS`) of a core."""
    assert lif.threshold is not None
    v = {
        "n_pre": n_pre, "n_post": n_post, "lanes": lanes, "weight_bits": o1.weight_bits,
        "trace_bits": o1.trace_bits, "reward_bits": o1.reward_bits, "learning_shift": o1.learning_shift,
        "trace_decay_shift": o1.trace_decay_shift, "membrane_bits": lif.membrane_bits, "leak_shift": lif.leak_shift,
        "threshold": lif.threshold, "reset_subtract": int(lif.reset == "subtract"),
        "weight_offset": lif.weight_offset, "spram": int(memory == "spram"), "pipelined_update": int(pipelined_update),
        **rounding_params(o1),
    }
    assert tuple(v) == PARAM_FIELDS
    return v


@block
def below(x: Any, flag: Any, n: int) -> Any:
    """``flag = x < n`` (``n >= 1``) as ``x[len:k] == 0 and x[k:] < n``, ``k`` = bits of ``n``: a wide zero test
    (a LUT tree) and a ``k``-bit compare instead of a ``len(x)``-bit carry chain."""
    width = len(x)
    k = max(1, n.bit_length())
    if k >= width:

        @always_comb
        def lt_only() -> None:
            flag.next = x < n

        return lt_only

    @always_comb
    def lt_split() -> None:
        flag.next = x[width:k] == 0 and x[k:] < n

    return lt_split

@block
def o1_core(
    clk: Any, rst: Any, sck: Any, cs_n: Any, mosi: Any, miso: Any, miso_oe: Any, busy: Any, error: Any,
    o1: OnlineO1Config, lif: FixedLIFConfig, n_pre: int, n_post: int, lanes: int, memory: str = "inferred",
    pipelined_update: bool = False,
) -> Any:
    check_core_params(o1, lif, n_pre, n_post, lanes, memory)
    c = o1
    wb, tb, rb, vb = c.weight_bits, c.trace_bits, c.reward_bits, lif.membrane_bits
    ib, cb = addr_bits(n_pre), addr_bits(n_post)
    nw = spike_words(n_pre)
    nwb = addr_bits(nw)
    now = spike_words(n_post)  # packed output-spike words
    owb = addr_bits(now)
    tail_shift = (SPIKES_PER_WORD - n_post % SPIKES_PER_WORD) % SPIKES_PER_WORD  # empty bits of the last word
    ab = accumulator_bits(c, lif, n_pre)
    off = lif.weight_offset
    params = tuple(param_values(c, lif, n_pre, n_post, lanes, memory, pipelined_update).values())

    # ================= SPI slave and frame decoder =================
    frame_start, frame_end, rx_valid = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    rx_byte, tx_byte, status_byte = Signal(intbv(0)[8:]), Signal(intbv(0)[8:]), Signal(intbv(0)[8:])
    acc_req, acc_we, acc_done = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    acc_reg = Signal(intbv(0)[7:])
    acc_addr, acc_wdata, acc_rdata = (Signal(intbv(0)[32:]) for _ in range(3))
    acc_err, err_set = Signal(intbv(0)[3:]), Signal(intbv(0)[3:])
    slave = spi_slave(clk, rst, sck, cs_n, mosi, miso, miso_oe, frame_start, frame_end, rx_valid, rx_byte, tx_byte)
    frame = o1_core_frame(clk, rst, frame_start, frame_end, rx_valid, rx_byte, tx_byte, status_byte, acc_req,
                          acc_we, acc_reg, acc_addr, acc_wdata, acc_done, acc_rdata, acc_err, err_set, n_post=n_post)

    # ================= the array =================
    a_start, a_busy, a_done = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    a_row, a_col = Signal(intbv(0)[ib:]), Signal(intbv(0)[cb:])
    a_wr_syn, a_wr_pre_trace, a_wr_post_trace = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    a_wr_pre_spike, a_wr_post_spike = Signal(bool(0)), Signal(bool(0))
    a_wr_weight = Signal(intbv(0, min=0, max=c.max_weight + 1))
    a_wr_elig = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    a_wr_trace = Signal(intbv(0, min=0, max=c.max_trace + 1))
    a_wr_spike = Signal(bool(0))
    a_wr_reward = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    a_rd_weight = Signal(intbv(0, min=0, max=c.max_weight + 1))
    a_rd_elig = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    a_rd_pre, a_rd_post = Signal(intbv(0, min=0, max=c.max_trace + 1)), Signal(intbv(0, min=0, max=c.max_trace + 1))
    array = o1_array(clk, rst, a_start, a_busy, a_done, a_row, a_col, a_wr_syn, a_wr_pre_trace, a_wr_post_trace,
                     a_wr_pre_spike, a_wr_post_spike, a_wr_weight, a_wr_elig, a_wr_trace, a_wr_spike, a_wr_reward,
                     a_rd_weight, a_rd_elig, a_rd_pre, a_rd_post, config=c, n_pre=n_pre, n_post=n_post, lanes=lanes,
                     memory=memory, pipelined_update=pipelined_update)

    # ================= core memories =================
    # (each as deep as its address space: a read ahead past the last item returns data, not an HDL bound error)
    # spike-input banks
    sp_we = [Signal(bool(0)) for _ in range(2)]
    sp_waddr = [Signal(intbv(0)[nwb:]) for _ in range(2)]
    sp_wdata = [Signal(intbv(0)[32:]) for _ in range(2)]
    sp_raddr = Signal(intbv(0)[nwb:])
    sp_rdata = [Signal(intbv(0)[32:]) for _ in range(2)]
    sp_rams = [o1_array_ram(clk, sp_we[b], sp_waddr[b], sp_wdata[b], sp_raddr, sp_rdata[b], 1 << nwb) for b in range(2)]
    # active-row list
    al_we = Signal(bool(0))
    al_waddr, al_raddr = Signal(intbv(0)[ib:]), Signal(intbv(0)[ib:])
    al_wdata, al_rdata = Signal(intbv(0)[ib:]), Signal(intbv(0)[ib:])
    al_ram = o1_array_ram(clk, al_we, al_waddr, al_wdata, al_raddr, al_rdata, 1 << ib)
    # membranes
    mem_we = Signal(bool(0))
    mem_waddr, mem_raddr = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    mem_wdata, mem_rdata = Signal(intbv(0)[vb:]), Signal(intbv(0)[vb:])
    mem_ram = o1_array_ram(clk, mem_we, mem_waddr, mem_wdata, mem_raddr, mem_rdata, 1 << cb)
    # per-neuron rewards
    rv_we = Signal(bool(0))
    rv_waddr, rv_raddr = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    rv_wdata, rv_rdata = Signal(intbv(0)[rb:]), Signal(intbv(0)[rb:])
    rv_ram = o1_array_ram(clk, rv_we, rv_waddr, rv_wdata, rv_raddr, rv_rdata, 1 << cb)
    # this step's spikes
    sb_we = Signal(bool(0))
    sb_waddr, sb_raddr = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    sb_wdata, sb_rdata = Signal(intbv(0)[1:]), Signal(intbv(0)[1:])
    sb_ram = o1_array_ram(clk, sb_we, sb_waddr, sb_wdata, sb_raddr, sb_rdata, 1 << cb)
    # output events, two banks
    ev_we = Signal(bool(0))
    ev_waddr, ev_raddr = Signal(intbv(0)[cb + 1:]), Signal(intbv(0)[cb + 1:])
    ev_wdata, ev_rdata = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    ev_ram = o1_array_ram(clk, ev_we, ev_waddr, ev_wdata, ev_raddr, ev_rdata, 2 << cb)
    # packed output spikes, two banks of ceil(n_post / 32) words (OUT_SPIKES: the last completed step's bank)
    ow_we = Signal(bool(0))
    ow_waddr, ow_raddr = Signal(intbv(0)[owb + 1:]), Signal(intbv(0)[owb + 1:])
    ow_wdata, ow_rdata = Signal(intbv(0)[32:]), Signal(intbv(0)[32:])
    ow_ram = o1_array_ram(clk, ow_we, ow_waddr, ow_wdata, ow_raddr, ow_rdata, 2 << owb)

    # ================= registers =================
    err = Signal(intbv(0)[3:])  # {busy, addr, cmd}
    mode_vec = Signal(bool(0))
    mode_auto = Signal(bool(0))
    tick_period = Signal(intbv(0)[32:])
    tick_count = Signal(modbv(0)[32:])
    step_count = Signal(modbv(0)[32:])
    reward_pend = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    reward_act = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    vec_act = Signal(bool(0))
    out_bank = Signal(bool(0))  # the bank the running / next step writes
    vis_bank = Signal(bool(0))  # the bank of the last completed step
    vis_count = Signal(intbv(0, min=0, max=n_post + 1))
    ev_count = Signal(intbv(0, min=0, max=n_post + 1))
    core_busy = Signal(bool(0))
    tick_req = Signal(bool(0))  # from the access unit (CONTROL.TICK, or TICK_NEXT, while idle)
    queue_req = Signal(bool(0))  # from the access unit (CONTROL.TICK_NEXT while busy, nothing queued)
    tick_queued = Signal(bool(0))  # a TICK_NEXT waits for the running timestep's end

    # ================= access unit =================
    a_state = Signal(intbv(0, min=0, max=4))
    a_wait = Signal(intbv(0, min=0, max=8))
    q_we = Signal(bool(0))
    q_reg = Signal(intbv(0)[7:])
    q_addr = Signal(intbv(0)[32:])
    q_wdata = Signal(intbv(0)[32:])
    q_err = Signal(intbv(0)[3:])
    q_ok = Signal(bool(0))
    d_err = Signal(intbv(0)[3:])  # decode of the incoming request
    q_row = Signal(intbv(0)[ib:])
    q_col = Signal(intbv(0)[cb:])
    q_out = Signal(intbv(0)[32:])
    q_rdata = Signal(intbv(0)[32:])
    issue = Signal(bool(0))  # the ISSUE clock of an accepted access
    r_sat = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    r_sat_q = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    rmin, rmax = c.reward_min, c.reward_max
    n_param = len(params)
    regs_ok = {int(r) for r in Reg}
    ro = {int(Reg.ID), int(Reg.VERSION), int(Reg.PARAM), int(Reg.STEP), int(Reg.OUT_COUNT), int(Reg.OUT_FIFO),
          int(Reg.OUT_SPIKES), int(Reg.OUT_SPIKES_AT)}
    wo = {int(Reg.SPIKES_IN)}
    state_regs = {int(Reg.SYN), int(Reg.PRE_TRACE), int(Reg.POST_TRACE), int(Reg.MEMBRANE), int(Reg.REWARD_VEC)}
    # per register (128 entries): 1 = exists, readable, writable, state; the address limit kind
    exists = tuple(int(r in regs_ok) for r in range(128))
    readable = tuple(int(r in regs_ok and r not in wo) for r in range(128))
    writable = tuple(int(r in regs_ok and r not in ro) for r in range(128))
    is_state = tuple(int(r in state_regs) for r in range(128))
    r_exists, r_read, r_write, r_state = (Signal(bool(0)) for _ in range(4))
    addr_ok = Signal(bool(0))
    a_hi = Signal(intbv(0)[16:])
    a_lo = Signal(intbv(0)[16:])
    R_PARAM, R_SPIKES, R_FIFO, R_SYN, R_PRE = (int(Reg.PARAM), int(Reg.SPIKES_IN), int(Reg.OUT_FIFO), int(Reg.SYN),
                                               int(Reg.PRE_TRACE))
    R_POST, R_MEM, R_RV = int(Reg.POST_TRACE), int(Reg.MEMBRANE), int(Reg.REWARD_VEC)
    R_STATUS, R_CONTROL, R_STEP, R_TP, R_REW = (int(Reg.STATUS), int(Reg.CONTROL), int(Reg.STEP),
                                                int(Reg.TICK_PERIOD), int(Reg.REWARD))
    R_ID, R_VER, R_COUNT, R_OSP = int(Reg.ID), int(Reg.VERSION), int(Reg.OUT_COUNT), int(Reg.OUT_SPIKES)
    R_OSA = int(Reg.OUT_SPIKES_AT)

    @always_comb
    def reg_flags() -> None:
        r_exists.next = exists[acc_reg]
        r_read.next = readable[acc_reg]
        r_write.next = writable[acc_reg]
        r_state.next = is_state[acc_reg]

    @always_comb
    def addr_split() -> None:
        a_hi.next = acc_addr[32:16]
        a_lo.next = acc_addr[16:]

    # address limits as (high bits zero) and (low bits < n): a 32-bit compare is a long carry chain on iCE40
    ok_param, ok_nw, ok_post, ok_pre, ok_hi, ok_lo, ok_now, ok_bank, ok_lo_now = (Signal(bool(0)) for _ in range(9))
    limit_checks = [below(acc_addr, ok_param, n_param), below(acc_addr, ok_nw, nw), below(acc_addr, ok_post, n_post),
                    below(acc_addr, ok_pre, n_pre), below(a_hi, ok_hi, n_pre), below(a_lo, ok_lo, n_post),
                    below(acc_addr, ok_now, now), below(a_hi, ok_bank, 2), below(a_lo, ok_lo_now, now)]

    @always_comb
    def addr_check() -> None:
        if acc_reg == R_PARAM:
            addr_ok.next = ok_param
        elif acc_reg == R_SPIKES:
            addr_ok.next = ok_nw
        elif acc_reg == R_FIFO or acc_reg == R_POST or acc_reg == R_MEM or acc_reg == R_RV:
            addr_ok.next = ok_post
        elif acc_reg == R_PRE:
            addr_ok.next = ok_pre
        elif acc_reg == R_OSP:
            addr_ok.next = ok_now
        elif acc_reg == R_OSA:
            addr_ok.next = ok_bank and ok_lo_now
        elif acc_reg == R_SYN:
            addr_ok.next = ok_hi and ok_lo
        else:
            addr_ok.next = 1

    @always_comb
    def decode() -> None:
        if not r_exists or (acc_we and not r_write) or (not acc_we and not r_read):
            d_err.next = 1
        elif not addr_ok:
            d_err.next = 2
        elif r_state and core_busy:
            d_err.next = 4
        else:
            d_err.next = 0

    # in range iff bits 30..R-1 all equal the sign bit 31 (rmax = 2^(R-1) - 1): no 32-bit compare chain
    sat_lo = rb - 1
    sat_ones = Signal(intbv((1 << (31 - sat_lo)) - 1)[31 - sat_lo:])  # undriven: a constant of this exact width

    @always_comb
    def reward_saturate() -> None:
        if q_wdata[31]:
            if q_wdata[31:sat_lo] == sat_ones:
                r_sat.next = q_wdata[rb:].signed()
            else:
                r_sat.next = rmin
        elif q_wdata[31:sat_lo] == 0:
            r_sat.next = q_wdata[rb:].signed()
        else:
            r_sat.next = rmax

    @always(clk.posedge)
    def reward_register() -> None:  # the 32-bit saturation compare is a timing path of its own
        r_sat_q.next = r_sat

    @always(clk.posedge)
    def access_unit() -> None:
        acc_done.next = 0
        issue.next = 0
        tick_req.next = 0
        queue_req.next = 0
        if rst:
            a_state.next = _A_IDLE
            err.next = 0
            mode_vec.next = 0
            mode_auto.next = 0
            tick_period.next = 0
            reward_pend.next = 0
        else:
            err.next = err | err_set
            if a_state == _A_IDLE:
                if acc_req:
                    a_state.next = _A_ISSUE
                    q_we.next = acc_we
                    q_reg.next = acc_reg
                    q_addr.next = acc_addr
                    q_wdata.next = acc_wdata
                    q_err.next = d_err
                    q_ok.next = d_err == 0
                    if acc_reg == R_SYN:
                        q_row.next = a_hi[ib:]
                        q_col.next = a_lo[cb:]
                    else:
                        q_row.next = acc_addr[ib:]
                        q_col.next = acc_addr[cb:]
                    issue.next = 1
            elif a_state == _A_ISSUE:
                a_state.next = _A_WAIT
                a_wait.next = 0
                if q_ok and q_we:
                    if q_reg == R_CONTROL:
                        mode_vec.next = q_wdata[1]
                        mode_auto.next = q_wdata[2]
                        if q_wdata[0]:
                            if core_busy:
                                q_err.next = 4
                            else:
                                tick_req.next = 1
                        elif q_wdata[3]:  # TICK_NEXT: now if idle, else when the running step ends (one deep)
                            if not core_busy:
                                tick_req.next = 1
                            elif tick_queued:
                                q_err.next = 4
                            else:
                                queue_req.next = 1
                    elif q_reg == R_STATUS:
                        err.next = (err | err_set) & ~q_wdata[4:1]
                    elif q_reg == R_TP:
                        tick_period.next = q_wdata
            elif a_state == _A_WAIT:
                if a_wait == 0 and q_ok and q_we and q_reg == R_REW:  # saturated in ISSUE, registered
                    reward_pend.next = r_sat_q
                if a_wait == ACCESS_CLOCKS - 4:
                    a_state.next = _A_DONE
                else:
                    a_wait.next = a_wait + 1
            else:
                a_state.next = _A_IDLE
                acc_done.next = 1
                acc_rdata.next = q_rdata
                acc_err.next = q_err

    # read-data mux (registered in DONE); signed fields sign-extended (explicitly: sign_extend)
    rom_params = params
    x_rew, x_mem, x_rv = signed_signal(32), signed_signal(32), signed_signal(32)
    x_elig = signed_signal(16)
    x_w = Signal(intbv(0)[16:])
    mem_s, rv_s = signed_signal(vb), signed_signal(rb)

    x_count, x_pre, x_post, x_ev = (Signal(intbv(0)[32:]) for _ in range(4))
    count_bits = len(vis_count)

    ev_in = Signal(bool(0))  # q_addr < vis_count without a 32-bit compare, registered: the read mux is used in DONE,
    # clocks after q_addr is set, and the register (one clock behind, like the event RAM's read of vis_bank) cuts
    # the compare's carry chain out of the mux path

    @always(clk.posedge)
    def event_index() -> None:
        ev_in.next = q_addr[32:count_bits] == 0 and q_addr[count_bits:] < vis_count

    @always_comb
    def unsigned_views() -> None:
        x_count.next = concat(intbv(0)[32 - count_bits:], vis_count)
        x_pre.next = concat(intbv(0)[32 - tb:], a_rd_pre)
        x_post.next = concat(intbv(0)[32 - tb:], a_rd_post)
        x_ev.next = concat(intbv(1)[1:], intbv(0)[31 - cb:], ev_rdata)

    @always_comb
    def signed_views() -> None:
        mem_s.next = mem_rdata.signed()
        rv_s.next = rv_rdata.signed()

    if wb < 16:

        @always_comb
        def weight_word() -> None:
            x_w.next = concat(intbv(0)[16 - wb:], a_rd_weight)

    else:

        @always_comb
        def weight_word() -> None:
            x_w.next = a_rd_weight

    extends = [sign_extend(reward_pend, x_rew), sign_extend(mem_s, x_mem), sign_extend(rv_s, x_rv),
               sign_extend(a_rd_elig, x_elig)]

    @always_comb
    def read_mux() -> None:
        q_out.next = 0
        if q_ok and not q_we:
            if q_reg == R_ID:
                q_out.next = ID_VALUE
            elif q_reg == R_VER:
                q_out.next = VERSION
            elif q_reg == R_PARAM:
                q_out.next = rom_params[q_addr[5:]]
            elif q_reg == R_STATUS:
                q_out.next = concat(intbv(0)[26:], tick_queued, mode_auto, err, core_busy)
            elif q_reg == R_CONTROL:
                q_out.next = concat(intbv(0)[29:], mode_auto, mode_vec, intbv(0)[1:])
            elif q_reg == R_STEP:
                q_out.next = step_count
            elif q_reg == R_TP:
                q_out.next = tick_period
            elif q_reg == R_REW:
                q_out.next = x_rew[32:]
            elif q_reg == R_COUNT:
                q_out.next = x_count
            elif q_reg == R_FIFO:
                if ev_in:
                    q_out.next = x_ev
            elif q_reg == R_OSP or q_reg == R_OSA:
                q_out.next = ow_rdata
            elif q_reg == R_SYN:
                q_out.next = concat(x_w, x_elig[16:])
            elif q_reg == R_PRE:
                q_out.next = x_pre
            elif q_reg == R_POST:
                q_out.next = x_post
            elif q_reg == R_MEM:
                q_out.next = x_mem[32:]
            elif q_reg == R_RV:
                q_out.next = x_rv[32:]

    @always_comb
    def read_mux_out() -> None:
        q_rdata.next = q_out

    # ================= the timestep sequencer =================
    s_state = Signal(intbv(_S_CLEAR, min=0, max=_N_STATES))
    pend_bank = Signal(bool(0))  # the bank the host writes
    scan_bank = Signal(bool(1))  # the bank the scan reads and clears
    clr_i = Signal(intbv(0, min=0, max=nw + 1))
    # scan
    s_i = Signal(intbv(0, min=0, max=max(n_pre + 1, 64)))  # at least 6 bits: s_i[5:] is the bit
    s_v1 = Signal(bool(0))
    s_i1 = Signal(intbv(0)[ib:])
    s_b1 = Signal(intbv(0)[5:])
    s_w1 = Signal(intbv(0)[nwb:])  # word of s_i1
    s_w0 = Signal(intbv(0)[nwb:])  # word of s_i
    # scan stage 2: the selected bit registered (the bank read -> 32:1 select -> counter path is cut here)
    s_v2, s_bit2, s_end2 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    s_i2 = Signal(intbv(0)[ib:])
    s_w2 = Signal(intbv(0)[nwb:])
    na = Signal(intbv(0, min=0, max=n_pre + 1))
    scan_bit = Signal(bool(0))
    scan_word_end = Signal(bool(0))
    # integrate: tags {valid, first, last, final, zero, j} of pipeline stages 1..6
    g_j = Signal(intbv(0, min=0, max=n_post + 1))
    g_a = Signal(intbv(0, min=0, max=n_pre + 1))
    g_v = Signal(bool(0))
    a_last = Signal(intbv(0, min=0, max=n_pre + 1))  # the width of g_a
    a_zero = Signal(bool(0))
    tw = cb + 5
    tags = [Signal(intbv(0)[tw:]) for _ in range(7)]
    tag1, tag4, tag5, tag6 = tags[1], tags[4], tags[5], tags[6]
    tag_pipe = [pipe_reg(clk, tags[k - 1], tags[k]) for k in range(2, 7)]
    TV, TF, TL, TX, TZ = cb + 4, cb + 3, cb + 2, cb + 1, cb  # bit positions in a tag
    wext = signed_signal(ab)
    wv = signed_signal(ab)
    acc = signed_signal(ab)
    n_in_v = Signal(bool(0))
    n_tag_in = Signal(intbv(0)[cb + 1:])
    n_out_v = Signal(bool(0))
    n_v_out = Signal(intbv(0)[vb:])
    n_z = Signal(bool(0))
    n_tag_out = Signal(intbv(0)[cb + 1:])
    # the membrane is read at stage 4 and registered (mem_q at stage 6, beside the accumulator): the RAM's
    # clock-to-output is then off the neuron's first stage (leak, add, saturate)
    mem_q = Signal(intbv(0)[vb:])
    mem_pipe = pipe_reg(clk, mem_rdata, mem_q)
    neuron = o1_core_neuron(clk, n_in_v, mem_q, acc, n_tag_in, n_out_v, n_v_out, n_z, n_tag_out, lif=lif)
    # post load
    p_j = Signal(intbv(0, min=0, max=n_post + 1))
    p_v1 = Signal(bool(0))
    p_j1 = Signal(intbv(0)[cb:])
    last_word = nw - 1
    sp_we0, sp_we1 = sp_we
    sp_waddr0, sp_waddr1 = sp_waddr
    sp_wdata0, sp_wdata1 = sp_wdata
    sp_rdata0, sp_rdata1 = sp_rdata

    @always(clk.posedge)
    def sequencer() -> None:
        if rst:
            s_state.next = _S_CLEAR
            core_busy.next = 1
            clr_i.next = 0
            pend_bank.next = 0
            tick_queued.next = 0
            scan_bank.next = 1
            out_bank.next = 0
            vis_bank.next = 1
            vis_count.next = 0
            step_count.next = 0
            reward_act.next = 0
            vec_act.next = 0
            tick_count.next = 0
            s_v1.next = 0
            s_v2.next = 0
            g_v.next = 0
            p_v1.next = 0
            ev_count.next = 0
        else:
            tick_count.next = tick_count + 1
            s_v1.next = 0
            s_v2.next = s_v1
            p_v1.next = 0
            if s_state == _S_CLEAR:
                if clr_i == last_word:
                    s_state.next = _S_IDLE
                    core_busy.next = 0
                clr_i.next = clr_i + 1
            elif s_state == _S_IDLE:
                # only BUSY and the state here: the start's wide fan-out (the latches below) is one clock later
                if tick_req or ((tick_queued or (mode_auto and tick_due)) and a_state == _A_IDLE and not acc_req):
                    s_state.next = _S_START
                    core_busy.next = 1
            elif s_state == _S_START:
                # latched one clock after BUSY rose: no access accepted since can have changed the pending spike
                # bank, REWARD or the mode yet (a write takes effect two or more clocks after it is accepted)
                s_state.next = _S_SCAN
                tick_queued.next = 0
                tick_count.next = 1  # = 0 at the tick, as before START existed: the internal tick keeps its period
                scan_bank.next = pend_bank
                pend_bank.next = not pend_bank
                reward_act.next = reward_pend
                vec_act.next = mode_vec
                ev_count.next = 0
                s_i.next = 0
                na.next = 0
            elif s_state == _S_SCAN:
                if s_i < n_pre:
                    s_v1.next = 1
                    s_i1.next = s_i[ib:]
                    s_b1.next = s_i[5:]
                    s_w1.next = s_w0
                    s_i.next = s_i + 1
                if s_v2:
                    if s_bit2:
                        na.next = na + 1
                    if s_i2 == n_pre - 1:
                        s_state.next = _S_PREP
            elif s_state == _S_PREP:
                if na == 0:
                    a_last.next = 0
                    a_zero.next = 1
                else:
                    a_last.next = na - 1
                    a_zero.next = 0
                g_j.next = 0
                g_a.next = 0
                g_v.next = 1
                s_state.next = _S_INTEG
            elif s_state == _S_INTEG:
                if g_v:
                    if g_a == a_last:
                        g_a.next = 0
                        if g_j == n_post - 1:
                            g_v.next = 0
                            s_state.next = _S_DRAIN
                        g_j.next = g_j + 1
                    else:
                        g_a.next = g_a + 1
            elif s_state == _S_DRAIN:
                if n_out_v and n_tag_out[cb]:
                    s_state.next = _S_POST
                    p_j.next = 0
            elif s_state == _S_POST:
                if p_j < n_post:
                    p_v1.next = 1
                    p_j1.next = p_j[cb:]
                    p_j.next = p_j + 1
                if p_v1 and p_j1 == n_post - 1:
                    s_state.next = _S_LEARN0
            elif s_state == _S_LEARN0:
                s_state.next = _S_LEARN
            elif s_state == _S_LEARN:
                if a_done:
                    s_state.next = _S_END
            else:
                s_state.next = _S_IDLE
                core_busy.next = 0
                step_count.next = step_count + 1
                vis_bank.next = out_bank
                vis_count.next = ev_count
                out_bank.next = not out_bank
            if n_out_v and n_z and integ_phase:
                ev_count.next = ev_count + 1
            if queue_req:
                tick_queued.next = 1

    tick_due = Signal(bool(0))  # registered: at least TICK_PERIOD (> 0) clocks since the last start

    @always(clk.posedge)
    def auto_tick() -> None:
        # tick_count >= tick_period as two 16-bit compares (one 32-bit carry chain is too slow on iCE40)
        tick_due.next = tick_period != 0 and (tick_count[32:16] > tick_period[32:16] or (
            tick_count[32:16] == tick_period[32:16] and tick_count[16:] >= tick_period[16:]))

    @always_comb
    def scan_comb() -> None:
        if scan_bank:
            scan_bit.next = sp_rdata1[s_b1]
        else:
            scan_bit.next = sp_rdata0[s_b1]
        scan_word_end.next = s_b1 == 31 or s_i1 == n_pre - 1

    @always(clk.posedge)
    def scan_stage2() -> None:
        s_i2.next = s_i1
        s_w2.next = s_w1
        s_bit2.next = scan_bit
        s_end2.next = scan_word_end

    if n_pre > SPIKES_PER_WORD:

        @always_comb
        def scan_word() -> None:
            s_w0.next = s_i[ib:5]

    else:  # one spike word: s_w0 stays the constant 0 (an undriven signal converts to a constant)
        scan_word = ()

    @always_comb
    def scan_addr() -> None:
        sp_raddr.next = s_w0

    host_w = Signal(bool(0))

    @always_comb
    def host_spike_write() -> None:
        host_w.next = issue and q_ok and q_we and q_reg == R_SPIKES

    @always_comb
    def spike_bank_ports() -> None:
        if s_state == _S_CLEAR:
            sp_we0.next = 1
            sp_we1.next = 1
            sp_waddr0.next = clr_i[nwb:]
            sp_waddr1.next = clr_i[nwb:]
            sp_wdata0.next = 0
            sp_wdata1.next = 0
        elif scan_bank:  # bank 1 scanned (cleared behind the scan), bank 0 written by the host
            sp_we1.next = s_v2 and s_end2
            sp_waddr1.next = s_w2
            sp_wdata1.next = 0
            sp_we0.next = host_w
            sp_waddr0.next = q_addr[nwb:]
            sp_wdata0.next = q_wdata
        else:
            sp_we0.next = s_v2 and s_end2
            sp_waddr0.next = s_w2
            sp_wdata0.next = 0
            sp_we1.next = host_w
            sp_waddr1.next = q_addr[nwb:]
            sp_wdata1.next = q_wdata

    f_valid, f_first, f_last, f_final = (Signal(bool(0)) for _ in range(4))

    integ_phase = Signal(bool(0))  # the neuron pipeline's results are written (INTEG and DRAIN)

    @always_comb
    def phase_flag() -> None:
        integ_phase.next = s_state == _S_INTEG or s_state == _S_DRAIN

    @always_comb
    def integ_flags() -> None:
        f_valid.next = g_v and s_state == _S_INTEG
        f_first.next = g_a == 0
        f_last.next = g_a == a_last
        f_final.next = g_a == a_last and g_j == n_post - 1

    @always(clk.posedge)
    def integ_tag() -> None:
        tag1.next = concat(f_valid, f_first, f_last, f_final, a_zero, g_j[cb:])

    @always(clk.posedge)
    def accumulate() -> None:
        # stage 4 -> 5: the weight minus the offset; stage 5 -> 6: the accumulator
        if tag4[TZ]:
            wv.next = 0
        else:
            wv.next = wext - off
        if tag5[TV]:
            if tag5[TF]:
                acc.next = wv
            else:
                acc.next = acc + wv

    @always_comb
    def weight_ext() -> None:
        wext.next = concat(intbv(0)[ab - wb:], a_rd_weight)

    @always_comb
    def neuron_in() -> None:
        n_in_v.next = tag6[TV] and tag6[TL]
        n_tag_in.next = concat(tag6[TX], tag6[cb:])  # {final, j}

    # ================= memory and array port multiplexers =================
    @always_comb
    def list_ports() -> None:
        al_we.next = s_v2 and s_bit2
        al_waddr.next = na[ib:]
        al_wdata.next = s_i2
        al_raddr.next = g_a[ib:]

    @always_comb
    def neuron_ports() -> None:
        sb_we.next = n_out_v and integ_phase
        sb_waddr.next = n_tag_out[cb:]
        sb_wdata.next = n_z
        sb_raddr.next = p_j[cb:]
        ev_we.next = n_out_v and n_z and integ_phase
        ev_waddr.next = concat(out_bank, ev_count[cb:])
        ev_wdata.next = n_tag_out[cb:]
        ev_raddr.next = concat(vis_bank, q_addr[cb:])

    # packed output word: the neurons leave the LIF pipeline in index order, so a shift register collects 32
    # spikes (bit b = neuron 32m + b) and the word is written at its last neuron (the tail word shifted down)
    ow_sr = Signal(intbv(0)[32:])
    ow_full = Signal(intbv(0)[32:])
    ow_j = Signal(intbv(0)[cb:])
    ow_end = Signal(bool(0))
    ow_last = Signal(bool(0))

    @always_comb
    def out_word_comb() -> None:
        ow_full.next = concat(n_z, ow_sr[32:1])
        ow_j.next = n_tag_out[cb:]
        ow_last.next = n_tag_out[cb:] == n_post - 1

    if cb >= 5:

        @always_comb
        def out_word_end() -> None:
            ow_end.next = ow_j[5:] == 31 or ow_last

    else:

        @always_comb
        def out_word_end() -> None:
            ow_end.next = ow_last

    @always(clk.posedge)
    def out_word_shift() -> None:
        if n_out_v and integ_phase:
            ow_sr.next = ow_full

    @always_comb
    def out_word_ports() -> None:
        ow_we.next = n_out_v and integ_phase and ow_end
        if q_reg == R_OSA:
            ow_raddr.next = concat(q_addr[16], q_addr[owb:])
        else:
            ow_raddr.next = concat(vis_bank, q_addr[owb:])
        if ow_last:
            ow_wdata.next = ow_full >> tail_shift
        else:
            ow_wdata.next = ow_full

    if n_post > SPIKES_PER_WORD:

        @always_comb
        def out_word_addr() -> None:
            ow_waddr.next = concat(out_bank, ow_j[cb:5])

    else:

        @always_comb
        def out_word_addr() -> None:
            ow_waddr.next = concat(out_bank, intbv(0)[owb:])

    @always_comb
    def membrane_ports() -> None:
        if core_busy:
            mem_raddr.next = tag4[cb:]
            mem_we.next = n_out_v and integ_phase
            mem_waddr.next = n_tag_out[cb:]
            mem_wdata.next = n_v_out
        else:
            mem_raddr.next = q_addr[cb:]
            mem_we.next = issue and q_ok and q_we and q_reg == R_MEM
            mem_waddr.next = q_addr[cb:]
            mem_wdata.next = q_wdata[vb:]

    @always_comb
    def reward_ports() -> None:
        if core_busy:
            rv_raddr.next = p_j[cb:]
        else:
            rv_raddr.next = q_addr[cb:]
        rv_we.next = issue and q_ok and q_we and q_reg == R_RV and not core_busy
        rv_waddr.next = q_addr[cb:]
        rv_wdata.next = q_wdata[rb:]

    @always_comb
    def array_ports() -> None:
        a_start.next = s_state == _S_LEARN0
        a_wr_weight.next = q_wdata[16 + wb:16]
        a_wr_elig.next = q_wdata[tb:].signed()
        a_wr_trace.next = q_wdata[tb:]
        if core_busy:
            a_wr_syn.next = 0
            a_wr_pre_trace.next = 0
            a_wr_post_trace.next = 0
            if s_state == _S_POST:
                a_row.next = 0
                a_col.next = p_j1
            elif s_state == _S_SCAN or s_state == _S_PREP:
                a_row.next = s_i2
                a_col.next = 0
            else:
                a_row.next = al_rdata
                a_col.next = tag1[cb:]
            a_wr_pre_spike.next = s_v2
            a_wr_post_spike.next = p_v1
            if s_v2:
                a_wr_spike.next = s_bit2
            else:
                a_wr_spike.next = sb_rdata[0]
            if vec_act:
                a_wr_reward.next = rv_rdata.signed()
            else:
                a_wr_reward.next = reward_act
        else:
            a_row.next = q_row
            a_col.next = q_col
            a_wr_syn.next = issue and q_ok and q_we and q_reg == R_SYN
            a_wr_pre_trace.next = issue and q_ok and q_we and q_reg == R_PRE
            a_wr_post_trace.next = issue and q_ok and q_we and q_reg == R_POST
            a_wr_pre_spike.next = 0
            a_wr_post_spike.next = 0
            a_wr_spike.next = 0
            a_wr_reward.next = 0

    @always_comb
    def status_out() -> None:
        status_byte.next = concat(intbv(0)[2:], tick_queued, mode_auto, err, core_busy)
        busy.next = core_busy
        error.next = err != 0

    return (slave, frame, array, sp_rams, al_ram, mem_ram, rv_ram, sb_ram, ev_ram, ow_ram, reg_flags, addr_split,
            addr_check, limit_checks, decode, reward_saturate, reward_register, access_unit, read_mux, read_mux_out,
            event_index, mem_pipe, unsigned_views, signed_views, weight_word, extends, neuron, tag_pipe, sequencer,
            auto_tick, scan_comb, scan_stage2, scan_word, scan_addr, host_spike_write, spike_bank_ports, phase_flag,
            integ_flags, integ_tag,
            accumulate, weight_ext, neuron_in, list_ports, neuron_ports, out_word_comb, out_word_end, out_word_shift,
            out_word_ports, out_word_addr, membrane_ports, reward_ports, array_ports,
            status_out)
