"""Rounding modes of the O(1) rule (``OnlineO1Config.rounding``): the LFSR, the exact ``nearest`` trajectories,
the unbiased ``stochastic`` mean, the consumption order of the lanes, determinism and checkpoints."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel.online_o1 import (
    OnlineO1Config,
    OnlineO1Layer,
    OnlineO1Snapshot,
    OnlineO1Synapse,
    build_online_o1_memory_proof,
    online_o1_layer_step,
    online_o1_step,
)
from plasticore.refmodel.rounding import (
    LFSR_MASK,
    LFSR_PERIOD,
    LFSR_POLYNOMIAL,
    lane_initial_state,
    layer_dither,
    lfsr_draw,
    lfsr_step,
)

W8: dict[str, Any] = dict(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2)


# ---- the LFSR -------------------------------------------------------------------------------------

def _polymulmod(a: int, b: int, p: int) -> int:
    """``a * b mod p`` over GF(2) (bit k = coefficient of x^k)."""
    deg, out = p.bit_length() - 1, 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if (a >> deg) & 1:
            a ^= p
    return out


def _polypow(base: int, e: int, p: int) -> int:
    out = 1
    while e:
        if e & 1:
            out = _polymulmod(out, base, p)
        base = _polymulmod(base, base, p)
        e >>= 1
    return out


def test_the_polynomial_is_primitive_so_the_period_is_2_to_the_32_minus_1() -> None:
    """ord(x) mod p = 2^32 - 1: x^(2^32-1) = 1 and x^((2^32-1)/q) != 1 for every prime factor q."""
    factors = (3, 5, 17, 257, 65537)
    assert math.prod(factors) == LFSR_PERIOD
    assert _polypow(0b10, LFSR_PERIOD, LFSR_POLYNOMIAL) == 1
    for q in factors:
        assert _polypow(0b10, LFSR_PERIOD // q, LFSR_POLYNOMIAL) != 1, q


def test_one_step_is_multiplication_by_x_inverse_mod_p() -> None:
    """``s' * x = s (mod p)`` for random states: the step walks the powers of x^-1, whose order is the period."""
    rng = np.random.default_rng(0)
    for s in [1, 2, 0x80000000, LFSR_MASK, *rng.integers(1, 2**32, size=200).tolist()]:
        _, nxt = lfsr_step(int(s))
        assert 0 < nxt < 2**32
        assert _polymulmod(nxt, 0b10, LFSR_POLYNOMIAL) == s


def test_the_state_does_not_return_early_and_draws_are_uniform() -> None:
    s0 = s = lane_initial_state(1, 0)
    counts = np.zeros(8, dtype=int)
    for _ in range(40_000):
        u, s = lfsr_draw(s, 3)
        counts[u] += 1
        assert s != s0
    assert counts.min() > 0.95 * 5000 and counts.max() < 1.05 * 5000, counts


def test_draw_bit_order_and_zero_bits() -> None:
    s = 0b1011
    u, s3 = lfsr_draw(s, 3)
    bits, t = [], s
    for _ in range(3):
        b, t = lfsr_step(t)
        bits.append(b)
    assert u == bits[0] + 2 * bits[1] + 4 * bits[2] and s3 == t
    assert lfsr_draw(s, 0) == (0, s)


def test_lane_states_are_distinct_and_never_zero() -> None:
    states = [lane_initial_state(seed, lane) for seed in (0, 1, 2**32 - 1) for lane in range(64)]
    assert len(set(states)) == len(states) and min(states) > 0 and max(states) < 2**32


# ---- nearest: exact --------------------------------------------------------------------------------

def _round_half_up(num: int, shift: int) -> int:
    return math.floor(Fraction(num, 2**shift) + Fraction(1, 2))


