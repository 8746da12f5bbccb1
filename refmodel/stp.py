"""Short-term synaptic plasticity: the Tsodyks-Markram model in the form of NEST's ``tsodyks2_synapse``.

Each presynaptic neuron carries a utilization ``u`` (facilitation) and a fraction of available resources
``x`` (depression). Between spikes they relax exponentially; with the exact per-step factors
``f_f = exp(-dt / tau_f)`` (``0`` when ``tau_f = 0``) and ``f_d = exp(-dt / tau_d)``, one step is

.. math::

    u &\\leftarrow f_f\\, u, \\qquad x \\leftarrow 1 - f_d\\,(1 - x)            \\\\
    \\text{at a spike:}\\quad u &\\leftarrow u + U (1 - u), \\qquad
    r = u\\, x, \\qquad x \\leftarrow x - r

with ``U = u_se`` and release ``r = 0`` when there is no spike. The state starts at ``u = 0, x = 1``,
so the first spike releases ``U``. This is the model of Markram, Wang & Tsodyks (1998), *Differential
signaling via the same axon of neocortical pyramidal neurons*, PNAS 95:5323, with the update order of
NEST's ``tsodyks2_synapse`` (Tsodyks, Uziel & Markram 2000 / Fuhrmann et al. 2002 notation).

For a regular train with inter-spike interval ``Delta`` (``a = exp(-Delta/tau_f)``,
``b = exp(-Delta/tau_d)``) the steady state right after each spike's facilitation step is

.. math::

    u^* = \\frac{U}{1 - (1 - U)\\, a}, \\qquad
    x^*_- = \\frac{1 - b}{1 - (1 - u^*)\\, b}, \\qquad r^* = u^* x^*_-

(:func:`stp_steady_state`), where ``x^*_-`` is the resource just before a spike.

:func:`stp_step` is the pure step; :class:`ShortTermPlasticity` holds params and state;
:func:`run_lif_with_stp` feeds STP-scaled inputs into the shared LIF network (:mod:`.lif`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import check_array, check_count, check_instance, check_real, check_spikes
from .lif import LIFNetwork, LIFRecord, LIFState, lif_step

__all__ = [
    "STPParams",
    "STPState",
    "ShortTermPlasticity",
    "run_lif_with_stp",
    "stp_event_releases",
    "stp_initial_state",
    "stp_steady_state",
    "stp_step",
]

Array = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, slots=True)
class STPParams:
    """Parameters of the tsodyks2 model (times in ms).

    ``u_se`` in (0, 1]; ``tau_d`` (recovery) > 0; ``tau_f`` (facilitation) >= 0, 0 meaning no
    facilitation (``u`` returns to 0 within one step); ``dt`` > 0.
    """

    u_se: float = 0.2
    tau_d: float = 200.0
    tau_f: float = 600.0
    dt: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "u_se", check_real("u_se", self.u_se, 0.0, 1.0, lo_open=True))
        object.__setattr__(self, "tau_d", check_real("tau_d", self.tau_d, 0.0, None, lo_open=True))
        object.__setattr__(self, "tau_f", check_real("tau_f", self.tau_f, 0.0, None))
        object.__setattr__(self, "dt", check_real("dt", self.dt, 0.0, None, lo_open=True))

    @property
    def decay_f(self) -> float:
        """``exp(-dt / tau_f)``, 0 for ``tau_f = 0``."""
        return _decay(self.dt, self.tau_f)

    @property
    def decay_d(self) -> float:
        """``exp(-dt / tau_d)``."""
        return _decay(self.dt, self.tau_d)


def _decay(h: float, tau: float) -> float:
    """``exp(-h / tau)``; exactly 0 for ``tau = 0`` or when it underflows (``h > 745 tau``)."""
    return 0.0 if tau <= 0.0 or h > 745.0 * tau else math.exp(-h / tau)


class STPState(NamedTuple):
    """Utilization ``u`` and available resources ``x``, one entry per presynaptic neuron."""

    u: Array
    x: Array


def _shape(value: object) -> tuple[int, ...]:
    """``shape`` as a tuple of ints >= 1 (an int ``n`` means ``(n,)``)."""
    if isinstance(value, tuple):
        return tuple(check_count(f"shape[{k}]", n) for k, n in enumerate(value))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"shape must be an int >= 1 or a tuple of them, not {type(value).__name__} {value!r}")
    return (check_count("shape", value),)


def stp_initial_state(shape: int | tuple[int, ...]) -> STPState:
    """``u = 0``, ``x = 1``; ``shape`` an int >= 1 or a tuple of them."""
    shp = _shape(shape)
    return STPState(np.zeros(shp), np.ones(shp))


def stp_step(pre_spikes: npt.ArrayLike, state: STPState, params: STPParams) -> tuple[Array, STPState]:
    """One step of the tsodyks2 model; returns ``(release, new_state)`` (release 0 where no spike).

    ``pre_spikes`` are booleans or 0/1 of the state's shape.
    """
    if not isinstance(params, STPParams):
        raise TypeError(f"params must be an STPParams, not {type(params).__name__}")
    s = pre_spikes
    if not (isinstance(s, np.ndarray) and s.dtype == np.bool_ and s.shape == state.u.shape):
        s = check_spikes("pre_spikes", s, state.u.shape)
    u = state.u * params.decay_f
    x = 1.0 - (1.0 - state.x) * params.decay_d
    u = np.where(s, u + params.u_se * (1.0 - u), u)
    release = np.where(s, u * x, 0.0)
    x = x - release
    return release, STPState(u, x)


def stp_steady_state(u_se: float, tau_d: float, tau_f: float, interval: float) -> tuple[float, float, float]:
    """Closed-form steady state ``(u*, x*_-, r*)`` for a regular train with spacing ``interval`` ms.

    Derived from the fixed point of the spike-to-spike map: ``u* = a u* + U (1 - a u*)`` and
    ``x*_- = 1 - b (1 - x*_- (1 - u*))`` with ``a = exp(-interval/tau_f)``, ``b = exp(-interval/tau_d)``.
    """
    p = STPParams(u_se, tau_d, tau_f, 1.0)
    delta = check_real("interval", interval, 0.0, None, lo_open=True)
    a, b = _decay(delta, p.tau_f), _decay(delta, p.tau_d)
    u_star = p.u_se / (1.0 - (1.0 - p.u_se) * a)
    x_star = (1.0 - b) / (1.0 - (1.0 - u_star) * b)
    return u_star, x_star, u_star * x_star


def stp_event_releases(spike_times: npt.ArrayLike, params: STPParams) -> Array:
    """Release at each spike by the event-driven spike-to-spike map (as NEST evaluates it).

    For spike times ``t_k`` (ms, increasing) with ``h = t_k - t_{k-1}``:
    ``u <- u e^{-h/tau_f}``, ``x <- 1 - (1 - x) e^{-h/tau_d}``, ``u <- u + U(1 - u)``, ``r_k = u x``,
    ``x <- x - r_k``. An independent reference for the per-step :func:`stp_step`.
    """
    params = check_instance("params", params, STPParams)
    t = check_array("spike_times", spike_times, (None,))
    if t.size > 1 and np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"spike_times must be strictly increasing, not {float(t[k])!r} then {float(t[k + 1])!r} "
                         f"at index {k + 1}")
    out = np.empty(t.shape)
    u, x, last = 0.0, 1.0, None
    for k, tk in enumerate(t):
        if last is not None:
            h = float(tk - last)
            u *= _decay(h, params.tau_f)
            x = 1.0 - (1.0 - x) * _decay(h, params.tau_d)
        u += params.u_se * (1.0 - u)
        out[k] = u * x
        x -= out[k]
        last = tk
    return out


class ShortTermPlasticity:
    """Stateful tsodyks2 short-term plasticity for ``n`` presynaptic neurons (or any array shape).

    :meth:`step` advances one step (:meth:`update` is the seed's name for it); :meth:`state_dict` /
    :meth:`load_state_dict` checkpoint ``u`` and ``x``.

    >>> stp = ShortTermPlasticity(u_se=0.5, tau_d=800.0, tau_f=0.0)
    >>> float(stp.step([True])[0])
    0.5
    """

    __slots__ = ("params", "state")

    def __init__(
        self,
        u_se: float = 0.2,
        tau_d: float = 200.0,
        tau_f: float = 600.0,
        dt: float = 1.0,
        shape: int | tuple[int, ...] = 1,
    ) -> None:
        self.params = STPParams(u_se, tau_d, tau_f, dt)
        self.state = stp_initial_state(shape)

    def reset(self) -> None:
        """Back to ``u = 0``, ``x = 1``."""
        self.state = stp_initial_state(self.state.u.shape)

    def step(self, pre_spikes: npt.ArrayLike) -> Array:
        """Advance one step with the boolean/0-1 spike array ``pre_spikes``; returns the release ``u x``."""
        s = check_spikes("pre_spikes", pre_spikes, self.state.u.shape)
        release, self.state = stp_step(s, self.state, self.params)
        return release

    def update(self, pre_spikes: npt.ArrayLike) -> Array:
        """The seed's name for :meth:`step` (same arguments, same result)."""
        return self.step(pre_spikes)

    def state_dict(self) -> dict[str, Array]:
        """``{"u", "x"}``: copies of utilization and available resources."""
        return {"u": self.state.u.copy(), "x": self.state.x.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (float64 arrays of the state's shape, values in [0, 1])."""
        st = check_keys("ShortTermPlasticity", state, ("u", "x"))
        shape = self.state.u.shape
        self.state = STPState(*(load_array("ShortTermPlasticity", k, st[k], shape, "f", 0.0, 1.0) for k in "ux"))


def run_lif_with_stp(
    network: LIFNetwork,
    inputs: npt.ArrayLike,
    params: STPParams,
    *,
    gain: float = 1.0,
) -> tuple[LIFRecord, Array]:
    """Run ``network`` with every input synapse scaled by its presynaptic neuron's STP release.

    The input current is ``I_t = gain * W_in (r_t)`` with ``r_t`` the release of each input neuron
    (``u x`` at its spikes, 0 otherwise), passed to :func:`lif_step` as ``input_current``. With
    ``gain = 1 / u_se`` a fresh synapse transmits exactly its weight. ``inputs`` are real spikes
    (T, batch, n_in); returns the network record and the releases (T, batch, n_in).
    """
    check_instance("network", network, LIFNetwork)
    check_instance("params", params, STPParams)
    x = network.check_inputs(check_array("inputs", inputs))
    spikes = check_spikes("inputs", x, x.shape)
    g = check_real("gain", gain, 0.0, None, lo_open=True)
    n_t, batch = x.shape[0], x.shape[1]
    st: LIFState = network.initial_state(batch)
    stp_state = stp_initial_state((batch, network.n_in))
    p = network.params
    rel = np.empty_like(x)
    v_rec = np.empty((n_t, batch, network.n_rec))
    z_rec = np.empty_like(v_rec)
    y_rec = np.empty((n_t, batch, network.n_out))
    w = network.weights
    for t in range(n_t):
        rel[t], stp_state = stp_step(spikes[t], stp_state, params)
        st = lif_step(x[t], st, w, p, input_current=g * rel[t] @ w["w_in"].T)
        v_rec[t], z_rec[t], y_rec[t] = st
    return LIFRecord(v_rec, z_rec, y_rec), rel
