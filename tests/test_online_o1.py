"""The fixed-point O(1) rule: hand-derived trajectories, validation, properties, layer == synapses, memory."""

from __future__ import annotations

import gc
import pickle
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.refmodel.online_o1 import (
    OnlineO1Config,
    OnlineO1Layer,
    OnlineO1Snapshot,
    OnlineO1Synapse,
    build_online_o1_memory_proof,
    decay_signed,
    decay_unsigned,
    online_o1_step,
)

DEFAULT = OnlineO1Config()  # W16 T12 R8 L4 s4: M = 4095, e in [-2048, 2047]


# ---- configuration ---------------------------------------------------------------------------------


def test_default_config_and_derived_ranges() -> None:
    c = DEFAULT
    assert (c.weight_bits, c.trace_bits, c.reward_bits, c.learning_shift, c.trace_decay_shift) == (16, 12, 8, 4, 4)
    assert c.max_weight == 65535 and c.max_trace == 4095
    assert c.eligibility_range == (-2048, 2047) and c.reward_range == (-128, 127)
    assert c.per_synapse_state_bits == 16 + 3 * 12


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("weight_bits", 0, "weight_bits must be in 1..31, not 0"),
        ("weight_bits", 32, "weight_bits must be in 1..31, not 32"),
        ("trace_bits", 1, "trace_bits must be in 2..30, not 1"),
        ("trace_bits", 31, "trace_bits must be in 2..30, not 31"),
        ("reward_bits", 0, "reward_bits must be in 1..30, not 0"),
        ("learning_shift", -1, "learning_shift must be in 0..30, not -1"),
        ("trace_decay_shift", 31, "trace_decay_shift must be in 0..30, not 31"),
    ],
)
def test_config_range_errors_name_parameter_range_and_value(field: str, bad: int, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        kwargs: dict[str, Any] = {field: bad}
        OnlineO1Config(**kwargs)


@pytest.mark.parametrize("bad", [True, 4.0, "4", None])
def test_config_type_errors(bad: object) -> None:
    with pytest.raises(TypeError, match=r"trace_bits must be an int in 2\.\.30"):
        OnlineO1Config(trace_bits=bad)  # type: ignore[arg-type]


def test_config_is_frozen_and_rule_family_checked() -> None:
    with pytest.raises(AttributeError):
        DEFAULT.weight_bits = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="rule_family must be one of"):
        OnlineO1Config(rule_family="hebbian")


def test_annotation_is_deterministic_and_complete() -> None:
    a = DEFAULT.to_scnir_annotation(rule_id="syn0")
    assert a == DEFAULT.to_scnir_annotation(rule_id="syn0")
    assert a == {
        "schema_version": "plasticore.online-o1.annotation.v1",
        "rule_id": "syn0",
        "rule_family": "reward_modulated_stdp",
        "state_fields": ["weight", "pre_trace", "post_trace", "eligibility"],
        "per_synapse_state_bits": 52,
        "weight_bits": 16,
        "trace_bits": 12,
        "reward_bits": 8,
        "learning_shift": 4,
        "trace_decay_shift": 4,
        "saturation_policy": "signed_eligibility_unsigned_weight",
        "rounding": "floor",
        "rounding_state": {"per_lane_state_bits": 0},
        "hidden_history_fields": [],
        "sequence_length_independent": True,
    }
    with pytest.raises(ValueError, match="rule_id must be a non-empty string"):
        DEFAULT.to_scnir_annotation(rule_id="")


# ---- hand-derived trajectories ---------------------------------------------------------------------


def test_pre_then_post_potentiates() -> None:
    syn = OnlineO1Synapse(DEFAULT, initial_weight=1000)
    # pre spike: pre trace to M; nothing to pair with yet
    assert syn.step(pre_spike=True, post_spike=False, reward=0) == (1000, 4095, 0, 0)
    # post spike: pot = pre trace before the step = 4095 -> e = sat(4095) = 2047;
    # w = 1000 + (10 * 2047 >> 4) = 1000 + 1279; pre decays 4095 - 255 = 3840
    assert syn.step(pre_spike=False, post_spike=True, reward=10) == (2279, 3840, 4095, 2047)
    # no spikes, no reward: traces and eligibility decay by 1/16 (floor of the magnitude's shift)
    assert syn.step(pre_spike=False, post_spike=False, reward=0) == (2279, 3600, 3840, 2047 - 127)


