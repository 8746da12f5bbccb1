"""The shared LIF dynamics: a hand-derived trajectory, surrogates against their formulas, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plasticore.refmodel.lif import LIFNetwork
from plasticore.refmodel.surrogates import SURROGATES, get_surrogate


def test_single_neuron_trajectory_by_hand() -> None:
    net = LIFNetwork(1, 1, 1, recurrent=False, tau_mem=20.0, tau_out=10.0)
    net.weights["w_in"][:] = 0.6
    net.weights["w_out"][:] = 2.0
    a, k = math.exp(-1 / 20), math.exp(-1 / 10)
    rec, _ = net.forward(np.ones((4, 1, 1)))
    v1 = 0.6
    v2 = a * v1 + 0.6  # 1.1707 > 1: spike
    v3 = a * v2 + 0.6 - 1.0  # reset by subtraction
    v4 = a * v3 + 0.6  # 1.2788 > 1: spike
    assert rec.v[:, 0, 0] == pytest.approx([v1, v2, v3, v4], abs=1e-12)
    assert rec.z[:, 0, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert rec.y[:, 0, 0] == pytest.approx([0.0, 2.0, 2.0 * k, 2.0 * k * k + 2.0], abs=1e-12)


def test_recurrent_term_uses_previous_spikes() -> None:
    net = LIFNetwork(1, 2, 1, recurrent=True)
    net.weights["w_in"][:] = [[1.5], [0.0]]
    net.weights["w_rec"][:] = [[0.0, 0.0], [0.7, 0.0]]
    rec, _ = net.forward(np.array([[[1.0]], [[0.0]], [[0.0]]]))
    assert rec.z[:, 0, 0].tolist() == [1.0, 0.0, 0.0]  # neuron 0 fires at t=0
    assert rec.v[:, 0, 1] == pytest.approx([0.0, 0.7, 0.7 * math.exp(-1 / 20)], abs=1e-12)


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_surrogates_peak_at_threshold_and_are_even(name: str) -> None:
    psi = get_surrogate(name)
    u = np.linspace(-0.5, 0.5, 101)
    y = psi(u, 5.0)
    assert y[50] == pytest.approx(5.0 / 4 if name == "sigmoid" else 1.0)
    assert y == pytest.approx(y[::-1], abs=1e-15)
    assert (np.diff(y[50:]) <= 1e-15).all()
    assert psi(np.array([0.2]), 25.0)[0] == pytest.approx(
        {"fast_sigmoid": 1 / 36, "arctan": 1 / (1 + (math.pi * 2.5) ** 2), "triangle": 0.0,
         "sigmoid": 25 * math.exp(-5) / (1 + math.exp(-5)) ** 2}[name])


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"tau_mem": 0.0}, ValueError, "tau_mem must be a finite number > 0, not 0.0"),
        ({"dt": float("nan")}, ValueError, "dt must be a finite number > 0, not nan"),
        ({"threshold": "1"}, TypeError, "threshold must be a positive number, not str '1'"),
        ({"surrogate": "relu"}, ValueError, "surrogate must be one of"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0, not -1"),
    ],
)
def test_parameter_errors(kwargs: dict[str, object], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message.replace("(", r"\(").replace(")", r"\)")):
        LIFNetwork(2, 3, 1, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_rec must be an int >= 1, not 0"):
        LIFNetwork(2, 0, 1)
    with pytest.raises(ValueError, match=r"inputs must have shape \(T, batch, 2\), not \(5, 2\)"):
        LIFNetwork(2, 3, 1).forward(np.zeros((5, 2)))
