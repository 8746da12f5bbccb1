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
    w'    = sat(w + ((r * e') >> L), [0, 2^W - 1])

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
* :class:`OnlineO1Layer` - a dense ``n_pre x n_post`` layer, vectorized with NumPy; traces are stored once
  per neuron (they are identical for every synapse of that neuron), so the state is ``W + T`` bits per
  synapse plus ``T`` bits per neuron.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "ANNOTATION_SCHEMA",
    "MEMORY_PROOF_SCHEMA",
    "STATE_FIELDS",
    "OnlineO1Config",
    "OnlineO1Layer",
    "OnlineO1Snapshot",
    "OnlineO1Synapse",
    "build_online_o1_memory_proof",
    "decay_signed",
    "decay_unsigned",
    "online_o1_step",
    "saturate",
]

ANNOTATION_SCHEMA = "plasticore.online-o1.annotation.v1"
MEMORY_PROOF_SCHEMA = "plasticore.online-o1.memory-proof.v1"
STATE_FIELDS: tuple[str, ...] = ("weight", "pre_trace", "post_trace", "eligibility")
RULE_FAMILIES: tuple[str, ...] = ("reward_modulated_stdp",)
SATURATION_POLICY = "signed_eligibility_unsigned_weight"

_INT_RANGES: dict[str, tuple[int, int]] = {
    "weight_bits": (1, 31),
    "trace_bits": (2, 30),
    "reward_bits": (1, 30),
    "learning_shift": (0, 30),
    "trace_decay_shift": (0, 30),
}


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) in ``[lo, hi]``; raise a named error otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int in {lo}..{hi}, not {type(value).__name__} {value!r}")
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
    """

    weight_bits: int = 16
    trace_bits: int = 12
    reward_bits: int = 8
    learning_shift: int = 4
    trace_decay_shift: int = 4
    rule_family: str = "reward_modulated_stdp"

    def __post_init__(self) -> None:
        for name, (lo, hi) in _INT_RANGES.items():
            object.__setattr__(self, name, _check_int(name, getattr(self, name), lo, hi))
        if not isinstance(self.rule_family, str):
            raise TypeError(f"rule_family must be a str, not {type(self.rule_family).__name__}")
        if self.rule_family not in RULE_FAMILIES:
            raise ValueError(f"rule_family must be one of {list(RULE_FAMILIES)}, not {self.rule_family!r}")

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
        return -(1 << (self.trace_bits - 1))

    @property
    def eligibility_max(self) -> int:
        return (1 << (self.trace_bits - 1)) - 1

    @property
    def eligibility_range(self) -> tuple[int, int]:
        """``[-2^(T-1), 2^(T-1) - 1]``."""
        return (self.eligibility_min, self.eligibility_max)

    @property
    def reward_min(self) -> int:
        return -(1 << (self.reward_bits - 1))

    @property
    def reward_max(self) -> int:
        return (1 << (self.reward_bits - 1)) - 1

    @property
    def reward_range(self) -> tuple[int, int]:
        """``[-2^(R-1), 2^(R-1) - 1]``."""
        return (self.reward_min, self.reward_max)

    @property
    def per_synapse_state_bits(self) -> int:
        """``W + 3T``: weight, two traces and eligibility of one stand-alone synapse."""
        return self.weight_bits + 3 * self.trace_bits

    def as_dict(self) -> dict[str, Any]:
        """The six fields as a plain dict (JSON-ready)."""
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
            "hidden_history_fields": [],
            "sequence_length_independent": True,
        }


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
) -> OnlineO1Snapshot:
    """One step of the rule on one synapse (pure function; see the module docstring)."""
    s = config.trace_decay_shift
    m = config.max_trace
    r = saturate(int(reward), config.reward_min, config.reward_max)
    pre, post = state.pre_trace, state.post_trace
    new_pre = m if pre_spike else decay_unsigned(pre, s)
    new_post = m if post_spike else decay_unsigned(post, s)
    pot = (m if pre_spike else pre) if post_spike else 0
    dep = post if pre_spike else 0
    e = saturate(decay_signed(state.eligibility, s) + pot - dep, config.eligibility_min, config.eligibility_max)
    w = saturate(state.weight + ((r * e) >> config.learning_shift), 0, config.max_weight)
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

    >>> syn = OnlineO1Synapse(OnlineO1Config(), initial_weight=100)
    >>> syn.step(pre_spike=True, post_spike=False, reward=0).pre_trace
    4095
    """

    __slots__ = ("_config", "_state")

    def __init__(self, config: OnlineO1Config | None = None, initial_weight: int = 0) -> None:
        self._config = config if config is not None else OnlineO1Config()
        if not isinstance(self._config, OnlineO1Config):
            raise TypeError(f"config must be an OnlineO1Config, not {type(self._config).__name__}")
        w0 = _check_int("initial_weight", initial_weight, 0, self._config.max_weight)
        self._state = OnlineO1Snapshot(w0, 0, 0, 0)

    @property
    def config(self) -> OnlineO1Config:
        return self._config

    @property
    def state_fields(self) -> tuple[str, ...]:
        return STATE_FIELDS

    @property
    def state_bit_count(self) -> int:
        return self._config.per_synapse_state_bits

    def snapshot(self) -> OnlineO1Snapshot:
        return self._state

    def load(self, weight: int) -> OnlineO1Snapshot:
        """Set the weight and clear traces and eligibility (the hardware's ``load_en``)."""
        self._state = OnlineO1Snapshot(_check_int("weight", weight, 0, self._config.max_weight), 0, 0, 0)
        return self._state

    def reset(self) -> OnlineO1Snapshot:
        """All four fields to zero (the hardware's ``rst``)."""
        self._state = OnlineO1Snapshot(0, 0, 0, 0)
        return self._state

    def step(self, *, pre_spike: bool, post_spike: bool, reward: int) -> OnlineO1Snapshot:
        """Advance one step; returns the new state."""
        self._state = online_o1_step(
            self._state,
            pre_spike=_check_spike("pre_spike", pre_spike),
            post_spike=_check_spike("post_spike", post_spike),
            reward=_check_reward(reward),
            config=self._config,
        )
        return self._state

    def __repr__(self) -> str:
        return f"OnlineO1Synapse({self._config!r}, state={self._state!r})"


