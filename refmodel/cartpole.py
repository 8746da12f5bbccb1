"""The cart-pole balancing task in NumPy, and a small spiking (LIF) policy whose weights come from a genome.

**Dynamics** (Barto, Sutton & Anderson 1983, *Neuronlike adaptive elements that can solve difficult learning
control problems*, IEEE SMC 13:834, with the frictionless equations of Florian 2007, *Correct equations for the
dynamics of the cart-pole system*; the constants and the explicit Euler step of gym's ``CartPole-v1``). With cart
mass ``m_c``, pole mass ``m_p``, half pole length ``l``, total mass ``M = m_c + m_p`` and the applied force
``F = +force`` for action 1 and ``-force`` for action 0:

.. math::

    \\text{temp} = \\frac{F + m_p l \\dot\\theta^2 \\sin\\theta}{M}, \\qquad
    \\ddot\\theta = \\frac{g \\sin\\theta - \\cos\\theta \\; \\text{temp}}
                        {l \\left(\\frac{4}{3} - \\frac{m_p \\cos^2\\theta}{M}\\right)}, \\qquad
    \\ddot x = \\text{temp} - \\frac{m_p l \\ddot\\theta \\cos\\theta}{M}

    x \\leftarrow x + \\tau \\dot x, \\quad \\dot x \\leftarrow \\dot x + \\tau \\ddot x, \\quad
    \\theta \\leftarrow \\theta + \\tau \\dot\\theta, \\quad \\dot\\theta \\leftarrow \\dot\\theta + \\tau \\ddot\\theta

(every update uses the old state, as gym does). ``g = 9.8``, ``m_c = 1.0``, ``m_p = 0.1``, ``l = 0.5``,
``force = 10``, ``tau = 0.02`` s. An episode starts from ``U(-0.05, 0.05)^4`` and ends when ``|x| > 2.4`` or
``|theta| > 12 deg`` (``12 * 2 pi / 360`` rad) or after ``max_steps`` (500, ``CartPole-v1``) steps; its return
is the number of steps taken, the terminating one included (gym's reward of 1 per step).

**Policy**: a feed-forward :class:`~plasticore.refmodel.lif.LIFNetwork` (``w_in`` ``(n_rec, 9)``, ``w_out``
``(2, n_rec)``, :func:`~plasticore.refmodel.lif.lif_step`). The observation ``o`` is scaled by
``OBS_SCALE = (2.4, 2, 0.21, 2)`` and split into ``max(o/s, 0)`` and ``max(-o/s, 0)`` channels, plus a
constant bias channel 1: 9 input currents, shown for ``substeps`` network steps per cart-pole step; the
network state carries over between cart-pole steps. The action is ``1`` if the readout ``y_1 > y_0`` after
the substeps, else ``0``. :class:`CartPoleFitness` is the picklable fitness ``(genome, seed) -> mean return``
used by :mod:`plasticore.refmodel.neuroevolution`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ._validate import check_array, check_count, check_real, check_seed
from .lif import LIFNetwork, LIFParams, LIFState, lif_initial_state, lif_step

Array = npt.NDArray[np.float64]

__all__ = [
    "OBS_SCALE",
    "CartPoleFitness",
    "CartPoleParams",
    "cartpole_done",
    "cartpole_episode",
    "cartpole_initial_state",
    "cartpole_step",
    "encode_observation",
    "policy_network",
]

OBS_SCALE = np.array([2.4, 2.0, 0.21, 2.0])
"""Scale of the observation ``(x, x_dot, theta, theta_dot)`` before the on/off split of the policy input."""


@dataclass(frozen=True, slots=True)
class CartPoleParams:
    """The constants of gym's ``CartPole-v1`` (SI units; ``length`` is half the pole's length)."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5
    force_mag: float = 10.0
    tau: float = 0.02
    theta_threshold: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4


class _Accel(NamedTuple):
    xacc: Array
    thetaacc: Array


