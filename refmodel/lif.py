"""Batched discrete-time LIF network (the dynamics shared by gradient and local learners).

Inputs are time-first, shape ``(T, batch, n_in)``. With ``alpha = exp(-dt / tau_mem)`` and
``kappa = exp(-dt / tau_out)``::

    v_t = alpha * v_{t-1} + W_in x_t + W_rec z_{t-1} - theta * z_{t-1}   (reset by subtraction)
    z_t = H(v_t - theta)                                                  (pseudo-derivative psi(v_t - theta))
    y_t = kappa * y_{t-1} + W_out z_t                                     (leaky, non-spiking readout)

``v``, ``z`` and ``y`` start at 0. Weights follow ``torch.nn.Linear``: ``w_in`` is ``(n_rec, n_in)``,
``w_rec`` ``(n_rec, n_rec)`` (absent when ``recurrent=False``), ``w_out`` ``(n_out, n_rec)``.
This is the LIF model of Bellec et al. 2020, *A solution to the learning dilemma for recurrent networks of
spiking neurons*, Nat. Commun. 11:3625 (their Eq. 1 with the reset term), without refractoriness.

:func:`lif_step` is the pure step function; :meth:`LIFNetwork.forward` scans it over time.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .surrogates import get_surrogate

Array = npt.NDArray[np.float64]


class LIFParams(NamedTuple):
    alpha: float
    kappa: float
    threshold: float


class LIFState(NamedTuple):
    """State after a step: membrane ``v`` and spikes ``z`` (batch, n_rec), readout ``y`` (batch, n_out)."""

    v: Array
    z: Array
    y: Array


class LIFRecord(NamedTuple):
    """Whole trajectories, time-first: ``v`` and ``z`` (T, batch, n_rec), ``y`` (T, batch, n_out)."""

    v: Array
    z: Array
    y: Array


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, not {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)) or float(value) <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 1, not {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, not {value}")
    return int(value)


def lif_initial_state(batch: int, n_rec: int, n_out: int) -> LIFState:
    return LIFState(np.zeros((batch, n_rec)), np.zeros((batch, n_rec)), np.zeros((batch, n_out)))


def lif_step(
    x_t: Array,
    state: LIFState,
    weights: dict[str, Array],
    params: LIFParams,
    input_current: Array | None = None,
) -> LIFState:
    """One step of the network. ``input_current`` (batch, n_rec), if given, replaces ``W_in x_t``
    (so a caller can scale synaptic input, e.g. by short-term plasticity)."""
    i_in = x_t @ weights["w_in"].T if input_current is None else input_current
    v = params.alpha * state.v + i_in - params.threshold * state.z
    if "w_rec" in weights:
        v = v + state.z @ weights["w_rec"].T
    z = (v > params.threshold).astype(np.float64)
    y = params.kappa * state.y + z @ weights["w_out"].T
    return LIFState(v, z, y)


class LIFNetwork:
    """A recurrent (or feed-forward) LIF layer with a leaky linear readout.

    Parameters are validated: sizes are ints >= 1, time constants, ``dt`` and ``threshold`` finite > 0,
    ``surrogate`` one of :data:`plasticore.refmodel.surrogates.SURROGATES`. Weights are drawn from a seeded
    ``numpy.random.Generator``: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` like ``torch.nn.Linear``, with
    ``w_in`` scaled by ``threshold`` so that inputs can drive spikes, and ``w_rec`` with a zero diagonal.
    ``weights`` is a plain dict of float64 arrays that callers may modify in place.
    """

    def __init__(
        self,
        n_in: int,
        n_rec: int,
        n_out: int,
        *,
        recurrent: bool = True,
        tau_mem: float = 20.0,
        tau_out: float = 20.0,
        dt: float = 1.0,
        threshold: float = 1.0,
        surrogate: str = "fast_sigmoid",
        surrogate_slope: float = 25.0,
        seed: int = 0,
    ) -> None:
        self.n_in = _count("n_in", n_in)
        self.n_rec = _count("n_rec", n_rec)
        self.n_out = _count("n_out", n_out)
        self.recurrent = bool(recurrent)
        self.tau_mem = _positive("tau_mem", tau_mem)
        self.tau_out = _positive("tau_out", tau_out)
        self.dt = _positive("dt", dt)
        self.threshold = _positive("threshold", threshold)
        self.surrogate_name = surrogate
        self.surrogate = get_surrogate(surrogate)
        self.surrogate_slope = _positive("surrogate_slope", surrogate_slope)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, not {seed!r}")
        rng = np.random.default_rng(seed)
        b_in, b_rec = 1.0 / math.sqrt(self.n_in), 1.0 / math.sqrt(self.n_rec)
        self.weights: dict[str, Array] = {
            "w_in": rng.uniform(-b_in, b_in, (self.n_rec, self.n_in)) * self.threshold,
        }
        if self.recurrent:
            w_rec = rng.uniform(-b_rec, b_rec, (self.n_rec, self.n_rec))
            np.fill_diagonal(w_rec, 0.0)
            self.weights["w_rec"] = w_rec
        self.weights["w_out"] = rng.uniform(-b_rec, b_rec, (self.n_out, self.n_rec))

    @property
    def params(self) -> LIFParams:
        return LIFParams(math.exp(-self.dt / self.tau_mem), math.exp(-self.dt / self.tau_out), self.threshold)

    @property
    def alpha(self) -> float:
        return self.params.alpha

    @property
    def kappa(self) -> float:
        return self.params.kappa

    def check_inputs(self, inputs: npt.ArrayLike) -> Array:
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"inputs must have shape (T, batch, {self.n_in}), not {x.shape}")
        return x

    def initial_state(self, batch: int) -> LIFState:
        return lif_initial_state(batch, self.n_rec, self.n_out)

    def forward(
        self,
        inputs: npt.ArrayLike,
        state: LIFState | None = None,
        weights: dict[str, Array] | None = None,
    ) -> tuple[LIFRecord, LIFState]:
        """Run the network over ``inputs`` (T, batch, n_in); returns the trajectories and the final state."""
        x = self.check_inputs(inputs)
        w = self.weights if weights is None else weights
        n_t, batch = x.shape[0], x.shape[1]
        st = self.initial_state(batch) if state is None else state
        p = self.params
        v_rec = np.empty((n_t, batch, self.n_rec))
        z_rec = np.empty((n_t, batch, self.n_rec))
        y_rec = np.empty((n_t, batch, self.n_out))
        i_in = x @ w["w_in"].T  # all input currents at once
        for t in range(n_t):
            st = lif_step(x[t], st, w, p, input_current=i_in[t])
            v_rec[t], z_rec[t], y_rec[t] = st
        return LIFRecord(v_rec, z_rec, y_rec), st


def lif_scan(
    input_currents: Array,
    state: LIFState,
    weights: dict[str, Array],
    params: LIFParams,
) -> tuple[LIFRecord, LIFState]:
    """Scan the dynamics of :func:`lif_step` over a window, given all input currents ``W_in x_t`` at once.

    ``input_currents`` is (T, batch, n_rec). ``v`` and ``z`` follow the operation order of :func:`lif_step`
    (equal to it up to the rounding of the matrix products); the readout drive ``W_out z_t`` is computed for
    the whole window with one matrix product before the leaky filter ``y_t = kappa * y_{t-1} + W_out z_t``.
    Used by the gradient learners, which run the network window by window (truncated BPTT, blocked e-prop).
    """
    n_t, batch, n_rec = input_currents.shape
    w_rec = weights.get("w_rec")
    w_rec_t = None if w_rec is None else np.ascontiguousarray(w_rec.T)  # row-major: faster small GEMMs
    w_out = weights["w_out"]
    alpha, kappa, theta = params
    v_rec = np.empty((n_t, batch, n_rec))
    z_rec = np.empty((n_t, batch, n_rec))
    v, z = state.v, state.z
    for t in range(n_t):
        v = alpha * v + input_currents[t] - theta * z
        if w_rec_t is not None:
            v = v + z @ w_rec_t
        z = (v > theta).astype(np.float64)
        v_rec[t] = v
        z_rec[t] = z
    y_rec = z_rec @ w_out.T
    y = state.y
    for t in range(n_t):
        y = kappa * y + y_rec[t]
        y_rec[t] = y
    return LIFRecord(v_rec, z_rec, y_rec), LIFState(v, z, y)
