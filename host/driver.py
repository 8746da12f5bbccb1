"""``CoreDriver``: the host side of the closed-loop core's SPI interface (frames of :mod:`plasticore.host.regmap`).

The driver runs over any *transport*, an object with ``transfer(data: bytes) -> bytes`` that sends one frame
(one ``cs_n`` low period) and returns the bytes read back, one per byte sent: a board's SPI adapter,
:class:`plasticore.host.sim.SimulatedCore`, or ``tests/cocotb/spi_master.CocotbTransport`` inside a cocotb
simulation. It is the hardware counterpart of :class:`~plasticore.refmodel.o1_network.OnlineO1Network`:

>>> from plasticore.host.sim import SimulatedCore
>>> from plasticore.refmodel.o1_network import OnlineO1Network
>>> drv = CoreDriver(SimulatedCore(OnlineO1Network(n_pre=40, n_post=3)))
>>> drv.step([1] * 40, reward=0).shape
(3,)

Layers: :meth:`~CoreDriver.read` / :meth:`~CoreDriver.write` build frames (command, 32-bit big-endian address,
a dummy byte for reads, 32-bit big-endian words); :meth:`~CoreDriver.identify`, :meth:`~CoreDriver.status`,
the timestep calls (:meth:`~CoreDriver.write_spikes`, :meth:`~CoreDriver.set_reward`, :meth:`~CoreDriver.tick`,
:meth:`~CoreDriver.wait_idle`, :meth:`~CoreDriver.read_out_spikes`, :meth:`~CoreDriver.read_out_spikes_at`,
:meth:`~CoreDriver.read_outputs`,
:meth:`~CoreDriver.step`, and :meth:`~CoreDriver.run`, which overlaps the traffic with the steps) and the state
(:meth:`~CoreDriver.load_network`, :meth:`~CoreDriver.read_network`, the format of
:meth:`OnlineO1Network.state_dict`) sit on top. :attr:`~CoreDriver.frames` and
:attr:`~CoreDriver.bytes_transferred` count the traffic for throughput reports.

Bursts longer than ``max_burst_words`` are split into several frames (addresses continue with the core's
auto-increment rule). ``STATUS`` is polled with one-byte frames (reply byte 0 is its low byte). The core's
sticky errors are not checked after every access (that would double the traffic): the state transfers check
them, and :meth:`~CoreDriver.raise_on_error` does on request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config
from plasticore.refmodel.rounding import lane_initial_states

from .regmap import (
    ADDR_BYTES,
    DUMMY_BYTES,
    ERRORS,
    FIFO_VALID,
    ID_VALUE,
    PARAM_FIELDS,
    SPIKES_PER_WORD,
    SYN_COL_BITS,
    VERSION,
    WORD_BYTES,
    Control,
    Reg,
    Status,
    command,
    rounding_from_params,
    syn_address,
)

__all__ = ["ConfigMismatchError", "CoreDriver", "CoreError", "IdentityError", "Transport"]

MASK32 = 0xFFFFFFFF
#: PARAM fields that describe the model (the others, ``lanes``, ``spram``, ``pipelined_update``, the hardware)
MODEL_FIELDS: tuple[str, ...] = (
    "n_pre", "n_post", "weight_bits", "trace_bits", "reward_bits", "learning_shift", "trace_decay_shift",
    "membrane_bits", "leak_shift", "threshold", "reset_subtract", "weight_offset",
)
_STATE_KEYS = ("config", "weight", "eligibility", "pre_trace", "post_trace", "lif_config", "membrane", "lfsr_state")


class Transport(Protocol):
    """One SPI frame per call: the bytes sent in, the bytes read back (same length) out."""

    def transfer(self, data: bytes) -> bytes:
        """Send ``data`` in one frame and return the bytes read meanwhile."""
        ...


class CoreError(RuntimeError):
    """The core reported an error (``status`` holds the STATUS word) or answered something impossible."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class IdentityError(CoreError):
    """``ID`` or ``VERSION`` is not what this driver speaks (no core, wrong wiring or SPI mode, other core)."""


class ConfigMismatchError(ValueError):
    """The core's PARAM table differs from a model configuration; ``fields`` maps each differing field to
    ``(core value, model value)``."""

    def __init__(self, message: str, fields: dict[str, tuple[int, int]]) -> None:
        super().__init__(message)
        self.fields = fields


