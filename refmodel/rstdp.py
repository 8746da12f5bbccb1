"""Reward-modulated STDP (three-factor rule) in floating point.

Pair-based STDP with traces feeds a decaying eligibility; a reward (or a dopamine trace) gates its
transfer to the weight (Izhikevich 2007, *Solving the distal reward problem through linkage of STDP and
dopamine signaling*, Cereb. Cortex 17:2443; Florian 2007, *Reinforcement learning through modulation of
spike-timing-dependent synaptic plasticity*, Neural Comput. 19:1468). Weights and eligibility are
``(n_post, n_pre)`` like ``w_in`` of :class:`plasticore.refmodel.lif.LIFNetwork`.

With ``d_+ = exp(-dt/tau_+)``, ``d_- = exp(-dt/tau_-)``, ``d_e = exp(-dt/tau_e)``,
``d_da = exp(-dt/tau_da)`` and spikes ``s^pre_i, s^post_j`` in {0, 1}, one step is

.. math::

    x_i &\\leftarrow d_+ x_i + s^{pre}_i, \\qquad y_j \\leftarrow d_- y_j + s^{post}_j
        && \\text{(ALL\\_TO\\_ALL traces)}                                           \\\\
    e_{ji} &\\leftarrow \\mathrm{clip}\\big(d_e e_{ji} + A_+ s^{post}_j\\, \\hat x_i
        - A_- \\hat y_j\\, s^{pre}_i,\\; e_{min}, e_{max}\\big)                       \\\\
    m_j &= r_j \\;\\text{(REWARD)} \\quad\\text{or}\\quad m_j \\leftarrow d_{da} m_j + r_j
        \\;\\text{(DOPAMINE, Izhikevich's } \\dot d = -d/\\tau_{da} + DA(t))           \\\\
    \\Delta w_{ji} &= \\mathrm{clip}\\big(w_{ji} + \\eta\\, m_j e_{ji}\\, b(w_{ji}),\\;
        w_{min}, w_{max}\\big) - w_{ji}

where the pairing traces are ``x_hat = x`` (after this step's pre spikes) and ``y_hat = d_- y_old``
(excluding this step's post spikes), so an isolated pair with ``Delta = t_post - t_pre`` adds exactly the
window :func:`stdp_window`, ``A_+ e^{-Delta/tau_+}`` for ``Delta >= 0`` and ``-A_- e^{Delta/tau_-}`` for
``Delta < 0``. ``b = 1`` for HARD bounds; for SOFT bounds ``b = (w_max - w)/(w_max - w_min)`` when the
change is positive and ``(w - w_min)/(w_max - w_min)`` otherwise (multiplicative, van Rossum et al. 2000).

Trace modes (:class:`TraceMode`):

* ``ALL_TO_ALL``: additive traces as above (every pair counts);
* ``NEAREST``: traces reset to 1 at a spike, ``x <- s ? 1 : d_+ x`` (nearest-spike pairing);
* ``FIXED_POINT``: the timing of :mod:`plasticore.refmodel.online_o1`: nearest-spike traces read *before*
  this step's decay, ``x_hat = s^pre ? 1 : x_old``, ``y_hat = y_old``. With
  :func:`rstdp_params_from_o1` (traces in units of ``M = 2^T - 1``, ``d = 1 - 2^{-s}``, ``eta = 2^{-L}``,
  saturating eligibility and weight) it is the floating-point twin of :class:`OnlineO1Synapse`.

:func:`rstdp_step` is the pure step (it returns ``dw``, it never writes weights);
:class:`RewardModulatedLearner` holds params and state; :func:`distal_reward_experiment` reproduces the
distal-reward result of Izhikevich (2007) with the shared LIF network.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import (
    check_allocation,
    check_array,
    check_count,
    check_enum,
    check_instance,
    check_real,
    check_rng,
    check_spikes,
)
from .lif import LIFNetwork, lif_step
from .online_o1 import OnlineO1Config

__all__ = [
    "Bounds",
    "DistalRewardConfig",
    "DistalRewardResult",
    "Modulation",
    "RSTDPParams",
    "RSTDPState",
    "RewardModulatedLearner",
    "TraceMode",
    "check_count",
    "check_enum",
    "check_real",
    "check_spikes",
    "distal_reward_experiment",
    "rstdp_initial_state",
    "rstdp_params_from_o1",
    "rstdp_step",
    "stdp_window",
]

Array = npt.NDArray[np.float64]


# ---- parameter validation: the checkers live in ._validate (shared with the gradient learners); they are
# re-exported here because the other plasticity modules and users import them from this module.


# ---- the rule ------------------------------------------------------------------------------------------


class TraceMode(Enum):
    """How pre/post traces pair spikes (module docstring): all-to-all, nearest-spike, or the fixed-point timing."""

    ALL_TO_ALL = "all_to_all"
    NEAREST = "nearest"
    FIXED_POINT = "fixed_point"


class Bounds(Enum):
    """Weight bounds: ``hard`` (clip) or ``soft`` (multiplicative, van Rossum et al. 2000)."""

    HARD = "hard"
    SOFT = "soft"


class Modulation(Enum):
    """The third factor: the ``reward`` itself or a ``dopamine`` trace driven by it."""

    REWARD = "reward"
    DOPAMINE = "dopamine"


@dataclasses.dataclass(frozen=True, slots=True)
class RSTDPParams:
    """Parameters of :func:`rstdp_step` (times in ms; ``lr`` is per step).

    ``a_plus``, ``a_minus`` >= 0 (the depression amplitude is given as a positive number);
    ``tau_plus``, ``tau_minus``, ``tau_e``, ``tau_da``, ``dt`` > 0; ``lr`` >= 0; ``w_min < w_max``
    finite; ``e_min <= 0 <= e_max`` (may be infinite: no eligibility saturation).
    """

    a_plus: float = 1.0
    a_minus: float = 1.0
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    tau_e: float = 1000.0
    tau_da: float = 200.0
    lr: float = 0.01
    w_min: float = 0.0
    w_max: float = 1.0
    e_min: float = -math.inf
    e_max: float = math.inf
    trace_mode: TraceMode = TraceMode.ALL_TO_ALL
    bounds: Bounds = Bounds.HARD
    modulation: Modulation = Modulation.REWARD
    dt: float = 1.0
    _decays: tuple[float, float, float, float] = dataclasses.field(
        init=False, repr=False, compare=False, default=(1.0, 1.0, 1.0, 1.0)
    )

    def __post_init__(self) -> None:
        def put(name: str, v: object) -> None:
            object.__setattr__(self, name, v)

        for name in ("a_plus", "a_minus", "lr"):
            put(name, check_real(name, getattr(self, name), 0.0, None))
        for name in ("tau_plus", "tau_minus", "tau_e", "tau_da", "dt"):
            put(name, check_real(name, getattr(self, name), 0.0, None, lo_open=True))
        put("w_min", check_real("w_min", self.w_min))
        put("w_max", check_real("w_max", self.w_max, self.w_min, None, lo_open=True))
        put("e_min", check_real("e_min", self.e_min, None, 0.0, allow_inf=True))
        put("e_max", check_real("e_max", self.e_max, 0.0, None, allow_inf=True))
        put("trace_mode", check_enum("trace_mode", TraceMode, self.trace_mode))
        put("bounds", check_enum("bounds", Bounds, self.bounds))
        put("modulation", check_enum("modulation", Modulation, self.modulation))
        taus = (self.tau_plus, self.tau_minus, self.tau_e, self.tau_da)
        put("_decays", tuple(math.exp(-self.dt / t) for t in taus))

    @property
    def decays(self) -> tuple[float, float, float, float]:
        """``(d_+, d_-, d_e, d_da)``, the exact per-step factors ``exp(-dt/tau)``."""
        return self._decays


class RSTDPState(NamedTuple):
    """Pre traces (n_pre,), post traces (n_post,), eligibility (n_post, n_pre), modulator (n_post,)."""

    pre_trace: Array
    post_trace: Array
    eligibility: Array
    modulator: Array


def rstdp_initial_state(n_pre: int, n_post: int) -> RSTDPState:
    """All traces, eligibility and modulator zero; eligibility ``(n_post, n_pre)``."""
    n_pre, n_post = check_count("n_pre", n_pre), check_count("n_post", n_post)
    check_allocation(f"R-STDP state for n_post x n_pre = {n_post} x {n_pre} synapses", 8 * n_pre * n_post)
    return RSTDPState(np.zeros(n_pre), np.zeros(n_post), np.zeros((n_post, n_pre)), np.zeros(n_post))


def _spikes(name: str, value: npt.ArrayLike, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Fast path for boolean arrays of the right shape (the pure step is called once per time step)."""
    if isinstance(value, np.ndarray) and value.dtype == np.bool_ and value.shape == shape:
        return value
    return check_spikes(name, value, shape)


