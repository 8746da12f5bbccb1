"""R-STDP: STDP window vs closed form, modulation vs hand-derived sums, the O(1) fixed-point twin, distal reward."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Synapse
from plasticore.refmodel.rstdp import (
    Bounds,
    DistalRewardConfig,
    Modulation,
    RewardModulatedLearner,
    RSTDPParams,
    RSTDPState,
    TraceMode,
    distal_reward_experiment,
    rstdp_initial_state,
    rstdp_params_from_o1,
    rstdp_step,
    stdp_window,
)

LONG = bool(os.environ.get("PLASTICORE_LONG"))


def _pair_eligibility(params: RSTDPParams, delta: int) -> float:
    """Eligibility right after the later spike of one pre/post pair, ``delta = t_post - t_pre`` steps."""
    t_pre, t_post = (10, 10 + delta) if delta >= 0 else (10 - delta, 10)
    state = rstdp_initial_state(1, 1)
    w = np.zeros((1, 1))
    for t in range(max(t_pre, t_post) + 1):
        _, state = rstdp_step(np.array([t == t_pre]), np.array([t == t_post]), 0.0, w, state, params)
    return float(state.eligibility[0, 0])


@pytest.mark.parametrize("mode", list(TraceMode))
def test_stdp_window_matches_closed_form(mode: TraceMode) -> None:
    params = RSTDPParams(a_plus=0.8, a_minus=0.6, tau_plus=16.8, tau_minus=33.7, trace_mode=mode)
    deltas = np.arange(-80, 81)
    sim = np.array([_pair_eligibility(params, int(d)) for d in deltas])
    lag = 1.0 if mode is TraceMode.FIXED_POINT else 0.0
    # independent closed form (written out here, not via stdp_window)
    expected = np.where(
        deltas >= 0,
        0.8 * np.exp(-np.maximum(deltas - lag, 0) / 16.8),
        -0.6 * np.exp((deltas + lag) / 33.7),
    )
    np.testing.assert_allclose(sim, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(stdp_window(deltas, params), expected, rtol=1e-12, atol=0)


def test_all_to_all_sums_pairs_and_nearest_keeps_last() -> None:
    # two pre spikes (t=0, t=5) then one post (t=12): all-to-all sums both pairs, nearest only the later one.
    out = {}
    for mode in (TraceMode.ALL_TO_ALL, TraceMode.NEAREST):
        p = RSTDPParams(trace_mode=mode)
        st = rstdp_initial_state(1, 1)
        for t in range(13):
            _, st = rstdp_step(np.array([t in (0, 5)]), np.array([t == 12]), 0.0, np.zeros((1, 1)), st, p)
        out[mode] = float(st.eligibility[0, 0])
    # the pair terms are added at t = 12 and not decayed yet
    assert out[TraceMode.ALL_TO_ALL] == pytest.approx(math.exp(-12 / 20) + math.exp(-7 / 20), rel=1e-12)
    assert out[TraceMode.NEAREST] == pytest.approx(math.exp(-7 / 20), rel=1e-12)


def test_dopamine_transfer_matches_hand_sum() -> None:
    # pair with delta = +5 at t = 0..5, one dopamine pulse r at t = 100, run to t = 100 + n - 1.
    p = RSTDPParams(lr=0.01, tau_e=1000.0, tau_da=200.0, w_max=10.0, modulation=Modulation.DOPAMINE)
    r, n = 0.5, 400
    st = rstdp_initial_state(1, 1)
    w = np.full((1, 1), 1.0)
    for t in range(100 + n):
        dw, st = rstdp_step(np.array([t == 0]), np.array([t == 5]), r if t == 100 else 0.0, w, st, p)
        w = w + dw
    d_e, d_da = math.exp(-1 / 1000), math.exp(-1 / 200)
    e_100 = math.exp(-5 / 20) * d_e**95
    expected = 1.0 + 0.01 * r * e_100 * sum((d_da * d_e) ** k for k in range(n))
    assert w[0, 0] == pytest.approx(expected, rel=1e-12)


def test_reward_mode_and_bounds_by_hand() -> None:
    e0 = np.array([[2.0, -3.0]])
    st = RSTDPState(np.zeros(2), np.zeros(1), e0.copy(), np.zeros(1))
    w = np.array([[0.25, 0.25]])
    no = np.zeros(2, dtype=bool)
    d_e = math.exp(-1 / 1000)
    soft = RSTDPParams(lr=0.1, bounds=Bounds.SOFT, w_min=0.0, w_max=1.0)
    dw, _ = rstdp_step(no, np.zeros(1, dtype=bool), 0.5, w, st, soft)
    np.testing.assert_allclose(dw, [[0.1 * 0.5 * 2 * d_e * 0.75, -0.1 * 0.5 * 3 * d_e * 0.25]], rtol=1e-13)
    hard = RSTDPParams(lr=1.0, bounds=Bounds.HARD, w_min=0.0, w_max=1.0)
    dw, _ = rstdp_step(no, np.zeros(1, dtype=bool), 1.0, w, st, hard)
    np.testing.assert_allclose(w + dw, [[1.0, 0.0]])  # clipped at both bounds


def test_learner_validates_inputs() -> None:
    lr = RewardModulatedLearner(3, 2)
    with pytest.raises(ValueError, match=r"pre_spikes must have shape \(3,\), not \(2,\)"):
        lr.step([1, 0], [0, 0], 0.0, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="post_spikes must be booleans or 0/1"):
        lr.step([1, 0, 0], [0, 2], 0.0, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 3\), not \(3, 2\)"):
        lr.step([1, 0, 0], [0, 1], 0.0, np.zeros((3, 2)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau_plus": -1.0}, r"tau_plus must be a finite number in \(0, inf\), not -1.0"),
        ({"a_minus": math.nan}, r"a_minus must be a finite number in \[0, inf\), not nan"),
        ({"w_min": 1.0, "w_max": 0.5}, r"w_max must be a finite number in \(1, inf\), not 0.5"),
        ({"e_max": -1.0}, r"e_max must be a number in \[0, inf\), not -1.0"),
        ({"dt": 0}, r"dt must be a finite number in \(0, inf\), not 0"),
        (
            {"trace_mode": "pairs"},
            r"trace_mode must be one of \['all_to_all', 'nearest', 'fixed_point'\], not 'pairs'",
        ),
    ],
)
def test_params_errors_name_parameter_range_and_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RSTDPParams(**kwargs)  # type: ignore[arg-type]


def test_params_type_error() -> None:
    with pytest.raises(TypeError, match=r"^lr must be a number in \[0, inf\), not str '0.1'$"):
        RSTDPParams(lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^a_plus must be a number in \[0, inf\), not bool True$"):
        RSTDPParams(a_plus=True)


def test_step_treats_0_1_numbers_as_spike_masks() -> None:
    """Spikes given as 0/1 integers or floats mean the same as booleans (an integer array used as an index
    would pick rows 0 and 1 instead of masking: the bug this guards against)."""
    p = RSTDPParams()
    st = rstdp_initial_state(3, 2)
    st = st._replace(pre_trace=np.array([0.5, 0.25, 0.125]), post_trace=np.array([0.3, 0.6]))
    w = np.full((2, 3), 0.5)
    ref_dw, ref = rstdp_step(np.array([True, False, True]), np.array([False, True]), 0.5, w, st, p)
    for pre, post in (([1, 0, 1], [0, 1]), (np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0]))):
        dw, new = rstdp_step(pre, post, 0.5, w, st, p)  # type: ignore[arg-type]
        np.testing.assert_array_equal(dw, ref_dw)
        for a, b in zip(new, ref, strict=True):
            np.testing.assert_array_equal(a, b)
    # eligibility by hand: post 1 pairs with x = d+ x_old + s_pre, pre 0 and 2 pair with y_hat = d- y_old
    d = math.exp(-1 / 20)
    x = d * np.array([0.5, 0.25, 0.125]) + [1, 0, 1]
    y_hat = d * np.array([0.3, 0.6])
    e = np.zeros((2, 3))
    e[1] += x
    e[:, [0, 2]] -= y_hat[:, None]
    np.testing.assert_allclose(ref.eligibility, e, rtol=1e-15)


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda st, w, p: rstdp_step(np.zeros(2, bool), np.zeros(2, bool), 0.0, w, st, p), ValueError,
         r"^pre_spikes must have shape \(3,\), not \(2,\)$"),
        (lambda st, w, p: rstdp_step(np.zeros(3, bool), np.array([0, 2]), 0.0, w, st, p), ValueError,
         r"^post_spikes must be booleans or 0/1, not 2$"),
        (lambda st, w, p: rstdp_step(np.zeros(3, bool), np.zeros(2, bool), np.ones(3), w, st, p), ValueError,
         r"^reward must be a scalar or have shape \(2,\), not \(3,\)$"),
        (lambda st, w, p: rstdp_step(np.zeros(3, bool), np.zeros(2, bool), 0.0, w.T, st, p), ValueError,
         r"^weights must have shape \(2, 3\), not \(3, 2\)$"),
        (lambda st, w, p: rstdp_step(np.zeros(3, bool), np.zeros(2, bool), 0.0, w, st, None),  # type: ignore[arg-type]
         TypeError,
         r"^params must be an RSTDPParams, not NoneType$"),
        (lambda st, w, p: rstdp_initial_state(0, 2), ValueError, r"^n_pre must be an int >= 1, not 0$"),
        (lambda st, w, p: stdp_window([1.0, math.nan], p), ValueError, r"^delta_t must be finite, not containing nan$"),
        (lambda st, w, p: RewardModulatedLearner(3, 2).step([1, 0, 0], [0, 1], "1", w), TypeError,
         r"^reward must be an array of real numbers, not dtype <U1$"),
        (lambda st, w, p: RewardModulatedLearner(3, 2).step([1, 0, 0], [0, 1], 1.0, np.full((2, 3), math.nan)),
         ValueError, r"^weights must be finite, not containing nan$"),
        (lambda st, w, p: RewardModulatedLearner(3, 2).step(["a"] * 3, [0, 1], 1.0, w), TypeError,
         r"^pre_spikes must be booleans or 0/1, not dtype <U1$"),
        (lambda st, w, p: distal_reward_experiment(100.0, seed=-1), ValueError, r"^seed must be an int >= 0, not -1$"),
        (lambda st, w, p: distal_reward_experiment(0.5), ValueError,
         r"^duration_ms must be a finite number in \[1, inf\), not 0.5$"),
        (lambda st, w, p: distal_reward_experiment(100.0, config={"n_in": 5}),  # type: ignore[arg-type]
         TypeError,
         r"^config must be a DistalRewardConfig, not dict$"),
    ],
)
def test_bad_arguments_are_named(call: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        call(rstdp_initial_state(3, 2), np.zeros((2, 3)), RSTDPParams())  # type: ignore[operator]


# ---- the fixed-point twin ------------------------------------------------------------------------------


def _random_stream(
    n: int, seed: int, p_spike: float, p_reward: float, r_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pre = rng.random(n) < p_spike
    post = rng.random(n) < p_spike
    rew = np.where(rng.random(n) < p_reward, rng.integers(-r_max, r_max + 1, n), 0)
    return pre, post, rew


@pytest.mark.parametrize(
    "config",
    [
        OnlineO1Config(),
        OnlineO1Config(weight_bits=12, trace_bits=10, reward_bits=4, learning_shift=6, trace_decay_shift=3),
    ],
)
def test_fixed_point_twin_lockstep_within_one_rounding(config: OnlineO1Config) -> None:
    """From the integer state, one float step differs by < 1 LSB (traces, eligibility) and by
    < 1 + |r| / 2^L LSB (weight): exactly the truncations the integer rule makes in that step."""
    p = rstdp_params_from_o1(config)
    m = config.max_trace
    syn = OnlineO1Synapse(config, initial_weight=config.max_weight // 2)
    pre, post, rew = _random_stream(10_000, 1, 0.08, 0.5, config.reward_max)
    worst = np.zeros(4)
    for t in range(len(pre)):
        s = syn.snapshot()
        st = RSTDPState(np.array([s.pre_trace / m]), np.array([s.post_trace / m]), np.array([[float(s.eligibility)]]),
                        np.zeros(1))
        w = np.array([[float(s.weight)]])
        dw, st = rstdp_step(pre[t : t + 1], post[t : t + 1], float(rew[t]), w, st, p)
        n = syn.step(pre_spike=bool(pre[t]), post_spike=bool(post[t]), reward=int(rew[t]))
        err = np.abs([n.pre_trace - m * st.pre_trace[0], n.post_trace - m * st.post_trace[0],
                      n.eligibility - st.eligibility[0, 0]])
        assert np.all(err < 1.0 + 1e-9), (t, err)
        werr = abs(n.weight - (w[0, 0] + dw[0, 0]))
        assert werr < 1.0 + abs(int(rew[t])) / 2**config.learning_shift + 1e-9, (t, werr)
        worst = np.maximum(worst, [*err, werr])
    assert worst[2] > 0.5  # the comparison is not vacuous: truncation errors do occur


def test_fixed_point_twin_free_running_bounds() -> None:
    """Free-running over 4 * 10^4 steps: traces within 2^s - 1 LSB (the integer trace truncates each decay by
    < 1 LSB, errors contract by 1 - 2^-s and reset at spikes), eligibility within 2^s (1 + 2 (2^s - 1))
    LSB (one < 1 truncation per step plus pot/dep trace errors, contracted by 1 - 2^-s), weight within
    sum over rewarded steps of (1 + |r_t| |de_t| / 2^L)."""
    config = OnlineO1Config()  # W=16, T=12, R=8, L=4, s=4
    s, big_l = config.trace_decay_shift, config.learning_shift
    p = rstdp_params_from_o1(config)
    m = config.max_trace
    syn = OnlineO1Synapse(config, initial_weight=30_000)
    pre, post, rew = _random_stream(40_000, 2, 0.05, 0.02, 8)
    st = rstdp_initial_state(1, 1)
    w = np.array([[30_000.0]])
    trace_bound = 2**s - 1
    e_bound = 2**s * (1 + 2 * (2**s - 1))
    w_budget = 0.0
    worst_trace = worst_e = worst_w = 0.0
    for t in range(len(pre)):
        dw, st = rstdp_step(pre[t : t + 1], post[t : t + 1], float(rew[t]), w, st, p)
        w = w + dw
        n = syn.step(pre_spike=bool(pre[t]), post_spike=bool(post[t]), reward=int(rew[t]))
        worst_trace = max(worst_trace, abs(n.pre_trace - m * st.pre_trace[0]), abs(n.post_trace - m * st.post_trace[0]))
        de = abs(n.eligibility - st.eligibility[0, 0])
        worst_e = max(worst_e, de)
        if rew[t]:
            w_budget += 1.0 + abs(int(rew[t])) * de / 2**big_l
        worst_w = max(worst_w, abs(n.weight - w[0, 0]))
        assert abs(n.weight - w[0, 0]) <= w_budget + 1e-6, t
    assert worst_trace <= trace_bound
    assert worst_e <= e_bound
    # measured (seed 2, 761 rewarded steps): traces 14.96 LSB, eligibility 38.7 LSB, weight 326 LSB against a
    # budget of 2029; the weight gap grows ~0.4 LSB per rewarded step because the integer rule floors (r e) >> L.
    n_rewarded = int(np.count_nonzero(rew))
    assert worst_w <= 1.0 * n_rewarded


# ---- distal reward ---------------------------------------------------------------------------------------


def test_distal_reward_rewarded_synapse_ends_on_top() -> None:
    """Izhikevich (2007): only synapse (0, 0)'s pre->post pairings (post within 10 ms after pre) are followed
    by dopamine 0.5-1.5 s later; among 2000 synapses it ends in the top 5 % after 200 s (~90 rewards)
    and above 1.5x its start, while the population mean does not rise."""
    res = distal_reward_experiment(200_000.0, seed=0)
    cfg = DistalRewardConfig()
    assert len(res.reward_times) >= 50
    assert res.rank_fraction >= 0.95
    assert res.target_weight[-1] > 1.5 * cfg.w_init
    assert res.mean_weight[-1] <= cfg.w_init


def test_distal_reward_control_with_unrelated_rewards() -> None:
    """Control: the same number of dopamine pulses (0.5 Hz) at Poisson times unrelated to the pairings:
    synapse (0, 0) is not singled out and does not grow like the rewarded one."""
    cfg = DistalRewardConfig(control_reward_rate=0.5)
    res = distal_reward_experiment(100_000.0, seed=0, config=cfg)
    assert len(res.reward_times) >= 30
    assert res.rank_fraction < 0.95
    assert res.target_weight[-1] < 1.5 * cfg.w_init


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="set PLASTICORE_LONG=1")
def test_distal_reward_other_seeds_long() -> None:
    """Seeds 1..5, 600 s each: the rewarded synapse is in the top 5 % in every run."""
    ranks = [distal_reward_experiment(600_000.0, seed=s).rank_fraction for s in range(1, 6)]
    assert min(ranks) >= 0.95, ranks
