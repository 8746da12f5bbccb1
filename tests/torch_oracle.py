"""The spike nonlinearity as a torch autograd function, for the autodiff oracles of the gradient tests
(``test_gradients.py``, ``test_meta.py``, ``test_lifelong.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def spike_function(torch: Any, pseudo_derivative: Callable[[Any], Any]) -> Any:
    """A ``torch.autograd.Function``: the Heaviside step ``u > 0`` forward, ``grad * pseudo_derivative(u)``
    backward. Written in torch ops, ``pseudo_derivative`` is differentiated again by a double backward."""
    function: Any = torch.autograd.Function  # mypy takes no base class from a module held in a variable

    class Spike(function):
        @staticmethod
        def forward(ctx: Any, u: Any) -> Any:
            ctx.save_for_backward(u)
            return (u > 0).to(u.dtype)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (u,) = ctx.saved_tensors
            return grad * pseudo_derivative(u)

    return Spike


def lif_readout(torch: Any, spike: Any, w: dict[str, Any], x: Any, params: tuple[float, float, float]) -> Any:
    """The readout ``y`` of every step, ``(T, batch, n_out)``, of ``LIFNetwork`` in torch ops (``x``: a
    ``(T, batch, n_in)`` tensor; ``w``: ``w_in``, ``w_out`` and optionally ``w_rec``; ``params``: the network's
    ``(alpha, kappa, theta)``). The reset ``theta * z`` is detached, as in the model::

        v_t = alpha v_{t-1} + W_in x_t + W_rec z_{t-1} - theta sg(z_{t-1}),  z_t = spike(v_t - theta),
        y_t = kappa y_{t-1} + W_out z_t
    """
    alpha, kappa, theta = params
    batch, n_rec, n_out = x.shape[1], w["w_in"].shape[0], w["w_out"].shape[0]
    v = torch.zeros(batch, n_rec, dtype=torch.float64)
    z = torch.zeros_like(v)
    y = torch.zeros(batch, n_out, dtype=torch.float64)
    ys = []
    for t in range(x.shape[0]):
        v_new = alpha * v + x[t] @ w["w_in"].T - theta * z.detach()
        if "w_rec" in w:
            v_new = v_new + z @ w["w_rec"].T
        v = v_new
        z = spike.apply(v - theta)
        y = kappa * y + z @ w["w_out"].T
        ys.append(y)
    return torch.stack(ys)
