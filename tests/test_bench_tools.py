"""The benchmark scripts: hand-derived adaptation trajectory, parity flags, argument errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from tool_loader import load_tool


def _load(name: str) -> ModuleType:
    return load_tool(name)


@pytest.mark.hw
def test_adaptation_benchmark_matches_hand_derivation(tmp_path: Path) -> None:
    out = tmp_path / "adapt.json"
    assert _load("online_o1_adaptation_benchmark").main(["--output", str(out), "--n-synapses", "5"]) == 0
    d = json.loads(out.read_text())
    # W8 T6 R4 L3 s2, M = 63: every pairing ends with e' = sat(decayS(e) + 63) = 31 (the pre step drove e
    # to -32 or below), so w grows by (7 * 31) >> 3 = 27 per pairing until it saturates at 255.
    expected = [min(255, 27 * k) for k in range(1, 17)]
    assert d["scalar_model"]["weights_after_pairing"] == expected
    assert d["scalar_model"]["steps_to_target"] == 8  # 27 * 8 = 216 >= 192 > 189
    assert d["layer_model"]["weights_after_pairing"] == expected
    assert d["rtl_simulation"]["weights_after_pairing"] == expected
    assert d["parity"] == {"layer_equals_scalar": True, "rtl_equals_scalar": True}
    assert d["evidence_class"] == "deterministic_simulation" and d["hardware_measurement_claimed"] is False
    assert d["annotation"]["schema_version"] == "plasticore.online-o1.annotation.v1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reward", "9"], "error: --reward must be in -8..7, not 9"),
        (["--trace-bits", "1"], "error: trace_bits must be in 2..30, not 1"),
        (["--target-weight", "300"], "error: --target-weight must be in 0..255, not 300"),
        (["--n-synapses", "0"], "error: --n-synapses must be in 1..1048576, not 0"),
    ],
)
def test_adaptation_benchmark_rejects_bad_arguments(args: list[str], message: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("online_o1_adaptation_benchmark")
    assert mod.main(["--output", str(tmp_path / "x.json"), "--no-rtl", *args]) == 1
    err = capsys.readouterr().err
    assert err.strip() == message and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


def test_throughput_benchmark_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("online_o1_throughput_benchmark")
    assert mod.main(["--output", str(tmp_path / "t.json"), "--size", "0"]) == 1
    assert "--size" in capsys.readouterr().err


def test_progress_is_quiet_under_ci_and_without_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("bench_common")
    monkeypatch.setattr(mod.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("CI", "true")
    assert mod.progress_enabled() is False
    assert list(mod.progress(range(5), "x")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("CI")
    assert mod.progress_enabled() is True  # a terminal and no CI: the bar is shown
    assert list(mod.progress(range(3), "x")) == [0, 1, 2]
    assert "x" in capsys.readouterr().err  # tqdm drew its bar on stderr
    monkeypatch.setattr(mod.sys.stderr, "isatty", lambda: False, raising=False)
    assert mod.progress_enabled() is False  # piped into a log: quiet


def test_rounding_benchmark_floor_collapses_stochastic_tracks_the_float_twin(tmp_path: Path) -> None:
    """A short run of tools/rounding_benchmark.py (2 seeds x 3,000 steps): with a reward every step the floor
    rule's uncorrelated weights fall far below the float twin's, the stochastic ones stay within a few LSB, and
    every mode learns the causal synapses as the twin does."""
    tool = _load("rounding_benchmark")
    out = tmp_path / "r.json"
    assert tool.main(["--steps", "3000", "--seeds", "2", "--output", str(out), "--no-plot"]) == 0
    res = json.loads(out.read_text())["results"]["p_reward=1.0"]
    gap = res["gap_to_float"]
    assert gap["floor"]["other"] < -100
    assert abs(gap["stochastic"]["other"]) < 5
    assert all(abs(gap[m]["causal"]) < 2 for m in ("floor", "nearest", "stochastic"))
    assert res["final_mean"]["float"]["causal"] - res["final_mean"]["float"]["other"] > 10
