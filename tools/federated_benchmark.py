"""Federated spiking classification: the in-process reference or a real Flower deployment on loopback.

One run (``--engine inprocess|flower``): ``--clients`` clients hold a spiking classification task (IID, Dirichlet
or two classes per client, :func:`plasticore.refmodel.federated.make_spiking_classification`), each trains the
LIF network locally (BPTT + SGD) and the server aggregates with FedAvg (McMahan et al. 2017), FedProx (Li et al.
2020) or signSGD majority vote (Bernstein et al. 2018), optionally under secure aggregation (Bonawitz et al. 2017).

``--engine flower`` starts ``flower-superlink --insecure`` and one ``flower-supernode`` per client on free
loopback ports (:class:`plasticore.engines.flower_deploy.FlowerDeployment`, logs under ``build/``), submits the app
``engines/flower_app`` with ``flwr run``, and stops every process at the end. ``--drop-client K`` SIGKILLs client
K's SuperNode while its round ``--drop-round`` is in progress; the run goes on if ``--min-clients`` report.
Secure aggregation on Flower is Flower's SecAgg+ (``SecAggPlusWorkflow`` / ``secaggplus_mod``).

JSON (``--output``): ``engine``, ``secure``, ``initial`` and ``rounds`` (per round: ``accuracy``, ``loss``,
``clients`` that reported), ``dropped_clients``, ``max_abs_diff_vs_inprocess`` (per round, the engine's new global
weights against the in-process reference step on the same client updates; the largest over the rounds),
``quantization_bound`` (the largest difference secure aggregation's quantization may cause in that step;
``null`` without ``--secure``), ``final_weights_diff_vs_run_inprocess`` (end to end against
:func:`~plasticore.refmodel.federated.run_inprocess`, or ``run_inprocess_fixed_point`` for ``--learner o1``;
meaningful without ``--secure``), ``initial_weights_diff_vs_inprocess`` (Flower), run times, machine.

``--learner o1`` trains the O(1) layer with its reward-modulated rule instead (integer weights, exact integer FedAvg,
:func:`~plasticore.refmodel.federated.run_inprocess_fixed_point` in process) on the task and configuration of
:func:`~plasticore.refmodel.federated.o1_task_preset` (16 inputs, 8 steps, ``p_on = 0.5``, ``p_off = 0.02``), on
which that rule learns; the gradient learner keeps the default task.

``--experiment`` writes ``reports/federated.json`` and the figures ``reports/federated_*.png`` (IID vs non-IID;
FedAvg vs FedProx vs sign vote vs secure FedAvg; client drift against ``mu``; Flower vs in-process; the O(1)
learner in process over seeds and on Flower). ``--experiment-o1`` reruns only the O(1) parts (``o1_curves`` and
``flower_runs.o1_fedavg``) and replaces them in an existing ``--output`` JSON, leaving the rest as it was.

Bad arguments exit 2 with a one-line message. Usage::

    python tools/federated_benchmark.py --engine flower --clients 3 --rounds 3 --output build/fl.json
    python tools/federated_benchmark.py --experiment --output reports/federated.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, progress

from plasticore.refmodel import federated as fed
from plasticore.refmodel.secure_aggregation import quantization_bound

ROOT = Path(__file__).resolve().parent.parent
PARTITIONS = ("iid", "dirichlet", "two_class")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2) instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> _Parser:
    ap = _Parser(prog="federated_benchmark.py", description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("inprocess", "flower"), default="inprocess")
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--strategy", choices=fed.STRATEGIES, default="fedavg")
    ap.add_argument("--learner", choices=("gradient", "o1"), default="gradient",
                    help="gradient: BPTT on the LIF network; o1: the O(1) layer's reward-modulated rule on the "
                         "o1_task_preset task")
    ap.add_argument("--mu", type=float, default=0.0, help="FedProx proximal weight (fedprox only)")
    ap.add_argument("--secure", action="store_true", help="secure aggregation (Flower: SecAgg+)")
    ap.add_argument("--drop-client", type=int, default=None, metavar="K", help="client K drops out (is killed)")
    ap.add_argument("--drop-round", type=int, default=2, metavar="R", help="round (1-based) client K dies in")
    ap.add_argument("--min-clients", type=int, default=None,
                    help="replies a round needs (default: clients - 1 with --drop-client, else clients)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--partition", choices=PARTITIONS, default="iid")
    ap.add_argument("--alpha", type=float, default=0.3, help="Dirichlet concentration")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.03)
    ap.add_argument("--round-timeout", type=float, default=20.0, help="Flower: s a round waits for replies")
    ap.add_argument("--experiment", action="store_true", help="the report's experiment (reports/federated.*)")
    ap.add_argument("--experiment-o1", action="store_true",
                    help="rerun only the experiment's O(1) parts and replace them in the --output JSON")
    ap.add_argument("--output", type=Path, default=None, metavar="F.json")
    return ap


def _check(ap: _Parser, a: argparse.Namespace) -> None:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            ap.error(msg)

    need(a.clients >= 1, f"--clients must be >= 1, not {a.clients}")
    need(a.rounds >= 1, f"--rounds must be >= 1, not {a.rounds}")
    need(math.isfinite(a.mu) and a.mu >= 0, f"--mu must be >= 0, not {a.mu}")
    need(a.mu == 0 or a.strategy == "fedprox", f"--mu {a.mu} needs --strategy fedprox, not {a.strategy}")
    need(not (a.secure and a.strategy == "signvote") or a.engine == "inprocess",
         "--secure on Flower supports fedavg and fedprox, not signvote")
    need(not a.secure or a.clients >= 2, f"--secure needs --clients >= 2, not {a.clients}")
    need(a.learner == "gradient" or (a.strategy == "fedavg" and not a.secure and a.drop_client is None),
         "--learner o1 needs --strategy fedavg, no --secure and no --drop-client")
    need(a.seed >= 0, f"--seed must be >= 0, not {a.seed}")
    need(a.epochs >= 1, f"--epochs must be >= 1, not {a.epochs}")
    need(a.lr > 0, f"--lr must be > 0, not {a.lr}")
    need(a.alpha > 0, f"--alpha must be > 0, not {a.alpha}")
    need(a.round_timeout > 0, f"--round-timeout must be > 0, not {a.round_timeout}")
    need(1 <= a.drop_round <= a.rounds, f"--drop-round must be in 1..{a.rounds}, not {a.drop_round}")
    if a.drop_client is not None:
        need(0 <= a.drop_client < a.clients, f"--drop-client must be in 0..{a.clients - 1}, not {a.drop_client}")
        need(a.clients >= 2, "--drop-client needs --clients >= 2")
    lo = 2 if a.secure else 1
    if a.min_clients is None:
        a.min_clients = max(lo, a.clients - 1) if a.drop_client is not None else a.clients
    need(lo <= a.min_clients <= a.clients, f"--min-clients must be in {lo}..{a.clients}, not {a.min_clients}")
    need(a.drop_client is None or a.min_clients <= a.clients - 1,
         f"--min-clients {a.min_clients} leaves no room for --drop-client (at most {a.clients - 1})")


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _max_diff(a: dict[str, Any], b: dict[str, Any]) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k], dtype=np.float64) - np.asarray(b[k], dtype=np.float64))))
               for k in b)


def _clients(a: argparse.Namespace) -> list[fed.ClientData]:
    if a.learner == "o1":
        pre = fed.o1_task_preset()
        return fed.make_spiking_classification(a.clients, partition=a.partition, alpha=a.alpha, n_in=pre.n_in,
                                               n_steps=pre.n_steps, p_on=pre.p_on, p_off=pre.p_off, seed=a.seed)
    return fed.make_spiking_classification(a.clients, partition=a.partition, alpha=a.alpha, seed=a.seed)


def _o1_reference(clients: list[fed.ClientData], a: argparse.Namespace) -> fed.FixedPointHistory:
    """:func:`~plasticore.refmodel.federated.run_inprocess_fixed_point` with the preset's configuration."""
    pre = fed.o1_task_preset()
    return fed.run_inprocess_fixed_point(clients, pre.config, rounds=a.rounds, seed=a.seed, epochs=a.epochs,
                                         reward=pre.reward, lif_config=pre.lif_config)


