"""Optimizers: the one path that applies weight updates (gradients are computed elsewhere).

A learner computes a gradient dict ``g`` (same keys and shapes as ``net.weights``); an optimizer turns it
into a step and applies it to the weights **in place**. The learning rate is the attribute ``lr``, which a
scheduler may overwrite before each step.

Local plasticity rules (R-STDP, homeostasis, the Hebbian rule of structural plasticity) compute a weight
change ``dw`` instead of a gradient; :meth:`Optimizer.apply_delta` applies it through the same path, as the
gradient ``-dw`` (snnTorch's ``STDPLearner`` convention). With ``SGD(lr=1.0)`` that is ``w + dw`` exactly
(``1.0 * g`` and ``w - (-dw)`` are exact in floating point), optionally clipped to ``bounds``.
:meth:`Optimizer.state_dict` / :meth:`Optimizer.load_state_dict` checkpoint the learning rate, the step
count and the moment buffers.

* :class:`SGD` with (heavy-ball) momentum, as ``torch.optim.SGD`` with ``dampening = 0``:

  .. math::  b \\leftarrow \\mu b + g, \\qquad w \\leftarrow w - \\eta b

* :class:`Adam` (Kingma & Ba 2015, *Adam: a method for stochastic optimization*, ICLR; used by
  Bellec et al. 2020 for e-prop):

  .. math::

      m \\leftarrow \\beta_1 m + (1-\\beta_1) g,\\quad v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2,\\quad
      w \\leftarrow w - \\eta \\frac{m / (1-\\beta_1^t)}{\\sqrt{v / (1-\\beta_2^t)} + \\epsilon}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array, load_float, load_int
from ._validate import check_array, check_real

Array = npt.NDArray[np.float64]

__all__ = ["SGD", "Adam", "Optimizer"]


def _lr(value: float) -> float:
    """``value`` as a float if it is a finite number >= 0; a named error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"lr must be a finite number >= 0, not {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)) or float(value) < 0.0:
        raise ValueError(f"lr must be a finite number >= 0, not {value!r}")
    return float(value)


