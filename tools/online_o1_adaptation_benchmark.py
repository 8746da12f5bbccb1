"""Adaptation speed of the O(1) rule under reward pairing, in the scalar model, the layer and the RTL.

``python tools/online_o1_adaptation_benchmark.py --output reports/online_o1_adaptation_benchmark.json``

Protocol ``pre_post_reward_pairing``: each pairing is one step with ``pre=1, reward=0`` followed by one step
with ``post=1, reward=R``. The weight is recorded after each pairing until it reaches ``--target-weight`` (or
``--max-pairings`` pairings ran). The same protocol runs in :class:`OnlineO1Synapse`, in an
:class:`OnlineO1Layer` of ``--n-synapses`` synapses (1 x n), and in the generated ``o1_lane`` Verilog under
Icarus Verilog (a generated plain-Verilog testbench prints the state after every step). When the native
library is present (:mod:`plasticore.native`), the same protocol also runs in ``RustOnlineO1Synapse`` and in
``OnlineO1Layer(backend="native")``, and the record keeps the Python/Rust parity (``native_model``,
``native_parity.rust_equals_scalar``, ``native_parity.native_layer_equals_scalar``; ``None`` without the
library). The record is deterministic simulation evidence, not a hardware measurement.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer, OnlineO1Synapse

SCHEMA = "plasticore.online-o1.adaptation-benchmark.v1"
PROTOCOL = "pre_post_reward_pairing"


def _steps(n_pairings: int, reward: int) -> list[tuple[bool, bool, int]]:
    out: list[tuple[bool, bool, int]] = []
    for _ in range(n_pairings):
        out += [(True, False, 0), (False, True, reward)]
    return out


def _summarize(weights: list[int], target: int) -> int | None:
    for k, w in enumerate(weights, start=1):
        if w >= target:
            return k
    return None


def run_scalar(c: OnlineO1Config, w0: int, n_pairings: int, reward: int) -> list[int]:
    syn = OnlineO1Synapse(c, initial_weight=w0)
    trace = []
    for k, (pre, post, r) in enumerate(_steps(n_pairings, reward)):
        s = syn.step(pre_spike=pre, post_spike=post, reward=r)
        if k % 2 == 1:
            trace.append(s.weight)
    return trace


def run_native(c: OnlineO1Config, w0: int, n_pairings: int, reward: int, n: int) -> dict[str, Any]:
    """The protocol in ``RustOnlineO1Synapse`` and the native layer, or ``{"status": ...}`` without the library."""
    from plasticore.native import RustOnlineO1Synapse, is_available, library_path

    if not is_available():
        return {"status": "not run: native library not built (cargo build --release --offline in native/)"}
    syn = RustOnlineO1Synapse(weight_bits=c.weight_bits, trace_bits=c.trace_bits, reward_bits=c.reward_bits,
                              learning_shift=c.learning_shift, trace_decay_shift=c.trace_decay_shift,
                              initial_weight=w0)
    trace = []
    for k, (pre, post, r) in enumerate(_steps(n_pairings, reward)):
        s = syn.step(pre_spike=pre, post_spike=post, reward=r)
        if k % 2 == 1:
            trace.append(s.weight)
    layer, uniform = run_layer(c, w0, n_pairings, reward, n, backend="native")
    return {"status": "ran", "library": str(library_path()), "rust_synapse_weights_after_pairing": trace,
            "native_layer_weights_after_pairing": layer, "native_layer_all_synapses_identical": uniform}


def run_layer(c: OnlineO1Config, w0: int, n_pairings: int, reward: int, n: int,
              backend: str = "numpy") -> tuple[list[int], bool]:
    layer = OnlineO1Layer(c, 1, n, initial_weights=np.full((n, 1), w0), backend=backend)  # (n_post, n_pre)
    trace, uniform = [], True
    for k, (pre, post, r) in enumerate(_steps(n_pairings, reward)):
        layer.step(np.array([pre]), np.full(n, post), r)
        if k % 2 == 1:
            w = layer.weights
            uniform &= bool((w == w[0, 0]).all())
            trace.append(int(w[0, 0]))
    return trace, uniform


def run_rtl(c: OnlineO1Config, w0: int, n_pairings: int, reward: int) -> dict[str, Any]:
    """Simulate the generated lane in Icarus; returns the weight after each pairing and every state."""
    from plasticore.hw.emitter import OnlineO1LearningEmitter

    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        return {"simulator": "icarus", "status": "not run: iverilog/vvp not on PATH (run make setup)"}
    lines = ["`timescale 1ns/10ps", "module tb;", "reg clk = 0, rst = 0, load_en = 0, step_en = 0;",
             "reg pre_spike = 0, post_spike = 0;", f"reg [{c.weight_bits - 1}:0] load_weight = 0;",
             f"reg signed [{c.reward_bits - 1}:0] reward = 0;", f"wire [{c.weight_bits - 1}:0] weight;",
             f"wire [{c.trace_bits - 1}:0] pre_trace, post_trace;",
             f"wire signed [{c.trace_bits - 1}:0] eligibility;",
             "o1_lane dut(.clk(clk), .rst(rst), .load_en(load_en), .load_weight(load_weight), .step_en(step_en),",
             "  .pre_spike(pre_spike), .post_spike(post_spike), .reward(reward), .weight(weight),",
             "  .pre_trace(pre_trace), .post_trace(post_trace), .eligibility(eligibility));",
             "task tick; begin #5 clk = 1; #5 clk = 0; end endtask", "initial begin",
             "  rst = 1; tick; rst = 0;", f"  load_en = 1; load_weight = {w0}; tick; load_en = 0;", "  step_en = 1;"]
    for pre, post, r in _steps(n_pairings, reward):
        lines.append(f"  pre_spike = {int(pre)}; post_spike = {int(post)}; reward = {r}; tick;")
        lines.append('  $display("%0d %0d %0d %0d", weight, pre_trace, post_trace, eligibility);')
    lines += ["  $finish;", "end", "endmodule"]
    with tempfile.TemporaryDirectory(prefix="o1-adapt-") as tmp:
        d = Path(tmp)
        (src,) = OnlineO1LearningEmitter(c).write(d, "verilog")
        (d / "tb.v").write_text("\n".join(lines) + "\n")
        subprocess.run(["iverilog", "-o", str(d / "sim"), str(d / "tb.v"), str(src)], check=True, capture_output=True)
        out = subprocess.run(["vvp", "-n", str(d / "sim")], check=True, capture_output=True, text=True).stdout
    states = [tuple(int(x) for x in ln.split()) for ln in out.splitlines() if ln and ln[0] in "-0123456789"]
    version = subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"simulator": "icarus", "simulator_version": version, "status": "ran",
            "states": [list(s) for s in states], "weights_after_pairing": [s[0] for s in states[1::2]]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", type=Path, default=Path("reports/online_o1_adaptation_benchmark.json"))
    ap.add_argument("--n-synapses", type=int, default=64)
    ap.add_argument("--target-weight", type=int, default=192)
    ap.add_argument("--max-pairings", type=int, default=16)
    ap.add_argument("--reward", type=int, default=7)
    ap.add_argument("--initial-weight", type=int, default=0)
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--trace-bits", type=int, default=6)
    ap.add_argument("--reward-bits", type=int, default=4)
    ap.add_argument("--learning-shift", type=int, default=3)
    ap.add_argument("--trace-decay-shift", type=int, default=2)
    ap.add_argument("--no-rtl", action="store_true", help="skip the Icarus run of the generated Verilog")
    args = ap.parse_args(argv)
    try:
        c = OnlineO1Config(weight_bits=args.weight_bits, trace_bits=args.trace_bits, reward_bits=args.reward_bits,
                           learning_shift=args.learning_shift, trace_decay_shift=args.trace_decay_shift)
        checks = [("--n-synapses", args.n_synapses, 1, 1 << 20), ("--max-pairings", args.max_pairings, 1, 100_000),
                  ("--target-weight", args.target_weight, 0, c.max_weight),
                  ("--initial-weight", args.initial_weight, 0, c.max_weight),
                  ("--reward", args.reward, c.reward_min, c.reward_max)]
        for name, v, lo, hi in checks:
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in {lo}..{hi}, not {v}")
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n_p = args.max_pairings
    scalar = run_scalar(c, args.initial_weight, n_p, args.reward)
    layer, uniform = run_layer(c, args.initial_weight, n_p, args.reward, args.n_synapses)
    rtl: dict[str, Any] = ({"status": "skipped (--no-rtl)"} if args.no_rtl
                           else run_rtl(c, args.initial_weight, n_p, args.reward))
    rtl_w = rtl.get("weights_after_pairing")
    native = run_native(c, args.initial_weight, n_p, args.reward, args.n_synapses)
    ran_native = native["status"] == "ran"
    report: dict[str, Any] = {
        "schema_version": SCHEMA,
        "protocol": PROTOCOL,
        "evidence_class": "deterministic_simulation",
        "hardware_measurement_claimed": False,
        "annotation": c.to_scnir_annotation(rule_id="adaptation_benchmark"),
        "parameters": {"n_synapses": args.n_synapses, "target_weight": args.target_weight, "max_pairings": n_p,
                       "reward": args.reward, "initial_weight": args.initial_weight},
        "scalar_model": {"weights_after_pairing": scalar,
                         "steps_to_target": _summarize(scalar, args.target_weight)},
        "layer_model": {"n_synapses": args.n_synapses, "weights_after_pairing": layer,
                        "all_synapses_identical": uniform, "steps_to_target": _summarize(layer, args.target_weight)},
        "rtl_simulation": {**rtl, "steps_to_target": _summarize(rtl_w, args.target_weight) if rtl_w else None},
        "native_model": native,
        "parity": {"layer_equals_scalar": layer == scalar and uniform,
                   "rtl_equals_scalar": (rtl_w == scalar) if rtl_w is not None else None},
        "native_parity": {  # Python/Rust parity; None when the native library is not built
            "rust_equals_scalar": native["rust_synapse_weights_after_pairing"] == scalar if ran_native else None,
            "native_layer_equals_scalar": (native["native_layer_weights_after_pairing"] == scalar
                                           and native["native_layer_all_synapses_identical"])
            if ran_native else None},
        "note": "steps_to_target counts pairings (two simulation steps each) until weight >= target_weight; "
                "null if not reached within max_pairings",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"steps_to_target scalar={report['scalar_model']['steps_to_target']} "
          f"layer={report['layer_model']['steps_to_target']} rtl={report['rtl_simulation']['steps_to_target']} "
          f"parity={report['parity']} native_parity={report['native_parity']} -> {args.output}")
    par, npar = report["parity"], report["native_parity"]
    ok = (par["layer_equals_scalar"] and par["rtl_equals_scalar"] is not False
          and npar["rust_equals_scalar"] is not False and npar["native_layer_equals_scalar"] is not False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
