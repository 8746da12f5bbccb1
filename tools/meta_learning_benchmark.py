"""Finn et al. 2017's sinusoid regression with MAML and first-order MAML on the reference MLP.

Tasks: ``y = A sin(x + phi)``, ``A ~ U[0.1, 5]``, ``phi ~ U[0, pi]``, ``x ~ U[-5, 5]``; 10-shot support and
query sets; a 1-40-40-1 ReLU MLP; one inner step; meta-batch 25 tasks; Adam(1e-3) outer optimizer. The
package's ``mse`` is ``E = sum (yhat - y)^2 / (2B)``, so ``inner_lr = 0.02`` is Finn's ``alpha = 0.01`` on the
mean squared error; every reported number is the mean squared error (Finn's metric) on 100 query points
after one adaptation step on 10 support points, over ``--eval-tasks`` held-out tasks. Baselines: the zero
predictor (the best predictor that ignores the task, MSE = E[A^2]/2 ~ 4.2) and a network pretrained on all
tasks jointly, evaluated with and without the same one-step adaptation.

Usage: ``python tools/meta_learning_benchmark.py --iterations 60000 --output reports/meta_learning.json``
(the figure goes next to the JSON as ``.png``). ``--iterations`` is what the run reached; the JSON records it
and the wall time.
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
from bench_common import machine_info

from plasticore.refmodel import MLP, Adam, MetaLearner

Task = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
INNER_LR = 0.02  # = Finn's alpha = 0.01 on the mean squared error


def sample_tasks(rng: np.random.Generator, n: int, k_shot: int = 10, n_query: int = 10) -> list[Task]:
    """``n`` sinusoid tasks with ``k_shot`` support and ``n_query`` query points."""
    out = []
    for _ in range(n):
        amp, phase = rng.uniform(0.1, 5.0), rng.uniform(0.0, np.pi)
        sx = rng.uniform(-5.0, 5.0, (k_shot, 1))
        qx = rng.uniform(-5.0, 5.0, (n_query, 1))
        out.append((sx, amp * np.sin(sx + phase), qx, amp * np.sin(qx + phase)))
    return out


def evaluate(mlp: MLP, tasks: list[Task], steps: int = 1) -> float:
    """Mean squared error on the query sets after ``steps`` steps of ``inner_lr`` on the support sets."""
    meta = MetaLearner(mlp, inner_lr=INNER_LR, inner_steps=max(steps, 1), first_order=True)
    errs = []
    for sx, sy, qx, qy in tasks:
        w = meta.adapt(sx, sy, steps=steps)
        errs.append(float(np.mean((mlp.predict(qx, w) - qy) ** 2)))
    return float(np.mean(errs))


def train(first_order: bool, iterations: int, seed: int, eval_tasks: list[Task], eval_every: int,
          ) -> dict[str, Any]:
    """Meta-train one MLP; returns the learning curve and the final numbers."""
    rng = np.random.default_rng(seed)
    mlp = MLP((1, 40, 40, 1), seed=seed)
    meta = MetaLearner(mlp, inner_lr=INNER_LR, outer_optimizer=Adam(1e-3), first_order=first_order)
    curve: list[dict[str, float]] = []
    t0 = time.perf_counter()
    for it in range(1, iterations + 1):
        meta.outer_step(sample_tasks(rng, 25))
        if it % eval_every == 0 or it == iterations:
            curve.append({"iteration": it, "mse_after_1_step": evaluate(mlp, eval_tasks[:200])})
            print(f"{'FOMAML' if first_order else 'MAML'} {it}: {curve[-1]['mse_after_1_step']:.3f}", flush=True)
    seconds = time.perf_counter() - t0
    return {"iterations": iterations, "seconds": round(seconds, 1), "curve": curve,
            "mse_before_adaptation": evaluate(mlp, eval_tasks, 0),
            "mse_after_1_step": evaluate(mlp, eval_tasks, 1),
            "mse_after_10_steps": evaluate(mlp, eval_tasks, 10)}


def pretrained(iterations: int, seed: int, eval_tasks: list[Task]) -> dict[str, float]:
    """Joint training on all tasks (no meta-learning), then the same evaluation."""
    rng = np.random.default_rng(seed)
    mlp = MLP((1, 40, 40, 1), seed=seed)
    opt = Adam(1e-3)
    for _ in range(iterations):
        tasks = sample_tasks(rng, 25)
        x = np.concatenate([t[0] for t in tasks])
        y = np.concatenate([t[1] for t in tasks])
        opt.apply(mlp.weights, mlp.gradients(x, y))
    return {"iterations": iterations, "mse_before_adaptation": evaluate(mlp, eval_tasks, 0),
            "mse_after_1_step": evaluate(mlp, eval_tasks, 1)}


def main() -> None:
    """Run the benchmark and write the JSON and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=60000)
    ap.add_argument("--eval-tasks", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", type=Path, default=Path("reports/meta_learning.json"))
    args = ap.parse_args()
    eval_tasks = sample_tasks(np.random.default_rng(10_000 + args.seed), args.eval_tasks, 10, 100)
    zero = float(np.mean([np.mean(t[3] ** 2) for t in eval_tasks]))
    t0 = time.perf_counter()
    results = {"maml": train(False, args.iterations, args.seed, eval_tasks, args.eval_every),
               "fomaml": train(True, args.iterations, args.seed, eval_tasks, args.eval_every),
               "pretrained": pretrained(args.iterations, args.seed, eval_tasks)}
    report = {
        "benchmark": "sinusoid regression (Finn et al. 2017, Sec. 5.1)",
        "setup": {"mlp": [1, 40, 40, 1], "k_shot": 10, "query_points_eval": 100, "meta_batch": 25,
                  "inner_steps": 1, "inner_lr_half_mse": INNER_LR, "finn_alpha_mse": 0.01,
                  "outer_optimizer": "Adam(1e-3)", "eval_tasks": args.eval_tasks, "seed": args.seed},
        "goal": {"maml_mse_after_1_step": 0.8, "fomaml_mse_after_1_step": 0.7, "within_iterations": 60000},
        "zero_predictor_mse": zero,
        **results,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "machine": machine_info(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the dev extra
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("maml", "MAML (second order)"), ("fomaml", "first-order MAML")):
        c = results[key]["curve"]
        ax.plot([p["iteration"] for p in c], [p["mse_after_1_step"] for p in c], label=label)
    ax.axhline(zero, color="gray", ls=":", label="zero predictor")
    ax.axhline(results["pretrained"]["mse_after_1_step"], color="k", ls="--", label="pretrained, 1 step")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("MSE after 1 step (200 tasks)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Sinusoid regression, 10-shot")
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)


if __name__ == "__main__":
    main()