def run_inprocess_o1(a: argparse.Namespace) -> dict[str, Any]:
    """The O(1) learner in process (global test accuracy; ``loss`` is not defined for it)."""
    t0 = time.perf_counter()
    h = _o1_reference(_clients(a), a)
    rounds = [{"round": r + 1, "accuracy": h.accuracy[r + 1], "loss": None, "clients": list(range(a.clients)),
               "client_accuracy": h.client_accuracy[r]} for r in range(a.rounds)]
    return {"initial": {"accuracy": h.accuracy[0], "loss": None}, "rounds": rounds, "dropped_clients": [],
            "max_abs_diff_vs_inprocess": 0.0, "quantization_bound": None, "final_weights_diff_vs_run_inprocess": 0.0,
            "seconds": time.perf_counter() - t0}


def run_inprocess(a: argparse.Namespace) -> dict[str, Any]:
    """The reference engine; with ``--secure`` the first round is also compared with the exact FedAvg step on the
    same client updates (within the refmodel's quantization bound)."""
    t0 = time.perf_counter()
    clients = _clients(a)
    kw: dict[str, Any] = {"strategy": a.strategy, "mu": a.mu, "drop_client": a.drop_client,
                          "drop_round": a.drop_round - 1, "epochs": a.epochs, "lr": a.lr, "seed": a.seed}
    h = fed.run_inprocess(clients, rounds=a.rounds, secure=a.secure, **kw)
    seconds = time.perf_counter() - t0
    diff, bound = 0.0, None
    if a.secure:
        one_s = fed.run_inprocess(clients, rounds=1, secure=True, **kw)
        one_x = fed.run_inprocess(clients, rounds=1, secure=False, **kw)
        diff = _max_diff(one_s.weights, one_x.weights)
        ns = [int(c.labels.shape[0]) for c in clients]
        alive = [ns[k] for k in one_x.reported[0]]
        bound = 1.0 if a.strategy == "signvote" else quantization_bound(a.clients, 1.0, 32) * max(ns) / sum(alive)
    rounds = [{"round": r + 1, "accuracy": h.accuracy[r + 1], "loss": h.loss[r + 1], "clients": list(h.reported[r]),
               "client_loss": h.client_loss[r], "drift": h.drift[r]} for r in range(a.rounds)]
    return {"initial": {"accuracy": h.accuracy[0], "loss": h.loss[0]}, "rounds": rounds,
            "dropped_clients": list(h.dropped), "max_abs_diff_vs_inprocess": diff, "quantization_bound": bound,
            "final_weights_diff_vs_run_inprocess": 0.0, "seconds": seconds}


