"""Timesteps per second of the closed-loop core with the host in the loop: measured in RTL, projected per board.

1. **Measured** (RTL, Verilator): the association task of :func:`plasticore.refmodel.o1_tasks.small_task_setup`
   on the 16 x 4 core, driven through SPI (SCK = clk / 8) by :class:`plasticore.host.driver.CoreDriver` in
   lockstep (``step``: spike words, reward, TICK, STATUS polls until idle, the packed OUT_SPIKES words; the
   task's reward depends on the step's output), then ``STREAM_STEPS`` steps of the overlapped host loop
   (``run``: the next step's spikes and reward and the last step's output transferred while a step runs) at 10%
   input activity: clocks, bytes and frames per timestep (``tests/cocotb/o1_core_tb.py``, test ``task``,
   counters of the SPI master).
2. **Replayed**: the same run on :class:`plasticore.host.sim.SimulatedCore` with the core's exact BUSY formula
   (:func:`plasticore.hw.o1_core.core_cycles_per_timestep`) and the master's per-frame overhead; its clock
   count is compared with the RTL's for both host loops (the check that makes step 3 trustworthy).
3. **Projected**: each board build of :data:`plasticore.flows.board.CORE_BUILDS` on the simulated core with 10%
   random input activity after training on the large association task, at the board's core clock (its PLL,
   checked against the measured Fmax in
   ``reports/board``): timesteps/s including the SPI traffic in lockstep and overlapped, and the compute-only
   bound.

Usage: ``python tools/core_throughput_benchmark.py --output reports/core_throughput.json [--trials 200]``
(writes the JSON and a Markdown table next to it). Needs Verilator (``make setup``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cocotb"))
from bench_common import machine_info, progress
from spi_master import frame_overhead_clocks

from plasticore.flows.board import BOARDS, CORE_BUILDS, CoreBuild, timesteps_per_second
from plasticore.host.driver import CoreDriver
from plasticore.host.regmap import SCK_DIVIDER_MIN
from plasticore.host.sim import SimulatedCore
from plasticore.hw.core_emitter import OnlineO1CoreEmitter
from plasticore.refmodel.o1_network import OnlineO1Network
from plasticore.refmodel.o1_tasks import large_task_setup, run_task, small_task_setup

ROOT = Path(__file__).resolve().parents[1]
# the per-frame overhead of tests/cocotb/spi_master.SpiMaster with its defaults (the RTL run's master)
FRAME_CLOCKS = frame_overhead_clocks(SCK_DIVIDER_MIN)
SEED = 7
STREAM_STEPS = 200  # overlapped steps after the RTL task


def measure_rtl(trials: int, build: Path) -> dict[str, Any]:
    """Run the task case of ``tests/test_core_cocotb.py`` on Verilator and return the SPI master's counters."""
    from hdl_sim import run_cocotb
    from test_core_cocotb import CASES, emitter

    case = CASES["task_16x4_spram"]
    report = build / "rtl_counters.json"
    sources = emitter(case).write(build / "src", "verilog", sim_models=True)
    print(f"RTL: {trials} trials of the 16 x 4 task on Verilator ...", file=sys.stderr, flush=True)
    run_cocotb(sim="verilator", sources=sources, toplevel="o1_core", test_module="o1_core_tb",
               build_dir=build / "sim",
               extra_env={"CORE_CASE": json.dumps(case), "CORE_SEED": str(SEED), "CORE_TASK_TRIALS": str(trials),
                          "CORE_TESTS": "task", "CORE_REPORT": str(report), "CORE_STREAM_STEPS": str(STREAM_STEPS)})
    return dict(json.loads(report.read_text()))


def simulated_driver(em: OnlineO1CoreEmitter, net: OnlineO1Network) -> tuple[CoreDriver, SimulatedCore]:
    core = SimulatedCore(net, sck_divider=SCK_DIVIDER_MIN, cycles_per_step=em.cycles_per_timestep,
                         frame_clocks=FRAME_CLOCKS, lanes=em.lanes, spram=em.memory == "spram",
                         pipelined_update=em.pipelined_update)
    return CoreDriver(core), core


