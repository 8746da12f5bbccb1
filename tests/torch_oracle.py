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
