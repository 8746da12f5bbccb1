"""Permuted tasks on a spiking classifier: plain fine-tuning vs EWC vs online EWC vs Synaptic Intelligence.

Each task classifies Poisson-encoded rate patterns (``n_classes`` prototypes over ``n_in`` input channels,
``T`` steps, noisy rates) with a feed-forward :class:`~plasticore.refmodel.lif.LIFNetwork` and BPTT on the
cross-entropy of the time-summed readout; task ``j`` permutes the input channels with a fixed random
permutation (task 1 is the identity): the permuted-MNIST protocol of Kirkpatrick et al. 2017 at small scale.
As in MNIST, whose border pixels are always dark, only a fraction ``active`` of the channels carries the
patterns; the others are silent. The tasks are trained one after another with Adam; after the last task every
task is tested. Forgetting of task 1 = accuracy on task 1 right after it was learned minus at the end. EWC
(Kirkpatrick 2017), online EWC (Schwarz 2018) and SI (Zenke 2017) enter as the learner's gradient transform.

**Out of sample.** Each method's strength (``ewc_lambda`` or ``c``) is chosen on *validation* seeds
(``--val-seeds`` from 100: tasks, initial weights and batch order all drawn from them) as the one with the best
mean final accuracy; the reported numbers come from *held-out* seeds 0 .. ``--seeds``-1, never used for the
choice. The validation grid doubles as the strength sweep (stability = task 1, plasticity = task 3).

Usage: ``python tools/continual_learning_benchmark.py --output reports/continual_learning.json``
(figure next to it as ``.png``).
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

from plasticore.refmodel import EWC, Adam, BPTTLearner, LIFNetwork, SynapticIntelligence, accuracy

Data = tuple[np.ndarray, np.ndarray]


def make_tasks(seed: int, n_tasks: int = 3, n_in: int = 100, n_classes: int = 4, n_t: int = 20,
               n_train: int = 128, n_test: int = 256, active: float = 0.3) -> list[tuple[Data, Data]]:
    """``n_tasks`` permuted versions of one rate-pattern classification; ``(train, test)`` per task.

    A random ``active`` fraction of the channels carries the class prototypes (rates uniform in [0, 0.25]
    plus noise of sd 0.03); the other channels never spike, like the background pixels of MNIST."""
    rng = np.random.default_rng(seed)
    on = rng.random(n_in) < active
    protos = rng.uniform(0.0, 0.25, (n_classes, n_in)) * on
    perms = [np.arange(n_in)] + [rng.permutation(n_in) for _ in range(n_tasks - 1)]

    def sample(n: int, perm: np.ndarray) -> Data:
        labels = rng.integers(0, n_classes, n)
        noise = rng.normal(0.0, 0.03, (n, n_in)) * on
        rates = np.clip(protos[labels] + noise, 0.0, 1.0)[:, perm]
        x = (rng.random((n_t, n, n_in)) < rates[None]).astype(np.float64)
        return x, labels.astype(np.int64)

    return [(sample(n_train, p), sample(n_test, p)) for p in perms]


def run(method: str, tasks: list[tuple[Data, Data]], *, strength: float = 0.0, seed: int = 0,
        epochs: int = 5, batch: int = 32, lr: float = 0.01, n_rec: int = 32) -> dict[str, Any]:
    """Train ``method`` ("finetune", "ewc", "online_ewc", "si") on the tasks in order; accuracies."""
    n_in = tasks[0][0][0].shape[2]
    n_out = int(max(int(t[0][1].max()) for t in tasks)) + 1
    net = LIFNetwork(n_in, n_rec, n_out, recurrent=False, seed=seed)
    penalty: EWC | SynapticIntelligence | None = None
    if method == "ewc":
        penalty = EWC(net, ewc_lambda=strength, loss="cross_entropy")
    elif method == "online_ewc":
        penalty = EWC(net, ewc_lambda=strength, mode="online", gamma=0.9, loss="cross_entropy")
    elif method == "si":
        penalty = SynapticIntelligence(net, c=strength, xi=0.1, loss="cross_entropy")
    learner = BPTTLearner(net, loss="cross_entropy", optimizer=Adam(lr),
                          transforms=[] if penalty is None else [penalty])
    rng = np.random.default_rng(seed + 1)
    just_learned: list[float] = []
    for (x, y), (xt, yt) in tasks:
        n = x.shape[1]
        for _ in range(epochs):
            order = rng.permutation(n)
            for s in range(0, n, batch):
                idx = order[s:s + batch]
                learner.train_step(x[:, idx], y[idx])
        just_learned.append(accuracy(net.forward(xt)[0].y, yt))
        if isinstance(penalty, EWC):
            penalty.consolidate(x, y)
        elif isinstance(penalty, SynapticIntelligence):
            penalty.consolidate()
    final = [accuracy(net.forward(xt)[0].y, yt) for _, (xt, yt) in tasks]
    return {"method": method, "strength": strength, "just_learned": just_learned, "final": final,
            "forgetting_task1": just_learned[0] - final[0], "mean_final": float(np.mean(final))}


METHODS = ("ewc", "online_ewc", "si")
GRID: dict[str, tuple[float, ...]] = {"ewc": (1e3, 1e4, 1e5, 1e6), "online_ewc": (1e3, 1e4, 1e5, 1e6),
                                      "si": (10.0, 100.0, 1e3, 1e4)}


def summarize(rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> dict[str, float]:
    """Mean forgetting and final accuracy of ``rows``, and the cut/gain against the fine-tuning ``base``."""
    f, m = (float(np.mean([r[k] for r in rows])) for k in ("forgetting_task1", "mean_final"))
    bf, bm = (float(np.mean([r[k] for r in base])) for k in ("forgetting_task1", "mean_final"))
    return {"forgetting_task1": f, "mean_final": m, "forgetting_cut": 1.0 - f / bf,
            "mean_gain_points": 100.0 * (m - bm),
            "task1_final": float(np.mean([r["final"][0] for r in rows])),
            "task3_final": float(np.mean([r["final"][-1] for r in rows]))}


def main(argv: list[str] | None = None) -> int:
    """Choose each strength on the validation seeds, report on the held-out seeds; write JSON and figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="held-out test seeds 0 .. seeds-1")
    ap.add_argument("--val-seeds", type=int, default=20, help="validation seeds 100 .. 100+val-seeds-1")
    ap.add_argument("--output", type=Path, default=Path("reports/continual_learning.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    val_seeds, test_seeds = list(range(100, 100 + args.val_seeds)), list(range(args.seeds))

    def runs(method: str, seeds: list[int], strength: float, cache: dict[int, Any]) -> list[dict[str, Any]]:
        return [run(method, cache[seed], strength=strength, seed=seed)
                for seed in progress(seeds, f"{method} {strength:g}")]

    val_tasks = {s: make_tasks(s) for s in val_seeds}
    val_base = runs("finetune", val_seeds, 0.0, val_tasks)
    sweep: dict[str, list[dict[str, Any]]] = {}
    chosen: dict[str, float] = {}
    for m in METHODS:
        sweep[m] = [{"strength": st, **summarize(runs(m, val_seeds, st, val_tasks), val_base)} for st in GRID[m]]
        chosen[m] = max(sweep[m], key=lambda r: r["mean_final"])["strength"]
    test_tasks = {s: make_tasks(s) for s in test_seeds}
    test_base = runs("finetune", test_seeds, 0.0, test_tasks)
    rows = list(test_base)
    summary: dict[str, dict[str, float]] = {"finetune": {
        k: v for k, v in summarize(test_base, test_base).items() if k not in ("forgetting_cut", "mean_gain_points")}}
    for m in METHODS:
        r = runs(m, test_seeds, chosen[m], test_tasks)
        rows += r
        summary[m] = {"strength": chosen[m], **summarize(r, test_base)}
    goal = {"forgetting_cut": 0.5, "mean_gain_points": 10.0}
    meets = {m: summary[m]["forgetting_cut"] >= goal["forgetting_cut"]
             and summary[m]["mean_gain_points"] >= goal["mean_gain_points"] for m in METHODS}
    report = {"benchmark": "3 permuted sparse rate-pattern tasks, feed-forward LIF classifier, BPTT + Adam",
              "goal": goal, "meets_goal": meets,
              "protocol": (f"strengths chosen by mean final accuracy on validation seeds {val_seeds[0]}-"
                           f"{val_seeds[-1]}; summary on held-out seeds {test_seeds[0]}-{test_seeds[-1]}"),
              "settings": {"epochs_per_task": 5, "adam_lr": 0.01, "batch": 32, "n_rec": 32, "n_in": 100,
                           "active_channels": 0.3, "online_gamma": 0.9, "si_xi": 0.1, "grid": GRID,
                           "validation_seeds": val_seeds, "test_seeds": test_seeds},
              "summary": summary, "runs": rows, "validation_sweep": sweep,
              "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return 0
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    names = ["finetune", *METHODS]
    a1.bar(names, [summary[m]["mean_final"] for m in names], label="mean final accuracy")
    a1.bar(names, [-summary[m]["forgetting_task1"] for m in names], label="- forgetting of task 1")
    a1.axhline(0, color="k", lw=0.5)
    a1.legend()
    a1.set_title(f"held-out seeds 0-{args.seeds - 1}")
    ew = sweep["ewc"]
    a2.semilogx([r["strength"] for r in ew], [r["task1_final"] for r in ew], "o-", label="task 1 (stability)")
    a2.semilogx([r["strength"] for r in ew], [r["task3_final"] for r in ew], "s-", label="task 3 (plasticity)")
    a2.set_xlabel("ewc_lambda (validation seeds)")
    a2.set_ylabel("final accuracy")
    a2.legend()
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