def replay(trials: int) -> dict[str, Any]:
    """The RTL run's task on the simulated core: its clocks, bytes and frames."""
    from test_core_cocotb import CASES, emitter

    setup = small_task_setup(SEED)
    em = emitter(CASES["task_16x4_spram"])
    drv, core = simulated_driver(em, setup.network())
    drv.identify()
    drv.load_network(setup.network().state_dict())
    t0, b0, f0, s0 = core.time, core.bytes_transferred, core.frames, core.steps_started
    run_task(drv, setup.task, trials)
    out: dict[str, Any] = {"steps": core.steps_started - s0, "clocks": core.time - t0,
                           "bytes": core.bytes_transferred - b0, "frames": core.frames - f0}
    rng = np.random.default_rng(SEED)  # the RTL test's overlapped steps
    n_pre = setup.task.n_pre
    xs = rng.random((STREAM_STEPS, n_pre)) < 0.1
    rs = rng.integers(-3, 4, STREAM_STEPS)
    t0, b0, f0, s0 = core.time, core.bytes_transferred, core.frames, core.steps_started
    drv.run(xs, rs)
    out["stream"] = {"steps": core.steps_started - s0, "clocks": core.time - t0, "bytes": core.bytes_transferred - b0,
                     "frames": core.frames - f0}
    return out


def project(build: CoreBuild, steps: int, activity: float, reports: Path, train_trials: int) -> dict[str, Any]:
    """Lockstep cost of ``steps`` timesteps with ``activity * n_pre`` random active inputs on the simulated core,
    starting from the network trained for ``train_trials`` trials of the large association task (its configs
    are the board builds'): a trained network's sparse output, not the all-spiking output of random weights."""
    em = build.emitter()
    setup = large_task_setup(SEED, n_post=build.n_post)
    assert setup.o1_config == build.o1 and setup.lif_config == build.lif
    net = setup.network()
    run_task(net, setup.task, train_trials)
    drv, core = simulated_driver(em, net)
    drv.identify()
    rng = np.random.default_rng(SEED)
    n_active = round(activity * build.n_pre)
    xs = np.zeros((steps, build.n_pre), dtype=bool)
    for s in xs:
        s[rng.choice(build.n_pre, n_active, replace=False)] = True
    t0, b0, f0 = core.time, core.bytes_transferred, core.frames
    n_out = 0
    for s in progress(xs, f"{build.board} {build.name} lockstep", steps):
        n_out += int(drv.step(s, 0).sum())
    clocks = (core.time - t0) / steps
    lock_bytes, lock_frames = (core.bytes_transferred - b0) / steps, (core.frames - f0) / steps
    t0, b0, f0 = core.time, core.bytes_transferred, core.frames
    print(f"{build.board} {build.name}: {steps} overlapped steps ...", file=sys.stderr, flush=True)
    drv.run(xs, np.zeros(steps, dtype=np.int64))
    run_clocks = (core.time - t0) / steps
    run_bytes, run_frames = (core.bytes_transferred - b0) / steps, (core.frames - f0) / steps
    busy = em.cycles_per_timestep(n_active)
    board = BOARDS[build.board]
    rec_path = reports / "board" / f"{build.board}-{build.name}.json"
    rec = json.loads(rec_path.read_text()) if rec_path.exists() else None
    f_core = float(rec["core_clock_mhz"]) if rec else float(board.core_mhz)
    out: dict[str, Any] = {
        "board": build.board, "name": build.name, "n_pre": build.n_pre, "n_post": build.n_post,
        "synapses": build.n_pre * build.n_post, "lanes": build.lanes, "activity": activity,
        "active_inputs": n_active, "steps": steps, "trained_trials": train_trials,
        "output_spikes_per_step": round(n_out / steps, 2), "busy_clocks_per_step": busy,
        "host_clocks_per_step": round(clocks, 1), "spi_clocks_outside_busy_per_step": round(clocks - busy, 1),
        "bytes_per_step": round(lock_bytes, 1), "frames_per_step": round(lock_frames, 1),
        "overlapped_host_clocks_per_step": round(run_clocks, 1),
        "overlapped_bytes_per_step": round(run_bytes, 1), "overlapped_frames_per_step": round(run_frames, 1),
        "core_clock_mhz": f_core, "sck_mhz": round(f_core / SCK_DIVIDER_MIN, 3),
        "timesteps_per_s_lockstep": round(f_core * 1e6 / clocks, 1),
        "timesteps_per_s_overlapped": round(f_core * 1e6 / run_clocks, 1),
        "timesteps_per_s_compute_only": round(timesteps_per_second(build, f_core, activity), 1),
        "synaptic_updates_per_s_lockstep": round(f_core * 1e6 / clocks * build.n_pre * build.n_post),
        "synaptic_updates_per_s_overlapped": round(f_core * 1e6 / run_clocks * build.n_pre * build.n_post),
    }
    if rec:
        out["fmax_min_mhz"] = rec["measured"]["fmax_min_mhz"]
        out["timing_met"] = rec["timing_met"]
    return out


