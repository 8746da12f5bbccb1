"""The closed-loop fixed-point network (:mod:`plasticore.refmodel.o1_network`) against independent checks:
hand-derived membrane trajectories, a per-neuron scalar loop over :class:`OnlineO1Synapse` objects and
:func:`fixed_lif_step`, properties (ranges, checkpoints, the native backend) and argument validation."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.refmodel.o1_network import FixedLIFConfig, OnlineO1Network, fixed_lif_step
from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Synapse

# learning_shift 30 with R = T = 8 freezes potentiation and gives steps of -1 at most: the membrane tests see
# (almost) fixed weights; reward 0 freezes them exactly.
O1 = OnlineO1Config(weight_bits=8, trace_bits=8, reward_bits=8, learning_shift=4, trace_decay_shift=2)


def _net(weights: list[list[int]], o1: OnlineO1Config = O1, **lif: Any) -> OnlineO1Network:
    w = np.array(weights, dtype=np.int64)
    return OnlineO1Network(o1, FixedLIFConfig(**lif), w.shape[1], w.shape[0], w)


def _run(net: OnlineO1Network, pres: list[list[int]], reward: int = 0) -> tuple[list[list[int]], list[list[bool]]]:
    vs, zs = [], []
    for p in pres:
        zs.append(net.step(np.array(p, dtype=bool), reward).tolist())
        vs.append(net.membrane.tolist())
    return vs, zs


# ---- hand-derived trajectories ------------------------------------------------------------------------------


def test_leak_shift_2_decays_the_magnitude_both_signs() -> None:
    # neuron 0: w = 10, offset 0 -> +10; neuron 1: w = 0, offset 10 -> -10 (inhibitory); k = 2, theta far away
    net = _net([[20], [0]], weight_offset=10, leak_shift=2, threshold=30000)
    vs, zs = _run(net, [[1]] * 4 + [[0]] * 3)
    # + : 10 | 10-2=8 +10=18 | 18-4=14 +10=24 | 24-6=18 +10=28 | 28-7=21 | 21-5=16 | 16-4=12
    # - : -10 | -(10-2)=-8 -10=-18 | -(18-4)=-14 -10=-24 | -(24-6)=-18 -10=-28 | -21 | -16 | -12
    # (a floor shift would give -10+3=-7 ..., not the magnitude decay)
    assert [v[0] for v in vs] == [10, 18, 24, 28, 21, 16, 12]
    assert [v[1] for v in vs] == [-10, -18, -24, -28, -21, -16, -12]
    assert not any(any(z) for z in zs)
    assert net.weights.tolist() == [[20], [0]]  # reward 0: no learning


def test_leak_shift_0_is_a_perfect_integrator_and_odd_magnitudes_round_toward_zero() -> None:
    net = _net([[7], [0]], weight_offset=7, leak_shift=0, threshold=30000)
    vs, _ = _run(net, [[1]] * 3 + [[0]] * 2)
    assert vs == [[0, -7], [0, -14], [0, -21], [0, -21], [0, -21]]
    net = _net([[7]], leak_shift=1, threshold=30000)
    vs, _ = _run(net, [[1], [0], [0], [0]])
    # 7 | 7-3=4 | 4-2=2 | 2-1=1
    assert vs == [[7], [4], [2], [1]]
    net = _net([[0]], weight_offset=7, leak_shift=1, threshold=30000)
    vs, _ = _run(net, [[1], [0], [0], [0], [0]])
    assert vs == [[-7], [-4], [-2], [-1], [-1]]  # -1: |-1| >> 1 = 0, the magnitude decay stops at -1


def test_membrane_saturates_at_both_ends_once_per_step() -> None:
    # V = 8: [-128, 127]. Neuron 0: +255 per spike (subtract reset, theta 100); neuron 1: 0 - 255 = -255
    net = _net([[255], [0]], weight_offset=0, membrane_bits=8, leak_shift=0, threshold=100, reset="subtract")
    vs, zs = _run(net, [[1]] * 3)
    # 0+255 -> 127 (saturated) >= 100 -> 27 | 27+255 -> 127 -> 27 | ... (unsaturated would be 155, 310, ...)
    assert [v[0] for v in vs] == [27, 27, 27] and [z[0] for z in zs] == [True] * 3
    net = _net([[0, 0]], weight_offset=255, membrane_bits=8, leak_shift=2, threshold=100)
    vs, zs = _run(net, [[1, 1], [1, 0], [0, 0], [0, 0], [0, 0]])
    # -510 -> -128 | -(128-32)=-96 -255 -> -128 | -96 | -(96-24)=-72 | -(72-18)=-54
    assert [v[0] for v in vs] == [-128, -128, -96, -72, -54] and not any(z[0] for z in zs)


def test_membrane_saturates_at_32_bits() -> None:
    # V = 32, W = 16: 4 inputs of 65535 per step, no leak; the top is 2^31 - 1 = 2147483647
    o1 = OnlineO1Config(weight_bits=16, trace_bits=4, reward_bits=4)
    net = OnlineO1Network(o1, FixedLIFConfig(membrane_bits=32, leak_shift=0, threshold=2**31 - 1), 4, 1,
                          np.full((1, 4), 65535))
    net.load_state_dict({**net.state_dict(), "membrane": np.array([2**31 - 100_000])})
    z = net.step(np.ones(4, dtype=bool), 0)
    # 2147383648 + 262140 > 2^31 - 1 -> saturated at the top, which is the (maximal) threshold: spike, reset 0
    assert z.tolist() == [True] and net.membrane.tolist() == [0]
    net = OnlineO1Network(o1, FixedLIFConfig(membrane_bits=32, leak_shift=0, weight_offset=65535), 4, 1)
    net.load_state_dict({**net.state_dict(), "membrane": np.array([-(2**31) + 5])})
    net.step(np.ones(4, dtype=bool), 0)
    assert net.membrane.tolist() == [-(2**31)]


def test_threshold_is_reached_exactly_and_both_resets() -> None:
    # theta = 10, k = 0. w = 5: 5 | 10 == theta -> spike | 5 | 10 -> spike (zero reset)
    vs, zs = _run(_net([[5]], leak_shift=0, threshold=10), [[1]] * 4)
    assert vs == [[5], [0], [5], [0]] and [z[0] for z in zs] == [False, True, False, True]
    # w = 3: 3, 6, 9 (one below: no spike), 12 -> spike -> 0 (zero) / 2 (subtract)
    vs, zs = _run(_net([[3]], leak_shift=0, threshold=10), [[1]] * 4)
    assert vs == [[3], [6], [9], [0]] and [z[0] for z in zs] == [False, False, False, True]
    vs, zs = _run(_net([[3]], leak_shift=0, threshold=10, reset="subtract"), [[1]] * 4)
    assert vs == [[3], [6], [9], [2]]
    # subtract, w = 7: 7 | 14 -> 4 | 11 -> 1 | 8 | 15 -> 5 | 12 -> 2 | 9
    vs, zs = _run(_net([[7]], leak_shift=0, threshold=10, reset="subtract"), [[1]] * 7)
    assert [v[0] for v in vs] == [7, 4, 1, 8, 5, 2, 9]
    assert [z[0] for z in zs] == [False, True, True, False, True, True, False]
    # threshold 1 (the minimum): any positive potential spikes
    vs, zs = _run(_net([[1]], membrane_bits=2, leak_shift=0, threshold=1), [[1], [0]])
    assert vs == [[0], [0]] and [z[0] for z in zs] == [True, False]


def test_weight_offset_makes_weights_signed() -> None:
    # W = 8, offset 100: weights 150 -> +50, 40 -> -60
    net = _net([[150, 40]], weight_offset=100, leak_shift=0, threshold=1000)
    assert net.input_current(np.array([1, 0])).tolist() == [50]
    assert net.input_current(np.array([1, 1])).tolist() == [-10]
    assert net.input_current(np.array([0, 0])).tolist() == [0]
    vs, _ = _run(net, [[1, 0], [1, 1], [0, 1]])
    assert vs == [[50], [40], [-20]]  # 50 | 50-10 | 40-60


def test_current_uses_the_weights_before_this_steps_learning() -> None:
    # W = 8, T = 4 (M = 15, e in [-8, 7]), R = 4, L = 0, s = 0 (no decay); reward +1 every step; theta 10,
    # subtract reset, k = 0.
    o1 = OnlineO1Config(weight_bits=8, trace_bits=4, reward_bits=4, learning_shift=0, trace_decay_shift=0)
    net = _net([[10]], o1=o1, leak_shift=0, threshold=10, reset="subtract")
    vs, zs = _run(net, [[1]] * 4, reward=1)
    # step 1: I = 10 (w 10), v = 10 -> spike -> 0; pot = M = 15, dep = post(old) 0: e = sat(15) = 7; w = 17
    # step 2: I = 17, v = 17 -> spike -> 7; pot 15, dep 15 (post trace M, no decay): e = 7; w = 24
    # step 3: I = 24, v = 31 -> 21; w = 31.  step 4: I = 31, v = 52 -> 42; w = 38
    # (with the weights after learning, step 1 would already see I = 17)
    assert vs == [[0], [7], [21], [42]] and all(z[0] for z in zs)
    assert net.weights.tolist() == [[38]] and net.eligibility.tolist() == [[7]]
    assert net.pre_traces.tolist() == [15] and net.post_traces.tolist() == [15]


def test_per_neuron_reward_reaches_only_its_row() -> None:
    o1 = OnlineO1Config(weight_bits=8, trace_bits=4, reward_bits=4, learning_shift=0, trace_decay_shift=0)
    net = OnlineO1Network(o1, FixedLIFConfig(leak_shift=0, threshold=1), 1, 3, np.full((3, 1), 100))
    z = net.step(np.array([True]), np.array([1, 0, -100]))  # -100 saturates to -8
    # all three spike; e = 7 each; w = 100 + 7, 100, 100 - 56
    assert z.tolist() == [True] * 3 and net.weights.ravel().tolist() == [107, 100, 44]
    net.step(np.array([False]), 1000)  # scalar 1000 -> 7; no spike (v = 0 < 1): pot = dep = 0, e stays 7
    assert net.weights.ravel().tolist() == [156, 149, 93]


# ---- equality with a scalar loop over synapses -------------------------------------------------------------


class ScalarNetwork:
    """The closed loop written out per neuron with Python ints: ``OnlineO1Synapse`` objects and
    ``fixed_lif_step``."""

    def __init__(self, o1: OnlineO1Config, lif: FixedLIFConfig, w0: np.ndarray) -> None:
        self.lif = lif
        self.syn = [[OnlineO1Synapse(o1, int(w)) for w in row] for row in w0]
        self.v = [0] * len(w0)

    def load(self, net: OnlineO1Network) -> None:
        sd = net.state_dict()
        for j, row in enumerate(self.syn):
            for i, s in enumerate(row):
                s.load_state_dict({"config": sd["config"], "weight": int(sd["weight"][j, i]),
                                   "pre_trace": int(sd["pre_trace"][i]), "post_trace": int(sd["post_trace"][j]),
                                   "eligibility": int(sd["eligibility"][j, i])})
        self.v = [int(x) for x in sd["membrane"]]

    def step(self, pre: np.ndarray, reward: int | np.ndarray) -> list[bool]:
        off = self.lif.weight_offset
        zs = []
        for j, row in enumerate(self.syn):
            cur = sum(s.snapshot().weight - off for s, p in zip(row, pre, strict=True) if p)
            self.v[j], z = fixed_lif_step(self.v[j], cur, self.lif)
            zs.append(z)
        for j, row in enumerate(self.syn):
            r = int(reward) if np.ndim(reward) == 0 else int(reward[j])  # type: ignore[index]
            for s, p in zip(row, pre, strict=True):
                s.step(bool(p), zs[j], r)
        return zs

    def check(self, net: OnlineO1Network, where: object) -> None:
        assert net.membrane.tolist() == self.v, where
        for j, row in enumerate(self.syn):
            for i, s in enumerate(row):
                snap = s.snapshot()
                assert (int(net.weights[j, i]), int(net.eligibility[j, i]), int(net.pre_traces[i]),
                        int(net.post_traces[j])) == (snap.weight, snap.eligibility, snap.pre_trace,
                                                     snap.post_trace), (where, j, i)


def _random_case(rng: np.random.Generator, o1: OnlineO1Config, lif: FixedLIFConfig, n_pre: int, n_post: int,
                 n_steps: int, *, random_state: bool, backend: str = "numpy") -> tuple[int, int]:
    """Run both models side by side; returns (spikes, silent neuron-steps) so callers can see both happened."""
    w0 = rng.integers(0, o1.max_weight + 1, (n_post, n_pre))
    net = OnlineO1Network(o1, lif, n_pre, n_post, w0, backend=backend)
    if random_state:
        sd = net.state_dict()
        sd["eligibility"] = rng.integers(o1.eligibility_min, o1.eligibility_max + 1, (n_post, n_pre))
        sd["pre_trace"] = rng.integers(0, o1.max_trace + 1, n_pre)
        sd["post_trace"] = rng.integers(0, o1.max_trace + 1, n_post)
        sd["membrane"] = rng.integers(lif.membrane_min, lif.membrane_max + 1, n_post)
        net.load_state_dict(sd)
    ref = ScalarNetwork(o1, lif, w0)
    ref.load(net)
    p_pre = rng.uniform(0.1, 0.9)
    big = 1 << (o1.reward_bits + 2)  # beyond the reward range: saturation
    spikes = silent = 0
    for t in range(n_steps):
        pre = rng.random(n_pre) < p_pre
        kind = rng.integers(4)
        reward: int | np.ndarray = (0 if kind == 0 else int(rng.integers(-big, big + 1)) if kind == 1
                                    else rng.integers(-big, big + 1, n_post))
        z = net.step(pre, reward)
        assert z.dtype == np.bool_ and z.tolist() == ref.step(pre, reward), t
        ref.check(net, t)
        spikes += int(z.sum())
        silent += int((~z).sum())
    return spikes, silent


EXTREMES = [
    # (o1 kwargs, lif kwargs)
    ({"weight_bits": 1, "trace_bits": 2, "reward_bits": 1, "learning_shift": 0, "trace_decay_shift": 0},
     {"membrane_bits": 2, "leak_shift": 0, "threshold": 1, "weight_offset": 0}),
    ({"weight_bits": 2, "trace_bits": 2, "reward_bits": 2, "learning_shift": 0, "trace_decay_shift": 1},
     {"membrane_bits": 2, "leak_shift": 30, "threshold": 1, "weight_offset": 1, "reset": "subtract"}),
    ({"weight_bits": 16, "trace_bits": 16, "reward_bits": 16, "learning_shift": 12, "trace_decay_shift": 3},
     {"membrane_bits": 20, "leak_shift": 3, "threshold": 2**19 - 1, "weight_offset": 0}),  # theta = max
    ({"weight_bits": 16, "trace_bits": 16, "reward_bits": 16, "learning_shift": 16, "trace_decay_shift": 2},
     {"membrane_bits": 32, "leak_shift": 0, "threshold": 40000, "weight_offset": 32768, "reset": "subtract"}),
    ({"weight_bits": 16, "trace_bits": 2, "reward_bits": 16, "learning_shift": 0, "trace_decay_shift": 0},
     {"membrane_bits": 18, "leak_shift": 20, "threshold": 1, "weight_offset": 65535}),  # leak_shift > V
    ({"weight_bits": 8, "trace_bits": 8, "reward_bits": 8, "learning_shift": 6, "trace_decay_shift": 1},
     {"membrane_bits": 16, "leak_shift": 1, "threshold": 128, "weight_offset": 0}),  # the small task's
    ({"weight_bits": 8, "trace_bits": 12, "reward_bits": 30, "learning_shift": 30, "trace_decay_shift": 30},
     {"membrane_bits": 10, "leak_shift": 2, "threshold": 100, "weight_offset": 128, "reset": "subtract"}),
]


@pytest.mark.parametrize(("o1kw", "lifkw"), EXTREMES)
def test_equals_a_scalar_loop_over_synapses_at_the_extremes(o1kw: dict[str, Any], lifkw: dict[str, Any]) -> None:
    rng = np.random.default_rng(len(str(o1kw)) + 7 * len(str(lifkw)))
    o1, lif = OnlineO1Config(**o1kw), FixedLIFConfig(**lifkw)
    spikes = silent = 0
    for case in range(4):
        a, b = _random_case(rng, o1, lif, int(rng.integers(1, 6)), int(rng.integers(1, 4)), 60,
                            random_state=case % 2 == 1)
        spikes, silent = spikes + a, silent + b
    assert spikes > 0 and silent > 0  # both branches of the threshold were exercised


@st.composite
def network_configs(draw: st.DrawFn) -> tuple[OnlineO1Config, FixedLIFConfig]:
    o1 = OnlineO1Config(weight_bits=draw(st.integers(1, 16)), trace_bits=draw(st.integers(2, 16)),
                        reward_bits=draw(st.integers(1, 16)), learning_shift=draw(st.integers(0, 20)),
                        trace_decay_shift=draw(st.integers(0, 17)))
    v = draw(st.integers(2, 32))
    lif = FixedLIFConfig(membrane_bits=v, leak_shift=draw(st.integers(0, 30)),
                         threshold=draw(st.one_of(st.just(1), st.just((1 << (v - 1)) - 1),
                                                  st.integers(1, (1 << (v - 1)) - 1))),
                         reset=draw(st.sampled_from(["zero", "subtract"])),
                         weight_offset=draw(st.integers(0, o1.max_weight)))
    return o1, lif


@settings(max_examples=60, deadline=None)
@given(cfg=network_configs(), seed=st.integers(0, 2**32 - 1), random_state=st.booleans())
def test_equals_a_scalar_loop_over_synapses_for_random_configs(cfg: tuple[OnlineO1Config, FixedLIFConfig],
                                                               seed: int, random_state: bool) -> None:
    rng = np.random.default_rng(seed)
    _random_case(rng, *cfg, int(rng.integers(1, 5)), int(rng.integers(1, 4)), 25, random_state=random_state)


# ---- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(cfg=network_configs(), seed=st.integers(0, 2**32 - 1))
def test_state_stays_in_range_and_the_checkpoint_round_trips_exactly(
        cfg: tuple[OnlineO1Config, FixedLIFConfig], seed: int) -> None:
    o1, lif = cfg
    rng = np.random.default_rng(seed)
    n_pre, n_post = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    net = OnlineO1Network(o1, lif, n_pre, n_post, rng.integers(0, o1.max_weight + 1, (n_post, n_pre)))
    big = 1 << 20
    for _ in range(30):
        net.step(rng.random(n_pre) < 0.6, rng.integers(-big, big, n_post) if rng.random() < 0.5 else 10**9)
        v = net.membrane
        assert ((lif.membrane_min <= v) & (v <= lif.membrane_max)).all()
        assert ((0 <= net.weights) & (net.weights <= o1.max_weight)).all()
        e = net.eligibility
        assert ((o1.eligibility_min <= e) & (e <= o1.eligibility_max)).all()
        for tr in (net.pre_traces, net.post_traces):
            assert ((0 <= tr) & (tr <= o1.max_trace)).all()
        if lif.reset == "zero":
            assert lif.threshold is not None and (v < lif.threshold).all()  # every potential at threshold was reset
    sd = net.state_dict()
    other = OnlineO1Network(o1, lif, n_pre, n_post)
    other.load_state_dict(sd)
    sd2 = other.state_dict()
    assert sd2.keys() == sd.keys() and sd2["config"] == sd["config"] and sd2["lif_config"] == sd["lif_config"]
    for k in ("weight", "eligibility", "pre_trace", "post_trace", "membrane"):
        assert sd2[k].dtype == sd[k].dtype and np.array_equal(sd2[k], sd[k]), k
    for _ in range(10):  # and they go on identically
        pre, r = rng.random(n_pre) < 0.5, int(rng.integers(-big, big))
        assert net.step(pre, r).tolist() == other.step(pre, r).tolist()
    assert np.array_equal(net.membrane, other.membrane) and np.array_equal(net.weights, other.weights)
    sd["membrane"][...] = 0  # state_dict returns copies
    assert np.array_equal(net.state_dict()["membrane"], other.membrane)


def test_views_are_copies() -> None:
    net = _net([[5]], leak_shift=0, threshold=100)
    net.step(np.array([True]), 0)
    net.membrane[0] = 99
    net.weights[0, 0] = 99
    assert net.membrane.tolist() == [5] and net.weights.tolist() == [[5]]


def _native_available() -> bool:
    from plasticore.native import is_available

    return bool(is_available())


@pytest.mark.skipif(not _native_available(), reason="plasticore.native library not built (cargo build in native/)")
@settings(max_examples=30, deadline=None)
@given(cfg=network_configs(), seed=st.integers(0, 2**32 - 1))
def test_native_backend_equals_numpy_every_step(cfg: tuple[OnlineO1Config, FixedLIFConfig], seed: int) -> None:
    o1, lif = cfg
    rng = np.random.default_rng(seed)
    n_pre, n_post = int(rng.integers(1, 9)), int(rng.integers(1, 6))
    w0 = rng.integers(0, o1.max_weight + 1, (n_post, n_pre))
    a = OnlineO1Network(o1, lif, n_pre, n_post, w0)
    b = OnlineO1Network(o1, lif, n_pre, n_post, w0, backend="native")
    assert b.layer.backend == "native"
    big = 1 << 18
    for t in range(40):
        pre = rng.random(n_pre) < 0.5
        r: int | np.ndarray = int(rng.integers(-big, big)) if t % 2 else rng.integers(-big, big, n_post)
        assert a.step(pre, r).tolist() == b.step(pre, r).tolist(), t
        sa, sb = a.state_dict(), b.state_dict()
        for k in ("weight", "eligibility", "pre_trace", "post_trace", "membrane"):
            assert np.array_equal(sa[k], sb[k]), (t, k)


# ---- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "exc", "message"), [
    ({"membrane_bits": 1}, ValueError, "membrane_bits must be in 2..32, not 1"),
    ({"membrane_bits": 33}, ValueError, "membrane_bits must be in 2..32, not 33"),
    ({"membrane_bits": 16.0}, TypeError, "membrane_bits must be an int in 2..32, not float 16.0"),
    ({"membrane_bits": True}, TypeError, "membrane_bits must be an int in 2..32, not bool True"),
    ({"leak_shift": -1}, ValueError, "leak_shift must be in 0..30, not -1"),
    ({"leak_shift": 31}, ValueError, "leak_shift must be in 0..30, not 31"),
    ({"leak_shift": "4"}, TypeError, "leak_shift must be an int in 0..30, not str '4'"),
    ({"threshold": 0}, ValueError, "threshold must be in 1..32767, not 0"),
    ({"threshold": 32768}, ValueError, "threshold must be in 1..32767, not 32768"),
    ({"membrane_bits": 2, "threshold": 2}, ValueError, "threshold must be in 1..1, not 2"),
    ({"membrane_bits": 32, "threshold": 2**31}, ValueError, "threshold must be in 1..2147483647, not 2147483648"),
    ({"threshold": 1.5}, TypeError, "threshold must be an int in 1..32767, not float 1.5"),
    ({"reset": "hard"}, ValueError, "reset must be one of ['zero', 'subtract'], not 'hard'"),
    ({"reset": 0}, ValueError, "reset must be one of ['zero', 'subtract'], not 0"),
    ({"weight_offset": -1}, ValueError, "weight_offset must be in 0..2147483647, not -1"),
    ({"weight_offset": None}, TypeError, "weight_offset must be an int in 0..2147483647, not NoneType None"),
])
def test_lif_config_errors_name_the_parameter_range_and_value(kwargs: dict[str, Any], exc: type[Exception],
                                                              message: str) -> None:
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        FixedLIFConfig(**kwargs)


def test_lif_config_defaults_and_canonical_ints() -> None:
    assert FixedLIFConfig().threshold == 2**14 and FixedLIFConfig(membrane_bits=2).threshold == 1
    c = FixedLIFConfig(membrane_bits=np.int64(12), leak_shift=np.int32(3), threshold=np.int16(5),  # type: ignore[arg-type]
                       weight_offset=np.uint8(7))  # type: ignore[arg-type]
    assert all(type(v) is int for k, v in c.as_dict().items() if k != "reset")
    assert (c.membrane_min, c.membrane_max) == (-2048, 2047)


def test_weight_offset_is_checked_against_the_weight_width() -> None:
    o1 = OnlineO1Config(weight_bits=8)
    OnlineO1Network(o1, FixedLIFConfig(weight_offset=255), 2, 2)
    with pytest.raises(ValueError, match=r"^weight_offset must be in 0\.\.255 \(2\^weight_bits - 1 for "
                                         r"weight_bits=8\), not 256$"):
        OnlineO1Network(o1, FixedLIFConfig(weight_offset=256), 2, 2)
    with pytest.raises(TypeError, match=r"^lif_config must be a FixedLIFConfig, not dict$"):
        OnlineO1Network(o1, {"membrane_bits": 8}, 2, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^o1_config must be an OnlineO1Config, not FixedLIFConfig$"):
        OnlineO1Network(FixedLIFConfig(), FixedLIFConfig(), 2, 2)  # type: ignore[arg-type]


def _state(net: OnlineO1Network) -> list[Any]:
    return [net.membrane.tolist(), net.weights.tolist(), net.eligibility.tolist(), net.pre_traces.tolist(),
            net.post_traces.tolist()]


@pytest.mark.parametrize(("pre", "reward", "exc", "message"), [
    ([1, 0], 0, ValueError, "pre_spikes must have shape (3,), not (2,)"),
    ([[1, 0, 1]], 0, ValueError, "pre_spikes must have shape (3,), not (1, 3)"),
    ([1, 2, 0], 0, ValueError, "pre_spikes must be booleans or 0/1 integers"),
    ([0.5, 0, 0], 0, ValueError, "pre_spikes must be booleans or 0/1 integers"),
    ([1, 1, 1], np.array([1, 2, 3]), ValueError, "reward must be a scalar or have shape (2,), not (3,)"),
    ([1, 1, 1], 1.5, TypeError, "reward must be integers, not dtype float64"),
    ([1, 1, 1], True, TypeError, "reward must be an int or an int array of shape (n_post,), not bool"),
    ([1, 1, 1], "1", TypeError, "reward must be integers, not dtype <U1"),
])
def test_bad_step_arguments_are_errors_and_change_nothing(pre: Any, reward: Any, exc: type[Exception],
                                                          message: str) -> None:
    net = _net([[200, 100, 50], [10, 20, 30]], weight_offset=40, leak_shift=1, threshold=100)
    net.step(np.array([1, 1, 0]), 3)
    before = _state(net)
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        net.step(np.array(pre), reward)
    assert _state(net) == before


def test_load_state_dict_checks_keys_ranges_and_configs_before_writing() -> None:
    net = _net([[200, 100], [10, 20]], membrane_bits=8, leak_shift=1, threshold=100)
    net.step(np.array([1, 1]), 2)
    good = net.state_dict()
    before = _state(net)
    owner = "OnlineO1Network state_dict"
    keys = "['config', 'weight', 'eligibility', 'pre_trace', 'post_trace', 'lif_config', 'membrane']"
    cases: list[tuple[Any, type[Exception], str]] = [
        ({**good, "extra": 1}, ValueError, f"{owner} has unknown keys ['extra'] (expected exactly {keys})"),
        ({k: v for k, v in good.items() if k != "membrane"}, ValueError,
         f"{owner} has missing keys ['membrane'] (expected exactly {keys})"),
        ({**good, "membrane": np.array([0, 128])}, ValueError,
         f"{owner}['membrane'] must be in [-128, 127], not 128 at index (1,)"),
        ({**good, "membrane": np.array([-129, 0])}, ValueError,
         f"{owner}['membrane'] must be in [-128, 127], not -129 at index (0,)"),
        ({**good, "membrane": np.zeros(3, dtype=np.int64)}, ValueError,
         f"{owner}['membrane'] must have shape (2,), not (3,)"),
        ({**good, "membrane": np.zeros(2)}, TypeError, f"{owner}['membrane'] must have an integer dtype, not float64"),
        ({**good, "lif_config": {**good["lif_config"], "threshold": 99}}, ValueError,
         f"{owner}['lif_config'] is for another configuration: "),
        ({**good, "lif_config": 5}, TypeError,
         f"{owner}['lif_config'] must be a dict (FixedLIFConfig.as_dict()), not int"),
        ({**good, "weight": np.array([[256, 0], [0, 0]])}, ValueError,
         "OnlineO1Layer state_dict['weight'] must be in [0, 255], not 256 at index (0, 0)"),
        ({**good, "eligibility": np.array([[0, 0], [0, -129]])}, ValueError,
         "OnlineO1Layer state_dict['eligibility'] must be in [-128, 127], not -129 at index (1, 1)"),
        ({**good, "config": {**good["config"], "weight_bits": 9}}, ValueError,
         "OnlineO1Layer state_dict['config'] is for another configuration: weight_bits=9 (this one has 8)"),
        ([1, 2], TypeError, "OnlineO1Network state_dict must be a mapping (from state_dict()), not list"),
    ]
    for bad, exc, message in cases:
        with pytest.raises(exc, match="^" + re.escape(message)):
            net.load_state_dict(bad)
        assert _state(net) == before, message
    fresh = _net([[0, 0], [0, 0]], membrane_bits=8, leak_shift=1, threshold=100)
    fresh.load_state_dict(good)
    assert _state(fresh) == before
