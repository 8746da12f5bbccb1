"""Homeostatic synaptic scaling: hand-derived trajectory, convergence of real LIF rates, ratios, silent neurons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plasticore.refmodel.homeostasis import (
    HomeostasisParams,
    HomeostaticPlasticity,
    homeostasis_experiment,
    homeostasis_initial_state,
    homeostasis_step,
)

TARGET = 20.0


@pytest.fixture(scope="module")
def run() -> dict[str, np.ndarray]:
    """20 LIF neurons from silent to ~2x target (see homeostasis_experiment), 50 s of scaling."""
    r = homeostasis_experiment(50.0, seed=0, target_rate=TARGET)
    return {"w0": r.w0, "w": r.w, "z": r.spikes}


def test_rates_converge_to_target_within_10_percent(run: dict[str, np.ndarray]) -> None:
    first = run["z"][:5000].sum(0) / 5.0
    last = run["z"][-20_000:].sum(0) / 20.0
    assert first.min() < 0.5 * TARGET and first.max() > 1.5 * TARGET  # perturbed start
    assert np.all(np.abs(last - TARGET) <= 0.1 * TARGET), last


def test_weight_ratios_within_a_neuron_are_preserved(run: dict[str, np.ndarray]) -> None:
    ratio = run["w"][:, 10:] / run["w0"][:, 10:]
    spread = ratio.std(axis=1) / ratio.mean(axis=1)
    assert spread.max() < 1e-12
    np.testing.assert_array_equal(run["w"][:, :10], run["w0"][:, :10])  # inhibitory weights untouched
    assert np.ptp(ratio.mean(axis=1)) > 1.0  # neurons were scaled by different factors


def test_silent_neurons_are_scaled_up(run: dict[str, np.ndarray]) -> None:
    silent = run["z"][:5000].sum(0) == 0
    assert silent.sum() >= 2
    gain = (run["w"][:, 10:] / run["w0"][:, 10:]).mean(axis=1)
    assert np.all(gain[silent] > 2.0)
    assert np.all(run["z"][-20_000:, silent].sum(0) / 20.0 >= 0.9 * TARGET)


def test_step_matches_hand_derived_trajectory() -> None:
    """A silent neuron from r_hat(0) = target: r_hat(n) = target d^n and w(n) = w0 exp(sum_k dt/tau_s (1 - d^k)),
    k = 1..n; a neuron spiking every step: r_hat(n) = 1000 + (target - 1000) d^n."""
    p = HomeostasisParams(target_rate=10.0, tau_rate=50.0, tau_scale=200.0, dt=1.0)
    w = np.array([[0.3, 0.1, -0.2], [0.5, 0.0, 0.25]])
    st = homeostasis_initial_state(2, p)
    n = 300
    for _ in range(n):
        dw, st = homeostasis_step(np.array([False, True]), w, st, p)
        w = w + dw
    d = math.exp(-1 / 50)
    k = np.arange(1, n + 1)
    g0 = math.exp(np.sum((1 / 200) * (1 - d**k)))
    r1 = 1000 + (10 - 1000) * d**k
    g1 = math.exp(np.sum((1 / 200) * (1 - r1 / 10)))
    np.testing.assert_allclose(st.rate, [10 * d**n, r1[-1]], rtol=1e-12)
    np.testing.assert_allclose(w, [[0.3 * g0, 0.1 * g0, -0.2], [0.5 * g1, 0.0, 0.25 * g1]], rtol=1e-10)


def test_w_max_clips() -> None:
    p = HomeostasisParams(target_rate=10.0, tau_rate=10.0, tau_scale=10.0, w_max=0.4)
    w = np.array([[0.39, 0.1]])
    st = homeostasis_initial_state(1, p)
    for _ in range(10):  # growth factor exp(sum_k (1 - d^k) / 10) = 1.49
        dw, st = homeostasis_step(np.array([False]), w, st, p)
        w = w + dw
    d = math.exp(-1 / 10)  # the silent neuron's rate estimate decays as 10 d^k: gain exp(0.1 (1 - d^k))
    assert w[0, 0] == 0.4
    assert w[0, 1] == pytest.approx(0.1 * math.exp(0.1 * sum(1 - d**k for k in range(1, 11))), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_rate": 0.0}, r"target_rate must be a finite number in \(0, inf\), not 0.0"),
        ({"tau_rate": 0.5}, r"tau_rate must be a finite number in \[1, inf\), not 0.5"),
        ({"tau_rate": 100.0, "tau_scale": 50.0}, r"tau_scale must be a finite number in \[100, inf\), not 50.0"),
        ({"w_max": -1.0}, r"w_max must be a number in \(0, inf\), not -1.0"),
    ],
)
def test_params_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HomeostasisParams(**kwargs)


def test_step_checks_shapes() -> None:
    hp = HomeostaticPlasticity(3)
    with pytest.raises(ValueError, match=r"weights must have shape \(3, n_pre\), not \(2, 4\)"):
        hp.step([0, 1, 0], np.zeros((2, 4)))


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: HomeostaticPlasticity(2).step([0, 1], np.full((2, 3), math.nan)), ValueError,
         r"^weights must be finite, not containing nan$"),
        (lambda: HomeostaticPlasticity(2).step([0, 1], "w"), TypeError,  # type: ignore[arg-type]
         r"^weights must be an array of real numbers, not dtype <U1$"),
        (lambda: HomeostaticPlasticity(2).step([0, 2], np.zeros((2, 3))), ValueError,
         r"^post_spikes must be booleans or 0/1, not 2$"),
        (lambda: homeostasis_step(np.array([True, False]), np.zeros((3, 2)),
                                  homeostasis_initial_state(2, HomeostasisParams()), HomeostasisParams()),
         ValueError, r"^weights must have shape \(2, n_pre\), not \(3, 2\)$"),
        (lambda: homeostasis_step(np.array([True]), np.zeros((1, 2)),
                                  homeostasis_initial_state(1, HomeostasisParams()), None),  # type: ignore[arg-type]
         TypeError,
         r"^params must be a HomeostasisParams, not NoneType$"),
        (lambda: homeostasis_initial_state(0, HomeostasisParams()), ValueError, r"^n_post must be an int >= 1, not 0$"),
        (lambda: homeostasis_experiment(1e-4), ValueError,
         r"^seconds must be a finite number in \[0.001, inf\), not 0.0001$"),
        (lambda: homeostasis_experiment(0.01, seed=-2), ValueError, r"^seed must be an int >= 0, not -2$"),
    ],
)
def test_bad_arguments_are_named(call: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        call()  # type: ignore[operator]
