"""Continual learning: elastic weight consolidation (EWC, online EWC) and Synaptic Intelligence.

Both are quadratic penalties that pull weights toward anchors ``theta*`` with a per-weight importance:

.. math::

    P(\\theta) = \\frac{1}{2} \\sum_j \\sum_i c_{j,i} (\\theta_i - \\theta^*_{j,i})^2, \\qquad
    \\nabla P = \\sum_j c_j \\odot (\\theta - \\theta^*_j)

with one term ``j`` per consolidated task. They plug into the learners' gradient-transform seam
(:mod:`plasticore.refmodel.transforms`): calling the object as ``(grads, weights) -> grads + nabla P(weights)``
makes any gradient learner minimise ``L + P``. :meth:`QuadraticPenalty.proximal_step` applies the penalty's
proximal operator in closed form, stable for any strength (a gradient step ``theta - eta c (theta - theta*)``
diverges once ``eta c > 2``):

.. math::

    \\operatorname{prox}_{\\eta P}(\\theta) = \\frac{\\theta + \\eta \\sum_j c_j \\theta^*_j}{1 + \\eta \\sum_j c_j}

* **EWC** (Kirkpatrick et al. 2017, *Overcoming catastrophic forgetting in neural networks*, PNAS
  114:3521): ``c_j = lambda F_j`` with the diagonal empirical Fisher at the end of task ``j``,
  ``F = mean_b (nabla ell_b)^2`` over the per-sample losses ``ell_b`` (the mean of squared per-sample
  gradients, not the square of the mean gradient), ``theta*_j`` the weights then (``mode="separate"``).
  **Online EWC** (Schwarz et al. 2018, *Progress & compress*, ICML): one term, ``F <- gamma F + F_new`` and
  ``theta* <-`` the latest weights (``mode="online"``).
* **Synaptic Intelligence** (Zenke, Poole & Ganguli 2017, *Continual learning through synaptic
  intelligence*, ICML): during training the path integral ``omega -= g * Delta theta`` of the task
  gradient along the weight trajectory; at the end of a task ``Omega <- max(Omega + omega / (Delta_task^2 +
  xi), 0)`` (``Delta_task`` the task's total weight change; the sum is rectified as in the authors' code,
  ganguli-lab/pathint, so the penalty stays convex while a task with a negative path integral can lower a
  weight's earlier importance), ``omega <- 0``, ``theta* <-`` the weights. The penalty is
  ``c sum Omega (theta - theta*)^2``, i.e. ``c_1 = 2 c Omega`` above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

from ._model import as_model, model_weights
from ._state import check_keys, load_array, load_float
from ._validate import check_array, check_enum, check_real
from .losses import LossKind

Array = npt.NDArray[np.float64]

__all__ = ["EWC", "EWCMode", "QuadraticPenalty", "SynapticIntelligence"]


class EWCMode(str, Enum):
    """``separate``: one (F, theta*) per task (Kirkpatrick 2017); ``online``: one decayed F (Schwarz 2018)."""

    SEPARATE = "separate"
    ONLINE = "online"


class QuadraticPenalty:
    """Base class: terms ``(coefficient c_j, anchor theta*_j)`` and the penalty seam (module docstring)."""

    def __init__(self, network: Any, loss: str | LossKind) -> None:
        self.model = as_model(network, loss)
        self._terms: list[tuple[dict[str, Array], dict[str, Array]]] = []

    @property
    def weights(self) -> dict[str, Array]:
        """The network's live weights."""
        return model_weights(self.model)

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: v.shape for k, v in self.weights.items()}

    def _at(self, weights: Mapping[str, Array] | None) -> dict[str, Array]:
        w = self.weights if weights is None else weights
        shapes = self._shapes()
        if not isinstance(w, Mapping) or set(w) != set(shapes):
            raise ValueError(f"weights must be a dict with keys {sorted(shapes)}, not "
                             f"{sorted(w) if isinstance(w, Mapping) else type(w).__name__}")
        return {k: check_array(f"weights[{k!r}]", w[k], s) for k, s in shapes.items()}

    @property
    def n_terms(self) -> int:
        """Number of quadratic terms (consolidated tasks; at most 1 for online EWC)."""
        return len(self._terms)

    def penalty(self, weights: Mapping[str, Array] | None = None) -> float:
        """``P(weights) = 1/2 sum_j sum c_j (w - theta*_j)^2`` (0 before the first consolidation)."""
        w = self._at(weights)
        return 0.5 * sum(float(np.sum(c[k] * (w[k] - a[k]) ** 2)) for c, a in self._terms for k in w)

    def penalty_gradient(self, weights: Mapping[str, Array] | None = None) -> dict[str, Array]:
        """``nabla P(weights) = sum_j c_j (w - theta*_j)``."""
        w = self._at(weights)
        out = {k: np.zeros_like(v) for k, v in w.items()}
        for c, a in self._terms:
            for k in out:
                out[k] += c[k] * (w[k] - a[k])
        return out

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """Gradient transform: ``grads + nabla P(weights)`` (new arrays; ``weights`` untouched)."""
        pg = self.penalty_gradient(weights)
        if not isinstance(grads, Mapping) or set(grads) != set(pg):
            raise ValueError(f"grads must have the keys {sorted(pg)}")
        return {k: check_array(f"grads[{k!r}]", grads[k], pg[k].shape) + pg[k] for k in pg}

    def proximal_step(self, lr: float, weights: dict[str, Array] | None = None) -> None:
        """In place: ``w <- (w + lr sum_j c_j theta*_j) / (1 + lr sum_j c_j)``, the exact minimiser of
        ``||u - w||^2 / (2 lr) + P(u)``; stable for any ``lr * c`` (module docstring)."""
        eta = check_real("lr", lr, 0.0, None)
        w = self.weights if weights is None else weights
        self._at(w)
        for k in w:
            num = np.array(w[k], dtype=np.float64)
            den = np.ones_like(num)
            for c, a in self._terms:
                num += eta * c[k] * a[k]
                den += eta * c[k]
            w[k][...] = num / den

    def _terms_state(self) -> list[dict[str, dict[str, Array]]]:
        return [{"coefficient": {k: v.copy() for k, v in c.items()}, "anchor": {k: v.copy() for k, v in a.items()}}
                for c, a in self._terms]

    def _load_terms(self, owner: str, raw: object) -> list[tuple[dict[str, Array], dict[str, Array]]]:
        if not isinstance(raw, list):
            raise TypeError(f"{owner} state_dict['terms'] must be a list, not {type(raw).__name__}")
        shapes = self._shapes()
        out = []
        for j, t in enumerate(raw):
            st = check_keys(f"{owner} terms[{j}]", t, ("coefficient", "anchor"))
            parts = []
            for part in ("coefficient", "anchor"):
                d = check_keys(f"{owner} terms[{j}][{part!r}]", st[part], shapes)
                parts.append({k: load_array(owner, f"terms[{j}][{part!r}][{k!r}]", d[k], s, "f")
                              for k, s in shapes.items()})
            out.append((parts[0], parts[1]))
        return out