def rstdp_step(
    pre_spikes: npt.NDArray[np.bool_],
    post_spikes: npt.NDArray[np.bool_],
    reward: float | Array,
    weights: Array,
    state: RSTDPState,
    params: RSTDPParams,
) -> tuple[Array, RSTDPState]:
    """One step of the rule (equations in the module docstring); returns ``(dw, new_state)``.

    ``pre_spikes`` (n_pre,) and ``post_spikes`` (n_post,) are boolean; ``reward`` is a scalar or (n_post,);
    ``weights`` (n_post, n_pre) are only read (for bounds); they must lie in ``[w_min, w_max]``: a weight
    outside is a ``ValueError`` naming it (never silently clipped back). Work is O(synapses) for the
    eligibility decay plus O(rows/columns of spiking neurons). Spikes given as 0/1 numbers are converted (an
    integer array would otherwise index rows instead of masking them); shapes must match ``state``.
    """
    if not isinstance(params, RSTDPParams):
        raise TypeError(f"params must be an RSTDPParams, not {type(params).__name__}")
    n_post, n_pre = state.eligibility.shape
    pre_spikes = _spikes("pre_spikes", pre_spikes, (n_pre,))
    post_spikes = _spikes("post_spikes", post_spikes, (n_post,))
    if np.shape(reward) not in ((), (n_post,)):
        raise ValueError(f"reward must be a scalar or have shape ({n_post},), not {np.shape(reward)}")
    if np.shape(weights) != (n_post, n_pre):
        raise ValueError(f"weights must have shape {(n_post, n_pre)}, not {np.shape(weights)}")
    if weights.size:
        w_lo, w_hi = float(weights.min()), float(weights.max())
        if not (params.w_min <= w_lo and w_hi <= params.w_max):  # also catches NaN
            bad = np.argwhere(~((weights >= params.w_min) & (weights <= params.w_max)))[0]
            where = tuple(int(i) for i in bad)
            raise ValueError(f"weights must be in [w_min, w_max] = [{params.w_min:g}, {params.w_max:g}], "
                             f"not {weights[where].item()!r} at {where}")
    d_p, d_m, d_e, d_da = params.decays
    mode = params.trace_mode
    x_old, y_old = state.pre_trace, state.post_trace
    any_pre, any_post = bool(pre_spikes.any()), bool(post_spikes.any())
    if mode is TraceMode.ALL_TO_ALL:
        x = d_p * x_old + pre_spikes
        y = d_m * y_old + post_spikes
    else:
        x = np.where(pre_spikes, 1.0, d_p * x_old) if any_pre else d_p * x_old
        y = np.where(post_spikes, 1.0, d_m * y_old) if any_post else d_m * y_old
    e = d_e * state.eligibility
    if any_post:
        x_hat = (np.where(pre_spikes, 1.0, x_old) if any_pre else x_old) if mode is TraceMode.FIXED_POINT else x
        e[post_spikes, :] += params.a_plus * x_hat[None, :]
    if any_pre:
        y_hat = y_old if mode is TraceMode.FIXED_POINT else d_m * y_old
        e[:, pre_spikes] -= params.a_minus * y_hat[:, None]
    if (any_pre or any_post) and (math.isfinite(params.e_min) or math.isfinite(params.e_max)):
        np.clip(e, params.e_min, params.e_max, out=e)
    if params.modulation is Modulation.DOPAMINE:
        m = d_da * state.modulator + reward
    else:
        m = np.zeros_like(y) + reward
    new_state = RSTDPState(x, y, e, m)
    if params.lr == 0.0 or not m.any():
        return np.zeros_like(weights), new_state
    raw = params.lr * m[:, None] * e
    if params.bounds is Bounds.SOFT:
        span = params.w_max - params.w_min
        raw = np.where(raw > 0, raw * (params.w_max - weights), raw * (weights - params.w_min)) / span
    return np.clip(weights + raw, params.w_min, params.w_max) - weights, new_state