def test_post_then_pre_depresses_and_eligibility_hits_its_minimum() -> None:
    syn = OnlineO1Synapse(DEFAULT, initial_weight=1000)
    assert syn.step(pre_spike=False, post_spike=True, reward=3) == (1000, 0, 4095, 0)
    # pre spike: dep = 4095 -> e = sat(-4095) = -2048; w = 1000 + (3 * -2048 >> 4) = 1000 - 384
    assert syn.step(pre_spike=True, post_spike=False, reward=3) == (616, 4095, 3840, -2048)
    # decayS(-2048) = -(2048 - 128) = -1920; w = 616 + (3 * -1920 >> 4) = 616 - 360
    assert syn.step(pre_spike=False, post_spike=False, reward=3) == (256, 3840, 3600, -1920)


def test_coincident_spikes_pair_with_the_new_pre_and_old_post() -> None:
    s0 = OnlineO1Snapshot(weight=50, pre_trace=100, post_trace=300, eligibility=-10)
    s1 = online_o1_step(s0, pre_spike=True, post_spike=True, reward=0, config=DEFAULT)
    # pot = M (pre spike now), dep = 300 (post trace before the step); decayS(-10) = -(10 - 0) = -10
    assert s1 == (50, 4095, 4095, 2047)  # -10 + 4095 - 300 = 3785 saturates to 2047


def test_weight_saturates_at_both_ends() -> None:
    hi = online_o1_step(OnlineO1Snapshot(65530, 0, 0, 2047 + 136), pre_spike=False, post_spike=False,
                        reward=127, config=DEFAULT)
    assert hi.weight == 65535  # 65530 + (127 * 2047 >> 4) would be 81778
    lo = online_o1_step(OnlineO1Snapshot(5, 0, 0, -2048), pre_spike=False, post_spike=False, reward=127,
                        config=DEFAULT)
    assert lo.weight == 0


def test_weight_update_floors_negative_products() -> None:
    s = online_o1_step(OnlineO1Snapshot(100, 0, 0, -18), pre_spike=False, post_spike=False, reward=1, config=DEFAULT)
    # decayS(-18) = -(18 - 1) = -17; -17 >> 4 = floor(-1.0625) = -2, not -1
    assert s == (98, 0, 0, -17)


def test_decays_are_symmetric_and_shift_zero_means_none() -> None:
    assert decay_unsigned(17, 4) == 16 and decay_signed(17, 4) == 16 and decay_signed(-17, 4) == -16
    assert decay_unsigned(15, 4) == 15 and decay_signed(-15, 4) == -15  # below 2^s nothing is lost
    assert decay_unsigned(17, 0) == 17 and decay_signed(-17, 0) == -17
    c = OnlineO1Config(trace_decay_shift=0)
    syn = OnlineO1Synapse(c)
    syn.step(pre_spike=True, post_spike=False, reward=0)
    syn.step(pre_spike=False, post_spike=True, reward=0)
    for _ in range(50):
        snap = syn.step(pre_spike=False, post_spike=False, reward=0)
    assert snap == (0, 4095, 4095, 2047)  # nothing decays with s = 0


def test_learning_shift_zero_applies_the_full_product() -> None:
    c = OnlineO1Config(learning_shift=0)
    s = online_o1_step(OnlineO1Snapshot(100, 0, 0, 7), pre_spike=False, post_spike=False, reward=-3, config=c)
    assert s == (100 + (-3) * 7, 0, 0, 7)  # decayS(7) = 7 - (7 >> 4) = 7


def test_out_of_range_reward_saturates_to_the_reward_range() -> None:
    s0 = OnlineO1Snapshot(30000, 0, 0, 160)  # decayS(160) = 150
    hi = online_o1_step(s0, pre_spike=False, post_spike=False, reward=10_000, config=DEFAULT)
    lo = online_o1_step(s0, pre_spike=False, post_spike=False, reward=-10_000, config=DEFAULT)
    assert hi.weight == 30000 + (127 * 150 >> 4) and lo.weight == 30000 + (-128 * 150 >> 4)
    r1 = OnlineO1Config(reward_bits=1)  # rewards {-1, 0}
    assert online_o1_step(s0, pre_spike=False, post_spike=False, reward=5, config=r1).weight == 30000


