"""The native fast path (``native/``, :mod:`plasticore.native`): bit-exact with the NumPy layer and the scalar oracle.

The library is built once per session with ``cargo build --release --offline`` when it is missing and cargo is
on PATH; without both, every test here is skipped with that reason. Equality is checked on every field after
every step over the full config ranges (W 1..31, T 2..30, R 1..30, shifts 0..30) with out-of-range rewards.
"""

from __future__ import annotations

import gc
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.native._ffi import SIMD_LEVELS
from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer, OnlineO1Snapshot, OnlineO1Synapse

CRATE = Path(__file__).resolve().parent.parent / "native"


@pytest.fixture(scope="session", autouse=True)
def native_library() -> Path:
    """The built library: built here (release, offline) if absent; skip when it is absent and cargo is too."""
    from plasticore.native import _ffi

    built = CRATE / "target" / "release" / _ffi.LIBRARY_NAME
    if not built.is_file():
        if shutil.which("cargo") is None:
            pytest.skip(f"native library not built ({built}) and cargo is not on PATH")
        proc = subprocess.run(["cargo", "build", "--release", "--offline"], cwd=CRATE, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, f"cargo build failed:\n{proc.stderr}"
    path = _ffi.library_path()
    assert path is not None, "the native library was built but does not load"
    return path


def _widths(c: OnlineO1Config) -> dict[str, int]:
    return {"weight_bits": c.weight_bits, "trace_bits": c.trace_bits, "reward_bits": c.reward_bits,
            "learning_shift": c.learning_shift, "trace_decay_shift": c.trace_decay_shift}


configs = st.builds(
    OnlineO1Config,
    weight_bits=st.integers(1, 31),
    trace_bits=st.integers(2, 30),
    reward_bits=st.integers(1, 30),
    learning_shift=st.integers(0, 30),
    trace_decay_shift=st.integers(0, 30),
)
# rewards far outside every reward range too (the rule saturates them), within int64 for the arrays
rewards = st.one_of(st.integers(-(2**31), 2**31), st.integers(-(2**62), 2**62), st.integers(-3, 3))


@st.composite
def scenarios(draw: Any) -> tuple[OnlineO1Config, int, int, dict[str, Any], list[Any]]:
    c = draw(configs)
    n_pre, n_post = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = c.eligibility_range
    start = {  # any in-range state, so saturation corners are reached in few steps
        "config": c.as_dict(),
        "weight": rng.integers(0, c.max_weight, (n_post, n_pre), endpoint=True),
        "eligibility": rng.integers(lo, hi, (n_post, n_pre), endpoint=True),
        "pre_trace": rng.integers(0, c.max_trace, n_pre, endpoint=True),
        "post_trace": rng.integers(0, c.max_trace, n_post, endpoint=True),
    }
    n_steps = draw(st.integers(1, 25))
    p = draw(st.sampled_from([0.1, 0.5, 0.9]))
    steps = []
    for _ in range(n_steps):
        pre, post = rng.random(n_pre) < p, rng.random(n_post) < p
        if draw(st.booleans()):
            r: Any = draw(rewards)
        else:
            r = np.array([draw(rewards) for _ in range(n_post)], dtype=np.int64)
        steps.append((pre, post, r))
    return c, n_pre, n_post, start, steps


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_native_layer_equals_numpy_layer_and_synapses_every_field_every_step(
    case: tuple[OnlineO1Config, int, int, dict[str, Any], list[Any]],
) -> None:
    from plasticore.native import RustOnlineO1Synapse

    c, n_pre, n_post, start, steps = case
    native = OnlineO1Layer(c, n_pre, n_post, backend="native")
    ref = OnlineO1Layer(c, n_pre, n_post, backend="numpy")
    assert native.backend == "native" and ref.backend == "numpy"
    native.load_state_dict(start)
    ref.load_state_dict(start)
    syn: list[list[OnlineO1Synapse]] = []
    rust: list[list[RustOnlineO1Synapse]] = []
    for j in range(n_post):
        syn.append([])
        rust.append([])
        for i in range(n_pre):
            fields = {"weight": int(start["weight"][j, i]), "eligibility": int(start["eligibility"][j, i]),
                      "pre_trace": int(start["pre_trace"][i]), "post_trace": int(start["post_trace"][j])}
            s = OnlineO1Synapse(c)
            s.load_state_dict({"config": c.as_dict(), **fields})
            rs = RustOnlineO1Synapse(**_widths(c))
            rs.load_state_dict(s.state_dict())
            syn[j].append(s)
            rust[j].append(rs)
    for t, (pre, post, r) in enumerate(steps):
        native.step(pre, post, r)
        ref.step(pre, post, r)
        a, b = native.state_dict(), ref.state_dict()
        for k in ("weight", "eligibility", "pre_trace", "post_trace"):
            assert np.array_equal(a[k], b[k]), (t, k, a[k], b[k])
        for j in range(n_post):
            rj = int(r) if isinstance(r, int) else int(r[j])
            for i in range(n_pre):
                want = syn[j][i].step(pre_spike=bool(pre[i]), post_spike=bool(post[j]), reward=rj)
                got = rust[j][i].step(pre_spike=bool(pre[i]), post_spike=bool(post[j]), reward=rj)
                assert isinstance(got, OnlineO1Snapshot)
                assert got == want, (t, j, i)
                assert native.synapse(i, j) == want, (t, j, i)


@settings(max_examples=200, deadline=None)
@given(configs, st.lists(st.tuples(st.booleans(), st.booleans(), rewards), min_size=1, max_size=40),
       st.data())
def test_rust_synapse_equals_python_synapse_from_rest(
    c: OnlineO1Config, seq: list[tuple[bool, bool, int]], data: Any,
) -> None:
    from plasticore.native import RustOnlineO1Synapse

    w0 = data.draw(st.integers(0, c.max_weight))
    py = OnlineO1Synapse(c, initial_weight=w0)
    rs = RustOnlineO1Synapse(**_widths(c), initial_weight=w0)
    assert rs.per_synapse_state_bits == c.per_synapse_state_bits == py.state_bit_count
    for pre, post, r in seq:
        assert rs.step(pre_spike=pre, post_spike=post, reward=r) == py.step(pre_spike=pre, post_spike=post, reward=r)
    assert rs.state_dict() == py.state_dict()


def test_huge_python_int_rewards_saturate() -> None:
    from plasticore.native import RustOnlineO1Synapse

    c = OnlineO1Config()
    for r in (2**100, -(2**100)):
        py, rs = OnlineO1Synapse(c, 1000), RustOnlineO1Synapse(initial_weight=1000)
        for pre, post in ((True, False), (False, True)):
            assert rs.step(pre_spike=pre, post_spike=post, reward=r) == py.step(pre_spike=pre, post_spike=post,
                                                                                 reward=r)


def test_default_synapse_matches_seed_example() -> None:
    from plasticore.native import RustOnlineO1Synapse, is_available

    assert is_available() and RustOnlineO1Synapse.is_available()
    syn = RustOnlineO1Synapse(initial_weight=100)
    assert syn.is_available()
    assert syn.step(pre_spike=True, post_spike=False, reward=0) == OnlineO1Snapshot(100, 4095, 0, 0)
    assert syn.per_synapse_state_bits == 16 + 3 * 12


# ---- validation: the same errors as OnlineO1Config / OnlineO1Synapse, and the library's own checks ------


@pytest.mark.parametrize(
    "kwargs",
    [{"weight_bits": 0}, {"weight_bits": 32}, {"trace_bits": 1}, {"trace_bits": 31}, {"reward_bits": 0},
     {"reward_bits": 31}, {"learning_shift": -1}, {"learning_shift": 31}, {"trace_decay_shift": 31},
     {"trace_bits": "4"}, {"weight_bits": True}, {"reward_bits": 4.0}, {"weight_bits": 0, "trace_bits": "4"}],
)
def test_rust_synapse_rejects_bad_config_with_online_o1_config_errors(kwargs: dict[str, Any]) -> None:
    from plasticore.native import RustOnlineO1Synapse

    with pytest.raises((TypeError, ValueError)) as want:
        OnlineO1Config(**kwargs)
    with pytest.raises(want.type, match=f"^{__import__('re').escape(str(want.value))}$"):
        RustOnlineO1Synapse(**kwargs)


def test_rust_synapse_rejects_bad_initial_weight_and_inputs() -> None:
    from plasticore.native import RustOnlineO1Synapse

    with pytest.raises(ValueError, match=r"^initial_weight must be in 0\.\.255, not 256$"):
        RustOnlineO1Synapse(weight_bits=8, initial_weight=256)
    with pytest.raises(TypeError, match="initial_weight must be an int"):
        RustOnlineO1Synapse(initial_weight=1.5)  # type: ignore[arg-type]
    syn = RustOnlineO1Synapse()
    with pytest.raises(ValueError, match="pre_spike must be a bool or 0/1, not 2"):
        syn.step(pre_spike=2, post_spike=False, reward=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reward must be an int"):
        syn.step(pre_spike=True, post_spike=False, reward=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        syn.step(True, False, 0)  # type: ignore[call-arg]  # keyword-only, like the seed


def test_library_checks_again_null_handle_is_an_error_not_a_crash() -> None:
    from plasticore.native._ffi import NativeLayerHandle, NativeSynapseHandle, load_library

    with pytest.raises(ValueError, match="rejected the synapse config"):
        NativeSynapseHandle((0, 12, 8, 4, 4), 0)
    with pytest.raises(ValueError, match="rejected the synapse config"):
        NativeSynapseHandle((8, 12, 8, 4, 4), 256)  # initial weight above 2^8 - 1
    with pytest.raises(ValueError, match="rejected the layer config"):
        NativeLayerHandle((16, 12, 8, 4, 31), 2, 2)
    with pytest.raises(ValueError, match="rejected the layer config"):
        NativeLayerHandle((16, 12, 8, 4, 4), -1, 2)
    lib = load_library()
    out = (__import__("ctypes").c_int64 * 4)()
    assert lib.pc_o1_synapse_step(None, 0, 0, 0, out) == -1
    assert lib.pc_o1_layer_step(None, None, None, 0, None) == -1
    assert lib.pc_o1_layer_field_ptr(None, 0) is None
    lib.pc_o1_synapse_free(None)
    lib.pc_o1_layer_free(None)
    h = NativeSynapseHandle((16, 12, 8, 4, 4), 5)
    assert lib.pc_o1_synapse_step(h._h, 0, 0, 0, None) == -3
    assert lib.pc_o1_synapse_step(h._h, 2, 0, 0, out) == -2
    with pytest.raises(RuntimeError, match="state value out of its range"):
        h.set_state((1 << 16, 0, 0, 0))
    assert h.get_state() == (5, 0, 0, 0)


def test_layer_bad_spikes_are_rejected_by_the_library_before_any_change() -> None:
    from plasticore.native._ffi import NativeLayerHandle

    h = NativeLayerHandle((16, 12, 8, 4, 4), 3, 2, 1)
    views = h.arrays()
    views["weight"][...] = 7
    bad = np.array([0, 2, 1], dtype=np.uint8).view(np.bool_)  # a byte that is not 0/1
    with pytest.raises(RuntimeError, match="spike that is not 0/1"):
        h.step(bad, np.zeros(2, bool), 5)
    assert (views["weight"] == 7).all() and not views["pre_trace"].any()


# ---- the backend switch ------------------------------------------------------------------------------


def test_backend_argument_is_checked_and_auto_picks_native() -> None:
    with pytest.raises(ValueError, match=r"^backend must be one of \['numpy', 'native', 'auto'\], not 'rust'$"):
        OnlineO1Layer(OnlineO1Config(), 2, 2, backend="rust")
    with pytest.raises(TypeError, match="backend must be one of"):
        OnlineO1Layer(OnlineO1Config(), 2, 2, backend=None)  # type: ignore[arg-type]
    assert OnlineO1Layer(OnlineO1Config(), 2, 2, backend="auto").backend == "native"
    assert OnlineO1Layer(OnlineO1Config(), 2, 2).backend == "numpy"  # the default is unchanged


def test_native_without_library_is_a_clear_error_and_auto_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from plasticore.native import _ffi

    def missing() -> None:
        raise _ffi.NativeUnavailableError("the plasticore native library is not available (test)")

    monkeypatch.setattr(_ffi, "load_library", missing)
    with pytest.raises(ImportError, match=r"OnlineO1Layer\(backend='native'\): the plasticore native library is "
                                          r"not available"):
        OnlineO1Layer(OnlineO1Config(), 2, 2, backend="native")
    layer = OnlineO1Layer(OnlineO1Config(), 2, 2, backend="auto")
    assert layer.backend == "numpy"
    layer.step([1, 0], [0, 1], 3)
    import plasticore.native as native

    monkeypatch.setattr(native, "load_library", missing)
    assert not native.is_available() and not native.RustOnlineO1Synapse.is_available()


def test_state_dict_moves_between_backends_and_stepping_continues_identically() -> None:
    c = OnlineO1Config(weight_bits=12, trace_bits=8, reward_bits=6, learning_shift=2, trace_decay_shift=3)
    rng = np.random.default_rng(1)
    a = OnlineO1Layer(c, 7, 5, initial_weights=rng.integers(0, c.max_weight + 1, (5, 7)), backend="numpy")
    for _ in range(20):
        a.step(rng.random(7) < 0.3, rng.random(5) < 0.3, int(rng.integers(-40, 40)))
    b = OnlineO1Layer(c, 7, 5, backend="native")
    b.load_state_dict(a.state_dict())
    for _ in range(30):
        pre, post, r = rng.random(7) < 0.3, rng.random(5) < 0.3, rng.integers(-40, 40, 5)
        a.step(pre, post, r)
        b.step(pre, post, r)
    for k, v in a.state_dict().items():
        assert np.array_equal(v, b.state_dict()[k]) if k != "config" else v == b.state_dict()[k]
    c2 = OnlineO1Layer(c, 7, 5, backend="numpy")
    c2.load_state_dict(b.state_dict())
    assert np.array_equal(c2.weights, a.weights)


def test_live_views_keep_the_native_state_alive() -> None:
    layer = OnlineO1Layer(OnlineO1Config(), 3, 2, initial_weights=np.full((2, 3), 9), backend="native")
    w = layer.state_arrays()["weight"]
    del layer
    gc.collect()
    assert (w == 9).all()  # still the library's buffer, still allocated


def test_wide_config_uses_int64_words_like_numpy() -> None:
    c = OnlineO1Config(weight_bits=31, trace_bits=30, reward_bits=30, learning_shift=0, trace_decay_shift=1)
    layer = OnlineO1Layer(c, 2, 2, initial_weights=np.full((2, 2), c.max_weight), backend="native")
    assert layer.state_arrays()["weight"].dtype == np.int64
    ref = OnlineO1Layer(c, 2, 2, initial_weights=np.full((2, 2), c.max_weight))
    for t in range(40):
        pre, post, r = np.array([t % 2, t % 3 == 0]), np.array([t % 5 == 0, True]), (-1) ** t * 2**40
        layer.step(pre.astype(bool), post, r)
        ref.step(pre.astype(bool), post, r)
        assert np.array_equal(layer.weights, ref.weights) and np.array_equal(layer.eligibility, ref.eligibility)


def test_threaded_large_layer_is_bit_exact() -> None:
    """2^17+ synapses take the std::thread path (when the machine has more than one core)."""
    c = OnlineO1Config()
    n_pre, n_post = 512, 300  # 153,600 synapses
    rng = np.random.default_rng(2)
    w0 = rng.integers(0, c.max_weight + 1, (n_post, n_pre))
    a = OnlineO1Layer(c, n_pre, n_post, initial_weights=w0, backend="native")
    b = OnlineO1Layer(c, n_pre, n_post, initial_weights=w0, backend="numpy")
    for _ in range(12):
        pre, post = rng.random(n_pre) < 0.1, rng.random(n_post) < 0.1
        r = rng.integers(-200, 200, n_post)
        a.step(pre, post, r)
        b.step(pre, post, r)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.eligibility, b.eligibility)
    assert np.array_equal(a.pre_traces, b.pre_traces) and np.array_equal(a.post_traces, b.post_traces)


# Row widths that run the vector bodies of every code path (AVX-512: 16 i32 / 8 i64 lanes, unrolled; AVX2
# half that) and their remainders, not only the scalar tail that layers of 1-4 columns reach.
WIDE_N_PRE = (7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129)


def wide_parity(seed: int, n_cases: int) -> int:
    """Native vs NumPy layer on every field after every step for ``n_cases`` random wide layers over the
    full config ranges (random in-range start states, sparse and dense spikes, scalar and per-post rewards,
    out-of-range rewards). Raises ``AssertionError`` naming the case on the first difference; returns the
    number of steps compared. Also run in child processes, one per SIMD level."""
    rng = np.random.default_rng(seed)
    compared = 0
    for case in range(n_cases):
        c = OnlineO1Config(weight_bits=int(rng.integers(1, 32)), trace_bits=int(rng.integers(2, 31)),
                           reward_bits=int(rng.integers(1, 31)), learning_shift=int(rng.integers(0, 31)),
                           trace_decay_shift=int(rng.choice([0, 1, 2, 4, int(rng.integers(0, 31))])))
        n_pre, n_post = int(rng.choice(WIDE_N_PRE)), int(rng.integers(1, 7))
        lo, hi = c.eligibility_range
        start = {"config": c.as_dict(),
                 "weight": rng.integers(0, c.max_weight, (n_post, n_pre), endpoint=True),
                 "eligibility": rng.integers(lo, hi, (n_post, n_pre), endpoint=True),
                 "pre_trace": rng.integers(0, c.max_trace, n_pre, endpoint=True),
                 "post_trace": rng.integers(0, c.max_trace, n_post, endpoint=True)}
        native = OnlineO1Layer(c, n_pre, n_post, backend="native")
        ref = OnlineO1Layer(c, n_pre, n_post, backend="numpy")
        native.load_state_dict(start)
        ref.load_state_dict(start)
        p = float(rng.choice([0.05, 0.5, 0.95]))
        for t in range(12):
            pre, post = rng.random(n_pre) < p, rng.random(n_post) < p
            big = 2 ** int(rng.integers(1, 62))
            r: Any = (int(rng.integers(-big, big)) if t % 2 else rng.integers(-big, big, n_post))
            if t == 5:
                r = 0  # a step without learning (the kernels' r == 0 rows)
            native.step(pre, post, r)
            ref.step(pre, post, r)
            a, b = native.state_dict(), ref.state_dict()
            for k in ("weight", "eligibility", "pre_trace", "post_trace"):
                assert np.array_equal(a[k], b[k]), f"case {case} ({c!r}, {n_pre}x{n_post}) step {t}: {k} differs"
            compared += 1
    return compared


def test_wide_layers_equal_numpy_on_this_machines_code_path() -> None:
    assert wide_parity(seed=11, n_cases=150) == 150 * 12


SIMD_ORDER = [SIMD_LEVELS[k] for k in sorted(SIMD_LEVELS)]  # the library's level numbers: portable < avx2 < avx512


@pytest.mark.parametrize("level", SIMD_ORDER)
def test_wide_layers_equal_numpy_on_every_simd_path(level: str) -> None:
    """Each kernel code path in its own process (the level is detected once per process), checked to be the
    path that actually ran; a path this CPU lacks is skipped with that reason."""
    import os
    import sys

    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_native as t; "
            "from plasticore.native import simd_level; "
            "n = t.wide_parity(seed=23, n_cases=120); print(simd_level(), n)")
    env = {**os.environ, "PLASTICORE_NATIVE_SIMD": level}
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran, n = proc.stdout.split()
    if ran != level:
        assert SIMD_ORDER.index(ran) < SIMD_ORDER.index(level), f"asked for {level}, ran {ran}"
        pytest.skip(f"this CPU has no {level} (the library ran {ran})")
    assert int(n) == 120 * 12


def test_empty_layers_step() -> None:
    for n_pre, n_post in ((0, 3), (3, 0), (0, 0)):
        layer = OnlineO1Layer(OnlineO1Config(), n_pre, n_post, backend="native")
        layer.step(np.zeros(n_pre, bool), np.ones(n_post, bool), 5)
        assert layer.weights.shape == (n_post, n_pre)
        if n_post:
            assert (layer.post_traces == 4095).all()


def test_adaptation_benchmark_records_python_rust_parity(tmp_path: Path) -> None:
    import json

    from tool_loader import load_tool

    mod = load_tool("online_o1_adaptation_benchmark")
    out = tmp_path / "adapt.json"
    assert mod.main(["--output", str(out), "--n-synapses", "5", "--no-rtl"]) == 0
    d = json.loads(out.read_text())
    expected = [min(255, 27 * k) for k in range(1, 17)]  # the hand derivation of tests/test_bench_tools.py
    assert d["native_model"]["status"] == "ran"
    assert d["native_model"]["rust_synapse_weights_after_pairing"] == expected
    assert d["native_model"]["native_layer_weights_after_pairing"] == expected
    assert d["native_parity"] == {"rust_equals_scalar": True, "native_layer_equals_scalar": True}


def test_copies_never_share_a_library_handle() -> None:
    import copy
    import pickle

    from plasticore.native import RustOnlineO1Synapse

    syn = RustOnlineO1Synapse(initial_weight=40)
    syn.step(pre_spike=True, post_spike=False, reward=0)
    for twin in (copy.deepcopy(syn), copy.copy(syn), pickle.loads(pickle.dumps(syn))):
        assert twin.snapshot() == syn.snapshot() and twin._h is not syn._h
        twin.step(pre_spike=False, post_spike=True, reward=100)
        assert twin.snapshot() != syn.snapshot()  # independent state
    layer = OnlineO1Layer(OnlineO1Config(), 2, 2, backend="native")
    for action in (copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match=r"cannot be copied or pickled; move its state_dict\(\)"):
            action(layer)