def stdp_window(delta_t: npt.ArrayLike, params: RSTDPParams) -> Array:
    """Eligibility added by one isolated pre/post pair, ``delta_t = t_post - t_pre`` (ms, multiple of dt).

    ``A_+ exp(-delta/tau_+)`` for ``delta >= 0`` and ``-A_- exp(delta/tau_-)`` for ``delta < 0``
    (ALL_TO_ALL and NEAREST). FIXED_POINT pairs with traces one step older: ``A_+`` at ``delta = 0``,
    ``A_+ exp(-(delta - dt)/tau_+)`` for ``delta >= dt`` and ``-A_- exp((delta + dt)/tau_-)`` for
    ``delta <= -dt``.
    """
    if not isinstance(params, RSTDPParams):
        raise TypeError(f"params must be an RSTDPParams, not {type(params).__name__}")
    d = check_array("delta_t", delta_t)
    lag = params.dt if params.trace_mode is TraceMode.FIXED_POINT else 0.0
    pot = params.a_plus * np.exp(-np.maximum(d - lag, 0.0) / params.tau_plus)
    dep = -params.a_minus * np.exp(np.minimum(d + lag, 0.0) / params.tau_minus)
    return np.where(d >= 0, pot, dep)


def rstdp_params_from_o1(config: OnlineO1Config, *, dt: float = 1.0) -> RSTDPParams:
    """Float parameters equivalent to the fixed-point rule ``config`` (quantities in LSBs).

    Traces are kept in units of ``M = 2^T - 1`` (``a_plus = a_minus = M``); every decay factor is
    ``1 - 2^{-s}``, i.e. ``tau = -dt / ln(1 - 2^{-s})``; ``lr = 2^{-L}``; the eligibility saturates to
    ``[-2^(T-1), 2^(T-1) - 1]`` and the weight to ``[0, 2^W - 1]`` (hard bounds); the reward multiplies
    directly (REWARD modulation; the caller keeps rewards in ``[-2^(R-1), 2^(R-1) - 1]``).
    Requires ``trace_decay_shift >= 1`` (``s = 0``, no decay, has no finite time constant).
    """
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    s = config.trace_decay_shift
    if s < 1:
        raise ValueError(f"trace_decay_shift must be in 1..30 for a float equivalent, not {s}")
    tau = -check_real("dt", dt, 0.0, None, lo_open=True) / math.log1p(-(2.0**-s))
    m = float(config.max_trace)
    return RSTDPParams(
        a_plus=m,
        a_minus=m,
        tau_plus=tau,
        tau_minus=tau,
        tau_e=tau,
        tau_da=tau,
        lr=2.0**-config.learning_shift,
        w_min=0.0,
        w_max=float(config.max_weight),
        e_min=float(config.eligibility_min),
        e_max=float(config.eligibility_max),
        trace_mode=TraceMode.FIXED_POINT,
        bounds=Bounds.HARD,
        modulation=Modulation.REWARD,
        dt=dt,
    )


