"""Gradient transforms: the seam between a learner's gradient and its optimizer.

A :class:`~plasticore.refmodel.gradient_learners.GradientLearner` computes ``grads`` (a dict with the keys
and shapes of ``net.weights``), passes it through its ``transforms`` in order, then hands the result to the
optimizer::

    grads = loss_and_gradients(inputs, targets)[1]
    for t in transforms:
        grads = t(grads, weights)       # GradientTransform protocol
    optimizer.apply(weights, grads)

A transform is any callable ``(grads, weights) -> grads`` (:class:`GradientTransform`). It must not modify
``weights``; it may return new arrays or the ones it got. ``weights`` is what the gradient was taken at, so
penalties that depend on the weights plug in here: elastic weight consolidation adds
``lambda * F * (w - w*)`` (Kirkpatrick et al. 2017), FedProx adds ``mu * (w - w_global)`` (Li et al. 2020).
This module provides clipping:

* :class:`ClipGradNorm`: ``g <- g * min(1, max_norm / (||g||_2 + 1e-6))`` with the norm over *all* arrays
  (``torch.nn.utils.clip_grad_norm_``);
* :class:`ClipGradValue`: ``g <- clip(g, -clip_value, clip_value)`` elementwise
  (``torch.nn.utils.clip_grad_value_``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ._validate import check_array, check_real

Array = npt.NDArray[np.float64]

__all__ = ["ClipGradNorm", "ClipGradValue", "GradientTransform", "check_transforms"]


@runtime_checkable
class GradientTransform(Protocol):
    """``transform(grads, weights) -> grads``, applied between the gradient and the optimizer."""

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """Return the transformed gradient (same keys and shapes); do not modify ``weights``."""
        ...


def check_transforms(transforms: object) -> list[GradientTransform]:
    """``transforms`` as a list of callables; a ``TypeError`` naming the first that is not one."""
    if isinstance(transforms, (str, bytes)) or not isinstance(transforms, (list, tuple)):
        raise TypeError(f"transforms must be a list of (grads, weights) -> grads callables, "
                        f"not {type(transforms).__name__}")
    for k, t in enumerate(transforms):
        if not callable(t):
            raise TypeError(f"transforms[{k}] must be a (grads, weights) -> grads callable, not {type(t).__name__}")
    return list(transforms)


def _grads(grads: object) -> dict[str, Array]:
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict of arrays, not {type(grads).__name__}")
    return {k: check_array(f"grads[{k!r}]", v) for k, v in grads.items()}


class ClipGradNorm:
    """Scale the whole gradient so that its global L2 norm is at most ``max_norm`` (> 0).

    ``g <- g * (max_norm / (||g|| + 1e-6))`` when ``||g|| > max_norm`` (PyTorch's ``clip_grad_norm_``), else
    unchanged; :attr:`last_norm` holds the norm before clipping.
    """

    def __init__(self, max_norm: float) -> None:
        self.max_norm = check_real("max_norm", max_norm, 0.0, None, lo_open=True)
        self.last_norm: float | None = None

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """The clipped gradient (new arrays when it is scaled)."""
        g = _grads(grads)
        norm = math.sqrt(sum(float(np.vdot(v, v)) for v in g.values()))
        self.last_norm = norm
        if norm <= self.max_norm:
            return g
        scale = self.max_norm / (norm + 1e-6)
        return {k: v * scale for k, v in g.items()}

    def __repr__(self) -> str:
        return f"ClipGradNorm(max_norm={self.max_norm!r})"


class ClipGradValue:
    """Clip every gradient entry into ``[-clip_value, clip_value]`` (``clip_value`` > 0)."""

    def __init__(self, clip_value: float) -> None:
        self.clip_value = check_real("clip_value", clip_value, 0.0, None, lo_open=True)

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """The clipped gradient (new arrays)."""
        return {k: np.clip(v, -self.clip_value, self.clip_value) for k, v in _grads(grads).items()}

    def __repr__(self) -> str:
        return f"ClipGradValue(clip_value={self.clip_value!r})"
