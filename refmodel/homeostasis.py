"""Homeostatic synaptic scaling (Turrigiano 2008).

Each neuron ``j`` estimates its firing rate from its own spikes with an exponential window and scales all
its incoming *excitatory* weights by one common factor that pulls the rate toward a target (Turrigiano 2008,
*The self-tuning neuron: synaptic scaling of excitatory synapses*, Cell 135:422; the multiplicative rule of
van Rossum, Bi & Turrigiano 2000, J. Neurosci. 20:8812). With ``d_r = exp(-dt/tau_rate)``:

.. math::

    \\hat r_j &\\leftarrow d_r\\, \\hat r_j + (1 - d_r)\\, \\frac{1000\\, z_j}{dt}
        \\qquad (\\text{Hz; } dt \\text{ in ms})                                          \\\\
    \\Delta w_{ji} &= w_{ji}\\Big(\\exp\\Big[\\frac{dt}{\\tau_{scale}}
        \\Big(1 - \\frac{\\hat r_j}{r_{target}}\\Big)\\Big] - 1\\Big) \\quad\\text{for excitatory } w_{ji} > 0

i.e. the exact step of ``dw/dt = w (1 - r_hat / r_target) / tau_scale`` with ``r_hat`` held over the step,
then clipped to ``w_max``. All excitatory weights of a neuron share the factor, so their ratios are
preserved exactly (until ``w_max``); inhibitory (``<= 0``) weights are untouched; a silent neuron
(``r_hat -> 0``) grows by ``exp(dt/tau_scale)`` per step. ``tau_scale >> tau_rate`` keeps the loop stable.
Weights are ``(n_post, n_pre)`` like ``w_in`` of :class:`plasticore.refmodel.lif.LIFNetwork`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import check_array, check_count, check_instance, check_real, check_rng, check_spikes
from .lif import LIFNetwork, lif_step

__all__ = [
    "HomeostasisParams",
    "HomeostasisState",
    "HomeostaticPlasticity",
    "ScalingRun",
    "homeostasis_experiment",
    "homeostasis_initial_state",
    "homeostasis_step",
]

Array = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, slots=True)
class HomeostasisParams:
    """``target_rate`` (Hz) > 0; ``tau_rate``, ``tau_scale`` (ms) > 0 with ``tau_scale >= tau_rate``;
    ``w_max`` > 0 (may be ``inf``); ``dt`` (ms) > 0 with ``dt <= tau_rate``."""

    target_rate: float = 10.0
    tau_rate: float = 1000.0
    tau_scale: float = 20_000.0
    w_max: float = math.inf
    dt: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_rate", check_real("target_rate", self.target_rate, 0.0, None, lo_open=True))
        object.__setattr__(self, "dt", check_real("dt", self.dt, 0.0, None, lo_open=True))
        object.__setattr__(self, "tau_rate", check_real("tau_rate", self.tau_rate, self.dt, None))
        object.__setattr__(self, "tau_scale", check_real("tau_scale", self.tau_scale, self.tau_rate, None))
        object.__setattr__(self, "w_max", check_real("w_max", self.w_max, 0.0, None, lo_open=True, allow_inf=True))


class HomeostasisState(NamedTuple):
    """Rate estimate per neuron (Hz), shape (n_post,)."""

    rate: Array


def homeostasis_initial_state(n_post: int, params: HomeostasisParams) -> HomeostasisState:
    """Start the estimate at the target (no scaling until the neuron's own spikes say otherwise)."""
    n = check_count("n_post", n_post)
    return HomeostasisState(np.full(n, check_instance("params", params, HomeostasisParams).target_rate))


def homeostasis_step(
    post_spikes: npt.NDArray[np.bool_], weights: Array, state: HomeostasisState, params: HomeostasisParams
) -> tuple[Array, HomeostasisState]:
    """One step (module docstring); returns ``(dw, new_state)``, ``dw`` zero for non-excitatory weights.

    ``post_spikes`` (n_post,) booleans or 0/1, ``weights`` (n_post, n_pre), ``state.rate`` (n_post,).
    """
    if not isinstance(params, HomeostasisParams):
        raise TypeError(f"params must be a HomeostasisParams, not {type(params).__name__}")
    n_post = state.rate.shape[0]
    if not (isinstance(post_spikes, np.ndarray) and post_spikes.dtype == np.bool_ and post_spikes.shape == (n_post,)):
        post_spikes = check_spikes("post_spikes", post_spikes, (n_post,))
    if np.ndim(weights) != 2 or np.shape(weights)[0] != n_post:
        raise ValueError(f"weights must have shape ({n_post}, n_pre), not {np.shape(weights)}")
    d = math.exp(-params.dt / params.tau_rate)
    rate = d * state.rate + (1.0 - d) * (1000.0 / params.dt) * post_spikes
    gain = np.exp(params.dt / params.tau_scale * (1.0 - rate / params.target_rate))
    exc = weights > 0
    new_w = np.where(exc, np.minimum(weights * gain[:, None], params.w_max), weights)
    return new_w - weights, HomeostasisState(rate)


class HomeostaticPlasticity:
    """Holds :class:`HomeostasisParams` and :class:`HomeostasisState` for ``n_post`` neurons.

    :meth:`step` returns ``dw``; the rule never writes weights (apply it through
    :meth:`~plasticore.refmodel.optimizers.Optimizer.apply_delta`, or ``w += dw``). :meth:`state_dict` /
    :meth:`load_state_dict` checkpoint the rate estimates.
    """

    __slots__ = ("n_post", "params", "state")

    def __init__(self, n_post: int, params: HomeostasisParams | None = None) -> None:
        self.n_post = check_count("n_post", n_post)
        self.params = params if params is not None else HomeostasisParams()
        if not isinstance(self.params, HomeostasisParams):
            raise TypeError(f"params must be a HomeostasisParams, not {type(self.params).__name__}")
        self.state = homeostasis_initial_state(self.n_post, self.params)

    def reset(self) -> None:
        """Rate estimates back to the target."""
        self.state = homeostasis_initial_state(self.n_post, self.params)

    def state_dict(self) -> dict[str, Array]:
        """``{"rate": copy of the rate estimates (Hz), (n_post,)}``."""
        return {"rate": np.array(self.state.rate, dtype=np.float64, copy=True)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (a float64 ``(n_post,)`` array of rates >= 0)."""
        st = check_keys("HomeostaticPlasticity", state, ("rate",))
        rate = load_array("HomeostaticPlasticity", "rate", st["rate"], (self.n_post,), "f", 0.0, math.inf)
        self.state = HomeostasisState(rate)

    def step(self, post_spikes: npt.ArrayLike, weights: Array) -> Array:
        """Advance one step with this step's spikes of the ``n_post`` neurons; returns ``dw``."""
        z = check_spikes("post_spikes", post_spikes, (self.n_post,))
        w = check_array("weights", weights, (self.n_post, "n_pre"))
        dw, self.state = homeostasis_step(z, w, self.state, self.params)
        return dw


class ScalingRun(NamedTuple):
    """Outcome of :func:`homeostasis_experiment`."""

    w0: Array  # initial w_in (n_rec, n_in)
    w: Array  # final w_in
    spikes: Array  # (T, n_rec) real spikes of the LIF neurons
    target_rate: float


def homeostasis_experiment(
    seconds: float, *, seed: int | np.random.Generator = 0, target_rate: float = 20.0, tau_scale: float = 10_000.0
) -> ScalingRun:
    """Synaptic scaling in the shared LIF network from a perturbed start.

    20 feed-forward LIF neurons (``tau_mem`` 20 ms) receive 100 Poisson inputs at 10 Hz; inputs 0..9 are
    inhibitory (``w = -0.05``, never scaled), the excitatory weights ``U(0.03, 0.09)`` are multiplied per
    neuron by factors from 0.2 to 3 (geometric), so neurons start between silent and about twice the
    target. :func:`homeostasis_step` (``tau_rate`` 1 s) runs every step on the neurons' real spikes.
    ``seed`` is an int >= 0 or a ``numpy.random.Generator`` (used and advanced).
    """
    dur = check_real("seconds", seconds, 0.001, None)  # at least one 1 ms step
    rng = check_rng("seed", seed)
    n_in, n_rec = 100, 20
    net = LIFNetwork(n_in, n_rec, 1, recurrent=False, tau_mem=20.0,
                     seed=seed if isinstance(seed, np.random.Generator) else int(seed))
    w = rng.uniform(0.5, 1.5, (n_rec, n_in)) * 0.06
    w[:, :10] = -0.05
    w[:, 10:] *= np.geomspace(0.2, 3.0, n_rec)[:, None]
    w0 = w.copy()
    weights = {"w_in": w, "w_out": np.zeros((1, n_rec))}
    params = HomeostasisParams(target_rate=target_rate, tau_rate=1000.0, tau_scale=tau_scale)
    state = homeostasis_initial_state(n_rec, params)
    n_t = round(dur * 1000.0)
    x = rng.random((n_t, n_in)) < 10.0 / 1000.0
    z = np.zeros((n_t, n_rec))
    st, p = net.initial_state(1), net.params
    for t in range(n_t):
        st = lif_step(x[t][None], st, weights, p)
        z[t] = st.z[0]
        dw, state = homeostasis_step(st.z[0] > 0, w, state, params)
        w += dw
    return ScalingRun(w0, w.copy(), z, params.target_rate)