class RewardModulatedLearner:
    """Holds :class:`RSTDPParams` and :class:`RSTDPState` for an ``n_pre -> n_post`` projection.

    :meth:`step` returns ``dw`` for weights of shape ``(n_post, n_pre)``; the rule never writes weights:
    apply ``dw`` through the one update path, e.g. ``SGD(lr=1.0).apply_delta({"w": w}, {"w": dw})``
    (:meth:`~plasticore.refmodel.optimizers.Optimizer.apply_delta`, exactly ``w + dw``). :meth:`state_dict`
    / :meth:`load_state_dict` checkpoint the state.
    """

    __slots__ = ("n_post", "n_pre", "params", "state")

    def __init__(self, n_pre: int, n_post: int, params: RSTDPParams | None = None) -> None:
        self.n_pre = check_count("n_pre", n_pre)
        self.n_post = check_count("n_post", n_post)
        self.params = params if params is not None else RSTDPParams()
        if not isinstance(self.params, RSTDPParams):
            raise TypeError(f"params must be an RSTDPParams, not {type(self.params).__name__}")
        self.state = rstdp_initial_state(self.n_pre, self.n_post)

    def reset(self) -> None:
        """Back to the initial (all-zero) state."""
        self.state = rstdp_initial_state(self.n_pre, self.n_post)

    def state_dict(self) -> dict[str, Array]:
        """Copies of the four state arrays (:class:`RSTDPState` fields)."""
        return {k: np.array(v, dtype=np.float64, copy=True) for k, v in self.state._asdict().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (float64 arrays of the state's shapes; checked first)."""
        shapes = {"pre_trace": (self.n_pre,), "post_trace": (self.n_post,),
                  "eligibility": (self.n_post, self.n_pre), "modulator": (self.n_post,)}
        st = check_keys("RewardModulatedLearner", state, shapes)
        self.state = RSTDPState(**{k: load_array("RewardModulatedLearner", k, st[k], shp, "f")
                                   for k, shp in shapes.items()})

    def step(
        self, pre_spikes: npt.ArrayLike, post_spikes: npt.ArrayLike, reward: float | npt.ArrayLike, weights: Array
    ) -> Array:
        """Advance one step; returns ``dw`` (n_post, n_pre) such that ``weights + dw`` respects the bounds."""
        pre = check_spikes("pre_spikes", pre_spikes, (self.n_pre,))
        post = check_spikes("post_spikes", post_spikes, (self.n_post,))
        r = check_array("reward", reward)
        if r.shape not in ((), (self.n_post,)):
            raise ValueError(f"reward must be a scalar or have shape ({self.n_post},), not {r.shape}")
        w = check_array("weights", weights, (self.n_post, self.n_pre))
        dw, self.state = rstdp_step(pre, post, r, w, self.state, self.params)
        return dw


# ---- the distal reward experiment (Izhikevich 2007, Fig. 1) -----------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DistalRewardConfig:
    """Setup of :func:`distal_reward_experiment` (times in ms, rates in Hz).

    ``n_in`` Poisson inputs at ``input_rate`` drive ``n_rec`` LIF neurons (feed-forward, ``tau_mem``) through
    plastic excitatory weights ``w_in`` in ``[0, w_max]``, all starting at ``w_init``; each LIF neuron also
    receives a Gaussian background current (``bg_mean``, ``bg_std`` per step). Synapse ``(0, 0)`` (input 0
    -> neuron 0) is the rewarded one: whenever neuron 0 fires within ``pair_window`` ms after input 0 fired,
    a dopamine pulse ``da_pulse`` is delivered after a delay drawn uniformly in ``[delay_min, delay_max]``.
    Control: with ``control_reward_rate`` > 0 (Hz) pulses come at Poisson times instead, unrelated to pairings.

    Izhikevich used A_-/A_+ = 1.5 with ~1 Hz firing and an hour of simulated time; here rates are ~5-8 Hz so
    that ~100 rewards fit into a few minutes, and A_-/A_+ = 1.2 keeps the chance-pairing drift of the
    eligibility (proportional to rate_pre * rate_post * (A_+ tau_+ - A_- tau_-)) small against the signal.
    """

    n_in: int = 100
    n_rec: int = 20
    input_rate: float = 5.0
    tau_mem: float = 10.0
    w_init: float = 0.025
    w_max: float = 0.1
    bg_mean: float = 0.035
    bg_std: float = 0.12
    pair_window: float = 10.0
    delay_min: float = 500.0
    delay_max: float = 1500.0
    da_pulse: float = 0.5
    a_plus: float = 1.0
    a_minus: float = 1.2
    tau_e: float = 1000.0
    tau_da: float = 200.0
    lr: float = 1e-5
    dt: float = 1.0
    control_reward_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_in", "n_rec"):
            object.__setattr__(self, name, check_count(name, getattr(self, name)))
        pos = ("input_rate", "tau_mem", "w_max", "pair_window", "da_pulse", "tau_e", "tau_da", "dt")
        for name in pos:
            object.__setattr__(self, name, check_real(name, getattr(self, name), 0.0, None, lo_open=True))
        for name in ("bg_std", "a_plus", "a_minus", "lr", "delay_min", "control_reward_rate"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), 0.0, None))
        object.__setattr__(self, "bg_mean", check_real("bg_mean", self.bg_mean))
        object.__setattr__(self, "w_init", check_real("w_init", self.w_init, 0.0, self.w_max))
        object.__setattr__(self, "delay_max", check_real("delay_max", self.delay_max, self.delay_min, None))
        if self.input_rate * self.dt / 1000.0 > 1.0:
            raise ValueError(f"input_rate * dt must be <= 1000 (one spike per step), not {self.input_rate * self.dt}")