def run_flower(a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """A real deployment on loopback (SuperLink + one SuperNode per client + ``flwr run``), stopped at the end."""
    from plasticore.engines.flower_deploy import FlowerDeployment, deployment_pids
    from plasticore.engines.flower_engine import FederatedRunConfig, run_on

    samples = 40
    make = FederatedRunConfig.for_o1 if a.learner == "o1" else FederatedRunConfig
    cfg = make(
        num_server_rounds=a.rounds, strategy=a.strategy, learner=a.learner, proximal_mu=a.mu, secure=a.secure,
        num_clients=a.clients,
        min_train_nodes=a.min_clients, partition=a.partition, alpha=a.alpha, samples_per_client=samples, seed=a.seed,
        epochs=a.epochs, lr=a.lr, round_timeout=a.round_timeout, max_weight=float(samples),
        output=str((workdir / "result").resolve()))
    t0 = time.perf_counter()
    with FlowerDeployment(a.clients, workdir) as dep:
        t_up = time.perf_counter() - t0
        doc = run_on(dep, cfg, drop_client=a.drop_client, drop_round=a.drop_round)
    leftover = deployment_pids()
    seconds = time.perf_counter() - t0
    if doc["run"]["sub_status"] != "completed" or doc.get("status") != "completed":
        raise RuntimeError(f"Flower run ended {doc['run']['status']}:{doc['run']['sub_status']} (log "
                           f"{doc['run']['log']})")
    ref: fed.FederatedHistory | fed.FixedPointHistory
    ref_weights: dict[str, Any]
    ref_init: dict[str, Any]
    if a.learner == "o1":
        ref = _o1_reference(cfg.clients(), a)
        ref_weights, ref_init = {"w": ref.weights}, cfg.o1_initial_weights()
    else:
        ref = fed.run_inprocess(cfg.clients(), rounds=a.rounds, strategy=a.strategy, mu=a.mu, secure=False,
                                drop_client=a.drop_client, drop_round=a.drop_round - 1, epochs=a.epochs, lr=a.lr,
                                seed=a.seed)
        ref_weights, ref_init = ref.weights, cfg.initial_weights()
    rows = doc["rounds"]
    rounds = [{"round": r["round"], "accuracy": r["accuracy"], "loss": r["loss"], "clients": r.get("reported", []),
               "client_loss": r.get("client_loss"), "drift": r.get("drift"), "failures": r.get("failures", []),
               "seconds_since_start": r["seconds"]} for r in rows[1:]]
    replay = doc["replay"]
    bounds = [e["bound"] for e in replay if "bound" in e]
    return {"initial": {"accuracy": rows[0]["accuracy"], "loss": rows[0]["loss"]}, "rounds": rounds,
            "dropped_clients": doc["dropped_clients"], "killed_nodes": doc["killed"],
            "max_abs_diff_vs_inprocess": max(e["max_abs_diff"] for e in replay),
            "max_abs_diff_per_round": [e["max_abs_diff"] for e in replay],
            "quantization_bound": max(bounds) if a.secure else None,
            "quantization_bound_per_round": bounds if a.secure else None,
            "final_weights_diff_vs_run_inprocess": _max_diff(doc["final_weights"], ref_weights),
            "inprocess_accuracy": ref.accuracy[1:],
            "initial_weights_diff_vs_inprocess": _max_diff(doc["initial_weights"], ref_init),
            "secagg": {"clipping_range": cfg.clipping_range, "quantization_range": cfg.quantization_range,
                       "max_weight": cfg.max_weight} if a.secure else None,
            "run": doc["run"], "seconds": seconds, "deployment_start_seconds": t_up, "leftover_processes": leftover}


def one(a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One run of the chosen engine, as the JSON record."""
    if a.engine == "flower":
        res = run_flower(a, workdir)
    else:
        res = run_inprocess_o1(a) if a.learner == "o1" else run_inprocess(a)
    head = {"engine": a.engine, "learner": a.learner, "secure": a.secure, "strategy": a.strategy, "mu": a.mu,
            "clients": a.clients,
            "partition": a.partition, "alpha": a.alpha if a.partition == "dirichlet" else None, "seed": a.seed,
            "drop_client": a.drop_client, "drop_round": a.drop_round if a.drop_client is not None else None,
            "min_clients": a.min_clients, "epochs": a.epochs, "lr": a.lr}
    return _clean({**head, **res})


# ------------------------------------------------------------------------------------------------ experiment
def experiment(out: Path, seeds: int = 5, rounds: int = 20, clients: int = 5) -> dict[str, Any]:
    """The report's experiment: in-process accuracy curves over partitions x methods x seeds, the drift-vs-mu
    sweep, and Flower runs (FedAvg, secure FedAvg, a killed client) checked against the reference."""
    ap = _parser()
    t0 = time.perf_counter()
    methods = {"fedavg": ["--strategy", "fedavg"], "fedprox": ["--strategy", "fedprox", "--mu", "0.1"],
               "signvote": ["--strategy", "signvote"], "secure_fedavg": ["--strategy", "fedavg", "--secure"]}
    base = ["--clients", str(clients), "--rounds", str(rounds), "--epochs", "2"]
    curves: dict[str, dict[str, Any]] = {}
    for part in PARTITIONS:
        curves[part] = {}
        for name, extra in methods.items():
            accs = []
            for s in progress(range(seeds), f"{part} {name}"):
                a = ap.parse_args([*base, *extra, "--partition", part, "--seed", str(s)])
                _check(ap, a)
                accs.append([r["accuracy"] for r in one(a, out.parent)["rounds"]])
            arr = np.asarray(accs)
            curves[part][name] = {"mean": arr.mean(0).tolist(), "std": arr.std(0).tolist(),
                                  "final_mean": float(arr[:, -1].mean())}
    mus = [0.0, 0.1, 0.3, 1.0, 3.0]
    drift: dict[str, Any] = {}
    for part in ("iid", "two_class"):
        rows = []
        for mu in mus:
            d, acc = [], []
            for s in range(seeds):
                strat = ["--strategy", "fedprox", "--mu", str(mu)] if mu > 0 else ["--strategy", "fedavg"]
                a = ap.parse_args(["--clients", str(clients), "--rounds", "10", "--epochs", "5", *strat,
                                   "--partition", part, "--seed", str(s)])
                _check(ap, a)
                res = one(a, out.parent)
                d.append(float(np.mean([r["drift"] for r in res["rounds"]])))
                acc.append(res["rounds"][-1]["accuracy"])
            rows.append({"mu": mu, "drift_mean": float(np.mean(d)), "drift_std": float(np.std(d)),
                         "final_accuracy": float(np.mean(acc))})
        drift[part] = rows
    flower: dict[str, Any] = {}
    for name, args in {"fedavg": ["--strategy", "fedavg"], "fedprox": ["--strategy", "fedprox", "--mu", "0.1"],
                       "signvote": ["--strategy", "signvote"], "secure_fedavg": ["--strategy", "fedavg", "--secure"],
                       "fedavg_drop": ["--strategy", "fedavg", "--drop-client", "1", "--drop-round", "2"]}.items():
        flower[name] = _flower_run(ap, name, args)
    o1 = experiment_o1(seeds=seeds)
    flower["o1_fedavg"] = o1.pop("flower_run")
    return {"benchmark": "federated spiking classification (LIF network, BPTT + SGD local training)",
            "settings": {"clients": clients, "rounds": rounds, "seeds": list(range(seeds)), "local_epochs": 2,
                         "lr": 0.03, "fedprox_mu": 0.1, "dirichlet_alpha": 0.3, "samples_per_client": 40,
                         "drift_sweep": {"rounds": 10, "local_epochs": 5, "mu": mus},
                         "flower": "3 SuperNodes on loopback, 3 rounds, two classes per client"},
            "accuracy_curves": curves, "drift_vs_mu": drift, "flower_runs": flower, **o1,
            "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info()}


def _flower_run(ap: _Parser, name: str, args: list[str]) -> dict[str, Any]:
    """One of the experiment's Flower runs: 3 SuperNodes, 3 rounds, two classes per client."""
    a = ap.parse_args(["--engine", "flower", "--clients", "3", "--rounds", "3", "--partition", "two_class", *args])
    _check(ap, a)
    return one(a, ROOT / "build" / "federated_benchmark" / f"experiment-{name}")


def experiment_o1(seeds: int = 5, rounds: int = 5, clients: int = 3) -> dict[str, Any]:
    """The experiment's O(1) parts: in process over ``seeds`` seeds (IID and two classes per client,
    ``clients`` clients, ``rounds`` rounds) and the Flower run (as the other Flower runs), all on
    :func:`~plasticore.refmodel.federated.o1_task_preset`. Returns ``o1_settings``, ``o1_curves`` (per
    partition the per-seed accuracies, index 0 the initial weights, their mean and the final minimum) and
    ``flower_run``."""
    ap = _parser()
    t0 = time.perf_counter()
    pre = fed.o1_task_preset()
    curves: dict[str, Any] = {}
    for part in ("iid", "two_class"):
        accs = []
        for s in progress(range(seeds), f"o1 {part}"):
            a = ap.parse_args(["--learner", "o1", "--clients", str(clients), "--rounds", str(rounds),
                               "--partition", part, "--seed", str(s)])
            _check(ap, a)
            res = one(a, ROOT / "build" / "federated_benchmark")
            accs.append([res["initial"]["accuracy"], *[r["accuracy"] for r in res["rounds"]]])
        arr = np.asarray(accs)
        curves[part] = {"per_seed": arr.tolist(), "mean": arr.mean(0).tolist(), "final_min": float(arr[:, -1].min())}
    o1_seconds = time.perf_counter() - t0
    flower_run = _flower_run(ap, "o1_fedavg", ["--strategy", "fedavg", "--learner", "o1"])
    settings = {"task": pre.task_kwargs(), "o1_config": dataclasses.asdict(pre.config),
                "lif_config": dataclasses.asdict(pre.lif_config), "reward": pre.reward, "clients": clients,
                "rounds": rounds, "seeds": list(range(seeds)), "samples_per_client": 40, "test_per_client": 20,
                "initial_weights": "o1_initial_weights(config, n_in, n_classes, seed): uniform 0..255",
                "inprocess_seconds": round(o1_seconds, 1)}
    return {"o1_settings": settings, "o1_curves": curves, "flower_run": flower_run}


def plot(rep: dict[str, Any], out: Path) -> None:
    """``federated_accuracy.png`` (per partition, accuracy per round per method) and ``federated_drift.png``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    curves = rep["accuracy_curves"]
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.6), sharey=True)
    for ax, (part, methods) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for name, c in methods.items():
            m, s = np.asarray(c["mean"]), np.asarray(c["std"])
            x = np.arange(1, len(m) + 1)
            ax.plot(x, m, label=name.replace("_", " "))
            ax.fill_between(x, m - s, m + s, alpha=0.15)
        ax.set_title(part.replace("_", " ") + (" (alpha 0.3)" if part == "dirichlet" else ""))
        ax.set_xlabel("round")
    np.atleast_1d(axes)[0].set_ylabel("global test accuracy")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    fig.savefig(out.parent / "federated_accuracy.png", dpi=120)
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    for part, rows in rep["drift_vs_mu"].items():
        mus = [max(r["mu"], 0.03) for r in rows]
        ax.errorbar(mus, [r["drift_mean"] for r in rows], [r["drift_std"] for r in rows], marker="o",
                    label=part.replace("_", " "), capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("FedProx mu (leftmost point: mu = 0, FedAvg)")
    ax.set_ylabel("client drift  mean_k ||w_k - w||")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out.parent / "federated_drift.png", dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Parse, check (exit 2 on bad arguments), run, write the JSON."""
    ap = _parser()
    a = ap.parse_args(argv)
    _check(ap, a)
    if a.experiment_o1:
        out = a.output or ROOT / "reports" / "federated.json"
        rep = json.loads(out.read_text())
        o1 = experiment_o1()
        rep["flower_runs"]["o1_fedavg"] = o1.pop("flower_run")
        rep.update(o1)
        out.write_text(json.dumps(_clean(rep), indent=1) + "\n")
        return 0
    if a.experiment:
        out = a.output or ROOT / "reports" / "federated.json"
        rep = _clean(experiment(out))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rep, indent=1) + "\n")
        plot(rep, out)
        return 0
    stamp = time.strftime("%Y%m%d-%H%M%S")
    res = one(a, ROOT / "build" / "federated_benchmark" / f"{a.engine}-{stamp}")
    res["machine"] = machine_info()
    text = json.dumps(res, indent=1) + "\n"
    if a.output is None:
        sys.stdout.write(text)
    else:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
