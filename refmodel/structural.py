"""Structural plasticity: sparse connectivity with a fixed synapse budget, pruning and growth.

Every post neuron ``j`` owns exactly ``budget = K`` synapses, stored as an index array
``indices[j, k]`` (which presynaptic neuron) with ``weights[j, k]`` and a usage trace ``usage[j, k]``.
Rows never repeat a presynaptic index, so the network always has exactly ``n_post * K`` distinct synapses
(the budget invariant). The usage trace is the presynaptic rate seen by the synapse (Hz),
``u <- d_u u + (1 - d_u) 1000 s^pre / dt`` with ``d_u = exp(-dt/tau_usage)``.

:func:`rewire` (called every few hundred ms) prunes synapses that are *weak* (``w < w_prune``) or *unused*
(``u < usage_min``), at most ``max_rewire`` per neuron, weakest first, and regrows the same number in the
same slots from presynaptic neurons that the row is not connected to (before or after pruning), chosen
without replacement by :class:`GrowthMode`:

* ``RANDOM``: uniformly (random proposals; a proposal survives only if the weight rule strengthens it,
  as in Deep R, Bellec et al. 2018, *Deep rewiring: training very sparse deep networks*, ICLR);
* ``ACTIVITY``: with probability proportional to ``pre_activity + 1e-9`` (activity-guided growth).

New synapses start at ``w_new`` with usage ``usage_min`` (a grace value: they are not pruned as unused
before their own spikes are counted). Removing and regrowing synapses is the mechanism reviewed by
Butz, Woergoetter & van Ooyen (2009), *Activity-dependent structural plasticity*, Brain Res. Rev. 60:287.
All randomness comes from the ``numpy.random.Generator`` passed in (or made from an int seed).

:func:`rewiring_task` is the validation experiment: a 4-class task whose initial wiring is wrong
(each output listens to another class's inputs) is solved only if the connectivity changes.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import (
    check_array,
    check_count,
    check_enum,
    check_instance,
    check_real,
    check_rng,
    check_spikes,
)
from .lif import LIFNetwork, LIFState, lif_step
from .optimizers import SGD, Optimizer

__all__ = [
    "GrowthMode",
    "RewiringResult",
    "SparseConnectivity",
    "StructuralParams",
    "StructuralPlasticity",
    "check_connectivity",
    "dense_weights",
    "random_connectivity",
    "rewire",
    "rewiring_task",
    "sparse_current",
    "usage_step",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class GrowthMode(Enum):
    """Where new synapses grow from: uniformly at ``random`` or in proportion to presynaptic ``activity``."""

    RANDOM = "random"
    ACTIVITY = "activity"


@dataclasses.dataclass(frozen=True, slots=True)
class StructuralParams:
    """``n_pre`` >= 2; ``budget`` in 1..n_pre - 1 (room to rewire); ``w_prune`` >= 0; ``usage_min`` >= 0
    (Hz, 0 disables unused-pruning); ``tau_usage`` (ms) > 0; ``w_new`` > w_prune; ``max_rewire`` in
    1..budget; ``dt`` (ms) > 0."""

    n_pre: int
    budget: int
    w_prune: float = 0.05
    usage_min: float = 0.0
    tau_usage: float = 1000.0
    w_new: float = 0.1
    max_rewire: int | None = None
    growth: GrowthMode = GrowthMode.RANDOM
    dt: float = 1.0

    def __post_init__(self) -> None:
        def put(name: str, v: object) -> None:
            object.__setattr__(self, name, v)

        put("n_pre", check_count("n_pre", self.n_pre, 2))
        put("budget", check_count("budget", self.budget, 1, self.n_pre - 1))
        put("w_prune", check_real("w_prune", self.w_prune, 0.0, None))
        put("usage_min", check_real("usage_min", self.usage_min, 0.0, None))
        put("tau_usage", check_real("tau_usage", self.tau_usage, 0.0, None, lo_open=True))
        put("w_new", check_real("w_new", self.w_new, self.w_prune, None, lo_open=True))
        put("max_rewire", self.budget if self.max_rewire is None else check_count("max_rewire", self.max_rewire, 1,
                                                                                  self.budget))
        put("growth", check_enum("growth", GrowthMode, self.growth))
        put("dt", check_real("dt", self.dt, 0.0, None, lo_open=True))


class SparseConnectivity(NamedTuple):
    """``indices`` (n_post, K) int64, ``weights`` and ``usage`` (n_post, K) float64."""

    indices: IntArray
    weights: Array
    usage: Array


def random_connectivity(
    n_post: int, params: StructuralParams, rng: np.random.Generator | int, w_init: float
) -> SparseConnectivity:
    """K distinct random presynaptic partners per post neuron, all at ``w_init``, usage ``usage_min``.

    ``rng`` is a ``numpy.random.Generator`` (used and advanced) or an int seed.
    """
    n = check_count("n_post", n_post)
    params = check_instance("params", params, StructuralParams)
    rng = check_rng("rng", rng)
    w_init = check_real("w_init", w_init)
    idx = np.stack([rng.choice(params.n_pre, params.budget, replace=False) for _ in range(n)]).astype(np.int64)
    return SparseConnectivity(idx, np.full(idx.shape, float(w_init)), np.full(idx.shape, params.usage_min))


def check_connectivity(conn: SparseConnectivity, params: StructuralParams) -> None:
    """Raise if ``conn`` breaks the budget invariant (shape, range, distinct partners per row)."""
    check_instance("conn", conn, SparseConnectivity)
    check_instance("params", params, StructuralParams)
    idx = conn.indices
    if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu":
        raise TypeError(f"indices must be an integer array, not {type(idx).__name__} "
                        f"{getattr(idx, 'dtype', '')}".rstrip())
    if idx.ndim != 2 or idx.shape[1] != params.budget:
        raise ValueError(f"indices must have shape (n_post, {params.budget}), not {idx.shape}")
    check_array("weights", conn.weights, idx.shape)
    check_array("usage", conn.usage, idx.shape)
    if idx.size and (idx.min() < 0 or idx.max() >= params.n_pre):
        bad = idx[(idx < 0) | (idx >= params.n_pre)].flat[0]
        raise ValueError(f"indices must be in 0..{params.n_pre - 1}, not {int(bad)}")
    srt = np.sort(idx, axis=1)
    if np.any(srt[:, 1:] == srt[:, :-1]):
        raise ValueError("indices must be distinct within each row (one synapse per pre/post pair)")


def sparse_current(pre_spikes: npt.NDArray[np.bool_], conn: SparseConnectivity) -> Array:
    """``I_j = sum_k w[j, k] s^pre[indices[j, k]]``, shape (n_post,)."""
    return np.sum(conn.weights * _pre(pre_spikes, conn)[conn.indices], axis=1)


def _pre(pre_spikes: npt.ArrayLike, conn: SparseConnectivity, n_pre: int | None = None) -> npt.NDArray[np.bool_]:
    """``pre_spikes`` as a 1-D boolean array that covers ``conn.indices`` (fast path for bool arrays)."""
    s = pre_spikes
    if not (isinstance(s, np.ndarray) and s.dtype == np.bool_ and s.ndim == 1):
        a = np.asarray(s)
        if a.ndim != 1:
            raise ValueError(f"pre_spikes must have shape (n_pre,), not {a.shape}")
        s = check_spikes("pre_spikes", a, a.shape)
    if n_pre is not None:
        if s.shape != (n_pre,):
            raise ValueError(f"pre_spikes must have shape ({n_pre},), not {s.shape}")
    elif conn.indices.size and s.shape[0] <= conn.indices.max():
        raise ValueError(f"pre_spikes must have an entry for every presynaptic index (shape (n_pre,) with "
                         f"n_pre > {int(conn.indices.max())}), not shape {s.shape}")
    return s


def dense_weights(conn: SparseConnectivity, n_pre: int) -> Array:
    """The (n_post, n_pre) matrix with zeros where there is no synapse (``w_in`` layout of the LIF net)."""
    lo = int(conn.indices.max()) + 1 if conn.indices.size else 1
    n_pre = check_count("n_pre", n_pre, lo)
    w = np.zeros((conn.indices.shape[0], n_pre))
    np.put_along_axis(w, conn.indices, conn.weights, axis=1)
    return w


def usage_step(pre_spikes: npt.NDArray[np.bool_], conn: SparseConnectivity, params: StructuralParams) -> Array:
    """New usage traces (Hz) after one step; ``pre_spikes`` (n_pre,) booleans or 0/1."""
    d = math.exp(-params.dt / params.tau_usage)
    return d * conn.usage + (1.0 - d) * (1000.0 / params.dt) * _pre(pre_spikes, conn, params.n_pre)[conn.indices]


def rewire(
    conn: SparseConnectivity,
    params: StructuralParams,
    rng: np.random.Generator | int,
    pre_activity: npt.ArrayLike | None = None,
) -> tuple[SparseConnectivity, int]:
    """Prune weak/unused synapses and regrow as many (module docstring); returns ``(new_conn, n_rewired)``.

    ``pre_activity`` (n_pre,) >= 0 is required for ``GrowthMode.ACTIVITY``; ``rng`` is a seeded
    ``numpy.random.Generator`` (used and advanced) or an int seed.
    """
    check_connectivity(conn, params)
    rng = check_rng("rng", rng)
    idx, w, u = conn.indices.copy(), conn.weights.copy(), conn.usage.copy()
    act: Array | None = None
    if params.growth is GrowthMode.ACTIVITY:
        if pre_activity is None:
            raise ValueError("pre_activity is required for growth='activity'")
        act = check_array("pre_activity", pre_activity, (params.n_pre,))
        if np.any(act < 0):
            raise ValueError(f"pre_activity must be >= 0, not {float(act[act < 0][0])!r}")
    prune = (w < params.w_prune) | (u < params.usage_min)
    n_rewired = 0
    max_rewire = params.budget if params.max_rewire is None else params.max_rewire  # set by __post_init__
    for j in np.flatnonzero(prune.any(axis=1)):
        slots = np.flatnonzero(prune[j])
        if slots.size > max_rewire:
            slots = slots[np.argsort(w[j, slots], kind="stable")[:max_rewire]]
        free = np.ones(params.n_pre, dtype=bool)
        free[idx[j]] = False  # neither a current nor a just-pruned partner
        cand = np.flatnonzero(free)
        n_new = min(slots.size, cand.size)
        if n_new == 0:
            continue
        if act is None:
            chosen = rng.choice(cand, n_new, replace=False)
        else:
            p = act[cand] + 1e-9
            chosen = rng.choice(cand, n_new, replace=False, p=p / p.sum())
        slots = slots[:n_new]
        idx[j, slots] = chosen
        w[j, slots] = params.w_new
        u[j, slots] = params.usage_min
        n_rewired += n_new
    return SparseConnectivity(idx, w, u), n_rewired


class StructuralPlasticity:
    """Holds :class:`StructuralParams`, the connectivity and the seeded generator.

    :meth:`step` advances the usage traces and returns the synaptic current; :meth:`rewire` prunes and
    regrows. The weights are changed by the caller's weight rule, which computes ``dw``; :meth:`apply`
    hands it to the one update path, an optimizer's
    :meth:`~plasticore.refmodel.optimizers.Optimizer.apply_delta` (default ``SGD(lr=1.0)``: exactly
    ``clip(w + dw, w_min, w_max)``). ``seed`` is an int >= 0 or a ``numpy.random.Generator`` (used and
    advanced). :meth:`state_dict` / :meth:`load_state_dict` checkpoint the connectivity and the generator.
    """

    __slots__ = ("conn", "n_post", "params", "rng")

    def __init__(
        self,
        n_post: int,
        params: StructuralParams,
        *,
        seed: int | np.random.Generator = 0,
        w_init: float = 0.1,
        indices: npt.ArrayLike | None = None,
    ) -> None:
        if not isinstance(params, StructuralParams):
            raise TypeError(f"params must be a StructuralParams, not {type(params).__name__}")
        self.params = params
        self.n_post = check_count("n_post", n_post)
        self.rng = check_rng("seed", seed)
        w0 = check_real("w_init", w_init, 0.0, None)
        if indices is None:
            self.conn = random_connectivity(self.n_post, params, self.rng, w0)
        else:
            raw = np.asarray(indices)
            if raw.dtype.kind not in "iu":  # no silent truncation of 1.7 to 1
                raise TypeError(f"indices must be integers, not dtype {raw.dtype}")
            idx = raw.astype(np.int64)
            if idx.ndim != 2:
                raise ValueError(f"indices must have shape ({self.n_post}, {params.budget}), not {idx.shape}")
            self.conn = SparseConnectivity(idx.copy(), np.full(idx.shape, w0), np.full(idx.shape, params.usage_min))
        if self.conn.indices.shape[0] != self.n_post:
            raise ValueError(f"indices must have {self.n_post} rows, not {self.conn.indices.shape[0]}")
        check_connectivity(self.conn, params)

    @property
    def n_synapses(self) -> int:
        """``n_post * budget``, constant under rewiring (the budget invariant)."""
        return int(self.conn.indices.size)

    @property
    def weights(self) -> Array:
        """The weights of the synapses, ``(n_post, budget)`` (a copy; see :meth:`dense`)."""
        return self.conn.weights.copy()

    def step(self, pre_spikes: npt.ArrayLike) -> Array:
        """Synaptic current of this step's presynaptic spikes; updates the usage traces."""
        s = check_spikes("pre_spikes", pre_spikes, (self.params.n_pre,))
        current = sparse_current(s, self.conn)
        self.conn = self.conn._replace(usage=usage_step(s, self.conn, self.params))
        return current

    def apply(self, dw: Array, w_min: float = 0.0, w_max: float = math.inf, *,
              optimizer: Optimizer | None = None) -> None:
        """Apply the weight change ``dw`` (n_post, K) through ``optimizer.apply_delta`` with bounds
        ``(w_min, w_max)``; the default ``SGD(lr=1.0)`` gives exactly ``clip(weights + dw, w_min, w_max)``."""
        dw = check_array("dw", dw, self.conn.weights.shape)
        w_min = check_real("w_min", w_min, None, None, allow_inf=True)
        w_max = check_real("w_max", w_max, w_min, None, allow_inf=True)
        opt = SGD(lr=1.0) if optimizer is None else check_instance("optimizer", optimizer, Optimizer)
        w = self.conn.weights.copy()
        opt.apply_delta({"weights": w}, {"weights": dw}, bounds=(w_min, w_max))
        self.conn = self.conn._replace(weights=w)

    def rewire(self, pre_activity: npt.ArrayLike | None = None) -> int:
        """Prune and regrow with :func:`rewire` and this object's generator; returns how many were rewired."""
        self.conn, n = rewire(self.conn, self.params, self.rng, pre_activity)
        return n

    def dense(self) -> Array:
        """The ``(n_post, n_pre)`` weight matrix, zeros where there is no synapse (:func:`dense_weights`)."""
        return dense_weights(self.conn, self.params.n_pre)

    def state_dict(self) -> dict[str, Any]:
        """``{"indices", "weights", "usage", "rng"}``: copies of the connectivity and the generator's state
        (``rng.bit_generator.state``), so that rewiring continues identically after a reload."""
        return {"indices": self.conn.indices.copy(), "weights": self.conn.weights.copy(),
                "usage": self.conn.usage.copy(), "rng": copy.deepcopy(self.rng.bit_generator.state)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the connectivity must satisfy the budget invariant
        (:func:`check_connectivity`) and the generator state must be of this object's bit generator."""
        owner = "StructuralPlasticity"
        st = check_keys(owner, state, ("indices", "weights", "usage", "rng"))
        shape = (self.n_post, self.params.budget)
        conn = SparseConnectivity(load_array(owner, "indices", st["indices"], shape, "i", 0, self.params.n_pre - 1),
                                  load_array(owner, "weights", st["weights"], shape, "f"),
                                  load_array(owner, "usage", st["usage"], shape, "f"))
        check_connectivity(conn, self.params)
        rng_state = st["rng"]
        kind = type(self.rng.bit_generator).__name__
        if not isinstance(rng_state, Mapping) or rng_state.get("bit_generator") != kind:
            got = rng_state.get("bit_generator") if isinstance(rng_state, Mapping) else type(rng_state).__name__
            raise ValueError(f"{owner} state_dict['rng'] must be the state of a {kind} bit generator, not {got!r}")
        self.rng.bit_generator.state = copy.deepcopy(dict(rng_state))
        self.conn = conn


# ---- validation task --------------------------------------------------------------------------------------


class RewiringResult(NamedTuple):
    """Outcome of :func:`rewiring_task`."""

    epochs: IntArray  # epochs at which accuracy was measured (0 = before training)
    accuracy: Array  # test accuracy at those epochs
    correct_fraction: Array  # fraction of synapses whose pre neuron belongs to the post neuron's class
    n_rewired: int  # synapses replaced in total
    index_history: IntArray  # (n_evals, n_post, K) connectivity at each evaluation


def rewiring_task(
    *,
    epochs: int = 30,
    seed: int | np.random.Generator = 0,
    rewiring: bool = True,
    growth: GrowthMode = GrowthMode.RANDOM,
    n_classes: int = 4,
    group: int = 10,
    eval_every: int = 5,
) -> RewiringResult:
    """A ``n_classes``-way pattern task on ``n_classes`` LIF outputs whose initial wiring is wrong.

    Inputs come in ``n_classes`` groups of ``group`` neurons; class ``c`` makes group ``c`` fire at 60 Hz and
    the rest at 2 Hz (Poisson, 100 ms per presentation). Output ``j`` should fire for class ``j``, but it
    starts connected to all of group ``(j + 1) mod n_classes`` (budget ``K = group``). Training: a teacher
    current excites output ``c`` and inhibits the others during class ``c``; weights follow a presynaptically
    gated Hebbian rule ``dw = s^pre (eta_+ y_j - eta_-)`` (``y_j`` a 20 ms post trace; weights in [0, 1]);
    every presentation ends with :func:`rewire` (``GrowthMode.ACTIVITY`` grows from the inputs in proportion
    to their rates during that presentation). Test: each class 5 times, no teacher, no plasticity; the
    prediction is the output with most spikes (ties and silence count as wrong). ``seed``: an int >= 0
    (the reference runs) or a ``numpy.random.Generator`` shared by the stimulus, the network and rewiring.
    """
    n_cls = check_count("n_classes", n_classes, 2)
    grp = check_count("group", group, 1)
    n_ep = check_count("epochs", epochs, 0)
    every = check_count("eval_every", eval_every, 1)
    n_pre = n_cls * grp
    rng = check_rng("seed", seed)
    base: int | None = None if isinstance(seed, np.random.Generator) else int(seed)
    params = StructuralParams(n_pre=n_pre, budget=grp, w_prune=0.05, w_new=0.1, growth=growth)
    wrong = np.array([np.arange(grp) + ((j + 1) % n_cls) * grp for j in range(n_cls)], dtype=np.int64)
    sp = StructuralPlasticity(n_cls, params, seed=rng if base is None else base + 1, w_init=0.3, indices=wrong)
    net = LIFNetwork(n_pre, n_cls, 1, recurrent=False, tau_mem=10.0, seed=rng if base is None else base)
    lp = net.params
    dummy_w = {"w_in": np.zeros((n_cls, n_pre)), "w_out": np.zeros((1, n_cls))}
    eta_p, eta_m, d_y = 0.02, 0.01, math.exp(-1.0 / 20.0)
    t_pres = 100
    rates_hi, rates_lo = 60.0 / 1000.0, 2.0 / 1000.0
    cls_of_pre = np.arange(n_pre) // grp
    growth = check_enum("growth", GrowthMode, growth)
    pre_rate = np.zeros(n_pre)  # presynaptic rates (Hz) of the last presentation, for ACTIVITY growth

    def present(c: int, steps: int, train: bool) -> npt.NDArray[np.float64]:
        p_fire = np.where(cls_of_pre == c, rates_hi, rates_lo)
        x = rng.random((steps, n_pre)) < p_fire
        pre_rate[:] = x.sum(axis=0) * (1000.0 / steps)
        st: LIFState = net.initial_state(1)
        y = np.zeros(n_cls)
        counts = np.zeros(n_cls)
        teacher = np.where(np.arange(n_cls) == c, 0.15, -0.3) if train else np.zeros(n_cls)
        for t in range(steps):
            current = sp.step(x[t]) + teacher
            st = lif_step(x[t][None], st, dummy_w, lp, input_current=current[None, :])
            z = st.z[0]
            counts += z
            if train:
                y = d_y * y + z
                pre_here = x[t][sp.conn.indices]
                sp.apply(pre_here * (eta_p * np.minimum(y, 1.0)[:, None] - eta_m), 0.0, 1.0)
        return counts

    def evaluate() -> float:
        hits = 0
        for _ in range(5):
            for c in range(n_cls):
                counts = present(c, 200, False)
                top = np.flatnonzero(counts == counts.max())
                hits += int(counts.max() > 0 and top.size == 1 and top[0] == c)
        return hits / (5 * n_cls)

    def correct() -> float:
        return float(np.mean(cls_of_pre[sp.conn.indices] == np.arange(n_cls)[:, None]))

    ep_list, acc, corr, hist = [0], [evaluate()], [correct()], [sp.conn.indices.copy()]
    total = 0
    for ep in range(1, n_ep + 1):
        for c in rng.permutation(n_cls):
            present(int(c), t_pres, True)
            if rewiring:
                total += sp.rewire(pre_rate if growth is GrowthMode.ACTIVITY else None)
        if ep % every == 0 or ep == n_ep:
            ep_list.append(ep)
            acc.append(evaluate())
            corr.append(correct())
            hist.append(sp.conn.indices.copy())
    return RewiringResult(np.array(ep_list), np.array(acc), np.array(corr), total, np.stack(hist))
