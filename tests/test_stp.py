"""Short-term plasticity (tsodyks2): steady state, depressing/facilitating regimes, scaling input in the LIF net."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.refmodel.lif import LIFNetwork
from plasticore.refmodel.stp import (
    ShortTermPlasticity,
    STPParams,
    run_lif_with_stp,
    stp_event_releases,
    stp_initial_state,
    stp_steady_state,
    stp_step,
)


def _regular_releases(stp: ShortTermPlasticity, interval_steps: int, n_spikes: int) -> np.ndarray:
    rel = []
    for k in range(n_spikes * interval_steps):
        r = stp.update([k % interval_steps == 0])
        if k % interval_steps == 0:
            rel.append(float(r[0]))
    return np.array(rel)


def _hand_steady_state(u_se: float, tau_d: float, tau_f: float, delta: float) -> tuple[float, float]:
    """Fixed point solved independently by iterating the spike-to-spike map to convergence."""
    a = math.exp(-delta / tau_f) if tau_f > 0 else 0.0
    b = math.exp(-delta / tau_d)
    u, x = 0.0, 1.0
    for _ in range(100_000):
        u = a * u
        u = u + u_se * (1 - u)
        r = u * x
        x = 1 - b * (1 - (x - r))
    return u, x


@pytest.mark.parametrize(
    ("u_se", "tau_d", "tau_f", "interval"),
    [(0.2, 200.0, 600.0, 25), (0.5, 800.0, 0.0, 50), (0.1, 100.0, 1000.0, 20), (0.9, 50.0, 10.0, 7)],
)
def test_steady_state_of_regular_train_matches_closed_form(
    u_se: float, tau_d: float, tau_f: float, interval: int
) -> None:
    u_star, x_star, r_star = stp_steady_state(u_se, tau_d, tau_f, float(interval))
    u_it, x_it = _hand_steady_state(u_se, tau_d, tau_f, float(interval))
    assert u_star == pytest.approx(u_it, abs=1e-12)
    assert x_star == pytest.approx(x_it, abs=1e-12)
    # the per-step simulation converges to the same fixed point (tau up to 1 s, 400 spikes is plenty)
    stp = ShortTermPlasticity(u_se, tau_d, tau_f, dt=1.0)
    rel = _regular_releases(stp, interval, 400)
    assert abs(rel[-1] - r_star) < 1e-9
    assert abs(float(stp.state.u[0]) - u_star * math.exp(-(interval - 1) / tau_f if tau_f > 0 else -math.inf)) < 1e-9


def test_depressing_regime_matches_closed_form_trajectory() -> None:
    """U = 0.5, tau_d = 800 ms, tau_f = 0 at 20 Hz: u = U at every spike, so
    r_n = U (x* + (1 - x*) (b (1 - U))^n), x* = (1 - b) / (1 - b (1 - U)), b = exp(-50/800)."""
    u_se, tau_d, isi = 0.5, 800.0, 50
    stp = ShortTermPlasticity(u_se=u_se, tau_d=tau_d, tau_f=0.0)
    rel = _regular_releases(stp, isi, 30)
    b = math.exp(-isi / tau_d)
    x_star = (1 - b) / (1 - b * (1 - u_se))
    n = np.arange(30)
    expected = u_se * (x_star + (1 - x_star) * (b * (1 - u_se)) ** n)
    np.testing.assert_allclose(rel, expected, rtol=1e-12)
    assert np.all(np.diff(rel) < 0)  # monotone depression
    assert rel[1] / rel[0] < 0.6  # paired-pulse ratio 0.53
    assert rel[-1] / rel[0] < 0.15


def test_facilitating_regime_matches_event_map_and_facilitates() -> None:
    """U = 0.1, tau_f = 1000 ms, tau_d = 100 ms at 20 Hz: per-step simulation equals NEST's event-driven
    map, and the release grows over the first spikes (paired-pulse ratio > 1)."""
    p = STPParams(u_se=0.1, tau_d=100.0, tau_f=1000.0)
    stp = ShortTermPlasticity(0.1, 100.0, 1000.0)
    rel = _regular_releases(stp, 50, 20)
    ref = stp_event_releases(np.arange(20) * 50.0, p)
    np.testing.assert_allclose(rel, ref, rtol=1e-12)
    # u_n after the n-th spike: u* + (U - u*) (a (1 - U))^n (closed form), a = exp(-50/1000)
    a = math.exp(-50 / 1000)
    u_star = 0.1 / (1 - 0.9 * a)
    assert float(stp.state.u[0]) == pytest.approx((u_star + (0.1 - u_star) * (a * 0.9) ** 19) * math.exp(-49 / 1000))
    assert rel[1] / rel[0] > 1.5
    assert rel.argmax() >= 3  # the peak comes after several spikes


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    u_se=st.floats(0.01, 1.0),
    tau_d=st.floats(1.0, 2000.0),
    tau_f=st.floats(0.0, 2000.0),
    seed=st.integers(0, 2**16),
)
def test_irregular_trains_match_event_map(u_se: float, tau_d: float, tau_f: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spikes = rng.random(400) < 0.05
    stp = ShortTermPlasticity(u_se, tau_d, tau_f)
    rel = np.array([float(stp.update([s])[0]) for s in spikes])
    ref = stp_event_releases(np.flatnonzero(spikes).astype(float), STPParams(u_se, tau_d, tau_f))
    np.testing.assert_allclose(rel[spikes], ref, rtol=1e-10, atol=1e-14)
    assert np.all(rel[~spikes] == 0.0)
    assert np.all((stp.state.x >= 0) & (stp.state.x <= 1) & (stp.state.u >= 0) & (stp.state.u <= 1))


def test_stp_scales_synaptic_input_in_the_lif_network() -> None:
    """One input at 20 Hz through a depressing synapse into one LIF neuron (tau_mem = 5 ms, so the membrane
    forgets between spikes, alpha^50 = 5e-5). With gain 1/U the n-th input adds w * x_n to v; the neuron
    responds (fires at least once before the next input) exactly to the inputs with w * x_n > theta, i.e.
    the first k predicted from the closed form."""
    u_se, tau_d, isi, n = 0.5, 800.0, 50, 20
    net = LIFNetwork(1, 1, 1, recurrent=False, tau_mem=5.0, seed=0)
    w = 4.0
    net.weights["w_in"][:] = w
    inputs = np.zeros((n * isi, 1, 1))
    inputs[::isi, 0, 0] = 1.0
    rec, rel = run_lif_with_stp(net, inputs, STPParams(u_se, tau_d, 0.0), gain=1.0 / u_se)
    b = math.exp(-isi / tau_d)
    x_star = (1 - b) / (1 - b * (1 - u_se))
    x_n = x_star + (1 - x_star) * (b * (1 - u_se)) ** np.arange(n)
    # current injected at each input spike is exactly w * x_n
    np.testing.assert_allclose(rel[::isi, 0, 0] / u_se * w, w * x_n, rtol=1e-12)
    predicted = w * x_n > 1.0 + 1e-3
    assert np.all(np.abs(w * x_n - 1.0) > 1e-2)  # no borderline case
    responded = rec.z[:, 0, 0].reshape(n, isi).any(axis=1)
    np.testing.assert_array_equal(responded, predicted)
    assert predicted.sum() == 3
    # without STP (static synapse) the neuron responds to every input
    rec_static, _ = net.forward(inputs)
    assert rec_static.z[:, 0, 0].reshape(n, isi).any(axis=1).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"u_se": 0.0}, r"u_se must be a finite number in \(0, 1\], not 0.0"),
        ({"u_se": 1.5}, r"u_se must be a finite number in \(0, 1\], not 1.5"),
        ({"tau_d": -5.0}, r"tau_d must be a finite number in \(0, inf\), not -5.0"),
        ({"tau_f": -1.0}, r"tau_f must be a finite number in \[0, inf\), not -1.0"),
        ({"dt": math.inf}, r"dt must be a finite number in \(0, inf\), not inf"),
    ],
)
def test_params_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShortTermPlasticity(**kwargs)


def test_update_checks_spikes() -> None:
    stp = ShortTermPlasticity(shape=3)
    with pytest.raises(ValueError, match=r"pre_spikes must have shape \(3,\), not \(2,\)"):
        stp.update([1, 0])
    with pytest.raises(ValueError, match=r"^pre_spikes must be booleans or 0/1, not 3$"):
        stp.update([1, 0, 3])
    with pytest.raises(TypeError, match=r"^pre_spikes must be booleans or 0/1, not dtype object$"):
        stp.update([None, 1, 0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: ShortTermPlasticity(shape=0), ValueError, r"^shape must be an int >= 1, not 0$"),
        (lambda: ShortTermPlasticity(shape=2.5), TypeError,  # type: ignore[arg-type]
         r"^shape must be an int >= 1 or a tuple of them, not float 2.5$"),
        (lambda: stp_initial_state((3, -1)), ValueError, r"^shape\[1\] must be an int >= 1, not -1$"),
        (lambda: stp_step(np.array([True, False]), stp_initial_state(3), STPParams()), ValueError,
         r"^pre_spikes must have shape \(3,\), not \(2,\)$"),
        (lambda: stp_step(np.array([2.0]), stp_initial_state(1), STPParams()), ValueError,
         r"^pre_spikes must be booleans or 0/1, not 2.0$"),
        (lambda: stp_step(np.array([True]), stp_initial_state(1), None), TypeError,  # type: ignore[arg-type]
         r"^params must be an STPParams, not NoneType$"),
        (lambda: stp_event_releases([10.0, 30.0, 30.0], STPParams()), ValueError,
         r"^spike_times must be strictly increasing, not 30.0 then 30.0 at index 2$"),
        (lambda: stp_event_releases([[1.0, 2.0]], STPParams()), ValueError,
         r"^spike_times must have shape \(n,\), not \(1, 2\)$"),
        (lambda: run_lif_with_stp(None, np.zeros((2, 1, 1)), STPParams()), TypeError,  # type: ignore[arg-type]
         r"^network must be a LIFNetwork, not NoneType$"),
        (lambda: run_lif_with_stp(LIFNetwork(1, 1, 1), np.full((2, 1, 1), 0.5), STPParams()), ValueError,
         r"^inputs must be booleans or 0/1, not 0.5$"),
    ],
)
def test_bad_arguments_are_named(call: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        call()  # type: ignore[operator]


def test_pure_step_does_not_modify_its_state() -> None:
    p = STPParams(u_se=0.3, tau_d=100.0, tau_f=50.0)
    st = stp_initial_state(4)
    for k in range(30):
        _, st = stp_step(np.arange(4) == k % 4, st, p)
    u0, x0 = st.u.copy(), st.x.copy()
    r1, s1 = stp_step(np.array([1, 0, 1, 0]), st, p)
    r2, s2 = stp_step(np.array([True, False, True, False]), st, p)
    np.testing.assert_array_equal(st.u, u0)
    np.testing.assert_array_equal(st.x, x0)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(s1.x, s2.x)
    assert r1[0] > 0 and r1[1] == 0
