"""Learning curves of the O(1) rule at W8/T6 under the three rounding modes against its float R-STDP twin.

``python tools/rounding_benchmark.py [--steps N] [--seeds K] [--output reports/rounding.json]``

A layer of 16 post x 32 pre synapses (W = 8, T = 6, R = 4, L = 3, s = 2; 16 lanes, one per post neuron, as
an ``o1_array`` with ``lanes = n_post``) sees Poisson pre spikes (p = 0.1 per step); post neuron ``j`` fires one
step after pre neuron ``j`` (its *causal* partner, pre before post) and at random (p = 0.02); the reward is +1 with
probability ``p_reward`` per step (1.0: every step; 0.05: sparse), else 0. The causal synapses should grow;
the other 496 see uncorrelated pairs, so they should move far less. The float twin is
:func:`plasticore.refmodel.rstdp.rstdp_step` with :func:`~plasticore.refmodel.rstdp.rstdp_params_from_o1`
(the same rule in real numbers: no rounding of the traces, the eligibility or the weight step) on the same
spikes. ``floor`` (the seed's rule) rounds every non-multiple of ``2^L`` down: about -0.5 LSB per step with a
nonzero eligibility, which drags the uncorrelated weights to 0; ``nearest`` and ``stochastic`` remove that
bias (stochastic in expectation, per seed a random walk around the twin).

Writes the JSON (curves every 100 steps, final means, the gap to the twin) and a PNG beside it; deterministic
for given arguments (seeded ``numpy.random.Generator``; the LFSR seed is the run's seed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, progress

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer
from plasticore.refmodel.rstdp import rstdp_initial_state, rstdp_params_from_o1, rstdp_step

N_PRE, N_POST, W0 = 32, 16, 128
BASE: dict[str, Any] = dict(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2)
MODES = ("floor", "nearest", "stochastic")
EVERY = 100


REWARD_PROBS = (1.0, 0.05)


def stimulus(seed: int, steps: int, p_reward: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre spikes ``(steps, N_PRE)``, post spikes ``(steps, N_POST)`` (post ``j`` follows pre ``j`` by one
    step) and the rewards ``(steps,)`` (+1 with probability ``p_reward``, else 0)."""
    rng = np.random.default_rng(seed)
    pre = rng.random((steps, N_PRE)) < 0.1
    post = rng.random((steps, N_POST)) < 0.02
    post[1:] |= pre[:-1, :N_POST]
    reward = (rng.random(steps) < p_reward).astype(np.int64)
    return pre, post, reward


def causal_mask() -> np.ndarray:
    m = np.zeros((N_POST, N_PRE), dtype=bool)
    m[np.arange(N_POST), np.arange(N_POST)] = True
    return m


def run_fixed(mode: str, seed: int, pre: np.ndarray, post: np.ndarray, reward: np.ndarray,
              ) -> dict[str, list[float]]:
    c = OnlineO1Config(**BASE, rounding=mode, lfsr_seed=seed)
    layer = OnlineO1Layer(c, N_PRE, N_POST, np.full((N_POST, N_PRE), W0), lanes=N_POST)
    m = causal_mask()
    out: dict[str, list[float]] = {"causal": [], "other": []}
    for t in range(len(pre)):
        layer.step(pre[t], post[t], int(reward[t]))
        if (t + 1) % EVERY == 0:
            w = layer.weights
            out["causal"].append(float(w[m].mean()))
            out["other"].append(float(w[~m].mean()))
    return out


def run_float(pre: np.ndarray, post: np.ndarray, reward: np.ndarray) -> dict[str, list[float]]:
    p = rstdp_params_from_o1(OnlineO1Config(**BASE))
    st = rstdp_initial_state(N_PRE, N_POST)
    w = np.full((N_POST, N_PRE), float(W0))
    m = causal_mask()
    out: dict[str, list[float]] = {"causal": [], "other": []}
    for t in range(len(pre)):
        dw, st = rstdp_step(pre[t], post[t], float(reward[t]), w, st, p)
        w = w + dw
        if (t + 1) % EVERY == 0:
            out["causal"].append(float(w[m].mean()))
            out["other"].append(float(w[~m].mean()))
    return out