# ---- vectorized layer ------------------------------------------------------------------------------


def _layer_dtype(config: OnlineO1Config) -> type[np.signedinteger[Any]]:
    """Narrowest NumPy integer type that holds every intermediate of the layer step.

    The widest intermediates are the eligibility sum (``T + 2`` signed bits), the product ``r * e'``
    (``R + T`` signed bits) and ``w + ((r * e') >> L)`` (``max(W, R + T) + 2`` signed bits).
    """
    need = max(config.trace_bits, config.weight_bits, config.reward_bits + config.trace_bits) + 2
    return np.int32 if need <= 32 else np.int64


class OnlineO1Layer:
    """A dense ``n_pre x n_post`` layer of O(1) synapses, bit-exact with ``n_pre * n_post`` synapses.

    Synapse ``(i, j)`` connects pre neuron ``i`` to post neuron ``j``. The pre trace of neuron ``i`` is
    shared by row ``i`` and the post trace of neuron ``j`` by column ``j``, so the layer stores
    ``W + T`` bits per synapse (weight, eligibility) plus ``T`` bits per neuron.

    ``step(pre_spikes, post_spikes, reward)`` takes boolean (or 0/1) vectors of length ``n_pre`` and
    ``n_post`` and a reward that is either one integer for the whole layer or one per post neuron.
    Work per step is a handful of whole-matrix integer operations plus work proportional to the number of
    spiking neurons, so sparse activity is cheap.
    """

    def __init__(
        self,
        config: OnlineO1Config | None = None,
        n_pre: int = 1,
        n_post: int = 1,
        initial_weights: npt.ArrayLike | None = None,
    ) -> None:
        self._config = config if config is not None else OnlineO1Config()
        if not isinstance(self._config, OnlineO1Config):
            raise TypeError(f"config must be an OnlineO1Config, not {type(self._config).__name__}")
        self._n_pre = _check_int("n_pre", n_pre, 1, 1 << 24)
        self._n_post = _check_int("n_post", n_post, 1, 1 << 24)
        self._dtype = _layer_dtype(self._config)
        shape = (self._n_pre, self._n_post)
        if initial_weights is None:
            w = np.zeros(shape, dtype=self._dtype)
        else:
            arr = np.asarray(initial_weights)
            if arr.shape != shape:
                raise ValueError(f"initial_weights must have shape {shape}, not {arr.shape}")
            if arr.dtype.kind not in "iu":
                raise TypeError(f"initial_weights must be integers, not dtype {arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() > self._config.max_weight):
                raise ValueError(
                    f"initial_weights must be in 0..{self._config.max_weight}, "
                    f"not min {int(arr.min())} / max {int(arr.max())}"
                )
            w = arr.astype(self._dtype, copy=True)
        self._w = w
        self._e = np.zeros(shape, dtype=self._dtype)
        self._pre = np.zeros(self._n_pre, dtype=self._dtype)
        self._post = np.zeros(self._n_post, dtype=self._dtype)
        self._tmp = np.empty(shape, dtype=self._dtype)

    # ---- read-only views of the state -------------------------------------------------------
    @property
    def config(self) -> OnlineO1Config:
        return self._config

    @property
    def shape(self) -> tuple[int, int]:
        return (self._n_pre, self._n_post)

    @property
    def weights(self) -> npt.NDArray[np.int64]:
        """Copy of the weights, shape ``(n_pre, n_post)``, int64."""
        return self._w.astype(np.int64)

    @property
    def eligibility(self) -> npt.NDArray[np.int64]:
        """Copy of the eligibility, shape ``(n_pre, n_post)``, int64."""
        return self._e.astype(np.int64)

    @property
    def pre_traces(self) -> npt.NDArray[np.int64]:
        return self._pre.astype(np.int64)

    @property
    def post_traces(self) -> npt.NDArray[np.int64]:
        return self._post.astype(np.int64)

    @property
    def state_bit_count(self) -> int:
        """``n_pre * n_post * (W + T) + (n_pre + n_post) * T``."""
        c = self._config
        return self._n_pre * self._n_post * (c.weight_bits + c.trace_bits) + (self._n_pre + self._n_post) * c.trace_bits

    def state_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The live state buffers (no copies): what the layer's memory consists of."""
        return {"weight": self._w, "eligibility": self._e, "pre_trace": self._pre, "post_trace": self._post}

    def synapse(self, i: int, j: int) -> OnlineO1Snapshot:
        """State of synapse ``(i, j)`` in the per-synapse form."""
        return OnlineO1Snapshot(int(self._w[i, j]), int(self._pre[i]), int(self._post[j]), int(self._e[i, j]))

    # ---- dynamics ---------------------------------------------------------------------------
    def _spikes(self, name: str, x: npt.ArrayLike, n: int) -> npt.NDArray[np.bool_]:
        a = np.asarray(x)
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), not {a.shape}")
        if a.dtype == np.bool_:
            return a
        if a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() > 1)):
            raise ValueError(f"{name} must be booleans or 0/1 integers")
        return a.astype(bool)

    def _reward(self, reward: npt.ArrayLike) -> int | npt.NDArray[Any]:
        c = self._config
        if isinstance(reward, (bool, np.bool_)):
            raise TypeError("reward must be an int or an int array of shape (n_post,), not bool")
        if isinstance(reward, (int, np.integer)):
            return saturate(int(reward), c.reward_min, c.reward_max)
        r = np.asarray(reward)
        if r.dtype.kind not in "iu":
            raise TypeError(f"reward must be integers, not dtype {r.dtype}")
        if r.shape == ():
            return saturate(int(r), c.reward_min, c.reward_max)
        if r.shape != (self._n_post,):
            raise ValueError(f"reward must be a scalar or have shape ({self._n_post},), not {r.shape}")
        return np.clip(r, c.reward_min, c.reward_max).astype(self._dtype)

    def step(self, pre_spikes: npt.ArrayLike, post_spikes: npt.ArrayLike, reward: npt.ArrayLike = 0) -> None:
        """Advance every synapse by one step of the rule."""
        c = self._config
        pre_sp = self._spikes("pre_spikes", pre_spikes, self._n_pre)
        post_sp = self._spikes("post_spikes", post_spikes, self._n_post)
        r = self._reward(reward)
        s, m, lo, hi = c.trace_decay_shift, c.max_trace, c.eligibility_min, c.eligibility_max
        e, tmp = self._e, self._tmp
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
        # pot: columns of post spikers get the pre trace including this step's pre spikes;
        # dep: rows of pre spikers lose the (old) post trace. Only those rows/columns can leave the range.
        if post_idx.size:
            pre_eff = np.where(pre_sp, m, self._pre).astype(self._dtype)
            e[:, post_idx] += pre_eff[:, None]
        if pre_idx.size:
            e[pre_idx, :] -= self._post[None, :]
            e[pre_idx, :] = np.clip(e[pre_idx, :], lo, hi)
        if post_idx.size:
            e[:, post_idx] = np.clip(e[:, post_idx], lo, hi)
        # traces
        if s:
            self._pre -= self._pre >> s
            self._post -= self._post >> s
        self._pre[pre_idx] = m
        self._post[post_idx] = m
        # weights: w' = sat(w + ((r * e') >> L), 0, 2^W - 1); a zero reward changes nothing.
        if isinstance(r, int):
            if r == 0:
                return
            np.multiply(e, r, out=tmp)
        else:
            if not r.any():
                return
            np.multiply(e, r[None, :], out=tmp)
        if c.learning_shift:
            np.right_shift(tmp, c.learning_shift, out=tmp)
        np.add(self._w, tmp, out=tmp)
        np.clip(tmp, 0, c.max_weight, out=self._w)

    def run(
        self,
        pre_spikes: npt.ArrayLike,
        post_spikes: npt.ArrayLike,
        rewards: npt.ArrayLike | Sequence[int],
    ) -> None:
        """Apply :meth:`step` for each row of ``pre_spikes`` (T, n_pre), ``post_spikes`` (T, n_post), ``rewards``."""
        pre_a, post_a = np.asarray(pre_spikes), np.asarray(post_spikes)
        rew = np.asarray(rewards)
        if pre_a.ndim != 2 or post_a.ndim != 2 or len(pre_a) != len(post_a) or len(rew) != len(pre_a):
            raise ValueError(
                f"run expects pre_spikes (T, n_pre), post_spikes (T, n_post) and rewards (T,) or (T, n_post); "
                f"got {pre_a.shape}, {post_a.shape}, {rew.shape}"
            )
        for t in range(len(pre_a)):
            self.step(pre_a[t], post_a[t], rew[t] if rew.ndim == 2 else int(rew[t]))


