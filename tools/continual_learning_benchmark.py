"""Permuted tasks on a spiking classifier: plain fine-tuning vs EWC vs Synaptic Intelligence.

Each task classifies Poisson-encoded rate patterns (``n_classes`` prototypes over ``n_in`` input channels,
``T`` steps, noisy rates) with a feed-forward :class:`~plasticore.refmodel.lif.LIFNetwork` and BPTT on the
cross-entropy of the time-summed readout; task ``j`` permutes the input channels with a fixed random
permutation (task 1 is the identity), the permuted-MNIST protocol of Kirkpatrick et al. 2017 at small scale.
The tasks are trained one after another with Adam; after the last task every task is tested. Forgetting of
task 1 = accuracy on task 1 right after it was learned minus at the end. EWC (Kirkpatrick 2017) and SI
(Zenke 2017) enter as the learner's gradient transform; a lambda sweep shows the stability/plasticity
trade-off.

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
from bench_common import machine_info

from plasticore.refmodel import EWC, Adam, BPTTLearner, LIFNetwork, SynapticIntelligence, accuracy

Data = tuple[np.ndarray, np.ndarray]


def make_tasks(seed: int, n_tasks: int = 3, n_in: int = 40, n_classes: int = 4, n_t: int = 20,
               n_train: int = 128, n_test: int = 256) -> list[tuple[Data, Data]]:
    """``n_tasks`` permuted versions of one rate-pattern classification; ``(train, test)`` per task."""
    rng = np.random.default_rng(seed)
    protos = rng.uniform(0.0, 0.25, (n_classes, n_in))
    perms = [np.arange(n_in)] + [rng.permutation(n_in) for _ in range(n_tasks - 1)]

    def sample(n: int, perm: np.ndarray) -> Data:
        labels = rng.integers(0, n_classes, n)
        rates = np.clip(protos[labels] + rng.normal(0.0, 0.03, (n, n_in)), 0.0, 1.0)[:, perm]
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


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and the sweep; write the JSON and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--ewc-lambda", type=float, default=1000.0)
    ap.add_argument("--si-c", type=float, default=10.0)
    ap.add_argument("--output", type=Path, default=Path("reports/continual_learning.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        tasks = make_tasks(seed)
        rows.append(run("finetune", tasks, seed=seed))
        rows.append(run("ewc", tasks, strength=args.ewc_lambda, seed=seed))
        rows.append(run("online_ewc", tasks, strength=args.ewc_lambda, seed=seed))
        rows.append(run("si", tasks, strength=args.si_c, seed=seed))
    sweep = [run("ewc", make_tasks(0), strength=lam, seed=0) for lam in (0.0, 10.0, 100.0, 1000.0, 1e4, 1e5)]
    summary: dict[str, dict[str, float]] = {}
    for m in ("finetune", "ewc", "online_ewc", "si"):
        r = [row for row in rows if row["method"] == m]
        summary[m] = {"forgetting_task1": float(np.mean([q["forgetting_task1"] for q in r])),
                      "mean_final": float(np.mean([q["mean_final"] for q in r]))}
    base = summary["finetune"]
    for m in ("ewc", "online_ewc", "si"):
        s = summary[m]
        s["forgetting_cut"] = 1.0 - s["forgetting_task1"] / base["forgetting_task1"]
        s["mean_gain_points"] = 100.0 * (s["mean_final"] - base["mean_final"])
    report = {"benchmark": "3 permuted rate-pattern tasks, feed-forward LIF classifier, BPTT + Adam",
              "goal": {"forgetting_cut": 0.5, "mean_gain_points": 10.0},
              "settings": {"epochs_per_task": 5, "adam_lr": 0.01, "batch": 32, "n_rec": 32,
                           "ewc_lambda": args.ewc_lambda, "online_gamma": 0.9, "si_c": args.si_c, "si_xi": 0.1,
                           "seeds": args.seeds},
              "summary": summary, "runs": rows, "ewc_lambda_sweep": sweep,
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
    names = ["finetune", "ewc", "online_ewc", "si"]
    a1.bar(names, [summary[m]["mean_final"] for m in names], label="mean final accuracy")
    a1.bar(names, [-summary[m]["forgetting_task1"] for m in names], label="- forgetting of task 1")
    a1.axhline(0, color="k", lw=0.5)
    a1.legend()
    a1.set_title(f"{args.seeds} seeds")
    lams = [max(r["strength"], 0.1) for r in sweep]
    a2.semilogx(lams, [r["final"][0] for r in sweep], "o-", label="task 1 (stability)")
    a2.semilogx(lams, [r["final"][-1] for r in sweep], "s-", label="task 3 (plasticity)")
    a2.set_xlabel("ewc_lambda (0 shown at 0.1)")
    a2.set_ylabel("final accuracy")
    a2.legend()
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
