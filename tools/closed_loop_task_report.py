"""Closed-loop association task in the fixed-point model: learning curves from random initial weights.

Runs :func:`plasticore.refmodel.o1_tasks.small_task_setup` (the RTL-simulation size, 16 x 4 synapses,
10 steps per trial) and :func:`~plasticore.refmodel.o1_tasks.large_task_setup` (256 x 256 and 256 x 16) on
:class:`~plasticore.refmodel.o1_network.OnlineO1Network` for several seeds, plus a random and an oracle
stepper on the small task (the floor and the ceiling of the measure). Writes ``<out>/closed_loop_task.json``
(configs, per-seed trials to 90% correct, accuracy per block of trials, a SHA-256 of every run's post spikes
and rewards so a hardware run can be compared bit for bit), ``closed_loop_task.png`` (learning curves) and
``closed_loop_task.md``.

Usage: ``python tools/closed_loop_task_report.py --out reports [--small-seeds 10] [--large-seeds 3]``

Deterministic: everything is seeded, the JSON holds no timings or dates (the machine description of
``bench_common.machine_info`` only), and the PNG metadata carries no software/date fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, progress

from plasticore.refmodel.o1_tasks import (
    AssociationTask,
    OracleStepper,
    RandomStepper,
    TaskResult,
    TaskSetup,
    large_task_setup,
    run_task,
    small_task_setup,
)

LEVEL = 0.9
WINDOW = 100  # trials in the accuracy window of "trials to 90%"
SHORT_WINDOW = 20
BLOCK = 20  # trials per block of the accuracy-per-block curve


def task_dict(task: AssociationTask) -> dict[str, Any]:
    """The task's fields, JSON-ready (the reward mode by its value)."""
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in dataclasses.asdict(task).items()}