def _accelerations(state: Array, action: npt.NDArray[np.int64], p: CartPoleParams) -> _Accel:
    _, _, theta, theta_dot = state.T
    force = np.where(action == 1, p.force_mag, -p.force_mag)
    cos, sin = np.cos(theta), np.sin(theta)
    total_mass = p.masspole + p.masscart
    polemass_length = p.masspole * p.length
    temp = (force + polemass_length * theta_dot**2 * sin) / total_mass
    thetaacc = (p.gravity * sin - cos * temp) / (p.length * (4.0 / 3.0 - p.masspole * cos**2 / total_mass))
    xacc = temp - polemass_length * thetaacc * cos / total_mass
    return _Accel(xacc, thetaacc)


def cartpole_step(state: Array, action: npt.ArrayLike, params: CartPoleParams | None = None) -> Array:
    """One explicit Euler step (module docstring) for a batch: ``state`` ``(batch, 4)`` =
    ``(x, x_dot, theta, theta_dot)``, ``action`` ``(batch,)`` of 0/1. Returns the new state (a new array)."""
    p = CartPoleParams() if params is None else params
    s = check_array("state", state, (None, 4))
    a = np.asarray(action)
    if a.shape != (s.shape[0],) or a.dtype.kind not in "biu" or np.any((a != 0) & (a != 1)):
        raise ValueError(f"action must be {s.shape[0]} integers 0 or 1, not {a!r}")
    acc = _accelerations(s, a.astype(np.int64), p)
    x, x_dot, theta, theta_dot = s.T
    return np.stack([x + p.tau * x_dot, x_dot + p.tau * acc.xacc,
                     theta + p.tau * theta_dot, theta_dot + p.tau * acc.thetaacc], axis=1)


def cartpole_done(state: Array, params: CartPoleParams | None = None) -> npt.NDArray[np.bool_]:
    """``|x| > x_threshold or |theta| > theta_threshold`` per row of ``state`` ``(batch, 4)``."""
    p = CartPoleParams() if params is None else params
    return (np.abs(state[:, 0]) > p.x_threshold) | (np.abs(state[:, 2]) > p.theta_threshold)


def cartpole_initial_state(rng: np.random.Generator, batch: int) -> Array:
    """``batch`` start states drawn from ``U(-0.05, 0.05)^4`` (gym's reset)."""
    return rng.uniform(-0.05, 0.05, (check_count("batch", batch), 4))


def encode_observation(state: Array) -> Array:
    """Policy input ``(batch, 9)``: ``[max(o/s, 0), max(-o/s, 0), 1]`` with ``s = OBS_SCALE``."""
    o = state / OBS_SCALE
    return np.concatenate([np.maximum(o, 0.0), np.maximum(-o, 0.0), np.ones((state.shape[0], 1))], axis=1)


N_INPUTS = 9


def policy_network(n_rec: int = 4, *, seed: int | np.random.Generator = 0, tau_mem: float = 10.0,
                   tau_out: float = 5.0) -> LIFNetwork:
    """The policy: a feed-forward :class:`LIFNetwork` ``9 -> n_rec -> 2`` (its weights are the genome)."""
    return LIFNetwork(N_INPUTS, n_rec, 2, recurrent=False, tau_mem=tau_mem, tau_out=tau_out, seed=seed)


