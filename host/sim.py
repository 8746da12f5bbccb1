"""``SimulatedCore``: the register map of :mod:`plasticore.host.regmap` in Python, behind ``transfer(bytes)``.

A byte-level fake of the closed-loop core (:mod:`plasticore.hw.o1_core`) over an
:class:`~plasticore.refmodel.o1_network.OnlineO1Network`: the host driver (:mod:`plasticore.host.driver`) is
tested against it without HDL, and a board transport can be compared with it. One call of :meth:`transfer` is
one SPI frame (one ``cs_n`` low period); the reply has one byte per byte sent.

Frames, exactly as :mod:`~plasticore.host.regmap` specifies them and the core implements them:

* reply byte 0 is the low byte of ``STATUS`` at the start of the frame; the address bytes, the dummy byte of a
  read and every byte of a write frame reply 0;
* the command is decoded from byte 0 and the address from bytes 1-4, but nothing happens until a word does:
  a frame without a (complete) word has no effect (a 1-byte frame is the cheap way to poll ``STATUS``);
* a write word takes effect when its 4th byte arrives (a partial word is dropped); the address then
  increments (``SYN``: the column wraps to 0 and the row steps after ``col = n_post - 1``; every other register
  ``addr + 1``, 32-bit);
* a read word is fetched, and its error recorded, when its first byte is shifted out (so a burst's fetching
  ahead never sets an error for the word after its last one); reads have no side effects (``OUT_FIFO`` is read
  by index: the ``k``-th post spike of the last completed step);
* a rejected access changes nothing and sets one sticky error bit, checked in this order: ``ERR_CMD`` (unknown
  register, write to read-only, read of write-only), ``ERR_ADDR`` (``row >= n_pre``, ``col >= n_post``, a spike
  word ``>= ceil(n_pre/32)``, a ``PARAM`` index ``>= len(PARAM_FIELDS)``, an ``OUT_FIFO`` index ``>= n_post``,
  an ``OUT_SPIKES`` word ``>= ceil(n_post/32)``, an ``OUT_SPIKES_AT`` bank ``> 1`` or word ``>= ceil(n_post/32)``),
  ``ERR_BUSY`` (a state register while a timestep runs; a ``TICK_NEXT`` while one is queued; a ``TICK`` while one
  runs: the ``CONTROL`` mode bits are still written). Registers without an address (``ID``, ``STATUS``, ...)
  accept any address.

Field widths (what the hardware keeps of a written word): ``SYN`` weight bits ``16+W-1..16``, eligibility the low
``T`` bits (two's complement); traces the low ``T`` bits; ``MEMBRANE`` the low ``V`` bits and ``REWARD_VEC`` the
low ``R`` bits (two's complement, *not* saturated: the driver saturates); ``REWARD`` is saturated to ``R`` bits.
Reads sign-extend the signed fields (the eligibility to 16 bits, the others to 32).

Time is counted in system clocks: each byte takes ``8 * sck_divider`` clocks (plus ``frame_clocks`` per frame
for ``cs_n`` setup, hold and gap), and :meth:`advance` lets idle time pass. ``TICK`` latches the pending spike
words (the pending buffer is then empty again: the core clears each spike word after using it), the scalar
``REWARD`` and the ``REWARD_VECTOR`` mode, and the core is ``BUSY`` for ``cycles_per_step(n_active)`` clocks
(``n_active`` = spiking inputs; default 100 clocks whatever the input). The step's result (``STEP``,
``OUT_COUNT``, ``OUT_FIFO``, the state) appears when it completes; the outputs of a step stay readable until
the next step completes. ``AUTO_TICK`` with ``TICK_PERIOD = P != 0`` starts a step ``P`` clocks after the
previous start, or as soon as the core is idle after that (``P = 0``: no internal tick). ``TICK_NEXT`` while
a step runs queues one step (``STATUS.QUEUED``), which starts :data:`QUEUED_GAP_CLOCKS` after the running one
ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from plasticore.refmodel.o1_network import OnlineO1Network

from .regmap import (
    ERRORS,
    FIFO_VALID,
    ID_VALUE,
    PARAM_FIELDS,
    READ_ONLY,
    SCK_DIVIDER_MIN,
    SPIKES_PER_WORD,
    STATE_REGS,
    SYN_COL_BITS,
    VERSION,
    WRITE_ONLY,
    Control,
    Reg,
    Status,
    rounding_params,
)

__all__ = ["MAX_FIELD_BITS", "SimulatedCore", "next_address", "sign_extend"]

MAX_FIELD_BITS = 16  # weight, eligibility and reward share 16-bit fields of the 32-bit words
MASK32 = 0xFFFFFFFF
_REGS = frozenset(int(r) for r in Reg)


def sign_extend(value: int, bits: int) -> int:
    """The low ``bits`` bits of ``value`` as a two's complement integer."""
    v = int(value) & ((1 << bits) - 1)
    return v - (1 << bits) if v >> (bits - 1) else v


