"""The functional model protocol shared by meta-learning and continual learning.

A model is anything with ``loss_and_gradients(inputs, targets, weights=None) -> (loss, grads)`` (the
convention of :mod:`plasticore.refmodel.gradient_learners`) and a ``weights`` dict, optionally with
``hessian_vector_product(inputs, targets, vector, weights=None)`` and ``per_sample_gradients``. A bare
:class:`~plasticore.refmodel.lif.LIFNetwork` becomes a :class:`~plasticore.refmodel.gradient_learners.BPTTLearner`
with the given loss; a gradient learner's weights are those of its network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .gradient_learners import BPTTLearner, GradientLearner
from .lif import LIFNetwork
from .losses import LossKind, get_loss_kind

Array = npt.NDArray[np.float64]

__all__ = ["as_model", "model_weights"]


def as_model(network: object, loss: str | LossKind, name: str = "network") -> Any:
    """``network`` as a model of the protocol (module docstring); ``TypeError`` naming ``name`` otherwise."""
    kind = get_loss_kind(loss)
    if isinstance(network, LIFNetwork):
        return BPTTLearner(network, loss=kind)
    holder = network.net if isinstance(network, GradientLearner) else network
    if not callable(getattr(network, "loss_and_gradients", None)) or \
            not isinstance(getattr(holder, "weights", None), dict):
        raise TypeError(f"{name} must be a LIFNetwork, a gradient learner or a model with "
                        f"loss_and_gradients(inputs, targets, weights=None) and a weights dict, "
                        f"not {type(network).__name__}")
    own = getattr(network, "loss_kind", None)
    if own is not None and get_loss_kind(own) is not kind:
        raise ValueError(f"loss must be the model's own loss {get_loss_kind(own).value!r} for a "
                         f"{type(network).__name__}, not {kind.value!r}")
    return network


def model_weights(model: Any) -> dict[str, Array]:
    """The live weights dict of ``model`` (``model.net.weights`` for a gradient learner)."""
    w: dict[str, Array] = model.net.weights if isinstance(model, GradientLearner) else model.weights
    return w
