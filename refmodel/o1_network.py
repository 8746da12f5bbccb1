"""A closed-loop fixed-point SNN: integer LIF neurons driven by a layer of O(1) learning synapses.

:class:`OnlineO1Network` is the reference model of the hardware core :mod:`plasticore.hw.o1_core`: the
post spikes that drive the O(1) rule (:mod:`plasticore.refmodel.online_o1`) are produced by the layer's own
neurons instead of being supplied by the caller. One step, exactly (integers; ``V`` = membrane_bits,
``k`` = leak_shift, ``decayS`` the magnitude decay of the O(1) rule, ``theta`` = threshold)::

    I_j = sum_i s_i * (w_ij - weight_offset)                   # weights BEFORE this step's learning update
    v_j = sat(decayS_k(v_j) + I_j, [-2^(V-1), 2^(V-1) - 1])    # k = 0: no leak; saturated once
    z_j = v_j >= theta
    v_j = (0 if reset == "zero" else v_j - theta)   if z_j
    then the O(1) step on every synapse (i, j) with pre_spike = s_i, post_spike = z_j, reward r_j

``decayS_k(v) = sign(v) * (|v| - (|v| >> k))`` is the leaky integrate-and-fire membrane of a discrete-time
LIF neuron with ``beta = 1 - 2^-k`` (the fixed-point form used by ODIN, Frenkel et al. 2019, IEEE TBioCAS
13:145, and by Loihi's integer compartments, Davies et al. 2018), decaying toward zero by magnitude so that
positive and negative potentials leak alike. ``weight_offset`` makes the unsigned O(1) weights signed as
seen by the neuron: a weight below the offset is inhibitory. With ``reset="subtract"`` the potential above
threshold is kept (reset by subtraction, Diehl et al. 2015).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from .online_o1 import (
    OnlineO1Config,
    OnlineO1Layer,
    _check_int,
    _check_int_type,
    _layer_spikes,
    decay_signed,
    saturate,
)

__all__ = ["RESETS", "FixedLIFConfig", "OnlineO1Network", "fixed_lif_step"]

RESETS: tuple[str, ...] = ("zero", "subtract")


@dataclasses.dataclass(frozen=True, slots=True)
class FixedLIFConfig:
    """Integer LIF neurons.

    Parameters
    ----------
    membrane_bits:
        ``V``, signed membrane width, 2..32.
    leak_shift:
        ``k``, the membrane loses ``1/2^k`` of its magnitude per step, 0..30 (0: no leak).
    threshold:
        ``theta``, spike when ``v >= theta``, 1..2^(V-1)-1 (default: ``2^(V-2)``).
    reset:
        ``"zero"`` (``v = 0`` after a spike) or ``"subtract"`` (``v -= theta``).
    weight_offset:
        Subtracted from every unsigned O(1) weight before integration, 0..2^W-1 (checked against the O(1)
        config by :class:`OnlineO1Network`; 0 here only requires it to be a non-negative int).
    """

    membrane_bits: int = 16
    leak_shift: int = 4
    threshold: int | None = None
    reset: str = "zero"
    weight_offset: int = 0

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("membrane_bits", (2, 32)), ("leak_shift", (0, 30))):
            _check_int_type(name, getattr(self, name), lo, hi)
        _check_int_type("weight_offset", self.weight_offset, 0, 2**31 - 1)
        v = _check_int("membrane_bits", self.membrane_bits, 2, 32)
        object.__setattr__(self, "membrane_bits", v)
        object.__setattr__(self, "leak_shift", _check_int("leak_shift", self.leak_shift, 0, 30))
        top = (1 << (v - 1)) - 1
        if self.threshold is None:
            object.__setattr__(self, "threshold", max(1, 1 << (v - 2)))
        else:
            _check_int_type("threshold", self.threshold, 1, top)
            object.__setattr__(self, "threshold", _check_int("threshold", self.threshold, 1, top))
        if not isinstance(self.reset, str) or self.reset not in RESETS:
            raise ValueError(f"reset must be one of {list(RESETS)}, not {self.reset!r}")
        object.__setattr__(self, "weight_offset", _check_int("weight_offset", self.weight_offset, 0, 2**31 - 1))

    @property
    def membrane_min(self) -> int:
        """``-2^(V-1)``, the most negative membrane potential."""
        return -(1 << (self.membrane_bits - 1))

    @property
    def membrane_max(self) -> int:
        """``2^(V-1) - 1``, the largest membrane potential."""
        return (1 << (self.membrane_bits - 1)) - 1

    def check_against(self, o1: OnlineO1Config) -> None:
        """``weight_offset`` must be a weight: ``0..2^W - 1``."""
        if self.weight_offset > o1.max_weight:
            raise ValueError(f"weight_offset must be in 0..{o1.max_weight} (2^weight_bits - 1 for weight_bits="
                             f"{o1.weight_bits}), not {self.weight_offset}")

    def as_dict(self) -> dict[str, Any]:
        """The five fields as a plain dict (JSON-ready; ``threshold`` resolved)."""
        return dataclasses.asdict(self)


def fixed_lif_step(v: int, current: int, config: FixedLIFConfig) -> tuple[int, bool]:
    """One neuron, Python integers: ``(v', spike)`` for membrane ``v`` and input ``current`` (see the module)."""
    c = config
    assert c.threshold is not None
    v = saturate(decay_signed(int(v), c.leak_shift) + int(current), c.membrane_min, c.membrane_max)
    z = v >= c.threshold
    if z:
        v = 0 if c.reset == "zero" else v - c.threshold
    return v, z


class OnlineO1Network:
    """``n_pre`` inputs, ``n_post`` integer LIF neurons and ``n_post x n_pre`` O(1) learning synapses.

    ``step(pre_spikes, reward)`` integrates the pre spikes through the current weights, updates the
    membranes, and applies the O(1) rule with the neurons' own spikes as post spikes; it returns the post
    spikes (a bool array). ``reward`` is one integer or one per post neuron (saturated like the O(1) layer's).
    The synapses are an :class:`~plasticore.refmodel.online_o1.OnlineO1Layer` (``backend`` is passed to it).
    ``weights`` and ``eligibility`` are ``(n_post, n_pre)``; :meth:`state_dict` holds the layer's state and the
    membranes.
    """

    def __init__(
        self,
        o1_config: OnlineO1Config | None = None,
        lif_config: FixedLIFConfig | None = None,
        n_pre: int = 1,
        n_post: int = 1,
        initial_weights: npt.ArrayLike | None = None,
        *,
        backend: str = "numpy",
        lanes: int = 1,
    ) -> None:
        self._o1 = o1_config if o1_config is not None else OnlineO1Config()
        self._lif = lif_config if lif_config is not None else FixedLIFConfig()
        if not isinstance(self._o1, OnlineO1Config):
            raise TypeError(f"o1_config must be an OnlineO1Config, not {type(self._o1).__name__}")
        if not isinstance(self._lif, FixedLIFConfig):
            raise TypeError(f"lif_config must be a FixedLIFConfig, not {type(self._lif).__name__}")
        self._lif.check_against(self._o1)
        self._layer = OnlineO1Layer(self._o1, n_pre, n_post, initial_weights, backend=backend, lanes=lanes)
        self._v = np.zeros(self._layer.n_post, dtype=np.int64)

    # ---- views ----
    @property
    def o1_config(self) -> OnlineO1Config:
        """The widths and shifts of the synapses' O(1) rule."""
        return self._o1

    @property
    def lif_config(self) -> FixedLIFConfig:
        """The integer LIF neurons' configuration."""
        return self._lif

    @property
    def layer(self) -> OnlineO1Layer:
        """The synapses (an :class:`OnlineO1Layer`; its state is this network's)."""
        return self._layer

    @property
    def n_pre(self) -> int:
        """Number of inputs (columns of :attr:`weights`)."""
        return self._layer.n_pre

    @property
    def n_post(self) -> int:
        """Number of LIF neurons (rows of :attr:`weights`)."""
        return self._layer.n_post

    def reset_lfsr(self) -> None:
        """The stochastic rounding's LFSRs back to their reset states (the core's ``rst``;
        :meth:`OnlineO1Layer.reset_lfsr`)."""
        self._layer.reset_lfsr()

    @property
    def lanes(self) -> int:
        """Update lanes of the core this network stands for (the stochastic rounding's LFSRs; 1 by default)."""
        return self._layer.lanes

    @property
    def membrane(self) -> npt.NDArray[np.int64]:
        """Copy of the membrane potentials ``(n_post,)``, int64."""
        return self._v.copy()

    @property
    def weights(self) -> npt.NDArray[Any]:
        """Copy of the weights ``(n_post, n_pre)``, int64."""
        return self._layer.weights

    @property
    def eligibility(self) -> npt.NDArray[Any]:
        """Copy of the eligibility ``(n_post, n_pre)``, int64."""
        return self._layer.eligibility

    @property
    def pre_traces(self) -> npt.NDArray[Any]:
        """Copy of the pre traces ``(n_pre,)``, int64."""
        return self._layer.pre_traces

    @property
    def post_traces(self) -> npt.NDArray[Any]:
        """Copy of the post traces ``(n_post,)``, int64."""
        return self._layer.post_traces

    # ---- dynamics ----
    def input_current(self, pre_spikes: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """``I_j = sum_i s_i (w_ij - weight_offset)`` with the current weights (exact int64)."""
        s = _layer_spikes("pre_spikes", pre_spikes, self.n_pre)
        idx = np.flatnonzero(s)
        w = self._layer.weights
        return (w[:, idx].astype(np.int64).sum(axis=1) - idx.size * self._lif.weight_offset).astype(np.int64)

    def step(self, pre_spikes: npt.ArrayLike, reward: npt.ArrayLike = 0) -> npt.NDArray[np.bool_]:
        """One closed-loop step (module docstring); returns the post spikes ``(n_post,)``."""
        s = _layer_spikes("pre_spikes", pre_spikes, self.n_pre)
        c = self._lif
        assert c.threshold is not None
        current = self.input_current(s)
        v = self._v
        if c.leak_shift:
            v = v - np.where(v < 0, -((-v) >> c.leak_shift), v >> c.leak_shift)
        v = np.clip(v + current, c.membrane_min, c.membrane_max)
        z = v >= c.threshold
        if c.reset == "zero":
            v = np.where(z, 0, v)
        else:
            v = np.where(z, v - c.threshold, v)
        self._layer.step(s, z, reward)  # checks the reward before anything is committed below
        self._v = v.astype(np.int64)
        return z

    # ---- checkpoints ----
    def state_dict(self) -> dict[str, Any]:
        """The layer's :meth:`~OnlineO1Layer.state_dict` plus ``lif_config`` and ``membrane``."""
        return {**self._layer.state_dict(), "lif_config": self._lif.as_dict(), "membrane": self._v.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; everything is checked before anything is written.

        With ``rounding="stochastic"`` ``lfsr_state`` may be left out (a state read from the core, whose LFSRs
        the host cannot read; they restart at the core's reset): the network's LFSRs then stay as they are."""
        owner = "OnlineO1Network"
        lfsr = ("lfsr_state",) if self._o1.rounding == "stochastic" and "lfsr_state" in state else ()
        st = check_keys(owner, state, ("config", "weight", "eligibility", "pre_trace", "post_trace", "lif_config",
                                       "membrane", *lfsr))
        if not isinstance(st["lif_config"], Mapping):
            raise TypeError(f"{owner} state_dict['lif_config'] must be a dict (FixedLIFConfig.as_dict()), "
                            f"not {type(st['lif_config']).__name__}")
        if dict(st["lif_config"]) != self._lif.as_dict():
            raise ValueError(f"{owner} state_dict['lif_config'] is for another configuration: "
                             f"{dict(st['lif_config'])!r} (this one has {self._lif.as_dict()!r})")
        v = load_array(owner, "membrane", st["membrane"], (self.n_post,), "i", self._lif.membrane_min,
                       self._lif.membrane_max)
        keys = ("config", "weight", "eligibility", "pre_trace", "post_trace")
        layer_state = {k: st[k] for k in keys}
        if self._o1.rounding == "stochastic":
            layer_state["lfsr_state"] = st["lfsr_state"] if lfsr else self._layer.lfsr_state
        self._layer.load_state_dict(layer_state)
        self._v = v

    def __repr__(self) -> str:
        return f"OnlineO1Network({self._o1!r}, {self._lif!r}, n_pre={self.n_pre}, n_post={self.n_post})"