def _unit(name: str, value: float) -> float:
    """``value`` as a float if it is a number in [0, 1); a named error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [0, 1), not {type(value).__name__} {value!r}")
    if not (0.0 <= float(value) < 1.0):
        raise ValueError(f"{name} must be in [0, 1), not {value!r}")
    return float(value)


class Optimizer:
    """Base class: holds ``lr`` and per-weight state; :meth:`apply` updates ``weights`` in place."""

    def __init__(self, lr: float) -> None:
        self._lr = _lr(lr)
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate (a scheduler may set it before each step); a finite number >= 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _lr(value)

    def apply(self, weights: dict[str, Array], grads: Mapping[str, npt.ArrayLike]) -> None:
        """``weights[key] -= step(grads[key])`` in place for every key.

        Everything is checked before anything is written: ``weights`` maps names to float arrays,
        ``grads`` has the same keys, each of the same shape and finite (a NaN gradient would silently
        destroy the weights and the optimizer's moments).
        """
        for name, d in (("weights", weights), ("grads", grads)):
            if not isinstance(d, Mapping):
                raise TypeError(f"{name} must be a dict of arrays, not {type(d).__name__}")
        if set(grads) != set(weights):
            raise ValueError(f"grads must have the keys of weights {sorted(weights)}, not {sorted(grads)}")
        checked = {}
        for key, w in weights.items():
            if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
                what = f"dtype {w.dtype}" if isinstance(w, np.ndarray) else type(w).__name__
                raise TypeError(f"weights[{key!r}] must be a float array (updated in place), not {what}")
            checked[key] = check_array(f"grads[{key!r}]", grads[key], w.shape)
        self.steps += 1
        for key in weights:
            self._update(key, weights[key], checked[key])

    def apply_delta(self, weights: dict[str, Array], deltas: dict[str, Array],
                    bounds: tuple[float, float] | None = None) -> None:
        """Apply a local rule's weight change ``deltas`` (``dw``) as the gradient ``-dw``, then clip to ``bounds``.

        With ``SGD(lr=1.0)`` this is exactly ``w + dw``; ``bounds = (w_min, w_max)`` clips the result in place.
        """
        lo = hi = None
        if bounds is not None:
            if not isinstance(bounds, tuple) or len(bounds) != 2:
                raise TypeError(f"bounds must be a (w_min, w_max) tuple, not {bounds!r}")
            lo = check_real("w_min", bounds[0], None, None, allow_inf=True)
            hi = check_real("w_max", bounds[1], lo, None, allow_inf=True)
        if not isinstance(deltas, Mapping):
            raise TypeError(f"deltas must be a dict of arrays, not {type(deltas).__name__}")
        self.apply(weights, {k: -check_array(f"deltas[{k!r}]", v) for k, v in deltas.items()})
        if lo is not None and hi is not None:
            for w in weights.values():
                np.clip(w, lo, hi, out=w)

    def _hyper(self) -> dict[str, float]:
        """Hyperparameters besides ``lr`` (checked, not only restored, by :meth:`load_state_dict`)."""
        return {}

    def _buffers(self) -> dict[str, dict[str, Array]]:
        """The per-weight state buffers by name (live references)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """``{"optimizer", "lr", "steps", <hyperparameters>, <buffers>}``; buffers are dicts of array copies."""
        return {"optimizer": type(self).__name__, "lr": self._lr, "steps": self.steps, **self._hyper(),
                **{name: {k: v.copy() for k, v in buf.items()} for name, buf in self._buffers().items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output: ``lr``, ``steps`` and the buffers (float64 arrays).

        The optimizer name and the hyperparameters must equal this optimizer's (``ValueError`` naming them);
        unknown or missing keys are errors.
        """
        name = type(self).__name__
        bufs = self._buffers()
        if isinstance(state, Mapping) and state.get("optimizer", name) != name:  # the class first
            raise ValueError(f"state_dict is for optimizer {state['optimizer']!r}, not {name!r}")
        st = check_keys(name, state, ("optimizer", "lr", "steps", *self._hyper(), *bufs))
        for key, value in self._hyper().items():
            if load_float(name, key, st[key]) != value:
                raise ValueError(f"{name} state_dict has {key}={st[key]!r}, but this {name} has {key}={value!r}")
        lr = _lr(load_float(name, "lr", st["lr"]))
        steps = load_int(name, "steps", st["steps"], 0)
        new: dict[str, dict[str, Array]] = {}
        for bname in bufs:
            raw = st[bname]
            if not isinstance(raw, Mapping):
                raise TypeError(f"{name} state_dict[{bname!r}] must be a dict of arrays, not {type(raw).__name__}")
            new[bname] = {}
            for k, v in raw.items():
                shape = v.shape if isinstance(v, np.ndarray) else ()
                new[bname][k] = load_array(name, f"{bname}[{k!r}]", v, shape, "f")
        self._lr, self.steps = lr, steps
        for bname, buf in bufs.items():
            buf.clear()
            buf.update(new[bname])

    def _update(self, key: str, w: Array, g: Array) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum ``momentum`` in [0, 1) (0: plain SGD)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = _unit("momentum", momentum)
        self._buf: dict[str, Array] = {}

    def _hyper(self) -> dict[str, float]:
        return {"momentum": self.momentum}

    def _buffers(self) -> dict[str, dict[str, Array]]:
        return {"momentum_buffer": self._buf}

    def _update(self, key: str, w: Array, g: Array) -> None:
        if self.momentum > 0.0:
            b = self._buf.get(key)
            if b is None:
                b = self._buf[key] = g.copy()
            else:
                b *= self.momentum
                b += g
            w -= self.lr * b
        else:
            w -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction; ``beta1``, ``beta2`` in [0, 1), ``eps`` > 0."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = _unit("beta1", beta1)
        self.beta2 = _unit("beta2", beta2)
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
            raise TypeError(f"eps must be a finite number > 0, not {type(eps).__name__} {eps!r}")
        if not (0.0 < float(eps) < math.inf):
            raise ValueError(f"eps must be a finite number > 0, not {eps!r}")
        self.eps = float(eps)
        self._m: dict[str, Array] = {}
        self._v: dict[str, Array] = {}

    def _hyper(self) -> dict[str, float]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _buffers(self) -> dict[str, dict[str, Array]]:
        return {"m": self._m, "v": self._v}

    def _update(self, key: str, w: Array, g: Array) -> None:
        m = self._m.setdefault(key, np.zeros_like(w))
        v = self._v.setdefault(key, np.zeros_like(w))
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        m_hat = m / (1.0 - self.beta1**self.steps)
        v_hat = v / (1.0 - self.beta2**self.steps)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