def digest(result: TaskResult) -> str:
    """SHA-256 of the post spikes (bool bytes) and rewards (int64 little-endian) of every step."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(result.post_spikes, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(result.rewards, dtype="<i8").tobytes())
    return h.hexdigest()


def summarize(result: TaskResult, seed: int) -> dict[str, Any]:
    """Per-run record: trials to 90%, final accuracy, accuracy per block, the digest."""
    n = result.n_trials
    blocks = result.correct[: n - n % BLOCK].reshape(-1, BLOCK).mean(axis=1) if n >= BLOCK else np.zeros(0)
    return {
        "seed": seed,
        "n_trials": n,
        "trials_to_90_window_100": result.trials_to(LEVEL, WINDOW),
        "trials_to_90_window_20": result.trials_to(LEVEL, SHORT_WINDOW),
        "final_accuracy_last_100": round(result.final_accuracy(WINDOW), 4),
        "first_block_accuracy": round(float(blocks[0]), 4) if blocks.size else None,
        "accuracy_per_block_of_20": [round(float(b), 4) for b in blocks],
        "no_answer_fraction": round(float(np.mean(result.answers < 0)), 4),
        "post_spikes_and_rewards_sha256": digest(result),
    }


def run_setup(name: str, make: Any, seeds: list[int], n_trials: int) -> tuple[dict[str, Any], list[TaskResult]]:
    """Run one setup for every seed; the record and the results (for the figure)."""
    runs, results = [], []
    first: TaskSetup | None = None
    for seed in progress(seeds, desc=name):
        su: TaskSetup = make(seed)
        first = first or su
        r = run_task(su.network(), su.task, n_trials)
        runs.append(summarize(r, seed))
        results.append(r)
    assert first is not None
    t = first.task
    assert t.n_post is not None
    hits = [x["trials_to_90_window_100"] for x in runs]
    rec = {
        "name": name,
        "o1_config": first.o1_config.as_dict(),
        "lif_config": first.lif_config.as_dict(),
        "task": {k: v for k, v in task_dict(t).items() if k != "seed"},
        "synapses": t.n_pre * t.n_post,
        "chance": round(1 / t.n_patterns, 4),
        "steps_per_trial": t.period,
        "initial_weights": "uniform 0..2^W-1, numpy default_rng(seed + 1_000_003)",
        "seeds": seeds,
        "summary": {
            "all_reached_90": all(h is not None for h in hits),
            "trials_to_90_window_100_max": max((h for h in hits if h is not None), default=None),
            "trials_to_90_window_100_mean": (round(float(np.mean(hits)), 1) if all(h is not None for h in hits)
                                             else None),
            "trials_to_90_window_20_max": max((x["trials_to_90_window_20"] or 10**9) for x in runs),
            "final_accuracy_min": min(x["final_accuracy_last_100"] for x in runs),
            "final_accuracy_mean": round(float(np.mean([x["final_accuracy_last_100"] for x in runs])), 4),
            "steps_to_90_window_100_max": (max(h for h in hits if h is not None) * t.period
                                           if all(h is not None for h in hits) else None),
        },
        "runs": runs,
    }
    return rec, results


def main(argv: list[str] | None = None) -> int:
    """Run everything; write the JSON, the figure and the Markdown."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--small-seeds", type=int, default=10)
    ap.add_argument("--small-trials", type=int, default=300)
    ap.add_argument("--large-seeds", type=int, default=3)
    ap.add_argument("--large-trials", type=int, default=600)
    args = ap.parse_args(argv)
    for name in ("small_seeds", "small_trials", "large_seeds", "large_trials"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, not {getattr(args, name)}")

    small, small_res = run_setup("small", small_task_setup, list(range(args.small_seeds)), args.small_trials)
    large, large_res = run_setup("large_256x256", large_task_setup, list(range(args.large_seeds)), args.large_trials)
    large16, large16_res = run_setup("large_256x16", lambda s: large_task_setup(s, n_post=16),
                                     list(range(args.large_seeds)), args.large_trials)
    task0 = small_task_setup(0).task
    rand = run_task(RandomStepper(task0.n_pre, 4, p_spike=0.5, seed=0), task0, args.small_trials)
    oracle = run_task(OracleStepper(task0, args.small_trials), task0, args.small_trials)
    baselines = {
        "task_seed": 0,
        "random_stepper": {"p_spike": 0.5, "seed": 0, **summarize(rand, 0)},
        "oracle_stepper": summarize(oracle, 0),
    }
    report = {
        "benchmark": "closed-loop pattern-to-neuron association, reward-modulated O(1) STDP (OnlineO1Network)",
        "definition": {
            "level": LEVEL,
            "window": WINDOW,
            "trials_to_90": "first trial count n >= window after which the last `window` trials are >= 90% "
                            "correct",
            "answer": "neuron with most spikes in the presentation steps; ties to the earliest first spike; "
                      "remaining tie or silence = no answer (wrong)",
        },
        "setups": [small, large, large16],
        "baselines": baselines,
        "machine": machine_info(),
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "closed_loop_task.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (out / "closed_loop_task.md").write_text(markdown(report))
    figure(out / "closed_loop_task.png", [("small 16x4", small_res), ("large 256x256", large_res),
                                          ("large 256x16", large16_res)], rand)
    return 0


def figure(path: Path, groups: list[tuple[str, list[TaskResult]]], rand: TaskResult) -> None:
    """Sliding 20-trial accuracy of every run; 90% and chance lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "plasticore", "figure.dpi": 100, "font.size": 9})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), sharey=True)
    for ax, (title, results) in zip(np.atleast_1d(axes), groups, strict=True):
        for r in results:
            ax.plot(np.arange(1, r.n_trials + 1), r.accuracy(SHORT_WINDOW), lw=0.8, alpha=0.7)
        if title.startswith("small"):
            ax.plot(np.arange(1, rand.n_trials + 1), rand.accuracy(SHORT_WINDOW), color="0.5", lw=0.8,
                    ls=":", label="random stepper")
            ax.legend(loc="lower right")
        ax.axhline(LEVEL, color="k", lw=0.6, ls="--")
        ax.axhline(0.25 if title.startswith("small") else 1 / 16, color="0.6", lw=0.6)
        ax.set_title(f"{title} ({len(results)} seeds)")
        ax.set_xlabel("trial")
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel(f"fraction correct (last {SHORT_WINDOW} trials)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None}, dpi=110)
    plt.close(fig)


def markdown(report: dict[str, Any]) -> str:
    """The Markdown report (no timestamps)."""
    lines = ["# Closed-loop association task (fixed-point model)", "",
             "Generated by `tools/closed_loop_task_report.py`; the numbers are in `closed_loop_task.json`.", "",
             "Each trial shows one of the patterns (a disjoint random set of inputs firing with p_on per step) "
             "for `trial_steps` steps and `gap_steps` silent steps; the neuron with the most spikes answers. "
             "One step after the presentation the network gets a per-neuron reward (`spiking` mode): +R to the "
             "target if it spiked, -R to every other neuron that spiked. The eligibility trace bridges the "
             "delay (Izhikevich 2007). Initial weights are uniform random over the whole weight range.", "",
             "![learning curves](closed_loop_task.png)", ""]
    for s in report["setups"]:
        t, o1, lif, sm = s["task"], s["o1_config"], s["lif_config"], s["summary"]
        lines += [f"## {s['name']}: {t['n_pre']} inputs x {t['n_post']} neurons, {t['n_patterns']} patterns", "",
                  f"- O(1) rule: W={o1['weight_bits']} T={o1['trace_bits']} R={o1['reward_bits']} "
                  f"L={o1['learning_shift']} s={o1['trace_decay_shift']}",
                  f"- LIF: V={lif['membrane_bits']} k={lif['leak_shift']} theta={lif['threshold']} "
                  f"reset={lif['reset']} weight_offset={lif['weight_offset']}",
                  f"- task: trial_steps={t['trial_steps']} gap_steps={t['gap_steps']} "
                  f"active_inputs={t['active_inputs']} p_on={t['p_on']} reward={t['reward']} "
                  f"mode={t['reward_mode']} delay={t['reward_delay']} ({s['steps_per_trial']} steps per trial)",
                  f"- all seeds reached 90%: {sm['all_reached_90']}; trials to 90% (window 100) max "
                  f"{sm['trials_to_90_window_100_max']}, mean {sm['trials_to_90_window_100_mean']} "
                  f"(at most {sm['steps_to_90_window_100_max']} steps); chance {s['chance']}; final accuracy min "
                  f"{sm['final_accuracy_min']}, mean {sm['final_accuracy_mean']}", "",
                  "| seed | trials to 90% (window 100) | (window 20) | first 20 trials | last 100 trials |",
                  "|---:|---:|---:|---:|---:|"]
        for r in s["runs"]:
            lines.append(f"| {r['seed']} | {r['trials_to_90_window_100']} | {r['trials_to_90_window_20']} | "
                         f"{r['first_block_accuracy']} | {r['final_accuracy_last_100']} |")
        lines.append("")
    b = report["baselines"]
    lines += ["## Baselines on the small task (seed 0)", "",
              f"- random stepper: last-100 accuracy {b['random_stepper']['final_accuracy_last_100']}, "
              f"reached 90%: {b['random_stepper']['trials_to_90_window_100'] is not None} (its expected accuracy is "
              "at most the chance level 0.25: ties and silence count as wrong)",
              f"- oracle stepper: last-100 accuracy {b['oracle_stepper']['final_accuracy_last_100']}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