def build_online_o1_memory_proof(
    *,
    n_synapses: int,
    config: OnlineO1Config | None = None,
    sequence_length: int | None = None,
    n_pre: int | None = None,
    n_post: int | None = None,
) -> dict[str, Any]:
    """State accounting for ``n_synapses`` O(1) synapses; independent of ``sequence_length``.

    ``sequence_length`` is echoed (it is what the proof is about: the totals do not depend on it).
    With ``n_pre`` and ``n_post`` (``n_pre * n_post == n_synapses``) the record also gives the factorized
    layout of :class:`OnlineO1Layer`: ``W + T`` bits per synapse plus ``T`` bits per neuron.
    """
    cfg = config if config is not None else OnlineO1Config()
    if not isinstance(cfg, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(cfg).__name__}")
    n = _check_int("n_synapses", n_synapses, 1, 1 << 40)
    if sequence_length is not None:
        _check_int("sequence_length", sequence_length, 0, 1 << 62)
    proof: dict[str, Any] = {
        "schema_version": MEMORY_PROOF_SCHEMA,
        "config": cfg.as_dict(),
        "n_synapses": n,
        "state_fields": list(STATE_FIELDS),
        "per_synapse_state_bits": cfg.per_synapse_state_bits,
        "total_state_bits": n * cfg.per_synapse_state_bits,
        "sequence_length": sequence_length,
        "sequence_length_independent": True,
        "hidden_history_fields": [],
    }
    if (n_pre is None) != (n_post is None):
        raise ValueError("n_pre and n_post must be given together")
    if n_pre is not None and n_post is not None:
        a = _check_int("n_pre", n_pre, 1, 1 << 24)
        b = _check_int("n_post", n_post, 1, 1 << 24)
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
            "total_state_bits": n * per_syn + (a + b) * cfg.trace_bits,
        }
    return proof
