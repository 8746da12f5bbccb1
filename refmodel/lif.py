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
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import check_allocation, check_rng
from .surrogates import get_surrogate

Array = npt.NDArray[np.float64]


class LIFParams(NamedTuple):
    """Per-step constants: ``alpha = exp(-dt/tau_mem)``, ``kappa = exp(-dt/tau_out)`` and the ``threshold``."""

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
    """``value`` as a float if it is a finite number > 0; a named error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, not {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)) or float(value) <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
    return float(value)


def _count(name: str, value: int) -> int:
    """``value`` if it is an int >= 1; a named error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 1, not {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, not {value}")
    return int(value)


def lif_initial_state(batch: int, n_rec: int, n_out: int) -> LIFState:
    """``v = z = 0`` (batch, n_rec) and ``y = 0`` (batch, n_out): the network at rest."""
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
    ``numpy.random.Generator`` (``seed``: an int >= 0 or a Generator, which is then used and advanced):
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` like ``torch.nn.Linear``, with ``w_in`` scaled by ``threshold``
    so that inputs can drive spikes, and ``w_rec`` with a zero diagonal. ``weights`` is a plain dict of
    float64 arrays ``(n_post, n_pre)`` that callers may modify in place; :meth:`state_dict` /
    :meth:`load_state_dict` checkpoint them. Sizes whose weights would not fit into memory are a
    ``ValueError`` before anything is allocated.
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
        seed: int | np.random.Generator = 0,
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
        rng = check_rng("seed", seed)
        n_weights = self.n_rec * self.n_in + self.n_out * self.n_rec + (self.n_rec**2 if self.recurrent else 0)
        check_allocation(f"a LIFNetwork with n_in={self.n_in}, n_rec={self.n_rec}, n_out={self.n_out}",
                         8 * n_weights)
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
        """The per-step constants of :func:`lif_step`."""
        return LIFParams(math.exp(-self.dt / self.tau_mem), math.exp(-self.dt / self.tau_out), self.threshold)

    @property
    def alpha(self) -> float:
        """Membrane decay per step, ``exp(-dt/tau_mem)``."""
        return self.params.alpha

    @property
    def kappa(self) -> float:
        """Readout decay per step, ``exp(-dt/tau_out)``."""
        return self.params.kappa

    def weight_shapes(self) -> dict[str, tuple[int, int]]:
        """The key and shape of every weight matrix: ``w_in``, (``w_rec``), ``w_out``."""
        shapes = {"w_in": (self.n_rec, self.n_in)}
        if self.recurrent:
            shapes["w_rec"] = (self.n_rec, self.n_rec)
        shapes["w_out"] = (self.n_out, self.n_rec)
        return shapes

    def check_inputs(self, inputs: npt.ArrayLike) -> Array:
        """``inputs`` as a float64 array of shape (T, batch, n_in); ``ValueError`` naming the shape otherwise."""
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"inputs must have shape (T, batch, {self.n_in}), not {x.shape}")
        return x

    def initial_state(self, batch: int) -> LIFState:
        """The state at rest for ``batch`` samples (:func:`lif_initial_state`)."""
        return lif_initial_state(_count("batch", batch), self.n_rec, self.n_out)

    def check_state(self, state: object, batch: int) -> LIFState:
        """``state`` if it is a :class:`LIFState` for ``batch`` samples of this network; a named error otherwise."""
        if not isinstance(state, LIFState):
            raise TypeError(f"state must be a LIFState, not {type(state).__name__}")
        for name, n in (("v", self.n_rec), ("z", self.n_rec), ("y", self.n_out)):
            shape = np.shape(getattr(state, name))
            if shape != (batch, n):
                raise ValueError(f"state.{name} must have shape (batch, {n}) = ({batch}, {n}) for inputs with "
                                 f"batch {batch}, not {shape}")
        return state

    def state_dict(self) -> dict[str, Array]:
        """Copies of the weights, ``{"w_in", ("w_rec",) "w_out"}`` (the network's only learned state)."""
        return {k: np.array(v, dtype=np.float64, copy=True) for k, v in self.weights.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy :meth:`state_dict` output into :attr:`weights` (in place, so optimizers keep their references).

        Exactly the keys of :meth:`state_dict`, each a float64 array of the right shape; checked first.
        """
        shapes = self.weight_shapes()
        st = check_keys("LIFNetwork", state, shapes)
        new = {k: load_array("LIFNetwork", k, st[k], shape, "f") for k, shape in shapes.items()}
        for k, v in new.items():
            w = self.weights.get(k)
            if isinstance(w, np.ndarray) and w.shape == v.shape and w.dtype == np.float64:
                w[...] = v
            else:
                self.weights[k] = v

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
        st = self.initial_state(batch) if state is None else self.check_state(state, batch)
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
