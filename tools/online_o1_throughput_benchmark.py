"""Throughput of the O(1) rule: vectorized ``OnlineO1Layer`` vs one ``OnlineO1Synapse`` object per synapse.

``python tools/online_o1_throughput_benchmark.py --output reports/online_o1_throughput.json``

Both figures are measured in the same run on the same machine, in nanoseconds per synapse-step, with
sparse random spikes and a nonzero reward every step (so the weight update always runs). The two
implementations are first checked to agree bit for bit on a small layer. Timings vary from run to run;
the JSON records the median of several repeats and the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer, OnlineO1Synapse

TARGET_NS = 5.0


def _stimulus(rng: np.random.Generator, steps: int, n_pre: int, n_post: int, p: float, c: OnlineO1Config):
    pre = rng.random((steps, n_pre)) < p
    post = rng.random((steps, n_post)) < p
    rewards = rng.integers(c.reward_min, c.reward_max + 1, steps)
    rewards[rewards == 0] = 1
    return pre, post, rewards


def bench_layer(c: OnlineO1Config, n: int, steps: int, repeats: int, p: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    pre, post, rewards = _stimulus(rng, steps, n, n, p, c)
    times = []
    for _ in range(repeats):
        layer = OnlineO1Layer(c, n, n, initial_weights=rng.integers(0, c.max_weight + 1, (n, n)))
        t0 = time.perf_counter()
        for t in range(steps):
            layer.step(pre[t], post[t], int(rewards[t]))
        times.append(time.perf_counter() - t0)
    ns = [1e9 * s / (steps * n * n) for s in times]
    return {"n_pre": n, "n_post": n, "n_synapses": n * n, "steps": steps, "repeats": repeats,
            "spike_probability": p, "ns_per_synapse_step_median": statistics.median(ns),
            "ns_per_synapse_step_min": min(ns), "ns_per_synapse_step_all": ns}


def bench_scalar(c: OnlineO1Config, n: int, steps: int, repeats: int, p: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    pre, post, rewards = _stimulus(rng, steps, n, n, p, c)
    pre_l, post_l, rew_l = pre.tolist(), post.tolist(), [int(r) for r in rewards]
    times = []
    for _ in range(repeats):
        syns = [[OnlineO1Synapse(c, 0) for _ in range(n)] for _ in range(n)]
        t0 = time.perf_counter()
        for t in range(steps):
            pr, po, r = pre_l[t], post_l[t], rew_l[t]
            for i in range(n):
                row, a = syns[i], pr[i]
                for j in range(n):
                    row[j].step(pre_spike=a, post_spike=po[j], reward=r)
        times.append(time.perf_counter() - t0)
    ns = [1e9 * s / (steps * n * n) for s in times]
    return {"n_pre": n, "n_post": n, "n_synapses": n * n, "steps": steps, "repeats": repeats,
            "spike_probability": p, "ns_per_synapse_step_median": statistics.median(ns),
            "ns_per_synapse_step_min": min(ns), "ns_per_synapse_step_all": ns}


def parity(c: OnlineO1Config, n: int, steps: int, seed: int) -> bool:
    rng = np.random.default_rng(seed)
    pre, post, rewards = _stimulus(rng, steps, n, n, 0.3, c)
    layer = OnlineO1Layer(c, n, n)
    syns = [[OnlineO1Synapse(c) for _ in range(n)] for _ in range(n)]
    for t in range(steps):
        layer.step(pre[t], post[t], int(rewards[t]))
        for i in range(n):
            for j in range(n):
                syns[i][j].step(pre_spike=bool(pre[t, i]), post_spike=bool(post[t, j]), reward=int(rewards[t]))
    return all(layer.synapse(i, j) == syns[i][j].snapshot() for i in range(n) for j in range(n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", type=Path, default=Path("reports/online_o1_throughput.json"))
    ap.add_argument("--size", type=int, default=256, help="layer is size x size synapses (default 256)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--spike-probability", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.size < 1 or args.steps < 1 or args.repeats < 1 or not 0.0 <= args.spike_probability <= 1.0:
        print("error: --size, --steps, --repeats must be >= 1 and --spike-probability in [0, 1]", file=sys.stderr)
        return 1
    c = OnlineO1Config()
    same = parity(c, 12, 300, args.seed)
    layer = bench_layer(c, args.size, args.steps, args.repeats, args.spike_probability, args.seed)
    scalar = bench_scalar(c, 32, 20, 3, args.spike_probability, args.seed)
    report = {
        "schema_version": "plasticore.online-o1.throughput.v1",
        "benchmark": "OnlineO1Layer (vectorized NumPy) vs OnlineO1Synapse objects, ns per synapse-step",
        "machine": machine_info(),
        "config": c.as_dict(),
        "layer": layer,
        "scalar_objects": scalar,
        "speedup_median": scalar["ns_per_synapse_step_median"] / layer["ns_per_synapse_step_median"],
        "target_ns_per_synapse_step": TARGET_NS,
        "layer_meets_target": layer["ns_per_synapse_step_median"] <= TARGET_NS,
        "parity_layer_vs_objects": same,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"layer {layer['ns_per_synapse_step_median']:.2f} ns/synapse-step, objects "
          f"{scalar['ns_per_synapse_step_median']:.0f} ns/synapse-step, parity={same} -> {args.output}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