def experiment(steps: int, seeds: int, p_reward: float) -> dict[str, Any]:
    runs: dict[str, list[dict[str, list[float]]]] = {k: [] for k in ("float", *MODES)}
    for seed in progress(range(seeds), "seeds"):
        pre, post, reward = stimulus(seed, steps, p_reward)
        runs["float"].append(run_float(pre, post, reward))
        for mode in MODES:
            runs[mode].append(run_fixed(mode, seed, pre, post, reward))
    mean = {k: {g: np.mean([r[g] for r in v], axis=0).round(3).tolist() for g in ("causal", "other")}
            for k, v in runs.items()}
    final = {k: {g: round(float(np.mean([r[g][-1] for r in v])), 2) for g in ("causal", "other")}
             for k, v in runs.items()}
    gap = {m: {g: round(final[m][g] - final["float"][g], 2) for g in ("causal", "other")} for m in MODES}
    # per-seed gap of the uncorrelated mean at the end (stochastic: a random walk, not a bias)
    per_seed = {m: [round(runs[m][i]["other"][-1] - runs["float"][i]["other"][-1], 2) for i in range(seeds)]
                for m in MODES}
    return {"curves_mean": mean, "final_mean": final, "gap_to_float": gap, "other_gap_per_seed": per_seed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000, help="steps per run (default 10000)")
    ap.add_argument("--seeds", type=int, default=5, help="runs (stimulus and LFSR seeds 0..K-1, default 5)")
    ap.add_argument("--output", type=Path, default=Path("reports/rounding.json"))
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    args = ap.parse_args(argv)
    if args.steps < EVERY or args.seeds < 1:
        ap.error(f"--steps must be >= {EVERY} and --seeds >= 1, not {args.steps} / {args.seeds}")
    t0 = time.perf_counter()
    results = {f"p_reward={p}": experiment(args.steps, args.seeds, p) for p in REWARD_PROBS}
    report = {"benchmark": "O(1) rule at W8/T6/R4/L3/s2: rounding modes vs the float R-STDP twin",
              "settings": {"config": BASE, "n_pre": N_PRE, "n_post": N_POST, "lanes": N_POST, "w0": W0,
                           "p_pre": 0.1, "p_post_noise": 0.02, "reward": "+1 with probability p_reward, else 0",
                           "p_reward": list(REWARD_PROBS), "steps": args.steps,
                           "seeds": args.seeds, "curve_every": EVERY},
              "results": results, "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    if args.no_plot:
        return 0
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return 0
    fig, axes = plt.subplots(len(results), 2, figsize=(10, 3.6 * len(results)), sharex=True, squeeze=False)
    styles = {"float": ("k", "-"), "floor": ("tab:red", "--"), "nearest": ("tab:blue", "-."),
              "stochastic": ("tab:green", ":")}
    for ax, (name, res) in zip(axes, results.items(), strict=True):
        x = (np.arange(len(res["curves_mean"]["float"]["causal"])) + 1) * EVERY
        for k, (col, ls) in styles.items():
            label = k if k != "float" else "float twin"
            ax[0].plot(x, res["curves_mean"][k]["causal"], color=col, ls=ls, label=label)
            ax[1].plot(x, res["curves_mean"][k]["other"], color=col, ls=ls, label=label)
        ax[0].set(title=f"causal synapses, mean weight ({name})", ylabel="weight (LSB)")
        ax[1].set(title=f"uncorrelated synapses, mean weight ({name})")
    axes[-1][0].set_xlabel("step")
    axes[-1][1].set_xlabel("step")
    axes[0][0].legend()
    fig.suptitle(f"W8/T6/R4/L3/s2: rounding modes vs the float R-STDP twin, mean of {args.seeds} seeds")
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