def cartpole_episode(
    weights: Mapping[str, Array],
    lif: LIFParams,
    start: Array,
    *,
    max_steps: int = 500,
    substeps: int = 2,
    params: CartPoleParams | None = None,
) -> npt.NDArray[np.int64]:
    """Run the spiking policy ``weights`` from the start states ``start`` ``(batch, 4)`` (independent
    episodes side by side); returns each episode's return (steps taken, the terminating one included)."""
    p = CartPoleParams() if params is None else params
    s = check_array("start", start, (None, 4)).copy()
    batch = s.shape[0]
    n_rec, n_out = weights["w_in"].shape[0], weights["w_out"].shape[0]
    st: LIFState = lif_initial_state(batch, n_rec, n_out)
    alive = np.ones(batch, dtype=bool)
    steps = np.zeros(batch, dtype=np.int64)
    w = dict(weights)
    w_in_t = w["w_in"].T
    for _ in range(max_steps):
        current = encode_observation(s) @ w_in_t
        for _ in range(substeps):
            st = lif_step(s, st, w, lif, input_current=current)
        action = (st.y[:, 1] > st.y[:, 0]).astype(np.int64)
        s = cartpole_step(s, action, p)
        steps += alive
        alive &= ~cartpole_done(s, p)
        if not alive.any():
            break
    return steps


class CartPoleFitness:
    """Fitness of a genome on cart-pole: the mean return over ``n_episodes`` episodes whose start states come
    from ``numpy.random.default_rng(seed)`` (the per-genome seed the evolver draws), in ``[1, max_steps]``.

    The genome is the flattened weights of :func:`policy_network` ``(n_rec)`` (``w_in`` then ``w_out``, row
    major: :func:`plasticore.refmodel.neuroevolution.flatten_weights`). Picklable (plain attributes), so it can
    be sent to worker processes and Dask workers. ``fixed_seed`` (an int >= 0), if given, replaces the
    per-genome seed: every genome is then scored on the same episodes (common random numbers).
    """

    def __init__(self, n_rec: int = 4, *, n_episodes: int = 3, max_steps: int = 500, substeps: int = 2,
                 tau_mem: float = 10.0, tau_out: float = 5.0, fixed_seed: int | None = None) -> None:
        self.n_rec = check_count("n_rec", n_rec, 1)
        self.n_episodes = check_count("n_episodes", n_episodes, 1)
        self.max_steps = check_count("max_steps", max_steps, 1)
        self.substeps = check_count("substeps", substeps, 1)
        self.tau_mem = check_real("tau_mem", tau_mem, 0.0, None, lo_open=True)
        self.tau_out = check_real("tau_out", tau_out, 0.0, None, lo_open=True)
        self.fixed_seed = None if fixed_seed is None else check_seed("fixed_seed", fixed_seed)
        self.shapes = {"w_in": (self.n_rec, N_INPUTS), "w_out": (2, self.n_rec)}
        self.size = sum(a * b for a, b in self.shapes.values())
        self.lif = LIFParams(math.exp(-1.0 / self.tau_mem), math.exp(-1.0 / self.tau_out), 1.0)

    def network(self, seed: int | np.random.Generator = 0) -> LIFNetwork:
        """A fresh policy network of this task's shape (the factory of the evolvers)."""
        return policy_network(self.n_rec, seed=seed, tau_mem=self.tau_mem, tau_out=self.tau_out)

    def weights(self, genome: Array) -> dict[str, Array]:
        """The weights dict of ``genome`` (``w_in`` then ``w_out``, row major)."""
        g = check_array("genome", genome, (self.size,))
        n_in = self.n_rec * N_INPUTS
        return {"w_in": g[:n_in].reshape(self.shapes["w_in"]), "w_out": g[n_in:].reshape(self.shapes["w_out"])}

    def returns(self, genome: Array, seed: int) -> npt.NDArray[np.int64]:
        """The return of every episode for ``genome`` with the start states of ``seed``."""
        s = self.fixed_seed if self.fixed_seed is not None else check_seed("seed", seed)
        start = cartpole_initial_state(np.random.default_rng(s), self.n_episodes)
        return cartpole_episode(self.weights(genome), self.lif, start, max_steps=self.max_steps,
                                substeps=self.substeps)

    def __call__(self, genome: Array, seed: int) -> float:
        """Mean return over the episodes (the fitness, maximised)."""
        return float(np.mean(self.returns(genome, seed)))
