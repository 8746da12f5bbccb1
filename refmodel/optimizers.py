"""Optimizers: the one path that applies weight updates (gradients are computed elsewhere).

A learner computes a gradient dict ``g`` (same keys and shapes as ``net.weights``); an optimizer turns it
into a step and applies it to the weights **in place**. The learning rate is the attribute ``lr``, which a
scheduler may overwrite before each step.

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

import numpy as np
import numpy.typing as npt

from ._validate import check_array

Array = npt.NDArray[np.float64]

__all__ = ["SGD", "Adam", "Optimizer"]


def _lr(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"lr must be a finite number >= 0, not {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)) or float(value) < 0.0:
        raise ValueError(f"lr must be a finite number >= 0, not {value!r}")
    return float(value)


def _unit(name: str, value: float) -> float:
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
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _lr(value)

    def apply(self, weights: dict[str, Array], grads: dict[str, Array]) -> None:
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

    def _update(self, key: str, w: Array, g: Array) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum ``momentum`` in [0, 1) (0: plain SGD)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = _unit("momentum", momentum)
        self._buf: dict[str, Array] = {}

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