class EWC(QuadraticPenalty):
    """Elastic weight consolidation on ``network`` (module docstring).

    ``ewc_lambda`` >= 0; ``mode`` ``"separate"`` or ``"online"``; ``gamma`` in [0, 1] (online decay of the
    Fisher). ``network`` is a :class:`~plasticore.refmodel.lif.LIFNetwork` (BPTT with ``loss``), a gradient
    learner or an :class:`~plasticore.refmodel.mlp.MLP`; it must offer ``per_sample_gradients``.
    """

    def __init__(self, network: Any, *, ewc_lambda: float, mode: str | EWCMode = EWCMode.SEPARATE,
                 gamma: float = 1.0, loss: str | LossKind = LossKind.MSE) -> None:
        super().__init__(network, loss)
        self.ewc_lambda = check_real("ewc_lambda", ewc_lambda, 0.0, None)
        self.mode: EWCMode = check_enum("mode", EWCMode, mode)
        self.gamma = check_real("gamma", gamma, 0.0, 1.0)
        if not callable(getattr(self.model, "per_sample_gradients", None)):
            raise TypeError(f"EWC needs a model with per_sample_gradients(inputs, targets, weights=None), "
                            f"not {type(self.model).__name__}")
        self.fishers: list[dict[str, Array]] = []
        self.anchors: list[dict[str, Array]] = []

    def fisher(self, inputs: Any, targets: Any, weights: Mapping[str, Array] | None = None) -> dict[str, Array]:
        """Diagonal empirical Fisher ``mean_b (nabla ell_b)^2`` at ``weights`` (default the network's)."""
        per = self.model.per_sample_gradients(inputs, targets, None if weights is None else dict(weights))
        return {k: np.mean(g * g, axis=0) for k, g in per.items()}

    def _rebuild(self) -> None:
        self._terms = [({k: self.ewc_lambda * v for k, v in f.items()}, a)
                       for f, a in zip(self.fishers, self.anchors, strict=True)]

    def consolidate(self, inputs: Any, targets: Any) -> dict[str, Array]:
        """Compute the Fisher of a finished task on ``(inputs, targets)`` at the current weights and anchor
        there (``separate``: a new term; ``online``: ``F <- gamma F + F_new``, ``theta* <-`` now). Returns
        the new task's Fisher."""
        f_new = self.fisher(inputs, targets)
        anchor = {k: v.copy() for k, v in self.weights.items()}
        if self.mode is EWCMode.SEPARATE or not self.fishers:
            self.fishers.append(f_new)
            self.anchors.append(anchor)
        else:
            self.fishers[0] = {k: self.gamma * self.fishers[0][k] + f_new[k] for k in f_new}
            self.anchors[0] = anchor
        self._rebuild()
        return f_new

    consolidate_task = consolidate  # the seed package's name

    def apply_ewc_penalty(self, lr: float = 1.0) -> None:
        """Pull the network's weights toward the anchors: :meth:`proximal_step` with ``lr`` (the seed's name)."""
        self.proximal_step(lr)

    def state_dict(self) -> dict[str, Any]:
        """``{"penalty", "ewc_lambda", "mode", "gamma", "fishers", "anchors"}`` (copies)."""
        return {"penalty": "EWC", "ewc_lambda": self.ewc_lambda, "mode": self.mode.value, "gamma": self.gamma,
                "fishers": [{k: v.copy() for k, v in f.items()} for f in self.fishers],
                "anchors": [{k: v.copy() for k, v in a.items()} for a in self.anchors]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (everything checked first)."""
        st = check_keys("EWC", state, ("penalty", "ewc_lambda", "mode", "gamma", "fishers", "anchors"))
        if st["penalty"] != "EWC":
            raise ValueError(f"state_dict is for {st['penalty']!r}, not 'EWC'")
        lam = check_real("ewc_lambda", load_float("EWC", "ewc_lambda", st["ewc_lambda"]), 0.0, None)
        mode: EWCMode = check_enum("mode", EWCMode, st["mode"])
        gamma = check_real("gamma", load_float("EWC", "gamma", st["gamma"]), 0.0, 1.0)
        if not isinstance(st["fishers"], Sequence) or not isinstance(st["anchors"], Sequence) or \
                len(st["fishers"]) != len(st["anchors"]):
            raise ValueError("EWC state_dict['fishers'] and ['anchors'] must be lists of the same length")
        terms = self._load_terms("EWC", [{"coefficient": f, "anchor": a}
                                         for f, a in zip(st["fishers"], st["anchors"], strict=True)])
        self.ewc_lambda, self.mode, self.gamma = lam, mode, gamma
        self.fishers = [c for c, _ in terms]
        self.anchors = [a for _, a in terms]
        self._rebuild()


class SynapticIntelligence(QuadraticPenalty):
    """Synaptic Intelligence (Zenke et al. 2017) with strength ``c`` >= 0 and damping ``xi`` > 0.

    Use it as the *first* gradient transform of a learner: each call records the task gradient ``g`` it
    receives and, from the second call on, adds ``-g_prev * (w - w_prev)`` to ``omega`` (the path integral
    of the previous step); it returns ``g + nabla P(w)``. :meth:`accumulate` does the same bookkeeping by
    hand. :meth:`consolidate` closes the task.
    """

    def __init__(self, network: Any, *, c: float, xi: float = 1e-3, loss: str | LossKind = LossKind.MSE) -> None:
        super().__init__(network, loss)
        self.c = check_real("c", c, 0.0, None)
        self.xi = check_real("xi", xi, 0.0, None, lo_open=True)
        w = self.weights
        self.omega = {k: np.zeros_like(v) for k, v in w.items()}
        self.importance = {k: np.zeros_like(v) for k, v in w.items()}
        self.task_start = {k: v.copy() for k, v in w.items()}
        self.anchor: dict[str, Array] | None = None
        self._last: tuple[dict[str, Array], dict[str, Array]] | None = None

    def accumulate(self, grads: Mapping[str, Array], delta: Mapping[str, Array]) -> None:
        """``omega -= grads * delta`` (one step of the path integral)."""
        for k in self.omega:
            self.omega[k] -= check_array(f"grads[{k!r}]", grads[k], self.omega[k].shape) * \
                check_array(f"delta[{k!r}]", delta[k], self.omega[k].shape)

    def _flush(self, weights: Mapping[str, Array]) -> None:
        if self._last is not None:
            g, w_prev = self._last
            self.accumulate(g, {k: weights[k] - w_prev[k] for k in g})
            self._last = None

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """Record ``grads`` for the path integral, return ``grads + nabla P(weights)``."""
        w = self._at(weights)
        self._flush(w)
        self._last = ({k: np.array(grads[k], dtype=np.float64) for k in w}, {k: v.copy() for k, v in w.items()})
        return super().__call__(grads, w)

    def consolidate(self) -> dict[str, Array]:
        """End of a task: ``Omega <- max(Omega + omega / (Delta^2 + xi), 0)``, ``omega <- 0``, anchor at the
        current weights. Returns the new ``Omega``.

        The rectification of the *sum* is the authors' reference code (``tf.nn.relu`` of the accumulated
        ``omega`` in ganguli-lab/pathint, ``PATH_INT_PROTOCOL`` with ``omega_decay="sum"``): a task whose path
        integral is negative for a weight lowers that weight's earlier importance, never below 0."""
        w = self.weights
        self._flush(w)
        for k in w:
            delta = w[k] - self.task_start[k]
            self.importance[k] = np.maximum(self.importance[k] + self.omega[k] / (delta**2 + self.xi), 0.0)
            self.omega[k] = np.zeros_like(w[k])
        self.anchor = {k: v.copy() for k, v in w.items()}
        self.task_start = {k: v.copy() for k, v in w.items()}
        self._terms = [({k: 2.0 * self.c * v for k, v in self.importance.items()}, self.anchor)]
        return {k: v.copy() for k, v in self.importance.items()}

    def state_dict(self) -> dict[str, Any]:
        """``{"penalty", "c", "xi", "omega", "importance", "task_start", "anchor"}`` (copies)."""
        cp = lambda d: None if d is None else {k: v.copy() for k, v in d.items()}  # noqa: E731
        return {"penalty": "SynapticIntelligence", "c": self.c, "xi": self.xi, "omega": cp(self.omega),
                "importance": cp(self.importance), "task_start": cp(self.task_start), "anchor": cp(self.anchor)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (everything checked first)."""
        name = "SynapticIntelligence"
        st = check_keys(name, state, ("penalty", "c", "xi", "omega", "importance", "task_start", "anchor"))
        if st["penalty"] != name:
            raise ValueError(f"state_dict is for {st['penalty']!r}, not {name!r}")
        c = check_real("c", load_float(name, "c", st["c"]), 0.0, None)
        xi = check_real("xi", load_float(name, "xi", st["xi"]), 0.0, None, lo_open=True)
        shapes = self._shapes()
        loaded: dict[str, dict[str, Array] | None] = {}
        for part in ("omega", "importance", "task_start", "anchor"):
            if part == "anchor" and st[part] is None:
                loaded[part] = None
                continue
            d = check_keys(f"{name} {part}", st[part], shapes)
            loaded[part] = {k: load_array(name, f"{part}[{k!r}]", d[k], s, "f") for k, s in shapes.items()}
        self.c, self.xi = c, xi
        self.omega = loaded["omega"] or {}
        self.importance = loaded["importance"] or {}
        self.task_start = loaded["task_start"] or {}
        self.anchor = loaded["anchor"]
        self._last = None
        self._terms = [] if self.anchor is None else [
            ({k: 2.0 * self.c * v for k, v in self.importance.items()}, self.anchor)]