def test_synapse_rejects_bad_input_instead_of_clamping() -> None:
    with pytest.raises(ValueError, match=r"^initial_weight must be in 0..65535, not 70000$"):
        OnlineO1Synapse(DEFAULT, initial_weight=70000)
    with pytest.raises(ValueError, match=r"^initial_weight must be in 0..65535, not -1$"):
        OnlineO1Synapse(DEFAULT, initial_weight=-1)
    syn = OnlineO1Synapse(DEFAULT)
    with pytest.raises(ValueError, match="pre_spike must be a bool or 0/1, not 2"):
        syn.step(pre_spike=2, post_spike=False, reward=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reward must be an int"):
        syn.step(pre_spike=True, post_spike=False, reward=1.5)  # type: ignore[arg-type]
    assert syn.state_fields == ("weight", "pre_trace", "post_trace", "eligibility")
    assert syn.state_bit_count == 52


# ---- properties ----------------------------------------------------------------------------------

configs = st.builds(
    OnlineO1Config,
    weight_bits=st.integers(1, 31),
    trace_bits=st.integers(2, 30),
    reward_bits=st.integers(1, 30),
    learning_shift=st.integers(0, 30),
    trace_decay_shift=st.integers(0, 30),
)


@settings(max_examples=150, deadline=None)
@given(config=configs, seed=st.integers(0, 2**32 - 1))
def test_state_stays_in_bounds(config: OnlineO1Config, seed: int) -> None:
    rng = np.random.default_rng(seed)
    syn = OnlineO1Synapse(config, initial_weight=int(rng.integers(0, config.max_weight + 1)))
    big = 1 << 40
    for _ in range(60):
        s = syn.step(pre_spike=bool(rng.random() < 0.5), post_spike=bool(rng.random() < 0.5),
                     reward=int(rng.integers(-big, big)))
        assert 0 <= s.weight <= config.max_weight
        assert 0 <= s.pre_trace <= config.max_trace and 0 <= s.post_trace <= config.max_trace
        assert config.eligibility_min <= s.eligibility <= config.eligibility_max


@settings(max_examples=40, deadline=None)
@given(config=configs, n_pre=st.integers(1, 6), n_post=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       per_post_reward=st.booleans())
def test_layer_equals_independent_synapses(config: OnlineO1Config, n_pre: int, n_post: int, seed: int,
                                           per_post_reward: bool) -> None:
    rng = np.random.default_rng(seed)
    w0 = rng.integers(0, config.max_weight + 1, size=(n_post, n_pre))  # (n_post, n_pre): w0[j, i] is pre i -> post j
    layer = OnlineO1Layer(config, n_pre, n_post, initial_weights=w0)
    syns = [[OnlineO1Synapse(config, int(w0[j, i])) for j in range(n_post)] for i in range(n_pre)]
    p_spike = rng.uniform(0.05, 0.9)
    for _ in range(40):
        pre, post = rng.random(n_pre) < p_spike, rng.random(n_post) < p_spike
        wide = 2 * config.reward_max + 2  # include out-of-range rewards
        reward = rng.integers(-wide, wide, size=n_post) if per_post_reward else int(rng.integers(-wide, wide))
        layer.step(pre, post, reward)
        for i in range(n_pre):
            for j in range(n_post):
                r = int(reward[j]) if isinstance(reward, np.ndarray) else reward  # an array iff per_post_reward
                s = syns[i][j].step(pre_spike=bool(pre[i]), post_spike=bool(post[j]), reward=r)
                assert layer.synapse(i, j) == s
                assert (layer.weights[j, i], layer.eligibility[j, i]) == (s.weight, s.eligibility)


def test_layer_validates_shapes_and_values() -> None:
    with pytest.raises(ValueError, match=r"initial_weights must have shape \(n_post, n_pre\) = \(3, 2\), not \(2, 3\)"):
        OnlineO1Layer(DEFAULT, 2, 3, initial_weights=np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"initial_weights must be in 0\.\.65535, not min -1"):
        OnlineO1Layer(DEFAULT, 2, 2, initial_weights=np.array([[0, -1], [2, 3]]))
    with pytest.raises(ValueError, match=r"n_pre must be in 0\.\.16777216, not -1"):
        OnlineO1Layer(DEFAULT, -1, 2)
    layer = OnlineO1Layer(DEFAULT, 2, 3)
    with pytest.raises(ValueError, match=r"pre_spikes must have shape \(2,\), not \(3,\)"):
        layer.step(np.zeros(3, bool), np.zeros(3, bool), 0)
    with pytest.raises(ValueError, match=r"reward must be a scalar or have shape \(3,\), not \(2,\)"):
        layer.step(np.zeros(2, bool), np.zeros(3, bool), np.array([1, 2]))
    with pytest.raises(ValueError, match="post_spikes must be booleans or 0/1 integers"):
        layer.step(np.zeros(2, bool), np.array([0, 2, 1]), 0)


def test_layer_state_is_factorized() -> None:
    layer = OnlineO1Layer(DEFAULT, 3, 5)
    assert layer.state_bit_count == 15 * (16 + 12) + (3 + 5) * 12
    arrays = layer.state_arrays()
    assert arrays["weight"].shape == arrays["eligibility"].shape == (5, 3) == layer.shape  # (n_post, n_pre)
    assert arrays["pre_trace"].shape == (3,) and arrays["post_trace"].shape == (5,)


# ---- memory: O(1) in the sequence length, measured ---------------------------------------------------


def _deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes reachable from ``obj`` (NumPy buffers by ``nbytes``), each object counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes + sys.getsizeof(obj)
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(_deep_size(v, seen) for v in obj)
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            size += _deep_size(getattr(obj, slot), seen)
    if hasattr(obj, "__dict__"):
        size += _deep_size(vars(obj), seen)
    return size


def _run_layer(n_steps: int, seed: int = 5) -> tuple[OnlineO1Layer, int]:
    """Run ``n_steps``; return the layer and the growth in the number of live GC-tracked objects."""
    rng = np.random.default_rng(seed)
    layer = OnlineO1Layer(DEFAULT, 4, 4, initial_weights=rng.integers(0, 65536, (4, 4)))  # square: any layout
    pre, post = rng.random((1000, 4)) < 0.3, rng.random((1000, 4)) < 0.3
    rewards = rng.integers(-128, 128, 1000)
    gc.collect()
    before = len(gc.get_objects())
    for t in range(n_steps):
        layer.step(pre[t % 1000], post[t % 1000], int(rewards[t % 1000]))
    gc.collect()
    return layer, len(gc.get_objects()) - before


def test_live_state_does_not_grow_with_sequence_length() -> None:
    short, objs_short = _run_layer(10)
    long, objs_long = _run_layer(100_000)
    assert _deep_size(short) == _deep_size(long)  # everything reachable from the layer: same bytes
    assert len(pickle.dumps(short)) == len(pickle.dumps(long))
    # no objects accumulate anywhere (a run may also free unrelated garbage: the short run's count can be < 0)
    assert objs_long <= max(objs_short, 0) + 10, (objs_short, objs_long)
    s10, s1e5 = OnlineO1Synapse(DEFAULT, 77), OnlineO1Synapse(DEFAULT, 77)
    rng = np.random.default_rng(0)
    spikes = rng.random((100_000, 2)) < 0.3
    for t in range(100_000):
        s1e5.step(pre_spike=bool(spikes[t, 0]), post_spike=bool(spikes[t, 1]), reward=t % 256 - 128)
        if t < 10:
            s10.step(pre_spike=True, post_spike=False, reward=0)
    assert len(s10.snapshot()) == len(s1e5.snapshot()) == 4
    assert all(v.bit_length() <= 16 for v in s1e5.snapshot())  # bounded integers
    # the synapse holds its config and a 4-tuple of bounded ints; nothing else, however long it ran
    assert _deep_size(s1e5) - _deep_size(s1e5.snapshot()) == _deep_size(s10) - _deep_size(s10.snapshot())
    assert all(sys.getsizeof(v) <= sys.getsizeof(2**31 - 1) for v in s1e5.snapshot())


def _stored_bits(layer: OnlineO1Layer) -> int:
    """Bits the layer's state needs, measured from its buffers: every entry of each buffer times the width
    of its field (``W`` for weights, ``T`` for eligibility and traces), summed over the buffers it holds."""
    c = layer.config
    width = {"weight": c.weight_bits, "eligibility": c.trace_bits, "pre_trace": c.trace_bits,
             "post_trace": c.trace_bits}
    return sum(a.size * width[k] for k, a in layer.state_arrays().items())


@pytest.mark.parametrize("config", [DEFAULT, OnlineO1Config(weight_bits=5, trace_bits=3, reward_bits=2,
                                                            learning_shift=0, trace_decay_shift=1)])
def test_memory_proof_is_derived_from_the_widths_and_measured(config: OnlineO1Config) -> None:
    """Expected bit counts come from the widths (not from literals the code also holds), and are checked
    against the state the layer actually keeps after short and long runs."""
    w, t = config.weight_bits, config.trace_bits
    n_pre, n_post = 6, 7
    p = build_online_o1_memory_proof(n_synapses=n_pre * n_post, config=config, sequence_length=10**9,
                                     n_pre=n_pre, n_post=n_post)
    assert p["per_synapse_state_bits"] == w + t + t + t  # weight, pre trace, post trace, eligibility
    assert p["total_state_bits"] == n_pre * n_post * (w + 3 * t)
    assert p["state_fields"] == list(OnlineO1Synapse(config).snapshot()._fields)
    assert p["factorized_layout"]["total_state_bits"] == n_pre * n_post * (w + t) + (n_pre + n_post) * t
    assert p["config"] == {f: getattr(config, f) for f in
                           ("weight_bits", "trace_bits", "reward_bits", "learning_shift", "trace_decay_shift",
                            "rule_family", "rounding", "lfsr_seed")}
    # measured: the layer's buffers hold exactly the factorized count, before and after 10 / 5000 steps
    rng = np.random.default_rng(2)
    layer = OnlineO1Layer(config, n_pre, n_post)
    sizes = [_stored_bits(layer)]
    for n_steps in (10, 5000):
        for _ in range(n_steps):
            layer.step(rng.random(n_pre) < 0.3, rng.random(n_post) < 0.3, int(rng.integers(-2, 2)))
        sizes.append(_stored_bits(layer))
    assert sizes == [p["factorized_layout"]["total_state_bits"]] * 3
    assert layer.state_bit_count == sizes[0]
    # ...and a synapse holds exactly its four fields, each within its width, however long it ran
    syn = OnlineO1Synapse(config)
    for _ in range(3000):
        snap = syn.step(bool(rng.random() < 0.4), bool(rng.random() < 0.4), int(rng.integers(-2, 2)))
    assert len(snap) == 4
    assert snap.weight.bit_length() <= w and max(snap.pre_trace, snap.post_trace).bit_length() <= t
    assert (snap.eligibility if snap.eligibility >= 0 else ~snap.eligibility).bit_length() <= t - 1  # signed T


@pytest.mark.parametrize("length", [None, 0, 1, 10, 10**9])
def test_memory_proof_does_not_depend_on_sequence_length(length: int | None) -> None:
    """The seed's contract: the proof is the same record for any ``sequence_length`` (it is not echoed)."""
    ref = build_online_o1_memory_proof(n_synapses=65536, config=DEFAULT, n_pre=256, n_post=256)
    assert build_online_o1_memory_proof(n_synapses=65536, config=DEFAULT, sequence_length=length,
                                        n_pre=256, n_post=256) == ref
    assert "sequence_length" not in ref and ref["sequence_length_independent"] is True
    assert ref["hidden_history_fields"] == []


def test_memory_proof_errors_and_empty_layer() -> None:
    with pytest.raises(ValueError, match=r"n_pre \* n_post must equal n_synapses \(10\), not 2 \* 3 = 6"):
        build_online_o1_memory_proof(n_synapses=10, config=DEFAULT, n_pre=2, n_post=3)
    with pytest.raises(ValueError, match=r"^n_synapses must be in 0\.\.1099511627776, not -1$"):
        build_online_o1_memory_proof(n_synapses=-1, config=DEFAULT)
    empty = build_online_o1_memory_proof(n_synapses=0, config=DEFAULT, n_pre=0, n_post=5)
    assert empty["total_state_bits"] == 0 and empty["factorized_layout"]["total_state_bits"] == 5 * 12
    # type errors win over range errors
    with pytest.raises(TypeError, match=r"^sequence_length must be an int in 0\.\."):
        build_online_o1_memory_proof(n_synapses=-1, sequence_length="long")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n_synapses must be an int"):
        build_online_o1_memory_proof(n_synapses=2.0)  # type: ignore[arg-type]


def test_layer_run_equals_stepping() -> None:
    rng = np.random.default_rng(11)
    pre, post = rng.random((50, 3)) < 0.4, rng.random((50, 4)) < 0.4
    rewards = rng.integers(-128, 128, 50)
    a, b = OnlineO1Layer(DEFAULT, 3, 4), OnlineO1Layer(DEFAULT, 3, 4)
    a.run(pre, post, rewards)
    for t in range(50):
        b.step(pre[t], post[t], int(rewards[t]))
    assert all((x == y).all() for x, y in zip(a.state_arrays().values(), b.state_arrays().values(), strict=True))
    with pytest.raises(ValueError, match="run expects pre_spikes"):
        a.run(pre, post[:10], rewards)