@pytest.mark.parametrize("shift", [0, 1, 3, 5])
def test_nearest_trajectory_equals_round_half_up_of_the_exact_quotient(shift: int) -> None:
    """The eligibility path does not depend on the rounding (a floor twin gives e'); the weight follows
    ``w' = sat(w + round_half_up(r e' / 2^L))`` computed with fractions."""
    c = OnlineO1Config(**{**W8, "learning_shift": shift, "rounding": "nearest"})
    twin = OnlineO1Synapse(OnlineO1Config(**{**W8, "learning_shift": shift}), initial_weight=120)
    syn, w = OnlineO1Synapse(c, initial_weight=120), 120
    rng = np.random.default_rng(shift)
    for _ in range(400):
        pre, post, r = bool(rng.random() < 0.3), bool(rng.random() < 0.3), int(rng.integers(-8, 8))
        e = twin.step(pre, post, r).eligibility
        w = min(max(w + _round_half_up(r * e, shift), 0), c.max_weight)
        st = syn.step(pre, post, r)
        assert (st.weight, st.eligibility) == (w, e)


def test_nearest_hand_values() -> None:
    """L = 3: products 3, 4, -4, -5 -> steps 0, 1, 0, -1 (floor: 0, 0, -1, -1)."""
    for mode, want in (("nearest", [0, 1, 0, -1]), ("floor", [0, 0, -1, -1])):
        c = OnlineO1Config(**{**W8, "trace_decay_shift": 0, "rounding": mode})
        got = []
        for r, e in ((3, 1), (1, 4), (-1, 4), (-5, 1)):
            st = online_o1_step(OnlineO1Snapshot(100, 0, 0, e), pre_spike=False, post_spike=False, reward=r, config=c)
            got.append(st.weight - 100)
        assert got == want, mode


# ---- stochastic: unbiased, ordered, deterministic ---------------------------------------------------

def _mean_step(c: OnlineO1Config, e: int, r: int, n: int = 128) -> float:
    """Mean weight change of ``n * n`` synapses with eligibility ``e`` (no decay, no spikes: e' = e)."""
    layer = OnlineO1Layer(c, n, n, np.full((n, n), 1000))
    st = layer.state_dict()
    st["eligibility"] = np.full((n, n), e)
    layer.load_state_dict(st)
    layer.step(np.zeros(n, bool), np.zeros(n, bool), r)
    return float((layer.weights - 1000).mean())


@pytest.mark.parametrize(("e", "r"), [(3, 1), (5, -1), (13, 3), (-7, 2), (1, 1)])
def test_stochastic_mean_update_is_unbiased_floor_is_not(e: int, r: int) -> None:
    """16,384 synapses, L = 4: stochastic mean within 0.02 LSB of r e / 2^L; floor's bias is ~ -0.5 LSB."""
    base: dict[str, Any] = dict(weight_bits=12, trace_bits=6, reward_bits=4, learning_shift=4, trace_decay_shift=0)
    exact = r * e / 16
    got = _mean_step(OnlineO1Config(**base, rounding="stochastic", lfsr_seed=7), e, r)
    assert abs(got - exact) <= 0.02, (got, exact)
    floor = _mean_step(OnlineO1Config(**base), e, r)
    assert floor == math.floor(exact) and exact - floor > 0.05


