"""The O(1) rule's public API: the (n_post, n_pre) convention, the pure layer step, checkpoints, and the
rough edges (reward checks, index checks, corner configurations, sizes, type-before-range)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.refmodel import (
    OnlineO1Config,
    OnlineO1Layer,
    OnlineO1LayerState,
    OnlineO1Synapse,
    online_o1_layer_initial_state,
    online_o1_layer_step,
)

DEFAULT = OnlineO1Config()
SMALL = OnlineO1Config(weight_bits=6, trace_bits=4, reward_bits=3, learning_shift=1, trace_decay_shift=1)


def _stimulus(rng: np.random.Generator, n: int, n_pre: int, n_post: int, c: OnlineO1Config,
              ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(rng.random(n_pre) < 0.4, rng.random(n_post) < 0.4,
             rng.integers(c.reward_min, c.reward_max + 1, n_post)) for _ in range(n)]


# ---- convention and the pure step -------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n_pre=st.integers(1, 5), n_post=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_pure_layer_step_equals_synapses_and_does_not_touch_its_input(n_pre: int, n_post: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = SMALL
    w0 = rng.integers(0, c.max_weight + 1, (n_post, n_pre))
    state = online_o1_layer_initial_state(c, n_pre, n_post, w0)
    assert state.weight.shape == (n_post, n_pre) and state.pre_trace.shape == (n_pre,)
    syns = {(i, j): OnlineO1Synapse(c, int(w0[j, i])) for i in range(n_pre) for j in range(n_post)}
    for pre, post, r in _stimulus(rng, 30, n_pre, n_post, c):
        before = [a.copy() for a in state]
        new = online_o1_layer_step(state, pre, post, r, c)
        assert all(np.array_equal(a, b) for a, b in zip(before, state, strict=True))  # pure
        state = new
        for (i, j), syn in syns.items():
            s = syn.step(bool(pre[i]), bool(post[j]), int(r[j]))  # positional, like the layer
            assert (state.weight[j, i], state.pre_trace[i], state.post_trace[j], state.eligibility[j, i]) == s


def test_layer_step_is_the_pure_step_in_place() -> None:
    rng = np.random.default_rng(4)
    layer = OnlineO1Layer(DEFAULT, 4, 3, rng.integers(0, 65536, (3, 4)))
    state = layer.state
    for pre, post, r in _stimulus(rng, 40, 4, 3, DEFAULT):
        layer.step(pre, post, r)
        state = online_o1_layer_step(state, pre, post, r, DEFAULT)
        assert all(np.array_equal(a, b) for a, b in zip(layer.state, state, strict=True))


def test_pure_step_rejects_bad_state() -> None:
    good = online_o1_layer_initial_state(DEFAULT, 2, 3)
    with pytest.raises(TypeError, match="state must be an OnlineO1LayerState, not tuple"):
        online_o1_layer_step(tuple(good), [0, 0], [0, 0, 0], 0, DEFAULT)  # type: ignore[arg-type]
    bad = good._replace(pre_trace=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"state.pre_trace must be an integer array of shape \(2,\)"):
        online_o1_layer_step(bad, [0, 0], [0, 0, 0], 0, DEFAULT)
    assert isinstance(good, OnlineO1LayerState)


def test_synapse_step_accepts_positional_and_keyword_arguments() -> None:
    a, b = OnlineO1Synapse(DEFAULT, 500), OnlineO1Synapse(DEFAULT, 500)
    for pre, post, r in [(True, False, 0), (False, True, 9), (True, True, -4), (False, False, 3)]:
        assert a.step(pre, post, r) == b.step(pre_spike=pre, post_spike=post, reward=r)
    assert a.step(True, False) == b.step(pre_spike=True, post_spike=False, reward=0)  # reward defaults to 0


# ---- checkpoints -------------------------------------------------------------------------------------


def test_synapse_state_dict_round_trip_continues_identically() -> None:
    rng = np.random.default_rng(1)
    steps = [(bool(rng.random() < 0.5), bool(rng.random() < 0.5), int(rng.integers(-128, 128))) for _ in range(60)]
    syn = OnlineO1Synapse(DEFAULT, 1234)
    for s in steps[:30]:
        syn.step(*s)
    saved = syn.state_dict()
    fresh = OnlineO1Synapse(DEFAULT)
    fresh.load_state_dict(saved)
    assert [syn.step(*s) for s in steps[30:]] == [fresh.step(*s) for s in steps[30:]]
    with pytest.raises(ValueError, match=r"unknown keys \['extra'\]"):
        fresh.load_state_dict({**saved, "extra": 1})
    with pytest.raises(ValueError, match=r"missing keys \['eligibility'\]"):
        fresh.load_state_dict({k: v for k, v in saved.items() if k != "eligibility"})
    with pytest.raises(ValueError, match=r"state_dict\['pre_trace'\] must be an int 0\.\.4095, not 4096"):
        fresh.load_state_dict({**saved, "pre_trace": 4096})
    with pytest.raises(ValueError, match=r"another configuration: trace_bits=10 \(this one has 12\)"):
        fresh.load_state_dict({**saved, "config": {**saved["config"], "trace_bits": 10}})


def test_layer_state_dict_round_trip_continues_identically() -> None:
    rng = np.random.default_rng(3)
    stim = _stimulus(rng, 80, 5, 4, DEFAULT)
    layer = OnlineO1Layer(DEFAULT, 5, 4, rng.integers(0, 65536, (4, 5)))
    for pre, post, r in stim[:40]:
        layer.step(pre, post, r)
    saved = layer.state_dict()
    saved["weight"][0, 0] += 1  # a copy: editing it does not touch the layer
    saved["weight"][0, 0] -= 1
    fresh = OnlineO1Layer(DEFAULT, 5, 4)
    fresh.load_state_dict(saved)
    for pre, post, r in stim[40:]:
        layer.step(pre, post, r)
        fresh.step(pre, post, r)
    assert all(np.array_equal(a, b) for a, b in zip(layer.state, fresh.state, strict=True))
    assert not np.array_equal(layer.weights, saved["weight"])  # it did move on after the save


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda d: d.update(bogus=1), ValueError, r"unknown keys \['bogus'\]"),
        (lambda d: d.pop("post_trace"), ValueError, r"missing keys \['post_trace'\]"),
        (lambda d: d.update(weight=np.zeros((5, 4), np.int64)), ValueError,
         r"state_dict\['weight'\] must have shape \(4, 5\), not \(5, 4\)"),
        (lambda d: d.update(eligibility=np.zeros((4, 5))), TypeError,
         r"state_dict\['eligibility'\] must have an integer dtype, not float64"),
        (lambda d: d.update(pre_trace=np.full(5, 4096)), ValueError,
         r"state_dict\['pre_trace'\] must be in \[0, 4095\], not 4096 at index \(0,\)"),
        (lambda d: d.update(config={**d["config"], "learning_shift": 2}), ValueError,
         r"learning_shift=2 \(this one has 4\)"),
        (lambda d: d.update(weight=[[0] * 5] * 4), TypeError, r"state_dict\['weight'\] must be a numpy array"),
    ],
)
def test_layer_load_state_dict_names_what_is_wrong(edit: Callable[[dict[str, Any]], object],
                                                   error: type[Exception], message: str) -> None:
    layer = OnlineO1Layer(DEFAULT, 5, 4)
    d = layer.state_dict()
    edit(d)
    before = layer.state_dict()
    with pytest.raises(error, match=message):
        layer.load_state_dict(d)
    after = layer.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in ("weight", "eligibility", "pre_trace", "post_trace"))


# ---- rough edges ----------------------------------------------------------------------------------------


def test_run_rejects_non_integral_nan_and_string_rewards() -> None:
    layer = OnlineO1Layer(DEFAULT, 2, 3)
    pre, post = np.ones((4, 2), bool), np.ones((4, 3), bool)
    with pytest.raises(ValueError, match=r"rewards must be integers \(no silent truncation\), not 2\.5 at index \(2,"):
        layer.run(pre, post, [1.0, 2.0, 2.5, 3.0])
    with pytest.raises(ValueError, match=r"rewards must be finite integers, not nan at index \(1,\)"):
        layer.run(pre, post, [1.0, float("nan"), 2.0, 3.0])
    with pytest.raises(TypeError, match=r"rewards must be integers, not dtype <U1"):
        layer.run(pre, post, ["1", "2", "3", "4"])
    with pytest.raises(ValueError, match=r"rewards must have shape \(T,\) = \(4,\) or \(T, n_post\) = \(4, 3\)"):
        layer.run(pre, post, [1, 2])
    assert layer.weights.sum() == 0  # nothing ran: checks come first
    a, b = OnlineO1Layer(DEFAULT, 2, 3), OnlineO1Layer(DEFAULT, 2, 3)
    a.run(pre, post, [1.0, -2.0, 3.0, 4.0])  # integral floats are those integers
    b.run(pre, post, np.array([1, -2, 3, 4]))
    assert np.array_equal(a.weights, b.weights) and a.weights.sum() > 0


@pytest.mark.parametrize(("pre", "post", "message"), [
    (-1, 0, r"^pre index must be in 0\.\.2 \(n_pre = 3\), not -1$"),
    (99, 0, r"^pre index must be in 0\.\.2 \(n_pre = 3\), not 99$"),
    (0, 2, r"^post index must be in 0\.\.1 \(n_post = 2\), not 2$"),
])
def test_synapse_index_is_checked_not_wrapped(pre: int, post: int, message: str) -> None:
    with pytest.raises(IndexError, match=message):
        OnlineO1Layer(DEFAULT, 3, 2).synapse(pre, post)


def test_decay_shift_at_or_above_trace_bits_means_no_decay() -> None:
    """For s >= T every ``x >> s`` is 0: the rule is exactly the s = 0 rule (and says so)."""
    rng = np.random.default_rng(8)
    steps = [(bool(rng.random() < 0.3), bool(rng.random() < 0.3), int(rng.integers(-4, 4))) for _ in range(300)]
    base: dict[str, Any] = dict(weight_bits=8, trace_bits=5, reward_bits=3, learning_shift=2)
    ref = OnlineO1Synapse(OnlineO1Config(**base, trace_decay_shift=0), 100)
    want = [ref.step(*s) for s in steps]
    for shift in (5, 6, 30):
        c = OnlineO1Config(**base, trace_decay_shift=shift)
        assert c.traces_decay is False
        syn = OnlineO1Synapse(c, 100)
        assert [syn.step(*s) for s in steps] == want
    assert OnlineO1Config(**base, trace_decay_shift=4).traces_decay is True  # s = T - 1 still decays
    assert OnlineO1Config(**base, trace_decay_shift=0).traces_decay is False


@pytest.mark.parametrize("shift", [0, 2, 5, 6, 30])
def test_weight_step_range_matches_brute_force(shift: int) -> None:
    c = OnlineO1Config(weight_bits=8, trace_bits=4, reward_bits=3, learning_shift=shift, trace_decay_shift=1)
    steps = [(r * e) >> shift for r, e in itertools.product(range(c.reward_min, c.reward_max + 1),
                                                           range(c.eligibility_min, c.eligibility_max + 1))]
    assert c.weight_step_range == (min(steps), max(steps))
    assert c.weight_can_increase == (max(steps) > 0) and c.weight_can_decrease
    assert c.weight_can_increase == (shift < c.reward_bits + c.trace_bits - 1)  # R + T - 2 = 5 is the last


def test_frozen_potentiation_is_real() -> None:
    """With L >= R + T - 1 a long random run never raises the weight, but does lower it."""
    c = OnlineO1Config(weight_bits=8, trace_bits=4, reward_bits=3, learning_shift=6, trace_decay_shift=1)
    assert not c.weight_can_increase and c.weight_step_range == (-1, 0)
    rng = np.random.default_rng(0)
    syn, w, ups, downs = OnlineO1Synapse(c, 200), 200, 0, 0
    for _ in range(2000):
        s = syn.step(bool(rng.random() < 0.5), bool(rng.random() < 0.5), int(rng.integers(-4, 4)))
        ups += s.weight > w
        downs += s.weight < w
        w = s.weight
    assert ups == 0 and downs > 0


def test_eligibility_limits_under_the_seed_names() -> None:
    c = OnlineO1Config(trace_bits=7)
    assert (c.min_eligibility, c.max_eligibility) == (-64, 63) == c.eligibility_range


def test_empty_layer_is_allowed() -> None:
    for n_pre, n_post in ((0, 3), (4, 0), (0, 0)):
        layer = OnlineO1Layer(DEFAULT, n_pre, n_post)
        layer.step(np.zeros(n_pre, bool), np.ones(n_post, bool), 5)
        assert layer.weights.shape == (n_post, n_pre)
        assert layer.state_bit_count == (n_pre + n_post) * 12
        assert np.array_equal(layer.post_traces, np.full(n_post, 4095))


def test_terabyte_layer_is_a_value_error_before_allocating() -> None:
    with pytest.raises(ValueError, match=r"OnlineO1Layer of n_post x n_pre = 16777216 x 16777216 synapses would "
                                         r"need 3\.0 PB of memory, more than this machine's"):
        OnlineO1Layer(DEFAULT, 1 << 24, 1 << 24)


def test_type_errors_win_over_range_errors() -> None:
    with pytest.raises(TypeError, match=r"^trace_bits must be an int in 2\.\.30, not str '4'$"):
        OnlineO1Config(weight_bits=0, trace_bits="4")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^n_post must be an int in 0\.\.16777216, not float 2\.0$"):
        OnlineO1Layer(DEFAULT, -1, 2.0)  # type: ignore[arg-type]