def _int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int in {lo}..{hi}, not {type(value).__name__} {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {int(value)}")
    return int(value)


def status_names(bits: int) -> list[str]:
    """Names of the set :class:`~plasticore.host.regmap.Status` bits, lowest first."""
    return [str(s.name) for s in Status if bits & s]


FLASH_DEEP_POWER_DOWN = 0xB9  # the SPI-flash command (JEDEC) that the iCEBreaker's flash must get first


class CoreDriver:
    """Drive a closed-loop core over ``transport`` (module docstring); ``max_burst_words`` words per frame."""

    def __init__(self, transport: Transport, *, max_burst_words: int = 4096) -> None:
        if not callable(getattr(transport, "transfer", None)):
            raise TypeError(f"transport must have a transfer(bytes) -> bytes method, not {type(transport).__name__}")
        self.transport = transport
        self.max_burst_words = _int("max_burst_words", max_burst_words, 1, 1 << 24)
        self.frames = 0  # frames sent
        self.bytes_transferred = 0  # bytes sent (as many were received)
        self._params: dict[str, int] | None = None
        self._control: int | None = None  # CONTROL mode bits last written (None: unknown)
        self._known_idle = False

    # ---- frames ---------------------------------------------------------------------------------
    def reset_counters(self) -> None:
        """Set :attr:`frames` and :attr:`bytes_transferred` to 0."""
        self.frames = 0
        self.bytes_transferred = 0

    def frame(self, data: bytes) -> bytes:
        """Send one raw frame and return its reply (checked to have one byte per byte sent)."""
        data = bytes(data)
        reply = bytes(self.transport.transfer(data))
        self.frames += 1
        self.bytes_transferred += len(data)
        if len(reply) != len(data):
            raise CoreError(f"transport returned {len(reply)} bytes for a {len(data)}-byte frame")
        return reply

    @staticmethod
    def _reg(reg: object) -> int:
        if isinstance(reg, Reg):
            return int(reg)
        return _int("reg", reg, 0, 0x7F)

    def _next_addr(self, reg: int, addr: int, k: int) -> int:
        """The address ``k`` words after ``addr`` in a burst (the core's increment rule)."""
        if reg == Reg.SYN:
            n_post = self.params["n_post"]
            row, col = addr >> SYN_COL_BITS, addr & 0xFFFF
            if col < n_post:
                lin = row * n_post + col + k
                return syn_address(lin // n_post & 0xFFFF, lin % n_post)
        return (addr + k) & MASK32

    def read(self, reg: Reg | int, addr: int = 0, n: int = 1) -> list[int]:
        """``n`` words from ``reg`` starting at ``addr`` (bursts of at most ``max_burst_words`` per frame)."""
        r = self._reg(reg)
        a = _int("addr", addr, 0, MASK32)
        n = _int("n", n, 0, 1 << 30)
        out: list[int] = []
        while len(out) < n:
            k = min(n - len(out), self.max_burst_words)
            start = self._next_addr(r, a, len(out)) if out else a
            head = bytes([r]) + start.to_bytes(ADDR_BYTES, "big") + bytes(DUMMY_BYTES)  # bit 7 = 0: read
            reply = self.frame(head + bytes(WORD_BYTES * k))
            body = reply[len(head):]
            out += [int.from_bytes(body[i:i + WORD_BYTES], "big") for i in range(0, len(body), WORD_BYTES)]
        return out

    def write(self, reg: Reg | int, addr: int, words: Sequence[int] | npt.ArrayLike) -> None:
        """Write ``words`` (each 0..2^32-1) to ``reg`` from ``addr`` on (split into frames of
        ``max_burst_words``)."""
        r = self._reg(reg)
        a = _int("addr", addr, 0, MASK32)
        ws = [_int(f"words[{i}]", w, 0, MASK32) for i, w in enumerate(np.asarray(words).reshape(-1).tolist())]
        for first in range(0, len(ws), self.max_burst_words):
            chunk = ws[first:first + self.max_burst_words]
            start = self._next_addr(r, a, first) if first else a
            data = bytes([0x80 | r]) + start.to_bytes(ADDR_BYTES, "big")
            data += b"".join(w.to_bytes(WORD_BYTES, "big") for w in chunk)
            self.frame(data)

    # ---- identity and status ----------------------------------------------------------------------
    def flash_power_down(self) -> None:
        """Send the SPI-flash command ``0xB9`` (deep power-down) as a one-byte frame.

        On the iCEBreaker the configuration flash shares the core's SPI pins and select
        (``constraints/icebreaker-core.pcf``): call this once after the FPGA has configured, before any other
        frame, so the flash stops answering (it then ignores everything but ``0xAB``, a command byte this
        driver never sends: register ``0x2B`` does not exist). For the core it is a frame without a word: no
        effect, no error.
        """
        self.frame(bytes([FLASH_DEEP_POWER_DOWN]))

    def identify(self) -> dict[str, int]:
        """``{"id", "version", <every PARAM field>}``; :class:`IdentityError` when ``ID`` or ``VERSION`` differ."""
        ident = self.read(Reg.ID)[0]
        if ident != ID_VALUE:
            raise IdentityError(f"ID register reads 0x{ident:08x}, expected 0x{ID_VALUE:08x} ('PLC1'): no core, "
                                f"wrong wiring or not SPI mode 0")
        version = self.read(Reg.VERSION)[0]
        if version != VERSION:
            raise IdentityError(f"core VERSION is {version}, this driver speaks VERSION {VERSION}")
        values = self.read(Reg.PARAM, 0, len(PARAM_FIELDS))
        params = dict(zip(PARAM_FIELDS, values, strict=True))
        self._params = params
        return {"id": ident, "version": version, **params}

    @property
    def params(self) -> dict[str, int]:
        """The PARAM table (read by :meth:`identify` on first use)."""
        if self._params is None:
            self.identify()
        assert self._params is not None
        return self._params

    @property
    def n_pre(self) -> int:
        """Inputs of the core."""
        return self.params["n_pre"]

    @property
    def n_post(self) -> int:
        """Neurons of the core."""
        return self.params["n_post"]

    @property
    def o1_config(self) -> OnlineO1Config:
        """The core's learning rule as an :class:`OnlineO1Config` (from PARAM)."""
        p = self.params
        return OnlineO1Config(weight_bits=p["weight_bits"], trace_bits=p["trace_bits"], reward_bits=p["reward_bits"],
                              learning_shift=p["learning_shift"], trace_decay_shift=p["trace_decay_shift"],
                              **rounding_from_params(p))

    @property
    def lif_config(self) -> FixedLIFConfig:
        """The core's neurons as a :class:`FixedLIFConfig` (from PARAM)."""
        p = self.params
        return FixedLIFConfig(membrane_bits=p["membrane_bits"], leak_shift=p["leak_shift"], threshold=p["threshold"],
                              reset="subtract" if p["reset_subtract"] else "zero", weight_offset=p["weight_offset"])

    def check_config(self, o1_config: OnlineO1Config, lif_config: FixedLIFConfig, n_pre: int, n_post: int) -> None:
        """:class:`ConfigMismatchError` naming every PARAM field that differs from the model's configuration."""
        if not isinstance(o1_config, OnlineO1Config):
            raise TypeError(f"o1_config must be an OnlineO1Config, not {type(o1_config).__name__}")
        if not isinstance(lif_config, FixedLIFConfig):
            raise TypeError(f"lif_config must be a FixedLIFConfig, not {type(lif_config).__name__}")
        model = {"n_pre": n_pre, "n_post": n_post, **{k: getattr(o1_config, k) for k in MODEL_FIELDS[2:7]},
                 "membrane_bits": lif_config.membrane_bits, "leak_shift": lif_config.leak_shift,
                 "threshold": lif_config.threshold, "reset_subtract": int(lif_config.reset == "subtract"),
                 "weight_offset": lif_config.weight_offset}
        p = self.params
        diff = {k: (p[k], int(model[k])) for k in MODEL_FIELDS if p[k] != model[k]}
        if diff:
            text = ", ".join(f"{k}: core {c}, model {m}" for k, (c, m) in diff.items())
            raise ConfigMismatchError(f"core PARAM differs from the model in {len(diff)} field(s): {text}", diff)

    def poll(self) -> int:
        """The low byte of ``STATUS`` from a one-byte frame (the cheapest look at ``BUSY`` and the errors)."""
        return self.frame(bytes([command(Reg.STATUS, False)]))[0]

    def status(self) -> Status:
        """The ``STATUS`` word."""
        return Status(self.read(Reg.STATUS)[0] & 0x3F)

    def clear_errors(self) -> None:
        """Clear every sticky error bit (write 1 to clear)."""
        self.write(Reg.STATUS, 0, [int(ERRORS)])

    def raise_on_error(self) -> None:
        """Read ``STATUS``; :class:`CoreError` naming the set error bits if any."""
        st = self.read(Reg.STATUS)[0]
        if st & ERRORS:
            raise CoreError(f"core reports {', '.join(status_names(st & int(ERRORS)))} (STATUS 0x{st:02x}); "
                            f"clear_errors() resets them", st)

    # ---- timesteps ------------------------------------------------------------------------------
    def _spikes(self, pre_spikes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        s = np.asarray(pre_spikes)
        if s.shape != (self.n_pre,):
            raise ValueError(f"pre_spikes must have shape (n_pre,) = ({self.n_pre},), not {s.shape}")
        if s.dtype != np.bool_:
            if s.dtype.kind not in "iu" or (s.size and not np.isin(s, (0, 1)).all()):
                raise ValueError(f"pre_spikes must be bools or 0/1, not dtype {s.dtype} with values "
                                 f"{sorted(set(np.unique(s).tolist()) - {0, 1})[:5]}")
        return s.astype(bool)

    def spike_words(self, pre_spikes: npt.ArrayLike) -> list[int]:
        """``pre_spikes`` packed 32 per word (bit ``b`` of word ``m`` = neuron ``32m + b``)."""
        s = self._spikes(pre_spikes)
        nw = -(-self.n_pre // SPIKES_PER_WORD)
        bits = np.zeros(nw * SPIKES_PER_WORD, dtype=np.uint64)
        bits[: self.n_pre] = s
        weights = np.left_shift(np.uint64(1), np.arange(SPIKES_PER_WORD, dtype=np.uint64))
        return [int(w) for w in (bits.reshape(nw, SPIKES_PER_WORD) * weights).sum(axis=1)]

    def write_spikes(self, pre_spikes: npt.ArrayLike) -> None:
        """Write the spikes of the next timestep: only nonzero words, runs of consecutive ones as bursts (the
        core clears each word after a timestep uses it, so the zero words are zero already)."""
        self._write_spike_words(self.spike_words(pre_spikes))

    def _write_spike_words(self, words: list[int]) -> None:
        m = 0
        while m < len(words):
            if not words[m]:
                m += 1
                continue
            end = m
            while end < len(words) and words[end]:
                end += 1
            self.write(Reg.SPIKES_IN, m, words[m:end])
            m = end

    def _write_control(self, bits: int) -> None:
        self.write(Reg.CONTROL, 0, [bits])
        self._control = bits & ~int(Control.TICK | Control.TICK_NEXT)  # the mode bits (the strobes read 0)

    def set_reward(self, reward: npt.ArrayLike) -> None:
        """The reward of the next timestep: one int (``REWARD``, scalar mode) or one per neuron (``REWARD_VEC``,
        vector mode; the core must be idle). Values are saturated to the reward range like the model's;
        ``CONTROL`` is written only when the mode changes."""
        r = np.asarray(reward)
        if r.ndim == 0:
            if isinstance(reward, (bool, np.bool_)) or r.dtype.kind not in "iu":
                raise TypeError(f"reward must be an int or one int per neuron, not {type(reward).__name__} "
                                f"{reward!r}")
            v = int(min(max(int(r), -(1 << 31)), (1 << 31) - 1))
            self.write(Reg.REWARD, 0, [v & MASK32])
            vec = False
        else:
            if r.shape != (self.n_post,):
                raise ValueError(f"reward must be an int or have shape (n_post,) = ({self.n_post},), not {r.shape}")
            if r.dtype.kind not in "iu":
                raise TypeError(f"reward vector must hold ints, not dtype {r.dtype}")
            if not self._known_idle and self.poll() & Status.BUSY:
                raise CoreError("a reward vector needs an idle core (REWARD_VEC is state): wait_idle() first")
            rb = self.params["reward_bits"]
            sat = np.clip(r.astype(np.int64), -(1 << (rb - 1)), (1 << (rb - 1)) - 1)
            self.write(Reg.REWARD_VEC, 0, [int(x) & MASK32 for x in sat])
            vec = True
        mode = (self._control or 0) & ~int(Control.REWARD_VECTOR) | (int(Control.REWARD_VECTOR) if vec else 0)
        if self._control is None or mode != self._control:
            self._write_control(mode)

    def tick(self) -> None:
        """Start a timestep with the pending spikes and reward (``CONTROL.TICK``, mode bits kept)."""
        self._write_control((self._control or 0) | int(Control.TICK))
        self._known_idle = False

    def wait_idle(self, max_polls: int = 100_000) -> int:
        """Poll ``STATUS`` until ``BUSY`` is low; returns the polls used (:class:`TimeoutError` after
        ``max_polls``)."""
        max_polls = _int("max_polls", max_polls, 1, 1 << 40)
        for n in range(1, max_polls + 1):
            if not self.poll() & Status.BUSY:
                self._known_idle = True
                return n
        raise TimeoutError(f"core still BUSY after {max_polls} STATUS polls (max_polls={max_polls})")

    def read_outputs(self) -> npt.NDArray[np.int64]:
        """Indices of the neurons that spiked in the last completed timestep (``OUT_COUNT``, then an
        ``OUT_FIFO`` burst; each word must carry the valid bit)."""
        count = self.read(Reg.OUT_COUNT)[0]
        if count > self.n_post:
            raise CoreError(f"OUT_COUNT is {count}, more than n_post = {self.n_post}")
        words = self.read(Reg.OUT_FIFO, 0, count) if count else []
        out = []
        for k, w in enumerate(words):
            idx = w & 0xFFFF
            if not w & FIFO_VALID or idx >= self.n_post:
                raise CoreError(f"OUT_FIFO[{k}] = 0x{w:08x}: expected the valid bit and an index < {self.n_post} "
                                f"(OUT_COUNT = {count})")
            out.append(idx)
        return np.array(out, dtype=np.int64)

    def read_out_spikes(self) -> npt.NDArray[np.bool_]:
        """The post spikes ``(n_post,)`` of the last completed timestep from one ``OUT_SPIKES`` burst
        (``ceil(n_post / 32)`` packed words, whatever the number of spikes); the bits past ``n_post`` must be 0."""
        return self._unpack_out(self.read(Reg.OUT_SPIKES, 0, -(-self.n_post // SPIKES_PER_WORD)), "OUT_SPIKES")

    def _unpack_out(self, read: list[int], reg: str) -> npt.NDArray[np.bool_]:
        n = self.n_post
        words = np.array(read, dtype=np.uint64)
        bits = (words[:, None] >> np.arange(SPIKES_PER_WORD, dtype=np.uint64)) & np.uint64(1)
        flat = bits.reshape(-1).astype(bool)
        if flat[n:].any():
            raise CoreError(f"{reg} has bits set past n_post = {n}: words {[f'0x{int(w):08x}' for w in words]}")
        return flat[:n]

    def read_out_spikes_at(self, step: int) -> npt.NDArray[np.bool_]:
        """The post spikes ``(n_post,)`` of timestep ``step`` (``STEP`` when it started) from its ``OUT_SPIKES_AT``
        bank: valid from the end of that step until the end of step ``step + 2``."""
        step = _int("step", step, 0, (1 << 63) - 1)
        return self._unpack_out(self.read(Reg.OUT_SPIKES_AT, (step & 1) << SYN_COL_BITS,
                                          -(-self.n_post // SPIKES_PER_WORD)), "OUT_SPIKES_AT")

    def step(self, pre_spikes: npt.ArrayLike, reward: npt.ArrayLike = 0) -> npt.NDArray[np.bool_]:
        """One timestep in lockstep (spikes, reward, tick, wait, outputs from :meth:`read_out_spikes`): the post
        spikes ``(n_post,)``, like :meth:`OnlineO1Network.step`."""
        self.write_spikes(pre_spikes)
        self.set_reward(reward)
        self.tick()
        self.wait_idle()
        return self.read_out_spikes()

    def run(self, pre_spikes: npt.ArrayLike, rewards: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """``T`` timesteps back to back, the host traffic hidden behind the computation: the post spikes
        ``(T, n_post)``, equal to ``T`` calls of :meth:`step` (and of :meth:`OnlineO1Network.step`).

        ``pre_spikes`` is ``(T, n_pre)``, ``rewards`` ``(T,)`` scalar rewards (ints; the scalar ``REWARD`` is
        double-buffered, a reward vector is state and cannot be written while a step runs). While step ``t``
        runs, the driver reads the packed output of step ``t - 1`` from its ``OUT_SPIKES_AT`` bank, writes the
        spikes and reward of step ``t + 1`` into the pending buffers and queues it (``CONTROL.TICK_NEXT``), then
        polls ``STATUS`` until ``QUEUED`` clears: step ``t + 1`` starts one clock after step ``t`` ends. When the
        traffic is shorter than a step the core never waits for the host. The output is read before the next
        step is queued, so the bank step ``t + 1`` overwrites is never read while it is written, however short the
        steps. The rewards must be known in advance (as with a delayed reward bridged by the eligibility
        trace)."""
        x = np.asarray(pre_spikes)
        if x.ndim != 2 or x.shape[1:] != (self.n_pre,):
            raise ValueError(f"pre_spikes must have shape (T, n_pre) = (T, {self.n_pre}), not {x.shape}")
        r = np.asarray(rewards)
        if r.shape != (x.shape[0],):
            raise ValueError(f"rewards must have shape (T,) = ({x.shape[0]},): one scalar reward per step, "
                             f"not {r.shape}")
        if r.dtype.kind not in "iu":
            raise TypeError(f"rewards must hold ints, not dtype {r.dtype}")
        n_t = x.shape[0]
        out = np.zeros((n_t, self.n_post), dtype=bool)
        if n_t == 0:
            return out
        words = [self.spike_words(x[t]) for t in range(n_t)]  # validated before anything is sent
        if not self._known_idle:
            self.wait_idle()
        k0 = self.read(Reg.STEP)[0]
        self._write_spike_words(words[0])
        self.set_reward(int(r[0]))
        self.tick()
        for t in range(n_t):  # step t runs (or has ended)
            if t >= 1:
                out[t - 1] = self.read_out_spikes_at(k0 + t - 1)
            if t + 1 < n_t:
                self._write_spike_words(words[t + 1])
                self.set_reward(int(r[t + 1]))
                self._write_control((self._control or 0) | int(Control.TICK_NEXT))
                self._wait_started()
        self.wait_idle()
        out[n_t - 1] = self.read_out_spikes_at(k0 + n_t - 1)
        return out

    def _wait_started(self, max_polls: int = 100_000) -> None:
        """Poll ``STATUS`` until ``QUEUED`` is clear (the queued step has started); :class:`CoreError` if the core
        refused the queue (``ERR_BUSY``)."""
        for _ in range(max_polls):
            st = self.poll()
            if st & Status.ERR_BUSY:
                raise CoreError("the core refused TICK_NEXT (STATUS.ERR_BUSY): a step was already queued", st)
            if not st & Status.QUEUED:
                return
        raise TimeoutError(f"the queued step did not start after {max_polls} STATUS polls")

    # ---- state ----------------------------------------------------------------------------------
    def _idle_and_clean(self, what: str) -> None:
        st = self.read(Reg.STATUS)[0]
        if st & Status.BUSY:
            raise CoreError(f"{what} needs an idle core (STATUS.BUSY is set): wait_idle() first", st)
        if st & ERRORS:
            raise CoreError(f"{what}: the core already reports {', '.join(status_names(st & int(ERRORS)))}; "
                            f"clear_errors() first", st)

    def load_network(self, state: Mapping[str, Any]) -> None:
        """Write an :meth:`OnlineO1Network.state_dict` into the core (weights and eligibility as one ``SYN``
        burst row by row, then the traces and membranes); checked before anything is sent, and the core's
        errors afterwards.

        The stochastic rounding's LFSRs are not host-visible (they restart at the core's reset): an
        ``lfsr_state`` in ``state`` must be the lanes' reset states
        (:func:`~plasticore.refmodel.rounding.lane_initial_states`), i.e. the state of a network that has not
        stepped since it was made, and is not sent."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping (OnlineO1Network.state_dict()), not {type(state).__name__}")
        need = ("weight", "eligibility", "pre_trace", "post_trace", "membrane")
        unknown = sorted(str(k) for k in state if k not in _STATE_KEYS)
        missing = [k for k in need if k not in state]
        if unknown or missing:
            raise ValueError(f"state has unknown keys {unknown} / missing keys {missing} "
                             f"(expected {list(_STATE_KEYS)})")
        c, lif = self.o1_config, self.lif_config
        if "config" in state and dict(state["config"]) != c.as_dict():
            raise ValueError(f"state['config'] is {dict(state['config'])!r}, the core runs {c.as_dict()!r}")
        if "lif_config" in state and dict(state["lif_config"]) != lif.as_dict():
            raise ValueError(f"state['lif_config'] is {dict(state['lif_config'])!r}, the core runs {lif.as_dict()!r}")
        if "lfsr_state" in state:
            reset = lane_initial_states(c.lfsr_seed, self.params["lanes"]).tolist()
            got = np.asarray(state["lfsr_state"]).tolist()
            if c.rounding != "stochastic" or got != reset:
                raise ValueError(f"state['lfsr_state'] must be the lanes' reset states {reset} (the core's LFSRs are "
                                 f"not host-writable; rounding {c.rounding!r}), not {got}")
        n_pre, n_post = self.n_pre, self.n_post
        specs = {"weight": ((n_post, n_pre), 0, c.max_weight), "eligibility": ((n_post, n_pre), *c.eligibility_range),
                 "pre_trace": ((n_pre,), 0, c.max_trace), "post_trace": ((n_post,), 0, c.max_trace),
                 "membrane": ((n_post,), lif.membrane_min, lif.membrane_max)}
        arr: dict[str, npt.NDArray[np.int64]] = {}
        for key, (shape, lo, hi) in specs.items():
            a = np.asarray(state[key])
            if a.shape != shape:
                raise ValueError(f"state['{key}'] must have shape {shape}, not {a.shape}")
            if a.dtype.kind not in "iu":
                raise TypeError(f"state['{key}'] must hold integers, not dtype {a.dtype}")
            if a.size and (a.min() < lo or a.max() > hi):
                raise ValueError(f"state['{key}'] must be in {lo}..{hi}, not min {int(a.min())} / max {int(a.max())}")
            arr[key] = a.astype(np.int64)
        self._idle_and_clean("load_network")
        syn = (arr["weight"].T << 16) | (arr["eligibility"].T & 0xFFFF)  # (n_pre, n_post): row i, col j
        self.write(Reg.SYN, syn_address(0, 0), syn.reshape(-1))
        self.write(Reg.PRE_TRACE, 0, arr["pre_trace"])
        self.write(Reg.POST_TRACE, 0, arr["post_trace"])
        self.write(Reg.MEMBRANE, 0, arr["membrane"] & MASK32)
        self.raise_on_error()

    def read_network(self) -> dict[str, Any]:
        """The core's state as :meth:`OnlineO1Network.state_dict` (so ``network.load_state_dict(driver.read_network())``
        works); :class:`CoreError` if the core is busy, reports an error, or returns a value out of range. Without
        ``lfsr_state``: the core's LFSRs are not host-visible."""
        c, lif = self.o1_config, self.lif_config
        n_pre, n_post = self.n_pre, self.n_post
        self._idle_and_clean("read_network")
        syn = np.array(self.read(Reg.SYN, syn_address(0, 0), n_pre * n_post), dtype=np.int64).reshape(n_pre, n_post)
        weight = (syn >> 16).T.copy()
        elig = (((syn & 0xFFFF) ^ 0x8000) - 0x8000).T.copy()  # the 16-bit field, two's complement
        out: dict[str, Any] = {
            "config": c.as_dict(),
            "weight": weight,
            "eligibility": elig,
            "pre_trace": np.array(self.read(Reg.PRE_TRACE, 0, n_pre), dtype=np.int64),
            "post_trace": np.array(self.read(Reg.POST_TRACE, 0, n_post), dtype=np.int64),
            "lif_config": lif.as_dict(),
            "membrane": (np.array(self.read(Reg.MEMBRANE, 0, n_post), dtype=np.int64) ^ (1 << 31)) - (1 << 31),
        }
        self.raise_on_error()
        ranges = {"weight": (0, c.max_weight), "eligibility": c.eligibility_range, "pre_trace": (0, c.max_trace),
                  "post_trace": (0, c.max_trace), "membrane": (lif.membrane_min, lif.membrane_max)}
        for key, (lo, hi) in ranges.items():
            a = out[key]
            if a.size and (a.min() < lo or a.max() > hi):
                raise CoreError(f"core returned {key} out of {lo}..{hi}: min {int(a.min())} / max {int(a.max())}")
        return out
