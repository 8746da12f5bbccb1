"""The register map of the closed-loop core's SPI host interface (:mod:`plasticore.hw.o1_core`).

One module shared by the hardware (which decodes these numbers), the host driver
(:mod:`plasticore.host.driver`) and the Python model of the interface (:mod:`plasticore.host.sim`).

Frames (SPI mode 0, MSB first; one frame per ``cs_n`` low period)
-----------------------------------------------------------------
``byte 0``        command: bit 7 = 1 write / 0 read, bits 6..0 = register (:class:`Reg`)
``bytes 1..4``    32-bit word address, big-endian
write             then any number of 4-byte data words (big-endian); the address increments after each word
read              then one dummy byte (the core fetches), then any number of 4-byte words (address increments)

While the master sends byte 0 the core returns the low byte of ``STATUS``; the core returns 0 during the
address and dummy bytes. A frame cut short (``cs_n`` rising inside a word) drops the partial word; the
words completed before it took effect. SCK must be at most ``f_clk / 8`` (the slave oversamples SCK with
the system clock) and ``cs_n`` must stay low at least 8 system clocks before the first SCK edge and high at
least 8 system clocks between frames.

Address auto-increment: ``SYN`` addresses are ``row << 16 | col``; the increment steps ``col`` and wraps to
``col = 0, row + 1`` after ``col = n_post - 1``, so one burst reads or writes the whole matrix row by row.
Every other register increments the plain address.

Effects of bad commands (nothing is ever lost: a rejected access changes no state):

* unknown register, a write to a read-only register or a read of a write-only one: the access is ignored
  (reads return 0) and ``STATUS.ERR_CMD`` is set;
* address out of range (``row >= n_pre``, ``col >= n_post``, a word index past the spike words, a
  parameter index past the table, an ``OUT_SPIKES`` word past ``ceil(n_post/32)``, an ``OUT_SPIKES_AT`` bank
  above 1): ignored (reads return 0), ``STATUS.ERR_ADDR``;
* a state access (``SYN``, traces, ``MEMBRANE``, ``REWARD_VEC``), a ``TICK`` while a timestep runs or a
  ``TICK_NEXT`` while one is already queued: ignored (reads return 0), ``STATUS.ERR_BUSY``. ``SPIKES_IN``,
  ``REWARD``, the output registers, ``STATUS``, ``CONTROL`` mode bits and ``TICK_PERIOD`` work at any time (the
  spike input and the scalar reward are double-buffered).

Reads fetch ahead (the core fetches up to two words beyond the one being shifted out); a read's error is
recorded once the first byte of that word has been shifted out, so fetching ahead never sets one.

Errors are sticky until written 1 to ``STATUS`` (write-1-to-clear).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from plasticore.refmodel.online_o1 import OnlineO1Config
from plasticore.refmodel.rounding import ROUNDING_MODES

ID_VALUE = 0x504C4331  # "PLC1"
VERSION = 3  # 2: OUT_SPIKES, OUT_SPIKES_AT, Control.TICK_NEXT, Status.QUEUED; 3: PARAM rounding, lfsr_seed_lo/hi
ADDR_BYTES = 4
WORD_BYTES = 4
DUMMY_BYTES = 1
SCK_DIVIDER_MIN = 8  # SCK period >= 8 system clocks
CS_SETUP_CLOCKS = 8
SPIKES_PER_WORD = 32
SYN_COL_BITS = 16  # SYN address = row << 16 | col


class Reg(enum.IntEnum):
    """Register numbers (bits 6..0 of the command byte)."""

    ID = 0x00  # r   ID_VALUE
    VERSION = 0x01  # r   VERSION
    PARAM = 0x02  # r   address k: PARAM_FIELDS[k]
    STATUS = 0x08  # rw  Status bits; write 1 to clear error bits
    CONTROL = 0x09  # rw  Control bits (TICK is a strobe and reads 0)
    STEP = 0x0A  # r   timesteps completed since reset (32-bit, wraps)
    TICK_PERIOD = 0x0B  # rw  internal tick: clocks between timestep starts when Control.AUTO_TICK is set
    REWARD = 0x0C  # rw  scalar reward of the next timestep (two's complement, saturated to R bits)
    SPIKES_IN = 0x10  # w   address m: pre spikes 32m .. 32m+31 of the next timestep (bit b = neuron 32m+b)
    OUT_COUNT = 0x11  # r   number of post spikes of the last completed timestep
    OUT_FIFO = 0x12  # r   address k: the k-th post-spike index of the last completed timestep, in spike order
    #                      (bit 31 = valid, bits 15..0 = index; k >= OUT_COUNT reads 0; k >= n_post is ERR_ADDR).
    #                      Read by index, without side effects, so an aborted or repeated frame loses nothing.
    OUT_SPIKES = 0x13  # r   address m: post spikes 32m .. 32m+31 of the last completed timestep, packed (bit b =
    #                      neuron 32m+b; m >= ceil(n_post/32) is ERR_ADDR): ceil(n_post/32) words instead of one
    #                      word per spike. Read without side effects.
    OUT_SPIKES_AT = 0x14  # r address (k & 1) << 16 | m: word m of the packed post spikes of step k (k = the value
    #                      of STEP when that step started; steps alternate between two banks), valid from the end of
    #                      step k until the end of step k + 2: the host reads step k's output while step k + 1
    #                      runs, without racing its end (OUT_SPIKES switches banks when a step ends).
    SYN = 0x20  # rw  address row<<16|col: weight << 16 | (eligibility & 0xFFFF)
    PRE_TRACE = 0x21  # rw  address row
    POST_TRACE = 0x22  # rw  address col
    MEMBRANE = 0x23  # rw  address col: membrane potential, two's complement (sign-extended)
    REWARD_VEC = 0x24  # rw  address col: per-neuron reward used when Control.REWARD_VECTOR is set


class Status(enum.IntFlag):
    BUSY = 1 << 0  # a timestep runs
    ERR_CMD = 1 << 1
    ERR_ADDR = 1 << 2
    ERR_BUSY = 1 << 3
    AUTO_TICK = 1 << 4  # mirror of Control.AUTO_TICK
    QUEUED = 1 << 5  # a Control.TICK_NEXT waits for the running timestep to end


ERRORS = Status.ERR_CMD | Status.ERR_ADDR | Status.ERR_BUSY


class Control(enum.IntFlag):
    TICK = 1 << 0  # strobe: start a timestep with the pending spikes (error if busy)
    REWARD_VECTOR = 1 << 1  # 1: reward per neuron from REWARD_VEC; 0: the scalar REWARD for every neuron
    AUTO_TICK = 1 << 2  # 1: start a timestep every TICK_PERIOD clocks (when idle)
    TICK_NEXT = 1 << 3  # strobe: start a timestep now if idle, else as soon as the running one ends (Status.QUEUED
    #                     until it starts; one deep: a TICK_NEXT while one is queued is ERR_BUSY). TICK wins if both


# PARAM table (read PARAM at address k)
PARAM_FIELDS: tuple[str, ...] = (
    "n_pre", "n_post", "lanes", "weight_bits", "trace_bits", "reward_bits", "learning_shift",
    "trace_decay_shift", "membrane_bits", "leak_shift", "threshold", "reset_subtract", "weight_offset",
    "spram", "pipelined_update", "rounding", "lfsr_seed_lo", "lfsr_seed_hi",
)
# PARAM "rounding": the index of OnlineO1Config.rounding in ROUNDING_MODES; the LFSR seed in 16-bit halves
ROUNDING_CODES: tuple[str, ...] = ROUNDING_MODES


def rounding_params(config: OnlineO1Config) -> dict[str, int]:
    """The PARAM fields ``rounding``, ``lfsr_seed_lo``, ``lfsr_seed_hi`` of a core running ``config``."""
    return {"rounding": ROUNDING_CODES.index(config.rounding), "lfsr_seed_lo": config.lfsr_seed & 0xFFFF,
            "lfsr_seed_hi": config.lfsr_seed >> 16}


def rounding_from_params(params: Mapping[str, int]) -> dict[str, Any]:
    """``rounding`` and ``lfsr_seed`` (``OnlineO1Config`` keywords) from a PARAM table (:func:`rounding_params`)."""
    return {"rounding": ROUNDING_CODES[params["rounding"]],
            "lfsr_seed": params["lfsr_seed_lo"] | (params["lfsr_seed_hi"] << 16)}

READ_ONLY = frozenset({Reg.ID, Reg.VERSION, Reg.PARAM, Reg.STEP, Reg.OUT_COUNT, Reg.OUT_FIFO, Reg.OUT_SPIKES,
                       Reg.OUT_SPIKES_AT})
WRITE_ONLY = frozenset({Reg.SPIKES_IN})
STATE_REGS = frozenset({Reg.SYN, Reg.PRE_TRACE, Reg.POST_TRACE, Reg.MEMBRANE, Reg.REWARD_VEC})
FIFO_VALID = 1 << 31


def command(reg: Reg, write: bool) -> int:
    """The command byte of a frame."""
    return (0x80 if write else 0) | int(reg)


def syn_address(row: int, col: int) -> int:
    return (row << SYN_COL_BITS) | col