class DistalRewardResult(NamedTuple):
    """Outcome of :func:`distal_reward_experiment`."""

    weights: Array  # final w_in (n_rec, n_in)
    rank_fraction: float  # fraction of synapses with a weight strictly below the rewarded one's
    times: Array  # sample times (ms)
    target_weight: Array  # rewarded synapse's weight at the sample times
    mean_weight: Array  # mean weight of all other synapses at the sample times
    top_percentile_weight: Array  # 95th percentile of the other synapses at the sample times
    reward_times: Array  # dopamine delivery times (ms)
    post_rate: float  # mean LIF firing rate (Hz)


def distal_reward_experiment(
    duration_ms: float, *, seed: int | np.random.Generator = 0, config: DistalRewardConfig | None = None,
    n_samples: int = 200,
) -> DistalRewardResult:
    """Izhikevich (2007) distal reward with real spikes of the shared LIF network.

    All ``n_in * n_rec`` synapses undergo R-STDP with a DOPAMINE modulator (depression-dominated STDP,
    ``A_- > A_+``, so chance pairings have a negative mean eligibility). Only the rewarded synapse's
    pre-then-post pairings are followed, seconds later, by dopamine; by then its eligibility is still
    positive while the others' is noise, so the rewarded synapse climbs to the top of the distribution.
    ``seed`` is an int >= 0 or a ``numpy.random.Generator`` (used and advanced).
    """
    cfg = DistalRewardConfig() if config is None else check_instance("config", config, DistalRewardConfig)
    dur = check_real("duration_ms", duration_ms, cfg.dt, None)  # at least one step
    check_count("n_samples", n_samples, 1)
    rng = check_rng("seed", seed)
    net = LIFNetwork(cfg.n_in, cfg.n_rec, 1, recurrent=False, tau_mem=cfg.tau_mem, dt=cfg.dt,
                     seed=seed if isinstance(seed, np.random.Generator) else int(seed))
    w = np.full((cfg.n_rec, cfg.n_in), cfg.w_init)
    weights = {"w_in": w, "w_out": np.zeros((1, cfg.n_rec))}
    params = RSTDPParams(
        a_plus=cfg.a_plus, a_minus=cfg.a_minus, tau_e=cfg.tau_e, tau_da=cfg.tau_da, lr=cfg.lr,
        w_min=0.0, w_max=cfg.w_max, modulation=Modulation.DOPAMINE, dt=cfg.dt,
    )
    state = rstdp_initial_state(cfg.n_in, cfg.n_rec)
    lif_state = net.initial_state(1)
    lp = net.params
    n_steps = round(dur / cfg.dt)
    p_in = cfg.input_rate * cfg.dt / 1000.0
    sample_every = max(1, n_steps // n_samples)
    times: list[float] = []
    tgt: list[float] = []
    mean_o: list[float] = []
    p95: list[float] = []
    others = np.ones(w.shape, dtype=bool)
    others[0, 0] = False
    pending: list[int] = []  # steps at which dopamine arrives
    rewards: list[float] = []
    last_pre0 = -(10**9)
    pair_steps = round(cfg.pair_window / cfg.dt)
    n_post_spikes = 0
    block = 1000
    for t0 in range(0, n_steps, block):
        nb = min(block, n_steps - t0)
        pre_block = rng.random((nb, cfg.n_in)) < p_in
        bg_block = cfg.bg_mean + cfg.bg_std * rng.standard_normal((nb, cfg.n_rec))
        delays = rng.uniform(cfg.delay_min, cfg.delay_max, nb)
        ctrl_block = rng.random(nb) < cfg.control_reward_rate * cfg.dt / 1000.0
        for k in range(nb):
            t = t0 + k
            pre = pre_block[k]
            current = (w @ pre + bg_block[k])[None, :]
            lif_state = lif_step(pre[None, :], lif_state, weights, lp, input_current=current)
            post = lif_state.z[0] > 0
            n_post_spikes += int(post.sum())
            if pre[0]:
                last_pre0 = t
            if cfg.control_reward_rate > 0.0:
                if ctrl_block[k]:
                    pending.append(t)
            elif post[0] and t - last_pre0 <= pair_steps:
                pending.append(t + round(float(delays[k]) / cfg.dt))
            da = 0.0
            while pending and min(pending) <= t:
                pending.remove(min(pending))
                da += cfg.da_pulse
                rewards.append(t * cfg.dt)
            dw, state = rstdp_step(pre, post, da, w, state, params)
            w += dw
            if t % sample_every == 0 or t == n_steps - 1:
                times.append(t * cfg.dt)
                tgt.append(float(w[0, 0]))
                o = w[others]
                mean_o.append(float(o.mean()))
                p95.append(float(np.percentile(o, 95)))
    rank = float(np.mean(w[others] < w[0, 0]))
    rate = n_post_spikes / (cfg.n_rec * n_steps * cfg.dt / 1000.0)
    return DistalRewardResult(
        w.copy(), rank, np.array(times), np.array(tgt), np.array(mean_o), np.array(p95),
        np.array(rewards), rate,
    )