def next_address(reg: int, addr: int, n_post: int) -> int:
    """The address after ``addr`` in a burst on ``reg`` (``SYN``: ``col`` wraps to 0 and the row steps after
    ``col = n_post - 1``; otherwise ``addr + 1``, both 32-bit like the core's counter)."""
    if reg == Reg.SYN and (addr & ((1 << SYN_COL_BITS) - 1)) == n_post - 1:
        return (((addr >> SYN_COL_BITS) + 1) & 0xFFFF) << SYN_COL_BITS
    return (addr + 1) & MASK32


#: clocks between the end of a timestep and the start of a queued one (the core's IDLE state; it waits longer if
#: a register access is in flight then, which the driver's loop avoids by only polling at that time)
QUEUED_GAP_CLOCKS = 1


def _packed_word(spikes: list[int], m: int) -> int:
    """Word ``m`` of the packed output (bit ``b`` = neuron ``32m + b``) of a step whose spikes are ``spikes``."""
    return sum(1 << (j - SPIKES_PER_WORD * m) for j in spikes if SPIKES_PER_WORD * m <= j < SPIKES_PER_WORD * (m + 1))


def _constant_cycles(n_active: int) -> int:
    return 100


class SimulatedCore:
    """The core's register map over ``network`` (see the module docstring for the exact semantics).

    ``sck_divider`` (>= 8) sets the time per byte; ``cycles_per_step(n_active) -> clocks`` (>= 1) the busy time
    of a timestep; ``frame_clocks`` extra clocks per frame; ``lanes``, ``spram``, ``pipelined_update`` only
    fill the ``PARAM`` table. The network is the core's state: read it with :attr:`network` (synchronised with
    the host's writes) or :meth:`snapshot`. Counters: :attr:`time` (clocks), :attr:`frames`,
    :attr:`bytes_transferred`, :attr:`steps_started`.
    """

    def __init__(self, network: OnlineO1Network, *, sck_divider: int = SCK_DIVIDER_MIN,
                 cycles_per_step: Callable[[int], int] | None = None, frame_clocks: int = 0, lanes: int = 1,
                 spram: bool = False, pipelined_update: bool = False) -> None:
        if not isinstance(network, OnlineO1Network):
            raise TypeError(f"network must be an OnlineO1Network, not {type(network).__name__}")
        c, lif = network.o1_config, network.lif_config
        for name, v in (("weight_bits", c.weight_bits), ("trace_bits", c.trace_bits),
                        ("reward_bits", c.reward_bits)):
            if v > MAX_FIELD_BITS:
                raise ValueError(f"{name} must be in 1..{MAX_FIELD_BITS} for the core's 32-bit words, not {v}")
        for name, v in (("n_pre", network.n_pre), ("n_post", network.n_post)):
            if not 1 <= v <= 1 << 16:
                raise ValueError(f"{name} must be in 1..65536 (16-bit SYN row/col), not {v}")
        for name, v, lo in (("sck_divider", sck_divider, SCK_DIVIDER_MIN), ("frame_clocks", frame_clocks, 0),
                            ("lanes", lanes, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, not {v!r}")
        if cycles_per_step is not None and not callable(cycles_per_step):
            raise TypeError(f"cycles_per_step must be a callable n_active -> clocks, not {cycles_per_step!r}")
        self._net = network
        self._state: dict[str, Any] = network.state_dict()
        self._dirty = False
        self.sck_divider = sck_divider
        self.frame_clocks = frame_clocks
        self._cycles = cycles_per_step if cycles_per_step is not None else _constant_cycles
        assert lif.threshold is not None
        self.params: dict[str, int] = {
            "n_pre": network.n_pre, "n_post": network.n_post, "lanes": lanes, "weight_bits": c.weight_bits,
            "trace_bits": c.trace_bits, "reward_bits": c.reward_bits, "learning_shift": c.learning_shift,
            "trace_decay_shift": c.trace_decay_shift, "membrane_bits": lif.membrane_bits,
            "leak_shift": lif.leak_shift, "threshold": lif.threshold, "reset_subtract": int(lif.reset == "subtract"),
            "weight_offset": lif.weight_offset, "spram": int(bool(spram)),
            "pipelined_update": int(bool(pipelined_update)),
            **rounding_params(c),
        }
        if c.rounding == "stochastic" and network.lanes != lanes:
            raise ValueError(f"lanes must equal the network's lanes ({network.lanes}) with rounding='stochastic' "
                             f"(each lane's LFSR draws for its columns), not {lanes}")
        assert tuple(self.params) == PARAM_FIELDS
        self.n_pre, self.n_post = network.n_pre, network.n_post
        self.n_words = -(-self.n_pre // SPIKES_PER_WORD)
        # registers
        self.time = 0
        self._errors = 0
        self._mode_vec = False
        self._auto = False
        self._auto_since = 0
        self._tick_period = 0
        self._reward = 0
        self._reward_vec = np.zeros(self.n_post, dtype=np.int64)
        self._pending = [0] * self.n_words
        self._running: tuple[npt.NDArray[np.bool_], Any] | None = None
        self._busy_until = 0
        self._last_start: int | None = None
        self._idle_since = 0
        self._queued = False  # a TICK_NEXT waits for the running step's end
        self._step = 0
        self._outputs: list[int] = []
        self._out_banks: list[list[int]] = [[], []]  # OUT_SPIKES_AT: step k's spikes in bank k & 1
        # counters
        self.frames = 0
        self.bytes_transferred = 0
        self.steps_started = 0

    # ---- views ----------------------------------------------------------------------------------
    @property
    def network(self) -> OnlineO1Network:
        """The network holding the core's state (the host's writes applied)."""
        self._sync()
        return self._net

    @property
    def busy(self) -> bool:
        """Whether a timestep runs at :attr:`time`."""
        self._advance_to(self.time)
        return self._running is not None

    def status(self) -> int:
        """The ``STATUS`` word at :attr:`time`."""
        self._advance_to(self.time)
        return self._status()

    def snapshot(self) -> dict[str, Any]:
        """Everything the host can change or observe, as plain copies (tests compare two snapshots)."""
        self._advance_to(self.time)
        return {
            "state": {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._state.items()},
            "errors": self._errors, "mode_vec": self._mode_vec, "auto": self._auto, "tick_period": self._tick_period,
            "reward": self._reward, "reward_vec": self._reward_vec.copy(), "pending": list(self._pending),
            "step": self._step, "outputs": list(self._outputs), "busy": self._running is not None,
        }

    def advance(self, clocks: int) -> None:
        """Let ``clocks`` system clocks pass without a frame (timesteps run and complete)."""
        if isinstance(clocks, bool) or not isinstance(clocks, int) or clocks < 0:
            raise ValueError(f"clocks must be an int >= 0, not {clocks!r}")
        self.time += clocks
        self._advance_to(self.time)

    # ---- frames ---------------------------------------------------------------------------------
    def transfer(self, data: bytes) -> bytes:
        """One SPI frame: the bytes of ``data`` in, as many reply bytes out (module docstring)."""
        data = bytes(data)
        bc = 8 * self.sck_divider
        t0 = self.time
        self._advance_to(t0)
        self.frames += 1
        self.bytes_transferred += len(data)
        if not data:
            self.time = t0 + self.frame_clocks
            return b""
        reply = bytearray([self._status() & 0xFF])
        write, reg, addr, wbuf = False, 0, 0, 0
        rword = 0
        for n, b in enumerate(data):
            t = t0 + (n + 1) * bc
            self.time = t
            self._advance_to(t)
            if n == 0:
                write, reg = bool(b & 0x80), b & 0x7F
            elif n <= 4:
                addr = (addr << 8) | b
            elif write:
                wbuf = (wbuf << 8) | b
                if (n - 5) % 4 == 3:
                    self._write_word(reg, addr, wbuf)
                    addr = next_address(reg, addr, self.n_post)
                    wbuf = 0
            m = n + 1  # the reply byte queued now
            if m >= len(data):
                break
            if write or m < 6:
                reply.append(0)
                continue
            k = (m - 6) % 4
            if k == 0:  # word (m - 6) // 4 starts shifting out: fetch it, record its error
                rword, err = self._read_word(reg, addr)
                self._errors |= err
                addr = next_address(reg, addr, self.n_post)
            reply.append((rword >> (24 - 8 * k)) & 0xFF)
        self.time = t0 + len(data) * bc + self.frame_clocks
        self._advance_to(self.time)
        return bytes(reply)

    # ---- register accesses ----------------------------------------------------------------------
    def _addr_ok(self, reg: Reg, addr: int) -> bool:
        if reg == Reg.PARAM:
            return addr < len(PARAM_FIELDS)
        if reg == Reg.SPIKES_IN:
            return addr < self.n_words
        if reg == Reg.OUT_SPIKES:
            return addr < -(-self.n_post // SPIKES_PER_WORD)
        if reg == Reg.OUT_SPIKES_AT:
            return (addr >> SYN_COL_BITS) < 2 and (addr & 0xFFFF) < -(-self.n_post // SPIKES_PER_WORD)
        if reg in (Reg.OUT_FIFO, Reg.POST_TRACE, Reg.MEMBRANE, Reg.REWARD_VEC):
            return addr < self.n_post
        if reg == Reg.PRE_TRACE:
            return addr < self.n_pre
        if reg == Reg.SYN:
            return (addr >> SYN_COL_BITS) < self.n_pre and (addr & 0xFFFF) < self.n_post
        return True

    def _check(self, reg: int, addr: int, write: bool) -> int:
        """The error bit of an access (0: accepted)."""
        if reg not in _REGS:
            return int(Status.ERR_CMD)
        r = Reg(reg)
        if (write and r in READ_ONLY) or (not write and r in WRITE_ONLY):
            return int(Status.ERR_CMD)
        if not self._addr_ok(r, addr):
            return int(Status.ERR_ADDR)
        if r in STATE_REGS and self._running is not None:
            return int(Status.ERR_BUSY)
        return 0

    def _status(self) -> int:
        return (int(self._running is not None) | self._errors | (int(Status.AUTO_TICK) if self._auto else 0)
                | (int(Status.QUEUED) if self._queued else 0))

    def _read_word(self, reg: int, addr: int) -> tuple[int, int]:
        err = self._check(reg, addr, False)
        if err:
            return 0, err
        st, r = self._state, Reg(reg)
        row, col = addr >> SYN_COL_BITS, addr & 0xFFFF
        value: int
        if r == Reg.ID:
            value = ID_VALUE
        elif r == Reg.VERSION:
            value = VERSION
        elif r == Reg.PARAM:
            value = self.params[PARAM_FIELDS[addr]]
        elif r == Reg.STATUS:
            value = self._status()
        elif r == Reg.CONTROL:
            value = int(Control.REWARD_VECTOR) * self._mode_vec | int(Control.AUTO_TICK) * self._auto
        elif r == Reg.STEP:
            value = self._step & MASK32
        elif r == Reg.TICK_PERIOD:
            value = self._tick_period
        elif r == Reg.REWARD:
            value = self._reward & MASK32
        elif r == Reg.OUT_COUNT:
            value = len(self._outputs)
        elif r == Reg.OUT_FIFO:
            value = FIFO_VALID | self._outputs[addr] if addr < len(self._outputs) else 0
        elif r == Reg.OUT_SPIKES:
            value = _packed_word(self._outputs, addr)
        elif r == Reg.OUT_SPIKES_AT:
            value = _packed_word(self._out_banks[addr >> SYN_COL_BITS], addr & 0xFFFF)
        elif r == Reg.SYN:
            value = (int(st["weight"][col, row]) << 16) | (int(st["eligibility"][col, row]) & 0xFFFF)
        elif r == Reg.PRE_TRACE:
            value = int(st["pre_trace"][addr])
        elif r == Reg.POST_TRACE:
            value = int(st["post_trace"][addr])
        elif r == Reg.MEMBRANE:
            value = int(st["membrane"][addr]) & MASK32
        else:  # REWARD_VEC
            value = int(self._reward_vec[addr]) & MASK32
        return value, 0

    def _write_word(self, reg: int, addr: int, value: int) -> None:
        err = self._check(reg, addr, True)
        if err:
            self._errors |= err
            return
        p, st, r = self.params, self._state, Reg(reg)
        t_bits = p["trace_bits"]
        if r == Reg.STATUS:
            self._errors &= ~(value & int(ERRORS))
        elif r == Reg.CONTROL:
            self._mode_vec = bool(value & Control.REWARD_VECTOR)
            auto = bool(value & Control.AUTO_TICK)
            if auto and not self._auto:
                self._auto_since = self.time
            self._auto = auto
            if value & Control.TICK:
                if self._running is not None:
                    self._errors |= int(Status.ERR_BUSY)
                else:
                    self._start(self.time)
            elif value & Control.TICK_NEXT:
                if self._running is None:
                    self._start(self.time)
                elif self._queued:
                    self._errors |= int(Status.ERR_BUSY)
                else:
                    self._queued = True
        elif r == Reg.TICK_PERIOD:
            self._tick_period = value
        elif r == Reg.REWARD:
            rb = p["reward_bits"]
            self._reward = min(max(sign_extend(value, 32), -(1 << (rb - 1))), (1 << (rb - 1)) - 1)
        elif r == Reg.SPIKES_IN:
            last = self.n_pre - SPIKES_PER_WORD * addr
            self._pending[addr] = value & ((1 << min(last, SPIKES_PER_WORD)) - 1)
        elif r == Reg.REWARD_VEC:  # not state of the network
            self._reward_vec[addr] = sign_extend(value, p["reward_bits"])
        else:
            self._dirty = True
            row, col = addr >> SYN_COL_BITS, addr & 0xFFFF
            if r == Reg.SYN:
                st["weight"][col, row] = (value >> 16) & ((1 << p["weight_bits"]) - 1)
                st["eligibility"][col, row] = sign_extend(value, t_bits)
            elif r == Reg.PRE_TRACE:
                st["pre_trace"][addr] = value & ((1 << t_bits) - 1)
            elif r == Reg.POST_TRACE:
                st["post_trace"][addr] = value & ((1 << t_bits) - 1)
            else:  # MEMBRANE
                st["membrane"][addr] = sign_extend(value, p["membrane_bits"])

    # ---- timesteps ------------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._dirty:
            self._net.load_state_dict(self._state)
            self._dirty = False

    def _start(self, t: int) -> None:
        bits = np.array([(w >> b) & 1 for w in self._pending for b in range(SPIKES_PER_WORD)], dtype=bool)
        spikes = bits[: self.n_pre]
        self._pending = [0] * self.n_words
        reward: Any = self._reward_vec.copy() if self._mode_vec else self._reward
        n_active = int(spikes.sum())
        cycles = self._cycles(n_active)
        if isinstance(cycles, bool) or not isinstance(cycles, (int, np.integer)) or cycles < 1:
            raise ValueError(f"cycles_per_step({n_active}) must be an int >= 1, not {cycles!r}")
        self._running = (spikes, reward)
        self._busy_until = t + int(cycles)
        self._last_start = t
        self.steps_started += 1

    def _complete(self) -> None:
        assert self._running is not None
        spikes, reward = self._running
        self._sync()
        z = self._net.step(spikes, reward)
        self._state = self._net.state_dict()
        self._outputs = [int(j) for j in np.flatnonzero(z)]
        self._out_banks[self._step & 1] = self._outputs
        self._step += 1
        self._running = None
        self._idle_since = self._busy_until

    def _advance_to(self, t: int) -> None:
        """Complete every timestep that ends by ``t`` and start the internal ticks due by then."""
        while True:
            if self._running is not None:
                if self._busy_until > t:
                    return
                self._complete()
                continue
            if self._queued:  # the queued TICK_NEXT: one idle clock after the step's end, as in the core
                if self._idle_since + QUEUED_GAP_CLOCKS > t:
                    return
                self._queued = False
                self._start(self._idle_since + QUEUED_GAP_CLOCKS)
                continue
            if not (self._auto and self._tick_period):
                return
            due = max(self._idle_since, self._auto_since)
            if self._last_start is not None:
                due = max(due, self._last_start + self._tick_period)
            if due > t:
                return
            self._start(due)