def markdown(res: dict[str, Any]) -> str:
    m, r = res["rtl_measured"], res["simulated_replay"]
    ms, rs = m["stream"], r["stream"]
    lines = [
        "# Closed-loop core: timesteps per second with the host in the loop",
        "",
        "Generated by `tools/core_throughput_benchmark.py`, over SPI mode 0 at SCK = clk / 8. Two host loops:",
        "*lockstep* `CoreDriver.step` (spike words, reward, TICK, STATUS polls until idle, the packed OUT_SPIKES",
        "words) and *overlapped* `CoreDriver.run` (while step t runs: step t+1's spike words and reward, step",
        "t-1's OUT_SPIKES_AT words; then STATUS polls and the TICK of step t+1).",
        "",
        f"## Measured in RTL (Verilator, 16 x 4 task: {m['steps']} lockstep timesteps, then {ms['steps']} overlapped)",
        "",
        "| | RTL lockstep | replay lockstep | RTL overlapped | replay overlapped |",
        "|---|---|---|---|---|",
        f"| clocks | {m['sim_clocks']} | {r['clocks']} | {ms['sim_clocks']} | {rs['clocks']} |",
        f"| SPI bytes | {m['bytes']} | {r['bytes']} | {ms['bytes']} | {rs['bytes']} |",
        f"| frames | {m['frames']} | {r['frames']} | {ms['frames']} | {rs['frames']} |",
        f"| BUSY clocks | {m['busy_clocks']} | (formula) | {ms['busy_clocks']} | (formula) |",
        "",
        f"Replay error in clocks: lockstep {res['replay_clock_error_pct']:+.3f}%, overlapped "
        f"{res['replay_stream_clock_error_pct']:+.3f}% (the projection below uses the replay).",
        "",
        "## Projected per board build (10% random input activity, the network trained on the large task)",
        "",
        "| board | core | clock MHz (Fmax) | BUSY clk/step | host clk/step lockstep / overlapped "
        "| bytes/step | output spikes/step | timesteps/s lockstep | overlapped | compute-only "
        "| synaptic updates/s overlapped |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in res["projected"]:
        fm = f" ({p['fmax_min_mhz']})" if "fmax_min_mhz" in p else ""
        lines.append(f"| {p['board']} | {p['n_pre']} x {p['n_post']}, {p['lanes']} lanes | {p['core_clock_mhz']}{fm} "
                     f"| {p['busy_clocks_per_step']} | {p['host_clocks_per_step']} / "
                     f"{p['overlapped_host_clocks_per_step']} | {p['bytes_per_step']} "
                     f"| {p['output_spikes_per_step']} "
                     f"| {p['timesteps_per_s_lockstep']} | {p['timesteps_per_s_overlapped']} "
                     f"| {p['timesteps_per_s_compute_only']} | {p['synaptic_updates_per_s_overlapped']:.3g} |")
    lines += ["", "Goal (issue 15): >= 1,000 timesteps/s on the UP5K at 256 x 256, 10% activity, SPI included."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", type=Path, default=ROOT / "reports" / "core_throughput.json")
    ap.add_argument("--trials", type=int, default=200, help="task trials in RTL (10 timesteps each)")
    ap.add_argument("--steps", type=int, default=20, help="timesteps per projected board build")
    ap.add_argument("--train-trials", type=int, default=200, help="model trials before the projected steps")
    ap.add_argument("--reports", type=Path, default=ROOT / "reports", help="where reports/board records are")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=ROOT / "build" if (ROOT / "build").exists() else None) as tmp:
        rtl = measure_rtl(args.trials, Path(tmp))
    rep = replay(args.trials)
    res: dict[str, Any] = {
        "machine": machine_info(), "seed": SEED, "trials": args.trials, "sck_divider": SCK_DIVIDER_MIN,
        "frame_clocks": FRAME_CLOCKS, "rtl_measured": rtl, "simulated_replay": rep,
        "replay_clock_error_pct": round(100.0 * (rep["clocks"] - rtl["sim_clocks"]) / rtl["sim_clocks"], 4),
        "replay_stream_clock_error_pct": round(100.0 * (rep["stream"]["clocks"] - rtl["stream"]["sim_clocks"])
                                               / rtl["stream"]["sim_clocks"], 4),
        "projected": [project(b, args.steps, 0.1, args.reports, args.train_trials) for b in CORE_BUILDS],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    args.output.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