def _spec_layer_run(c: OnlineO1Config, n_pre: int, n_post: int, lanes: int, w0: np.ndarray,
                    stim: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """The consumption order written out literally: scalar synapses, one LFSR per lane, items in order."""
    syn = [[OnlineO1Snapshot(int(w0[j, i]), 0, 0, 0) for i in range(n_pre)] for j in range(n_post)]
    lfsr = [lane_initial_state(c.lfsr_seed, p) for p in range(lanes)]
    k_items = -(-n_post // lanes)
    out = []
    for pre, post, rew in stim:
        dither = np.zeros((n_post, n_pre), dtype=int)
        for i in range(n_pre):
            for k in range(k_items):
                for p in range(lanes):
                    u, lfsr[p] = lfsr_draw(lfsr[p], c.learning_shift)
                    if k * lanes + p < n_post:
                        dither[k * lanes + p, i] = u
        for j, i in itertools.product(range(n_post), range(n_pre)):  # each keeps its own (equal) traces
            syn[j][i] = online_o1_step(syn[j][i], pre_spike=bool(pre[i]), post_spike=bool(post[j]), reward=int(rew[j]),
                                       config=c, dither=int(dither[j, i]))
        out.append(np.array([[syn[j][i].weight for i in range(n_pre)] for j in range(n_post)]))
    return out


@pytest.mark.parametrize(("n_pre", "n_post", "lanes"), [(5, 7, 3), (4, 6, 6), (3, 2, 1), (2, 5, 8)])
def test_layer_lanes_draw_in_the_schedules_order(n_pre: int, n_post: int, lanes: int) -> None:
    c = OnlineO1Config(**W8, rounding="stochastic", lfsr_seed=12345)
    rng = np.random.default_rng(n_pre * 100 + lanes)
    w0 = rng.integers(0, 256, size=(n_post, n_pre))
    stim = [(rng.random(n_pre) < 0.4, rng.random(n_post) < 0.4, rng.integers(-8, 8, size=n_post)) for _ in range(30)]
    want = _spec_layer_run(c, n_pre, n_post, lanes, w0, stim)
    layer = OnlineO1Layer(c, n_pre, n_post, w0, lanes=lanes)
    for (pre, post, rew), w in zip(stim, want, strict=True):
        layer.step(pre, post, rew)
        np.testing.assert_array_equal(layer.weights, w)
    assert layer.lfsr_state.shape == (lanes,)


def test_synapse_equals_a_one_by_one_layer_and_is_deterministic() -> None:
    c = OnlineO1Config(**W8, rounding="stochastic", lfsr_seed=99)
    rng = np.random.default_rng(5)
    stim = [(bool(rng.random() < 0.4), bool(rng.random() < 0.4), int(rng.integers(-8, 8))) for _ in range(500)]

    def run_syn(cfg: OnlineO1Config) -> list[int]:
        s = OnlineO1Synapse(cfg, initial_weight=128)
        return [s.step(*x).weight for x in stim]

    layer = OnlineO1Layer(c, 1, 1, np.array([[128]]))
    lw = []
    for pre, post, r in stim:
        layer.step(np.array([pre]), np.array([post]), r)
        lw.append(int(layer.weights[0, 0]))
    assert run_syn(c) == lw == run_syn(c)
    other = run_syn(OnlineO1Config(**W8, rounding="stochastic", lfsr_seed=100))
    assert other != lw


def test_checkpoints_carry_the_lfsr_and_resume_identically() -> None:
    c = OnlineO1Config(**W8, rounding="stochastic", lfsr_seed=3)
    rng = np.random.default_rng(1)
    stim = [(rng.random(4) < 0.4, rng.random(6) < 0.4, rng.integers(-8, 8, size=6)) for _ in range(40)]
    a = OnlineO1Layer(c, 4, 6, lanes=2)
    for x in stim[:20]:
        a.step(*x)
    st = a.state_dict()
    assert set(st) == {"config", "weight", "eligibility", "pre_trace", "post_trace", "lfsr_state"}
    b = OnlineO1Layer(c, 4, 6, lanes=2)
    b.load_state_dict(st)
    for x in stim[20:]:
        a.step(*x)
        b.step(*x)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.lfsr_state, b.lfsr_state)
    bad = dict(st, lfsr_state=np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="lfsr_state"):
        b.load_state_dict(bad)
    syn = OnlineO1Synapse(c, 5)
    syn.step(True, True, 3)
    sd = syn.state_dict()
    syn2 = OnlineO1Synapse(c, 5)
    syn2.load_state_dict(sd)
    assert syn2.step(False, True, -2) == syn.step(False, True, -2) and syn2.lfsr_state == syn.lfsr_state
    syn.reset()
    assert syn.lfsr_state == lane_initial_state(3, 0)
    a.reset_lfsr()
    assert a.lfsr_state.tolist() == [lane_initial_state(3, 0), lane_initial_state(3, 1)]


def test_a_zero_reward_still_draws() -> None:
    c = OnlineO1Config(**W8, rounding="stochastic")
    s = OnlineO1Synapse(c, 10)
    before = s.lfsr_state
    assert s.step(False, False, 0).weight == 10
    assert s.lfsr_state == lfsr_draw(before, c.learning_shift)[1]


def test_floor_is_unchanged_and_keeps_its_checkpoint_format() -> None:
    c = OnlineO1Config(**W8)
    assert c.tag == "w8t6r4l3s2" and c.dither_range == (0, 0) and c.lfsr_state_bits == 0
    layer = OnlineO1Layer(c, 3, 2)
    st = layer.state_dict()
    assert "lfsr_state" not in st
    old = dict(st, config={k: v for k, v in st["config"].items() if k not in ("rounding", "lfsr_seed")})
    layer.load_state_dict(old)  # a checkpoint written before the rounding modes existed


def test_weight_step_range_with_dither_is_exact() -> None:
    for mode, shift in itertools.product(("floor", "nearest", "stochastic"), (0, 1, 3)):
        c = OnlineO1Config(weight_bits=6, trace_bits=3, reward_bits=3, learning_shift=shift, trace_decay_shift=0,
                           rounding=mode)
        d_lo, d_hi = c.dither_range
        steps = {(r * e + d) >> shift for r in range(c.reward_min, c.reward_max + 1)
                 for e in range(c.eligibility_min, c.eligibility_max + 1) for d in range(d_lo, d_hi + 1)}
        assert c.weight_step_range == (min(steps), max(steps)), (mode, shift)


def test_tags_annotation_and_memory_proof_name_the_mode_and_lfsr_bits() -> None:
    assert OnlineO1Config(**W8, rounding="nearest").tag == "w8t6r4l3s2rn"
    c = OnlineO1Config(**W8, rounding="stochastic", lfsr_seed=42)
    assert c.tag == "w8t6r4l3s2rs42"
    ann = c.to_scnir_annotation(rule_id="s")
    assert ann["rounding"] == "stochastic" and ann["rounding_state"]["per_lane_state_bits"] == 32
    assert ann["rounding_state"]["lfsr_mask"] == "0x80200003" and ann["rounding_state"]["lfsr_seed"] == 42
    p = build_online_o1_memory_proof(n_synapses=12, config=c, n_pre=3, n_post=4, lanes=2)
    assert p["rounding_state"]["total_bits"] == 64
    assert p["total_state_bits"] == 12 * c.per_synapse_state_bits + 64
    assert p["factorized_layout"]["total_state_bits"] == 12 * (8 + 6) + 7 * 6 + 64


def test_bad_rounding_configs_are_named_errors() -> None:
    with pytest.raises(ValueError, match=r"rounding must be one of \['floor', 'nearest', 'stochastic'\], not 'up'"):
        OnlineO1Config(rounding="up")
    with pytest.raises(TypeError, match="rounding must be a str"):
        OnlineO1Config(rounding=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lfsr_seed must be in 0\.\.4294967295, not -1"):
        OnlineO1Config(lfsr_seed=-1)
    with pytest.raises(TypeError, match="lfsr_seed must be an int"):
        OnlineO1Config(lfsr_seed=1.5)  # type: ignore[arg-type]
    st = OnlineO1Config(rounding="stochastic")
    with pytest.raises(ValueError, match="dither must be given"):
        online_o1_step(OnlineO1Snapshot(0, 0, 0, 0), pre_spike=False, post_spike=False, reward=0, config=st)
    with pytest.raises(ValueError, match=r"dither must be in 0\.\.15, not 16"):
        online_o1_step(OnlineO1Snapshot(0, 0, 0, 0), pre_spike=False, post_spike=False, reward=0, config=st, dither=16)
    with pytest.raises(ValueError, match="online_o1_layer_step does not carry LFSR state"):
        online_o1_layer_step(OnlineO1Layer(st, 2, 2).state, np.zeros(2, bool), np.zeros(2, bool), 0, st)
    with pytest.raises(ValueError, match="backend='native' implements rounding='floor' only"):
        OnlineO1Layer(st, 2, 2, backend="native")
    with pytest.raises(ValueError, match=r"lanes must be in 1\.\."):
        OnlineO1Layer(st, 2, 2, lanes=0)
    assert OnlineO1Layer(st, 2, 2, backend="auto").backend == "numpy"


def test_layer_dither_shape_and_padding_draws() -> None:
    states = np.array([lane_initial_state(0, p) for p in range(3)], dtype=np.uint64)
    d = layer_dither(states, 2, 4, 2)  # K = 2: lane 1 and 2's second items are padding, still drawn
    assert d.shape == (4, 2)
    want = lane_initial_state(0, 2)
    for _ in range(2 * 2):
        want = lfsr_draw(want, 2)[1]
    assert int(states[2]) == want
