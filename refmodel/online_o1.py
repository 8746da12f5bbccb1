"""Bounded O(1) online learning: a fixed-point reward-modulated STDP synapse.

This module is the *contract* shared by the NumPy reference model and the hardware in
:mod:`plasticore.hw`: one synapse keeps exactly four bounded integer state fields

* ``weight``       unsigned, ``W = weight_bits`` bits, in ``[0, 2^W - 1]``
* ``pre_trace``    unsigned, ``T = trace_bits`` bits, in ``[0, 2^T - 1]``
* ``post_trace``   unsigned, ``T`` bits
* ``eligibility``  signed two's complement, ``T`` bits, in ``[-2^(T-1), 2^(T-1) - 1]``

and no history, so its memory does not grow with the length of the input stream.

One step (``s`` = trace_decay_shift, ``M = 2^T - 1``, ``L`` = learning_shift, ``>>`` is an arithmetic
shift, i.e. floor division by a power of two)::

    decayU(x) = x - (x >> s)                     decayS(e) = sign(e) * (|e| - (|e| >> s))
    (s = 0 means no decay: decayU(x) = x, decayS(e) = e)
    r     = sat(reward, [-2^(R-1), 2^(R-1) - 1])
    pre'  = M if pre_spike  else decayU(pre)
    post' = M if post_spike else decayU(post)
    pot   = (M if pre_spike else pre) if post_spike else 0     # pre, post: traces BEFORE this step
    dep   = post if pre_spike else 0
    e'    = sat(decayS(e) + pot - dep, [-2^(T-1), 2^(T-1) - 1])
    w'    = sat(w + ((r * e' + d) >> L), [0, 2^W - 1])

``d`` is the rounding dither of :attr:`OnlineO1Config.rounding` (:mod:`plasticore.refmodel.rounding`): 0 for
``"floor"`` (the seed's rule, the default), ``2^(L-1)`` for ``"nearest"``, and for ``"stochastic"`` ``L`` bits
of a per-lane 32-bit LFSR, uniform in ``[0, 2^L)``, drawn once per synapse update in the schedule's order.

It is the integer form of the three-factor rule of Izhikevich (2007), *Solving the distal reward problem
through linkage of STDP and dopamine signaling*, Cereb. Cortex 17:2443, and Florian (2007), *Reinforcement
learning through modulation of spike-timing-dependent synaptic plasticity*, Neural Comput. 19:1468: a
nearest-spike STDP pair term (potentiation ``pot`` when post follows pre, depression ``dep`` when pre
follows post) accumulates in a decaying eligibility trace, and a reward signal gates its transfer to the
weight. Traces decay geometrically by ``1 - 2^-s`` per step (time constant ~``2^s`` steps) and
are reset to ``M`` at a spike; the symmetric decay of the eligibility (toward zero, by magnitude) keeps
potentiation and depression unbiased.

Two implementations share the contract and are bit-exact with each other:

* :class:`OnlineO1Synapse` - one synapse, Python integers (the oracle for the hardware testbenches);
* :class:`OnlineO1Layer` - a dense layer with weights ``(n_post, n_pre)``, vectorized with NumPy (the pure
  step :func:`online_o1_layer_step` on an :class:`OnlineO1LayerState`, done in place); traces are stored
  once per neuron (they are identical for every synapse of that neuron), so the state is ``W + T`` bits per
  synapse plus ``T`` bits per neuron.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array, load_int
from ._validate import check_allocation
from .rounding import (
    LFSR_BITS,
    LFSR_MASK,
    LFSR_POLYNOMIAL,
    ROUNDING_MODES,
    lane_initial_state,
    lane_initial_states,
    layer_dither,
    lfsr_draw,
)

__all__ = [
    "ANNOTATION_SCHEMA",
    "MEMORY_PROOF_SCHEMA",
    "STATE_FIELDS",
    "OnlineO1Config",
    "OnlineO1Layer",
    "OnlineO1LayerState",
    "OnlineO1Snapshot",
    "OnlineO1Synapse",
    "build_online_o1_memory_proof",
    "decay_signed",
    "decay_unsigned",
    "online_o1_layer_initial_state",
    "online_o1_layer_step",
    "online_o1_step",
    "saturate",
]

ANNOTATION_SCHEMA = "plasticore.online-o1.annotation.v1"
MEMORY_PROOF_SCHEMA = "plasticore.online-o1.memory-proof.v1"
STATE_FIELDS: tuple[str, ...] = ("weight", "pre_trace", "post_trace", "eligibility")
RULE_FAMILIES: tuple[str, ...] = ("reward_modulated_stdp",)
SATURATION_POLICY = "signed_eligibility_unsigned_weight"

_LFSR_SEED_MAX = (1 << 32) - 1
_INT_RANGES: dict[str, tuple[int, int]] = {
    "weight_bits": (1, 31),
    "trace_bits": (2, 30),
    "reward_bits": (1, 30),
    "learning_shift": (0, 30),
    "trace_decay_shift": (0, 30),
}


def _check_int_type(name: str, value: object, lo: int, hi: int) -> None:
    """``TypeError`` unless ``value`` is an ``int`` (not ``bool``); the message shows the allowed range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int in {lo}..{hi}, not {type(value).__name__} {value!r}")


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) in ``[lo, hi]``; raise a named error otherwise."""
    _check_int_type(name, value, lo, hi)
    assert isinstance(value, (int, np.integer))
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, not {int(value)}")
    return int(value)


@dataclasses.dataclass(frozen=True, slots=True)
class OnlineO1Config:
    """Widths and shifts of the fixed-point O(1) rule.

    Parameters
    ----------
    weight_bits:
        ``W``, unsigned weight width, 1..31.
    trace_bits:
        ``T``, width of the unsigned pre/post traces and of the signed eligibility, 2..30.
    reward_bits:
        ``R``, signed reward width, 1..30 (``R = 1`` gives rewards -1 and 0).
    learning_shift:
        ``L``, the weight change is ``(r * e') >> L``, 0..30.
    trace_decay_shift:
        ``s``, traces and eligibility lose ``1/2^s`` of their magnitude per step, 0..30 (0: no decay).
    rule_family:
        Only ``"reward_modulated_stdp"`` is defined.
    rounding:
        How ``(r * e') >> L`` rounds: ``"floor"`` (default, the seed's rule), ``"nearest"`` (adds ``2^(L-1)``
        first) or ``"stochastic"`` (adds ``L`` LFSR bits, uniform in ``[0, 2^L)``; unbiased in expectation);
        see :mod:`plasticore.refmodel.rounding`.
    lfsr_seed:
        Seed of the lanes' LFSRs for ``"stochastic"``, 0..2^32-1 (lane ``p`` starts at
        :func:`~plasticore.refmodel.rounding.lane_initial_state` ``(seed, p)``); ignored by the other modes.

    Type errors are reported before range errors (``OnlineO1Config(weight_bits=0, trace_bits="4")`` raises
    ``TypeError`` for ``trace_bits``). Two corners are allowed because they are well defined, and the
    hardware implements them bit-exactly:

    * ``trace_decay_shift >= trace_bits``: ``x >> s`` is 0 for every representable trace and eligibility, so
      nothing ever decays; the rule is then the same as with ``s = 0``. :attr:`traces_decay` is ``False``.
    * a ``learning_shift`` so large that ``(r * e') >> L`` is 0 for every positive product
      (``L >= R + T - 1``): the weight can never increase (:attr:`weight_can_increase` is ``False``). The
      floor shift of a negative product is at least ``-1``, so the weight can always decrease
      (:attr:`weight_can_decrease` is always ``True``); :attr:`weight_step_range` gives the exact range of
      ``(r * e') >> L``.
    """

    weight_bits: int = 16
    trace_bits: int = 12
    reward_bits: int = 8
    learning_shift: int = 4
    trace_decay_shift: int = 4
    rule_family: str = "reward_modulated_stdp"
    rounding: str = "floor"
    lfsr_seed: int = 1

    def __post_init__(self) -> None:
        for name, (lo, hi) in _INT_RANGES.items():  # every type first: a type error wins over a range error
            _check_int_type(name, getattr(self, name), lo, hi)
        _check_int_type("lfsr_seed", self.lfsr_seed, 0, _LFSR_SEED_MAX)
        for name in ("rule_family", "rounding"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str, not {type(getattr(self, name)).__name__}")
        for name, (lo, hi) in _INT_RANGES.items():
            object.__setattr__(self, name, _check_int(name, getattr(self, name), lo, hi))
        object.__setattr__(self, "lfsr_seed", _check_int("lfsr_seed", self.lfsr_seed, 0, _LFSR_SEED_MAX))
        if self.rule_family not in RULE_FAMILIES:
            raise ValueError(f"rule_family must be one of {list(RULE_FAMILIES)}, not {self.rule_family!r}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"rounding must be one of {list(ROUNDING_MODES)}, not {self.rounding!r}")

    # ---- rounding -------------------------------------------------------------------------------
    @property
    def dither_range(self) -> tuple[int, int]:
        """``(min, max)`` of the dither ``d`` added before the shift: ``(0, 0)`` floor, ``(2^(L-1),)*2`` nearest
        (``(0, 0)`` at ``L = 0``), ``(0, 2^L - 1)`` stochastic."""
        sh = self.learning_shift
        if self.rounding == "nearest":
            d = (1 << (sh - 1)) if sh else 0
            return (d, d)
        if self.rounding == "stochastic":
            return (0, (1 << sh) - 1)
        return (0, 0)

    @property
    def lfsr_state_bits(self) -> int:
        """Bits of rounding state per update lane: 32 (the LFSR) for ``"stochastic"``, else 0."""
        return LFSR_BITS if self.rounding == "stochastic" else 0

    # ---- derived ranges -------------------------------------------------------------------------
    @property
    def max_weight(self) -> int:
        """``2^W - 1``."""
        return (1 << self.weight_bits) - 1

    @property
    def max_trace(self) -> int:
        """``M = 2^T - 1``, the value a trace takes at a spike."""
        return (1 << self.trace_bits) - 1

    @property
    def eligibility_min(self) -> int:
        """``-2^(T-1)``, the most negative eligibility."""
        return -(1 << (self.trace_bits - 1))

    @property
    def eligibility_max(self) -> int:
        """``2^(T-1) - 1``, the largest eligibility."""
        return (1 << (self.trace_bits - 1)) - 1

    @property
    def min_eligibility(self) -> int:
        """The seed's name for :attr:`eligibility_min`, ``-2^(T-1)``."""
        return self.eligibility_min

    @property
    def max_eligibility(self) -> int:
        """The seed's name for :attr:`eligibility_max`, ``2^(T-1) - 1``."""
        return self.eligibility_max

    @property
    def eligibility_range(self) -> tuple[int, int]:
        """``[-2^(T-1), 2^(T-1) - 1]``."""
        return (self.eligibility_min, self.eligibility_max)

    @property
    def reward_min(self) -> int:
        """``-2^(R-1)``, the most negative reward after saturation."""
        return -(1 << (self.reward_bits - 1))

    @property
    def reward_max(self) -> int:
        """``2^(R-1) - 1``, the largest reward after saturation."""
        return (1 << (self.reward_bits - 1)) - 1

    @property
    def reward_range(self) -> tuple[int, int]:
        """``[-2^(R-1), 2^(R-1) - 1]``."""
        return (self.reward_min, self.reward_max)

    @property
    def traces_decay(self) -> bool:
        """Whether traces and eligibility decay at all: ``0 < s < T`` (for ``s >= T`` every ``x >> s`` is 0)."""
        return 0 < self.trace_decay_shift < self.trace_bits

    @property
    def weight_step_range(self) -> tuple[int, int]:
        """``(min, max)`` of the weight change ``(r * e') >> L`` over all rewards and eligibilities.

        The extreme products are ``r_min * e_min`` (the largest) and ``min(r_min * e_max, r_max * e_min)``
        (the most negative); ``(x + d) >> L`` is monotonic in ``x`` and ``d``, so the extreme products with the
        extreme dithers (:attr:`dither_range`) give the extreme steps.
        """
        lo_prod = min(self.reward_min * self.eligibility_max, self.reward_max * self.eligibility_min)
        hi_prod = self.reward_min * self.eligibility_min
        d_lo, d_hi = self.dither_range
        return ((lo_prod + d_lo) >> self.learning_shift, (hi_prod + d_hi) >> self.learning_shift)

    @property
    def weight_can_increase(self) -> bool:
        """``False`` when ``learning_shift`` is so large that no product reaches ``2^L``: potentiation is frozen."""
        return self.weight_step_range[1] > 0

    @property
    def weight_can_decrease(self) -> bool:
        """Always ``True`` with ``"floor"`` (the floor shift of any negative product is at most ``-1``); with a
        dither, ``False`` when even the most negative product rounds to 0."""
        return self.weight_step_range[0] < 0

    @property
    def per_synapse_state_bits(self) -> int:
        """``W + 3T``: weight, two traces and eligibility of one stand-alone synapse."""
        return self.weight_bits + 3 * self.trace_bits

    @property
    def tag(self) -> str:
        """Short identifier of the five widths and shifts, e.g. ``w16t12r8l4s4`` (file and design names)."""
        base = (f"w{self.weight_bits}t{self.trace_bits}r{self.reward_bits}"
                f"l{self.learning_shift}s{self.trace_decay_shift}")
        if self.rounding == "nearest":
            return base + "rn"
        if self.rounding == "stochastic":
            return base + f"rs{self.lfsr_seed}"
        return base

    def as_dict(self) -> dict[str, Any]:
        """The eight fields as a plain dict (JSON-ready)."""
        return dataclasses.asdict(self)

    def to_scnir_annotation(self, *, rule_id: str) -> dict[str, Any]:
        """Deterministic metadata describing this rule for an online-learning-capable synapse.

        ``rule_id`` names the rule instance in the caller's network description; it must be non-empty.
        """
        if not isinstance(rule_id, str):
            raise TypeError(f"rule_id must be a str, not {type(rule_id).__name__}")
        if not rule_id.strip():
            raise ValueError("rule_id must be a non-empty string, not ''")
        return {
            "schema_version": ANNOTATION_SCHEMA,
            "rule_id": rule_id,
            "rule_family": self.rule_family,
            "state_fields": list(STATE_FIELDS),
            "per_synapse_state_bits": self.per_synapse_state_bits,
            "weight_bits": self.weight_bits,
            "trace_bits": self.trace_bits,
            "reward_bits": self.reward_bits,
            "learning_shift": self.learning_shift,
            "trace_decay_shift": self.trace_decay_shift,
            "saturation_policy": SATURATION_POLICY,
            "rounding": self.rounding,
            "rounding_state": _rounding_state_doc(self),
            "hidden_history_fields": [],
            "sequence_length_independent": True,
        }


def _rounding_state_doc(c: OnlineO1Config) -> dict[str, Any]:
    """The rounding state an implementation keeps per update lane (annotation and memory proof)."""
    if c.rounding != "stochastic":
        return {"per_lane_state_bits": 0}
    return {"per_lane_state_bits": LFSR_BITS, "lfsr": "galois_right_shift", "lfsr_mask": f"0x{LFSR_MASK:08x}",
            "lfsr_polynomial": f"0x{LFSR_POLYNOMIAL:09x}", "lfsr_seed": c.lfsr_seed,
            "draw": "learning_shift bits per synapse update, first bit least significant",
            "order": "per lane, per schedule item (pre-major, then post k * lanes + lane)"}


class OnlineO1Snapshot(NamedTuple):
    """The complete state of one synapse."""

    weight: int
    pre_trace: int
    post_trace: int
    eligibility: int


# ---- scalar arithmetic (the oracle) -------------------------------------------------------------


def saturate(x: int, lo: int, hi: int) -> int:
    """Clamp ``x`` into ``[lo, hi]``."""
    return lo if x < lo else hi if x > hi else x


def decay_unsigned(x: int, shift: int) -> int:
    """``x - (x >> s)`` for ``s > 0``; ``x`` for ``s = 0``."""
    return x if shift == 0 else x - (x >> shift)


def decay_signed(e: int, shift: int) -> int:
    """``sign(e) * (|e| - (|e| >> s))`` for ``s > 0``; ``e`` for ``s = 0`` (decay toward zero)."""
    if shift == 0:
        return e
    a = -e if e < 0 else e
    d = a - (a >> shift)
    return -d if e < 0 else d


def online_o1_step(
    state: OnlineO1Snapshot,
    *,
    pre_spike: bool,
    post_spike: bool,
    reward: int,
    config: OnlineO1Config,
    dither: int | None = None,
) -> OnlineO1Snapshot:
    """One step of the rule on one synapse (pure function; see the module docstring).

    ``dither`` is ``d``: leave it ``None`` for ``"floor"`` and ``"nearest"`` (their constant); ``"stochastic"``
    needs the LFSR draw (:class:`OnlineO1Synapse` draws it), an int in :attr:`OnlineO1Config.dither_range`.
    """
    d_lo, d_hi = config.dither_range
    if dither is None:
        if config.rounding == "stochastic":
            raise ValueError("dither must be given (an LFSR draw in 0..2^L - 1) for rounding='stochastic'")
        d = d_lo
    else:
        d = _check_int("dither", dither, d_lo, d_hi)
    s = config.trace_decay_shift
    m = config.max_trace
    r = saturate(int(reward), config.reward_min, config.reward_max)
    pre, post = state.pre_trace, state.post_trace
    new_pre = m if pre_spike else decay_unsigned(pre, s)
    new_post = m if post_spike else decay_unsigned(post, s)
    pot = (m if pre_spike else pre) if post_spike else 0
    dep = post if pre_spike else 0
    e = saturate(decay_signed(state.eligibility, s) + pot - dep, config.eligibility_min, config.eligibility_max)
    w = saturate(state.weight + ((r * e + d) >> config.learning_shift), 0, config.max_weight)
    return OnlineO1Snapshot(w, new_pre, new_post, e)


def _check_spike(name: str, value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be a bool or 0/1, not {value!r}")


def _check_reward(value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"reward must be an int (saturated to the reward range), not {type(value).__name__} {value!r}")
    return int(value)


class OnlineO1Synapse:
    """One O(1) learning synapse holding exactly :data:`STATE_FIELDS` (Python integers).

    :meth:`step` takes its arguments positionally or by keyword (``step(pre, post, reward)`` like
    :meth:`OnlineO1Layer.step`); :meth:`state_dict` / :meth:`load_state_dict` checkpoint it.

    >>> syn = OnlineO1Synapse(OnlineO1Config(), initial_weight=100)
    >>> syn.step(pre_spike=True, post_spike=False, reward=0).pre_trace
    4095
    """

    __slots__ = ("_config", "_lfsr", "_state")

    def __init__(self, config: OnlineO1Config | None = None, initial_weight: int = 0) -> None:
        self._config = config if config is not None else OnlineO1Config()
        if not isinstance(self._config, OnlineO1Config):
            raise TypeError(f"config must be an OnlineO1Config, not {type(self._config).__name__}")
        w0 = _check_int("initial_weight", initial_weight, 0, self._config.max_weight)
        self._state = OnlineO1Snapshot(w0, 0, 0, 0)
        self._lfsr = lane_initial_state(self._config.lfsr_seed, 0)

    @property
    def lfsr_state(self) -> int:
        """The LFSR state (lane 0's; used by ``rounding="stochastic"`` only, one draw per :meth:`step`)."""
        return self._lfsr

    @property
    def config(self) -> OnlineO1Config:
        """The widths and shifts of the rule."""
        return self._config

    @property
    def state_fields(self) -> tuple[str, ...]:
        """The names of the four state fields, :data:`STATE_FIELDS`."""
        return STATE_FIELDS

    @property
    def state_bit_count(self) -> int:
        """``W + 3T``, the bits of the four fields."""
        return self._config.per_synapse_state_bits

    def snapshot(self) -> OnlineO1Snapshot:
        """The current state (an immutable tuple)."""
        return self._state

    def load(self, weight: int) -> OnlineO1Snapshot:
        """Set the weight and clear traces and eligibility (the hardware's ``load_en``)."""
        self._state = OnlineO1Snapshot(_check_int("weight", weight, 0, self._config.max_weight), 0, 0, 0)
        return self._state

    def reset(self) -> OnlineO1Snapshot:
        """All four fields to zero and the LFSR to its initial state (the hardware's ``rst``)."""
        self._state = OnlineO1Snapshot(0, 0, 0, 0)
        self._lfsr = lane_initial_state(self._config.lfsr_seed, 0)
        return self._state

    def step(self, pre_spike: bool, post_spike: bool, reward: int = 0) -> OnlineO1Snapshot:
        """Advance one step; returns the new state (``"stochastic"``: one LFSR draw of ``L`` bits)."""
        pre = _check_spike("pre_spike", pre_spike)
        post = _check_spike("post_spike", post_spike)
        r = _check_reward(reward)
        dither = None
        if self._config.rounding == "stochastic":
            dither, self._lfsr = lfsr_draw(self._lfsr, self._config.learning_shift)
        self._state = online_o1_step(self._state, pre_spike=pre, post_spike=post, reward=r, config=self._config,
                                     dither=dither)
        return self._state

    def state_dict(self) -> dict[str, Any]:
        """``{"config": ..., "weight", "pre_trace", "post_trace", "eligibility"}`` as plain ints (JSON-ready),
        and ``"lfsr_state"`` with ``rounding="stochastic"``."""
        extra = {"lfsr_state": self._lfsr} if self._config.rounding == "stochastic" else {}
        return {"config": self._config.as_dict(), **self._state._asdict(), **extra}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the config must equal this synapse's, every field in its range."""
        stochastic = self._config.rounding == "stochastic"
        keys = ("config", *STATE_FIELDS, *(("lfsr_state",) if stochastic else ()))
        st = check_keys("OnlineO1Synapse", state, keys)
        _check_config("OnlineO1Synapse", st["config"], self._config)
        c = self._config
        ranges = {"weight": (0, c.max_weight), "pre_trace": (0, c.max_trace), "post_trace": (0, c.max_trace),
                  "eligibility": c.eligibility_range}
        vals = [load_int("OnlineO1Synapse", k, st[k], *ranges[k]) for k in STATE_FIELDS]
        if stochastic:
            self._lfsr = load_int("OnlineO1Synapse", "lfsr_state", st["lfsr_state"], 1, (1 << LFSR_BITS) - 1)
        self._state = OnlineO1Snapshot(*vals)

    def __repr__(self) -> str:
        return f"OnlineO1Synapse({self._config!r}, state={self._state!r})"


def _check_config(owner: str, value: object, config: OnlineO1Config) -> None:
    """A state dict's ``config`` must equal ``config.as_dict()``; the message names the fields that differ."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{owner} state_dict['config'] must be a dict (OnlineO1Config.as_dict()), "
                        f"not {type(value).__name__}")
    mine = config.as_dict()
    value = {"rounding": "floor", "lfsr_seed": 1, **value}  # checkpoints from before the rounding modes
    if dict(value) != mine:
        diff = sorted(set(mine) | set(value))
        what = ", ".join(f"{k}={value.get(k, '<missing>')!r} (this one has {mine.get(k, '<none>')!r})"
                         for k in diff if value.get(k, None) != mine.get(k, None))
        raise ValueError(f"{owner} state_dict['config'] is for another configuration: {what}")


# ---- vectorized layer ------------------------------------------------------------------------------

IntArray = npt.NDArray[np.int64]


def _layer_dtype(config: OnlineO1Config) -> type[np.signedinteger[Any]]:
    """Narrowest NumPy integer type that holds every intermediate of the layer step.

    The widest intermediates are the eligibility sum (``T + 2`` signed bits), the product ``r * e'``
    (``R + T`` signed bits) and ``w + ((r * e') >> L)`` (``max(W, R + T) + 2`` signed bits); with a dither,
    ``r * e' + d`` (``max(R + T, L + 1) + 1`` signed bits).
    """
    rt = config.reward_bits + config.trace_bits
    dithered = max(rt, config.learning_shift + 1) + 1 if config.rounding != "floor" else 0
    need = max(config.trace_bits, config.weight_bits, rt, dithered) + 2
    return np.int32 if need <= 32 else np.int64


class OnlineO1LayerState(NamedTuple):
    """State of a dense layer: ``weight`` and ``eligibility`` ``(n_post, n_pre)``, ``pre_trace`` ``(n_pre,)``,
    ``post_trace`` ``(n_post,)``, all integer arrays (values in the ranges of :class:`OnlineO1Config`)."""

    weight: IntArray
    eligibility: IntArray
    pre_trace: IntArray
    post_trace: IntArray


_LAYER_FIELDS: tuple[str, ...] = OnlineO1LayerState._fields
_MAX_NEURONS = 1 << 24


def _layer_spikes(name: str, x: npt.ArrayLike, n: int) -> npt.NDArray[np.bool_]:
    a = np.asarray(x)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), not {a.shape}")
    if a.dtype == np.bool_:
        return a
    if a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() > 1)):
        raise ValueError(f"{name} must be booleans or 0/1 integers")
    return a.astype(bool)


def _layer_reward(reward: npt.ArrayLike, n_post: int, c: OnlineO1Config,
                  dtype: type[np.signedinteger[Any]]) -> int | npt.NDArray[Any]:
    """A scalar reward as a saturated ``int``, a per-post reward as a saturated array of ``dtype``."""
    if isinstance(reward, (bool, np.bool_)):
        raise TypeError("reward must be an int or an int array of shape (n_post,), not bool")
    if isinstance(reward, (int, np.integer)):
        return saturate(int(reward), c.reward_min, c.reward_max)
    r = np.asarray(reward)
    if r.dtype.kind not in "iu":
        raise TypeError(f"reward must be integers, not dtype {r.dtype}")
    if r.shape == ():
        return saturate(int(r), c.reward_min, c.reward_max)
    if r.shape != (n_post,):
        raise ValueError(f"reward must be a scalar or have shape ({n_post},), not {r.shape}")
    return np.clip(r, c.reward_min, c.reward_max).astype(dtype)


def _layer_update(w: npt.NDArray[Any], e: npt.NDArray[Any], pre: npt.NDArray[Any], post: npt.NDArray[Any],
                  tmp: npt.NDArray[Any], pre_sp: npt.NDArray[np.bool_], post_sp: npt.NDArray[np.bool_],
                  r: int | npt.NDArray[Any], c: OnlineO1Config, d: int | npt.NDArray[Any] = 0) -> None:
    """One step of the rule on every synapse, in place (``w``, ``e``: ``(n_post, n_pre)``; ``tmp`` scratch;
    ``d`` the dither, an int or ``(n_post, n_pre)``)."""
    s, m, lo, hi = c.trace_decay_shift, c.max_trace, c.eligibility_min, c.eligibility_max
    pre_idx = np.flatnonzero(pre_sp)
    post_idx = np.flatnonzero(post_sp)
    # decayS(e) = e - trunc(e / 2^s): for e >= 0 that is e - (e >> s); for e < 0 it is
    # e + ((-e) >> s), the same magnitude decay. trunc uses the bias trick (e + (2^s - 1)) >> s for e < 0.
    if s:
        np.right_shift(e, tmp.dtype.itemsize * 8 - 1, out=tmp)  # -1 where e < 0, else 0
        np.bitwise_and(tmp, (1 << s) - 1, out=tmp)
        np.add(tmp, e, out=tmp)
        np.right_shift(tmp, s, out=tmp)
        np.subtract(e, tmp, out=e)
    # pot: rows of post spikers get the pre trace including this step's pre spikes;
    # dep: columns of pre spikers lose the (old) post trace. Only those rows/columns can leave the range.
    if post_idx.size:
        pre_eff = np.where(pre_sp, m, pre).astype(e.dtype)
        e[post_idx, :] += pre_eff[None, :]
    if pre_idx.size:
        e[:, pre_idx] -= post[:, None]
        e[:, pre_idx] = np.clip(e[:, pre_idx], lo, hi)
    if post_idx.size:
        e[post_idx, :] = np.clip(e[post_idx, :], lo, hi)
    # traces
    if s:
        pre -= pre >> s
        post -= post >> s
    pre[pre_idx] = m
    post[post_idx] = m
    # weights: w' = sat(w + ((r * e') >> L), 0, 2^W - 1); a zero reward changes nothing.
    if isinstance(r, int):
        if r == 0:
            return
        np.multiply(e, r, out=tmp)
    else:
        if not r.any():
            return
        np.multiply(e, r[:, None], out=tmp)
    if not isinstance(d, int) or d:
        np.add(tmp, d, out=tmp, casting="unsafe")
    if c.learning_shift:
        np.right_shift(tmp, c.learning_shift, out=tmp)
    np.add(w, tmp, out=tmp)
    np.clip(tmp, 0, c.max_weight, out=w)


def _check_layer_size(n_pre: int, n_post: int, config: OnlineO1Config) -> None:
    item = np.dtype(_layer_dtype(config)).itemsize
    check_allocation(f"an OnlineO1Layer of n_post x n_pre = {n_post} x {n_pre} synapses",
                     3 * n_pre * n_post * item + (n_pre + n_post) * item)


def online_o1_layer_initial_state(
    config: OnlineO1Config, n_pre: int, n_post: int, initial_weights: npt.ArrayLike | None = None,
) -> OnlineO1LayerState:
    """Weights ``initial_weights`` ``(n_post, n_pre)`` (default 0), eligibility and traces 0 (int64 arrays)."""
    layer = OnlineO1Layer(config, n_pre, n_post, initial_weights)
    return layer.state


def online_o1_layer_step(
    state: OnlineO1LayerState,
    pre_spikes: npt.ArrayLike,
    post_spikes: npt.ArrayLike,
    reward: npt.ArrayLike,
    config: OnlineO1Config,
) -> OnlineO1LayerState:
    """One step of the rule (module docstring) on a dense layer; a pure function: ``state`` is not modified.

    ``state`` holds ``weight``, ``eligibility`` ``(n_post, n_pre)`` and the traces; ``pre_spikes`` ``(n_pre,)``,
    ``post_spikes`` ``(n_post,)`` are booleans or 0/1; ``reward`` is one int or one per post neuron (saturated
    to the reward range). Returns a new :class:`OnlineO1LayerState` of int64 arrays, bit-exact with
    :meth:`OnlineO1Layer.step` and with ``n_pre * n_post`` :func:`online_o1_step` calls. The values of
    ``state`` must be in their ranges (as :meth:`OnlineO1Layer.load_state_dict` checks); this step does not
    re-check them.
    """
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    if not isinstance(state, OnlineO1LayerState):
        raise TypeError(f"state must be an OnlineO1LayerState, not {type(state).__name__}")
    if config.rounding == "stochastic":
        raise ValueError("online_o1_layer_step does not carry LFSR state: rounding='stochastic' needs "
                         "OnlineO1Layer (its lfsr_state is part of its state_dict)")
    n_post, n_pre = np.shape(state.weight)
    for name, shape in zip(_LAYER_FIELDS, ((n_post, n_pre), (n_post, n_pre), (n_pre,), (n_post,)), strict=True):
        a = getattr(state, name)
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "iu" or a.shape != shape:
            got = f"dtype {a.dtype}, shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise ValueError(f"state.{name} must be an integer array of shape {shape}, not {got}")
    dt = _layer_dtype(config)
    w, e = state.weight.astype(dt), state.eligibility.astype(dt)
    pre, post = state.pre_trace.astype(dt), state.post_trace.astype(dt)
    _layer_update(w, e, pre, post, np.empty_like(w), _layer_spikes("pre_spikes", pre_spikes, n_pre),
                  _layer_spikes("post_spikes", post_spikes, n_post), _layer_reward(reward, n_post, config, dt),
                  config, config.dither_range[0])
    return OnlineO1LayerState(w.astype(np.int64), e.astype(np.int64), pre.astype(np.int64), post.astype(np.int64))


def _run_rewards(rewards: object, n_t: int, n_post: int) -> npt.NDArray[np.int64]:
    """``rewards`` for :meth:`OnlineO1Layer.run` as int64 ``(T,)`` or ``(T, n_post)``.

    Integer arrays pass; float arrays must hold integral, finite values (``3.0`` is 3; ``2.5`` and ``nan`` are
    errors naming the value and its index, never truncated); anything else (strings, bools) is a ``TypeError``.
    """
    r = np.asarray(rewards)
    if r.dtype.kind not in "iuf":
        raise TypeError(f"rewards must be integers, not dtype {r.dtype}")
    if r.shape not in ((n_t,), (n_t, n_post)):
        raise ValueError(f"rewards must have shape (T,) = ({n_t},) or (T, n_post) = ({n_t}, {n_post}), "
                         f"not {r.shape}")
    if r.dtype.kind == "f":
        bad = ~np.isfinite(r)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"rewards must be finite integers, not {r[where].item()!r} at index {where}")
        bad = r != np.floor(r)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"rewards must be integers (no silent truncation), not {r[where].item()!r} "
                             f"at index {where}")
        r = np.clip(r, -(2.0**62), 2.0**62)  # the reward saturates to at most 30 bits anyway
    return r.astype(np.int64)


class OnlineO1Layer:
    """A dense layer of ``n_post x n_pre`` O(1) synapses, bit-exact with ``n_pre * n_post`` synapses.

    Weights and eligibility are ``(n_post, n_pre)`` like ``torch.nn.Linear`` and the rest of
    :mod:`plasticore.refmodel`: ``weights[j, i]`` connects pre neuron ``i`` to post neuron ``j``. The pre
    trace of neuron ``i`` is shared by column ``i`` and the post trace of neuron ``j`` by row ``j``, so the
    layer stores ``W + T`` bits per synapse (weight, eligibility) plus ``T`` bits per neuron. (The hardware
    array keeps its own memory layout; see :mod:`plasticore.hw.o1_array`.)

    ``step(pre_spikes, post_spikes, reward)`` takes boolean (or 0/1) vectors of length ``n_pre`` and
    ``n_post`` and a reward that is either one integer for the whole layer or one per post neuron; it is
    :func:`online_o1_layer_step` done in place. Work per step is a handful of whole-matrix integer
    operations plus work proportional to the number of spiking neurons, so sparse activity is cheap.
    ``n_pre`` or ``n_post`` may be 0 (an empty layer). Sizes whose buffers would not fit into this machine's
    memory are a ``ValueError`` before anything is allocated. :meth:`state_dict` / :meth:`load_state_dict`
    checkpoint the layer (and are how a testbench seeds it).

    ``backend="native"`` steps the layer in the Rust library of :mod:`plasticore.native` (one foreign call per
    step, bit-exact with NumPy; the state buffers are then NumPy views of memory the library owns, so every
    accessor and checkpoint works unchanged); ``"auto"`` uses it when it is built and NumPy otherwise; the
    default ``"numpy"`` never touches it. ``"native"`` without the library raises an ``ImportError`` saying how
    to build it; the native library implements ``rounding="floor"`` only (``"auto"`` then uses NumPy).

    ``lanes`` is the number of update lanes of the hardware the layer stands for (``o1_array``'s ``lanes``); it
    matters only with ``rounding="stochastic"``, where each lane owns an LFSR and draws in the schedule's order
    (:mod:`plasticore.refmodel.rounding`); :attr:`lfsr_state` is then part of :meth:`state_dict`.
    """

    def __init__(
        self,
        config: OnlineO1Config | None = None,
        n_pre: int = 1,
        n_post: int = 1,
        initial_weights: npt.ArrayLike | None = None,
        *,
        backend: str = "numpy",
        lanes: int = 1,
    ) -> None:
        self._config = config if config is not None else OnlineO1Config()
        if not isinstance(self._config, OnlineO1Config):
            raise TypeError(f"config must be an OnlineO1Config, not {type(self._config).__name__}")
        self._lanes = _check_int("lanes", lanes, 1, _MAX_NEURONS)
        self._lfsr = lane_initial_states(self._config.lfsr_seed, self._lanes)
        if self._config.rounding != "floor" and backend == "native":
            raise ValueError(f"backend='native' implements rounding='floor' only, not {self._config.rounding!r}: "
                             f"use backend='numpy' (or 'auto')")
        self._backend = _resolve_backend(backend) if self._config.rounding == "floor" else "numpy"
        self._native: Any = None
        _check_int_type("n_pre", n_pre, 0, _MAX_NEURONS)
        _check_int_type("n_post", n_post, 0, _MAX_NEURONS)
        self._n_pre = _check_int("n_pre", n_pre, 0, _MAX_NEURONS)
        self._n_post = _check_int("n_post", n_post, 0, _MAX_NEURONS)
        self._dtype = _layer_dtype(self._config)
        shape = (self._n_post, self._n_pre)
        arr: npt.NDArray[Any] | None = None
        if initial_weights is not None:
            arr = np.asarray(initial_weights)
            if arr.dtype.kind not in "iu":
                raise TypeError(f"initial_weights must be integers, not dtype {arr.dtype}")
            if arr.shape != shape:
                raise ValueError(f"initial_weights must have shape (n_post, n_pre) = {shape}, not {arr.shape}")
            if arr.size and (arr.min() < 0 or arr.max() > self._config.max_weight):
                raise ValueError(
                    f"initial_weights must be in 0..{self._config.max_weight}, "
                    f"not min {int(arr.min())} / max {int(arr.max())}"
                )
        _check_layer_size(self._n_pre, self._n_post, self._config)
        self._w = np.zeros(shape, dtype=self._dtype) if arr is None else arr.astype(self._dtype, copy=True)
        self._e = np.zeros(shape, dtype=self._dtype)
        self._pre = np.zeros(self._n_pre, dtype=self._dtype)
        self._post = np.zeros(self._n_post, dtype=self._dtype)
        self._tmp = np.empty(shape, dtype=self._dtype)
        if self._backend == "native":
            self._attach_native()

    def _attach_native(self) -> None:
        """Move the state into the native library: the four buffers become NumPy views of Rust-owned memory
        (so every accessor and :meth:`load_state_dict` work unchanged), and :meth:`step` makes one foreign call."""
        from plasticore.native._ffi import NativeLayerHandle

        c = self._config
        handle = NativeLayerHandle((c.weight_bits, c.trace_bits, c.reward_bits, c.learning_shift,
                                    c.trace_decay_shift), self._n_pre, self._n_post)
        views = handle.arrays()
        if handle.dtype != np.dtype(self._dtype):
            raise RuntimeError(f"native layer words are {handle.dtype}, NumPy's layer uses {np.dtype(self._dtype)}")
        for key, buf in self.state_arrays().items():
            views[key][...] = buf
        self._w, self._e, self._pre, self._post = (views[k] for k in ("weight", "eligibility", "pre_trace",
                                                                       "post_trace"))
        self._tmp = np.empty((0, 0), dtype=self._dtype)
        self._native = handle

    @property
    def lanes(self) -> int:
        """The update lanes whose LFSRs ``rounding="stochastic"`` draws from (1 by default)."""
        return self._lanes

    @property
    def lfsr_state(self) -> npt.NDArray[np.int64]:
        """Copy of the lanes' LFSR states ``(lanes,)`` (advanced only with ``rounding="stochastic"``)."""
        return self._lfsr.astype(np.int64)

    def reset_lfsr(self) -> None:
        """The lanes' LFSRs back to their reset states (what the array's and the core's ``rst`` do; the
        synapse state is in RAM and unchanged)."""
        self._lfsr[...] = lane_initial_states(self._config.lfsr_seed, self._lanes)

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"native"``: the engine of :meth:`step` (``"auto"`` resolved at construction)."""
        return self._backend

    # ---- read-only views of the state -------------------------------------------------------
    @property
    def config(self) -> OnlineO1Config:
        """The widths and shifts of the rule."""
        return self._config

    @property
    def n_pre(self) -> int:
        """Number of presynaptic neurons (columns of :attr:`weights`)."""
        return self._n_pre

    @property
    def n_post(self) -> int:
        """Number of postsynaptic neurons (rows of :attr:`weights`)."""
        return self._n_post

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_post, n_pre)``, the shape of :attr:`weights`."""
        return (self._n_post, self._n_pre)

    @property
    def weights(self) -> IntArray:
        """Copy of the weights, shape ``(n_post, n_pre)``, int64."""
        return self._w.astype(np.int64)

    @property
    def eligibility(self) -> IntArray:
        """Copy of the eligibility, shape ``(n_post, n_pre)``, int64."""
        return self._e.astype(np.int64)

    @property
    def pre_traces(self) -> IntArray:
        """Copy of the pre traces, shape ``(n_pre,)``, int64."""
        return self._pre.astype(np.int64)

    @property
    def post_traces(self) -> IntArray:
        """Copy of the post traces, shape ``(n_post,)``, int64."""
        return self._post.astype(np.int64)

    @property
    def state(self) -> OnlineO1LayerState:
        """Copy of the whole state, the argument of :func:`online_o1_layer_step`."""
        return OnlineO1LayerState(self.weights, self.eligibility, self.pre_traces, self.post_traces)

    @property
    def state_bit_count(self) -> int:
        """``n_pre * n_post * (W + T) + (n_pre + n_post) * T``."""
        c = self._config
        return self._n_pre * self._n_post * (c.weight_bits + c.trace_bits) + (self._n_pre + self._n_post) * c.trace_bits

    def state_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The live state buffers (no copies, read them only): what the layer's memory consists of.

        To set the state use :meth:`load_state_dict`.
        """
        return {"weight": self._w, "eligibility": self._e, "pre_trace": self._pre, "post_trace": self._post}

    def synapse(self, pre: int, post: int) -> OnlineO1Snapshot:
        """State of the synapse from pre neuron ``pre`` to post neuron ``post`` (``weights[post, pre]``).

        Indices are checked (no negative wrap-around): ``IndexError`` names the index and its range.
        """
        i = _check_index("pre", pre, self._n_pre)
        j = _check_index("post", post, self._n_post)
        return OnlineO1Snapshot(int(self._w[j, i]), int(self._pre[i]), int(self._post[j]), int(self._e[j, i]))

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"config", "weight", "eligibility", "pre_trace", "post_trace"}``: the config as a dict and int64
        copies of the four arrays (weights and eligibility ``(n_post, n_pre)``)."""
        extra = {"lfsr_state": self.lfsr_state} if self._config.rounding == "stochastic" else {}
        return {"config": self._config.as_dict(), **{k: getattr(self.state, k).copy() for k in _LAYER_FIELDS},
                **extra}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (or any state of this shape whose values are in range).

        Checked before anything is written: exactly the keys of :meth:`state_dict`, the same config, the
        shapes ``(n_post, n_pre)`` / ``(n_pre,)`` / ``(n_post,)``, integer dtypes, every value in its range.
        """
        owner = "OnlineO1Layer"
        stochastic = self._config.rounding == "stochastic"
        st = check_keys(owner, state, ("config", *_LAYER_FIELDS, *(("lfsr_state",) if stochastic else ())))
        _check_config(owner, st["config"], self._config)
        c, mat = self._config, (self._n_post, self._n_pre)
        new = {
            "weight": load_array(owner, "weight", st["weight"], mat, "i", 0, c.max_weight),
            "eligibility": load_array(owner, "eligibility", st["eligibility"], mat, "i", *c.eligibility_range),
            "pre_trace": load_array(owner, "pre_trace", st["pre_trace"], (self._n_pre,), "i", 0, c.max_trace),
            "post_trace": load_array(owner, "post_trace", st["post_trace"], (self._n_post,), "i", 0, c.max_trace),
        }
        lfsr = (load_array(owner, "lfsr_state", st["lfsr_state"], (self._lanes,), "i", 1, (1 << LFSR_BITS) - 1)
                if stochastic else None)
        for key, buf in self.state_arrays().items():
            buf[...] = new[key]
        if lfsr is not None:
            self._lfsr[...] = lfsr

    # ---- dynamics ---------------------------------------------------------------------------
    def step(self, pre_spikes: npt.ArrayLike, post_spikes: npt.ArrayLike, reward: npt.ArrayLike = 0) -> None:
        """Advance every synapse by one step of the rule (in place; see :func:`online_o1_layer_step`)."""
        pre_sp = _layer_spikes("pre_spikes", pre_spikes, self._n_pre)
        post_sp = _layer_spikes("post_spikes", post_spikes, self._n_post)
        r = _layer_reward(reward, self._n_post, self._config, self._dtype)
        if self._native is not None:
            self._native.step(pre_sp, post_sp, r)
            return
        c = self._config
        d: int | npt.NDArray[Any] = c.dither_range[0]
        if c.rounding == "stochastic":
            d = layer_dither(self._lfsr, self._n_pre, self._n_post, c.learning_shift)
        _layer_update(self._w, self._e, self._pre, self._post, self._tmp, pre_sp, post_sp, r, c, d)

    def run(
        self,
        pre_spikes: npt.ArrayLike,
        post_spikes: npt.ArrayLike,
        rewards: npt.ArrayLike | Sequence[int],
    ) -> None:
        """Apply :meth:`step` for each row of ``pre_spikes`` (T, n_pre), ``post_spikes`` (T, n_post), ``rewards``.

        ``rewards`` is ``(T,)`` (one per step) or ``(T, n_post)``; integers, or floats with integral values
        (a non-integral or NaN reward is a ``ValueError`` naming it and its index, a string a ``TypeError``).
        Everything is checked before the first step.
        """
        pre_a, post_a = np.asarray(pre_spikes), np.asarray(post_spikes)
        if pre_a.ndim != 2 or post_a.ndim != 2 or len(pre_a) != len(post_a):
            raise ValueError(
                f"run expects pre_spikes (T, n_pre), post_spikes (T, n_post) and rewards (T,) or (T, n_post); "
                f"got {pre_a.shape}, {post_a.shape}, {np.shape(rewards)}"
            )
        rew = _run_rewards(rewards, len(pre_a), self._n_post)
        for t in range(len(pre_a)):
            self.step(pre_a[t], post_a[t], rew[t] if rew.ndim == 2 else int(rew[t]))

    def __repr__(self) -> str:
        lanes = f", lanes={self._lanes}" if self._lanes != 1 else ""
        return f"OnlineO1Layer({self._config!r}, n_pre={self._n_pre}, n_post={self._n_post}{lanes})"


BACKENDS: tuple[str, ...] = ("numpy", "native", "auto")


def _resolve_backend(backend: object) -> str:
    """``"numpy"`` or ``"native"``; ``"auto"`` is native when :mod:`plasticore.native` loads, else NumPy.

    ``"native"`` without the library raises :class:`plasticore.native._ffi.NativeUnavailableError` (an
    ``ImportError``) saying how to build it.
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be one of {list(BACKENDS)}, not {type(backend).__name__} {backend!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, not {backend!r}")
    if backend == "numpy":
        return backend
    from plasticore.native._ffi import NativeUnavailableError, load_library

    try:
        load_library()
    except NativeUnavailableError as exc:
        if backend == "auto":
            return "numpy"
        raise NativeUnavailableError(f"OnlineO1Layer(backend='native'): {exc}") from None
    return "native"


def _check_index(name: str, value: object, n: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int index, not {type(value).__name__} {value!r}")
    if not 0 <= int(value) < n:
        allowed = f"in 0..{n - 1}" if n else "impossible: the layer has no such neurons"
        raise IndexError(f"{name} index must be {allowed} (n_{name} = {n}), not {int(value)}")
    return int(value)


def build_online_o1_memory_proof(
    *,
    n_synapses: int,
    config: OnlineO1Config | None = None,
    sequence_length: int | None = None,
    n_pre: int | None = None,
    n_post: int | None = None,
    lanes: int = 1,
) -> dict[str, Any]:
    """State accounting for ``n_synapses`` O(1) synapses (0 allowed: an empty layer).

    ``rounding_state`` gives the rounding mode's own state: with ``"stochastic"`` one 32-bit LFSR per update
    lane (``lanes``), counted in ``total_state_bits``; 0 bits otherwise.

    The record is the same for every ``sequence_length`` (that is what it proves, so the length is checked
    but not echoed; ``sequence_length_independent`` is ``True``). With ``n_pre`` and ``n_post``
    (``n_pre * n_post == n_synapses``) it also gives the factorized layout of :class:`OnlineO1Layer`:
    ``W + T`` bits per synapse plus ``T`` bits per neuron. Type errors are reported before range errors.
    """
    cfg = config if config is not None else OnlineO1Config()
    if not isinstance(cfg, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(cfg).__name__}")
    checks = [("n_synapses", n_synapses, 0, 1 << 40), ("sequence_length", sequence_length, 0, 1 << 62),
              ("n_pre", n_pre, 0, _MAX_NEURONS), ("n_post", n_post, 0, _MAX_NEURONS),
              ("lanes", lanes, 1, _MAX_NEURONS)]
    for name, value, lo, hi in checks:  # types first
        if value is not None or name == "n_synapses":
            _check_int_type(name, value, lo, hi)
    for name, value, lo, hi in checks:
        if value is not None:
            _check_int(name, value, lo, hi)
    n = int(n_synapses)
    lfsr_bits = int(lanes) * cfg.lfsr_state_bits
    proof: dict[str, Any] = {
        "schema_version": MEMORY_PROOF_SCHEMA,
        "config": cfg.as_dict(),
        "n_synapses": n,
        "state_fields": list(STATE_FIELDS),
        "per_synapse_state_bits": cfg.per_synapse_state_bits,
        "total_state_bits": n * cfg.per_synapse_state_bits + lfsr_bits,
        "sequence_length_independent": True,
        "hidden_history_fields": [],
        "rounding": cfg.rounding,
        "rounding_state": {**_rounding_state_doc(cfg), "lanes": int(lanes), "total_bits": lfsr_bits},
    }
    if (n_pre is None) != (n_post is None):
        raise ValueError("n_pre and n_post must be given together")
    if n_pre is not None and n_post is not None:
        a, b = int(n_pre), int(n_post)
        if a * b != n:
            raise ValueError(f"n_pre * n_post must equal n_synapses ({n}), not {a} * {b} = {a * b}")
        per_syn = cfg.weight_bits + cfg.trace_bits
        proof["factorized_layout"] = {
            "n_pre": a,
            "n_post": b,
            "per_synapse_fields": ["weight", "eligibility"],
            "per_synapse_state_bits": per_syn,
            "per_neuron_fields": ["pre_trace (per pre neuron)", "post_trace (per post neuron)"],
            "per_neuron_state_bits": cfg.trace_bits,
            "total_state_bits": n * per_syn + (a + b) * cfg.trace_bits + lfsr_bits,
        }
    return proof
