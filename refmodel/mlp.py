"""A small ReLU multilayer perceptron with exact gradients and Hessian-vector products.

It offers the same functional protocol as the gradient learners of
:mod:`plasticore.refmodel.gradient_learners` (``loss_and_gradients(inputs, targets, weights=None)``,
``hessian_vector_product(inputs, targets, vector, weights=None)``, ``per_sample_gradients``) so that
:class:`~plasticore.refmodel.meta.MetaLearner` and :class:`~plasticore.refmodel.lifelong.EWC` run on it
unchanged; it exists for the classic sinusoid benchmark of MAML (Finn et al. 2017). With ``h_0 = x``
(batch, n_in):

.. math::

    a_l = h_{l-1} W_l^T + b_l, \\quad h_l = \\max(0, a_l) \\; (l < L), \\quad \\hat y = a_L, \\quad
    E = \\frac{1}{2B} \\sum_{b,k} (\\hat y_{b,k} - y_{b,k})^2

(the ``mse`` of :mod:`plasticore.refmodel.losses`). Backward: ``abar_L = (yhat - y)/B``,
``dE/dW_l = abar_l^T h_{l-1}``, ``dE/db_l = sum_b abar_l``, ``abar_{l-1} = 1[a_{l-1} > 0] (abar_l W_l)``.
The Hessian-vector product is the R-operator (Pearlmutter 1994) of that backward pass; ReLU's second
derivative is zero (as in PyTorch). Weights ``w{l}`` are ``(n_post, n_pre)``, biases ``b{l}`` ``(n_post,)``,
initialised like ``torch.nn.Linear`` (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``) from a seeded Generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array
from ._validate import check_array, check_count, check_rng
from .losses import LossKind, mse_loss

Array = npt.NDArray[np.float64]

__all__ = ["MLP"]


class MLP:
    """ReLU MLP with layer sizes ``sizes`` (e.g. ``(1, 40, 40, 1)``, Finn et al. 2017); loss ``mse`` only.

    Inputs are ``(batch, n_in)``, targets ``(batch, n_out)``. ``weights`` is a plain dict of float64 arrays;
    every method takes ``weights=None`` (default :attr:`weights`) and never modifies them.
    """

    loss_kind = LossKind.MSE

    def __init__(self, sizes: Sequence[int] = (1, 40, 40, 1), *, seed: int | np.random.Generator = 0) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least 2 layer sizes, not {sizes!r}")
        self.sizes = tuple(check_count(f"sizes[{i}]", n, 1) for i, n in enumerate(sizes))
        rng = check_rng("seed", seed)
        self.weights: dict[str, Array] = {}
        for layer in range(1, len(self.sizes)):
            n_pre, n_post = self.sizes[layer - 1], self.sizes[layer]
            bound = 1.0 / math.sqrt(n_pre)
            self.weights[f"w{layer}"] = rng.uniform(-bound, bound, (n_post, n_pre))
            self.weights[f"b{layer}"] = rng.uniform(-bound, bound, (n_post,))

    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.sizes) - 1

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Key and shape of every parameter: ``w1, b1, ..., wL, bL``."""
        out: dict[str, tuple[int, ...]] = {}
        for layer in range(1, len(self.sizes)):
            out[f"w{layer}"] = (self.sizes[layer], self.sizes[layer - 1])
            out[f"b{layer}"] = (self.sizes[layer],)
        return out

    def check_inputs(self, inputs: npt.ArrayLike) -> Array:
        """``inputs`` as float64 (batch >= 1, n_in); ``ValueError`` naming the shape otherwise."""
        x = check_array("inputs", inputs)
        if x.ndim != 2 or x.shape[1] != self.sizes[0] or x.shape[0] < 1:
            raise ValueError(f"inputs must have shape (batch, {self.sizes[0]}) with batch >= 1, not {x.shape}")
        return x

    def _prepare(self, inputs: npt.ArrayLike, targets: npt.ArrayLike, weights: Mapping[str, Array] | None,
                 ) -> tuple[Array, Array, Mapping[str, Array]]:
        x = self.check_inputs(inputs)
        y = check_array("targets", targets)
        if y.shape != (x.shape[0], self.sizes[-1]):
            raise ValueError(f"targets must have shape (batch, n_out) = {(x.shape[0], self.sizes[-1])}, "
                             f"not {y.shape}")
        w = self.weights if weights is None else weights
        shapes = self.weight_shapes()
        if not isinstance(w, Mapping) or set(w) != set(shapes):
            raise ValueError(f"weights must be a dict with keys {sorted(shapes)}, not "
                             f"{sorted(w) if isinstance(w, Mapping) else type(w).__name__}")
        return x, y, {k: check_array(f"weights[{k!r}]", w[k], s) for k, s in shapes.items()}

    def _forward(self, x: Array, w: Mapping[str, Array]) -> tuple[list[Array], list[Array]]:
        hs, pre = [x], []
        for layer in range(1, self.n_layers + 1):
            a = hs[-1] @ w[f"w{layer}"].T + w[f"b{layer}"]
            pre.append(a)
            hs.append(np.maximum(a, 0.0) if layer < self.n_layers else a)
        return hs, pre

    def predict(self, inputs: npt.ArrayLike, weights: Mapping[str, Array] | None = None) -> Array:
        """The output ``yhat`` (batch, n_out)."""
        x = self.check_inputs(inputs)
        return self._forward(x, self.weights if weights is None else weights)[0][-1]

    def loss(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
             weights: Mapping[str, Array] | None = None) -> float:
        """``E = sum (yhat - y)^2 / (2B)``."""
        x, y, w = self._prepare(inputs, targets, weights)
        return mse_loss(self._forward(x, w)[0][-1], y, x.shape[0])

    def _backward(self, x: Array, y: Array, w: Mapping[str, Array], vector: Mapping[str, Array] | None,
                  ) -> tuple[float, dict[str, Array], dict[str, Array]]:
        hs, pre = self._forward(x, w)
        batch, n_l = x.shape[0], self.n_layers
        value = mse_loss(hs[-1], y, batch)
        grads: dict[str, Array] = {}
        hvp: dict[str, Array] = {}
        hds: list[Array] = [np.zeros_like(x)]
        if vector is not None:  # tangents of the forward pass
            for layer in range(1, n_l + 1):
                ad = hds[-1] @ w[f"w{layer}"].T + hs[layer - 1] @ vector[f"w{layer}"].T + vector[f"b{layer}"]
                hds.append(ad * (pre[layer - 1] > 0.0) if layer < n_l else ad)
        abar = (hs[-1] - y) / batch
        abard = hds[-1] / batch if vector is not None else abar
        for layer in range(n_l, 0, -1):
            grads[f"w{layer}"] = abar.T @ hs[layer - 1]
            grads[f"b{layer}"] = abar.sum(axis=0)
            if vector is not None:
                hvp[f"w{layer}"] = abard.T @ hs[layer - 1] + abar.T @ hds[layer - 1]
                hvp[f"b{layer}"] = abard.sum(axis=0)
            if layer > 1:
                mask = pre[layer - 2] > 0.0
                wl = w[f"w{layer}"]
                if vector is not None:
                    abard = (abard @ wl + abar @ vector[f"w{layer}"]) * mask
                abar = (abar @ wl) * mask
        order = list(self.weight_shapes())
        return value, {k: grads[k] for k in order}, {k: hvp[k] for k in order} if vector is not None else {}

    def loss_and_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                           weights: Mapping[str, Array] | None = None) -> tuple[float, dict[str, Array]]:
        """Loss and exact gradient at ``weights`` (default :attr:`weights`)."""
        x, y, w = self._prepare(inputs, targets, weights)
        value, grads, _ = self._backward(x, y, w, None)
        return value, grads

    def gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                  weights: Mapping[str, Array] | None = None) -> dict[str, Array]:
        """The gradient dict at ``weights``."""
        return self.loss_and_gradients(inputs, targets, weights)[1]

    def hessian_vector_product(self, inputs: npt.ArrayLike, targets: npt.ArrayLike, vector: Mapping[str, Array],
                               weights: Mapping[str, Array] | None = None) -> dict[str, Array]:
        """Exact ``H @ vector`` of the loss at ``weights`` (R-operator, module docstring)."""
        x, y, w = self._prepare(inputs, targets, weights)
        shapes = self.weight_shapes()
        if not isinstance(vector, Mapping) or set(vector) != set(shapes):
            raise ValueError(f"vector must be a dict with keys {sorted(shapes)}, not "
                             f"{sorted(vector) if isinstance(vector, Mapping) else type(vector).__name__}")
        v = {k: check_array(f"vector[{k!r}]", vector[k], s) for k, s in shapes.items()}
        return self._backward(x, y, w, v)[2]

    def per_sample_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                             weights: Mapping[str, Array] | None = None) -> dict[str, Array]:
        """Gradient of each sample's loss alone (batch 1): arrays ``(batch, *shape)``."""
        x, y, w = self._prepare(inputs, targets, weights)
        per = [self._backward(x[b:b + 1], y[b:b + 1], w, None)[1] for b in range(x.shape[0])]
        return {k: np.stack([g[k] for g in per]) for k in per[0]}

    def state_dict(self) -> dict[str, Array]:
        """Copies of the weights."""
        return {k: v.copy() for k, v in self.weights.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy :meth:`state_dict` output into :attr:`weights` in place (keys and shapes checked first)."""
        shapes = self.weight_shapes()
        st = check_keys("MLP", state, shapes)
        new = {k: load_array("MLP", k, st[k], s, "f") for k, s in shapes.items()}
        for k, v in new.items():
            self.weights[k][...] = v
