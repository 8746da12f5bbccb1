"""Meta-learning: MAML with the exact second-order meta-gradient, first-order MAML, and Reptile.

A task is ``(support_x, support_y, query_x, query_y)`` in the model's input/target format. **MAML** (Finn,
Abbeel & Levine 2017, *Model-agnostic meta-learning for fast adaptation of deep networks*, ICML) adapts
with ``K`` plain gradient steps on the support loss and meta-learns the initialisation ``theta`` on the
query loss after adaptation:

.. math::

    \\theta_0 = \\theta, \\quad \\theta_{k+1} = \\theta_k - \\alpha \\nabla L_s(\\theta_k), \\qquad
    L_{meta}(\\theta) = \\frac{1}{N} \\sum_\\tau L_q^\\tau(\\theta_K^\\tau)

    \\nabla L_{meta} = \\frac{1}{N} \\sum_\\tau \\prod_{k=K-1}^{0} (I - \\alpha H_s(\\theta_k))
        \\nabla L_q(\\theta_K)

computed backwards, ``g <- g - alpha H_s(theta_k) g`` for ``k = K-1 .. 0``, with the exact
Hessian-vector products of the model (:meth:`BPTTLearner.hessian_vector_product
<plasticore.refmodel.gradient_learners.BPTTLearner.hessian_vector_product>` for LIF networks: the
surrogate-gradient model's own Hessian, which is what PyTorch's double backward computes;
:meth:`MLP.hessian_vector_product <plasticore.refmodel.mlp.MLP.hessian_vector_product>`). **First-order
MAML** (``first_order=True``, Finn et al. 2017 Sec. 5.2) drops the Hessian terms: the meta-gradient is
``nabla L_q(theta_K)``. The outer optimizer (Adam by default) applies the meta-gradient.

**Reptile** (Nichol, Achiam & Schulman 2018, *On first-order meta-learning algorithms*, arXiv:1803.02999,
batched version): adapt on each task's support set and move the initialisation toward the adapted weights,
``theta <- theta + epsilon (mean_tau theta_K^tau - theta)``, i.e. the "gradient" ``theta - mean theta_K``
applied by ``SGD(lr=epsilon)``. This is what the seed package shipped under the MAML name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._model import as_model, model_weights
from ._state import check_keys, load_int
from ._validate import check_count, check_real
from .losses import LossKind
from .optimizers import SGD, Adam, Optimizer

Array = npt.NDArray[np.float64]
Task = tuple[Any, Any, Any, Any]

__all__ = ["MetaLearner", "Reptile"]


def _check_tasks(tasks: object, n_parts: int) -> list[Sequence[Any]]:
    if isinstance(tasks, tuple) and len(tasks) == 4 and not isinstance(tasks[0], tuple):
        raise TypeError("tasks must be a list of (support_x, support_y, query_x, query_y) tuples, not a "
                        "single task tuple (wrap it in a list)")
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, (list, tuple)):
        raise TypeError(f"tasks must be a list of (support_x, support_y, query_x, query_y) tuples, "
                        f"not {type(tasks).__name__}")
    if len(tasks) == 0:
        raise ValueError("tasks must be a non-empty list of (support_x, support_y, query_x, query_y) tuples, "
                         "not an empty list")
    for i, t in enumerate(tasks):
        if not isinstance(t, (tuple, list)) or len(t) < n_parts:
            raise TypeError(f"tasks[{i}] must be a (support_x, support_y, query_x, query_y) tuple, "
                            f"not {type(t).__name__}" + (f" of length {len(t)}" if isinstance(t, (tuple, list))
                                                         else ""))
    return list(tasks)


def _axpy(a: float, x: Mapping[str, Array], y: Mapping[str, Array]) -> dict[str, Array]:
    """``y + a * x`` as a new dict."""
    return {k: y[k] + a * x[k] for k in y}


class MetaLearner:
    """MAML on any model of the functional protocol (module docstring).

    ``network``: a :class:`~plasticore.refmodel.lif.LIFNetwork` (differentiated by BPTT with ``loss``), a
    gradient learner, or an :class:`~plasticore.refmodel.mlp.MLP`. ``inner_lr`` ``alpha`` > 0,
    ``inner_steps`` ``K`` >= 1, ``first_order`` selects FOMAML; ``outer_optimizer`` (default
    ``Adam(lr=outer_lr)``) applies the meta-gradient to the network's weights in place.
    """

    def __init__(self, network: Any, *, inner_lr: float = 0.01, outer_lr: float = 0.001, inner_steps: int = 1,
                 first_order: bool = False, loss: str | LossKind = LossKind.MSE,
                 outer_optimizer: Optimizer | None = None) -> None:
        self.model = as_model(network, loss)
        self.inner_lr = check_real("inner_lr", inner_lr, 0.0, None, lo_open=True)
        self.outer_lr = check_real("outer_lr", outer_lr, 0.0, None)
        self.inner_steps = check_count("inner_steps", inner_steps, 1)
        if not isinstance(first_order, bool):
            raise TypeError(f"first_order must be a bool, not {type(first_order).__name__} {first_order!r}")
        self.first_order = first_order
        if not self.first_order and not callable(getattr(self.model, "hessian_vector_product", None)):
            raise TypeError(f"first_order=False needs a model with hessian_vector_product(inputs, targets, "
                            f"vector, weights=None); {type(self.model).__name__} has none (use a LIFNetwork, "
                            f"a BPTTLearner or an MLP, or first_order=True)")
        self.optimizer = Adam(lr=self.outer_lr) if outer_optimizer is None else outer_optimizer
        if not callable(getattr(self.optimizer, "apply", None)):
            raise TypeError(f"outer_optimizer must have an apply(weights, grads) method, not {self.optimizer!r}")
        self.step_count = 0

    @property
    def weights(self) -> dict[str, Array]:
        """The meta-learned initialisation ``theta`` (the network's live weights)."""
        return model_weights(self.model)

    def _trajectory(self, support_x: Any, support_y: Any, weights: Mapping[str, Array] | None,
                    steps: int) -> list[dict[str, Array]]:
        w = {k: np.array(v, dtype=np.float64) for k, v in (self.weights if weights is None else weights).items()}
        path = [w]
        for _ in range(steps):
            g = self.model.loss_and_gradients(support_x, support_y, path[-1])[1]
            path.append(_axpy(-self.inner_lr, g, path[-1]))
        return path

    def adapt(self, support_x: Any, support_y: Any, *, weights: Mapping[str, Array] | None = None,
              steps: int | None = None) -> dict[str, Array]:
        """Adapted weights after ``steps`` (default ``inner_steps``) steps
        ``theta <- theta - inner_lr * grad L_support(theta)`` from ``weights`` (default :attr:`weights`);
        the network is not changed."""
        n = self.inner_steps if steps is None else check_count("steps", steps, 0)
        return self._trajectory(support_x, support_y, weights, n)[-1]

    inner_loop = adapt  # the seed package's name

    def task_loss_and_gradient(self, task: Sequence[Any]) -> tuple[float, dict[str, Array]]:
        """Query loss after adaptation and its (second- or first-order) gradient for one task."""
        sx, sy, qx, qy = task[0], task[1], task[2], task[3]
        path = self._trajectory(sx, sy, None, self.inner_steps)
        value, g = self.model.loss_and_gradients(qx, qy, path[-1])
        if not self.first_order:
            for theta_k in reversed(path[:-1]):
                hg = self.model.hessian_vector_product(sx, sy, g, theta_k)
                g = _axpy(-self.inner_lr, hg, g)
        return float(value), g

    def meta_loss_and_gradient(self, tasks: Sequence[Task]) -> tuple[float, dict[str, Array]]:
        """Mean query loss after adaptation over ``tasks`` and its gradient with respect to :attr:`weights`
        (exact second order, or first order with ``first_order=True``)."""
        checked = _check_tasks(tasks, 4)
        total = 0.0
        acc = {k: np.zeros_like(v) for k, v in self.weights.items()}
        for i, task in enumerate(checked):
            try:
                value, g = self.task_loss_and_gradient(task)
            except (ValueError, TypeError) as err:
                raise type(err)(f"tasks[{i}]: {err}") from err
            total += value
            for k in acc:
                acc[k] += g[k]
        n = len(checked)
        return total / n, {k: v / n for k, v in acc.items()}

    def outer_step(self, tasks: Sequence[Task]) -> float:
        """Apply the meta-gradient with the outer optimizer; returns the mean query loss before the step."""
        value, g = self.meta_loss_and_gradient(tasks)
        self.optimizer.apply(self.weights, g)
        self.step_count += 1
        return value

    def state_dict(self) -> dict[str, Any]:
        """``{"learner", "step_count", "weights", "optimizer"}`` (copies)."""
        return {"learner": type(self).__name__, "step_count": self.step_count,
                "weights": {k: v.copy() for k, v in self.weights.items()},
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (keys, shapes and the learner class checked first)."""
        name = type(self).__name__
        if isinstance(state, Mapping) and state.get("learner", name) != name:
            raise ValueError(f"state_dict is for learner {state['learner']!r}, not {name!r}")
        st = check_keys(name, state, ("learner", "step_count", "weights", "optimizer"))
        steps = load_int(name, "step_count", st["step_count"], 0)
        owner = getattr(self.model, "net", self.model)
        owner.load_state_dict(st["weights"])
        self.optimizer.load_state_dict(st["optimizer"])
        self.step_count = steps


class Reptile(MetaLearner):
    """Reptile (Nichol et al. 2018): ``theta <- theta + outer_lr * (mean_tau adapt_tau(theta) - theta)``.

    Tasks are ``(support_x, support_y, ...)``; only the support set is used. The outer optimizer defaults
    to ``SGD(lr=outer_lr)``, which makes :meth:`outer_step` exactly the update above.
    """

    def __init__(self, network: Any, *, inner_lr: float = 0.01, outer_lr: float = 0.1, inner_steps: int = 5,
                 loss: str | LossKind = LossKind.MSE, outer_optimizer: Optimizer | None = None) -> None:
        super().__init__(network, inner_lr=inner_lr, outer_lr=outer_lr, inner_steps=inner_steps,
                         first_order=True, loss=loss,
                         outer_optimizer=SGD(lr=outer_lr) if outer_optimizer is None else outer_optimizer)

    def task_loss_and_gradient(self, task: Sequence[Any]) -> tuple[float, dict[str, Array]]:
        """Support loss before adaptation and ``theta - adapt(theta)`` for one task."""
        path = self._trajectory(task[0], task[1], None, self.inner_steps)
        value = self.model.loss_and_gradients(task[0], task[1], path[0])[0]
        return float(value), {k: path[0][k] - path[-1][k] for k in path[0]}

    def meta_loss_and_gradient(self, tasks: Sequence[Any]) -> tuple[float, dict[str, Array]]:
        """Mean support loss before adaptation and the Reptile direction ``theta - mean adapt(theta)``."""
        _check_tasks(tasks, 2)
        return super().meta_loss_and_gradient([tuple(t) + (None,) * (4 - len(t)) for t in tasks])
