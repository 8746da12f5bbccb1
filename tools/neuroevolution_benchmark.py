"""Neuroevolution benchmark: the spiking cart-pole, pycma's sanity functions, and the Dask speed-up.

One run::

    python tools/neuroevolution_benchmark.py --algorithm ga --task cartpole --generations 30 --seed 0 \\
        --executor dask --workers 2 --output build/ne.json

evolves a policy (``cartpole``: :class:`plasticore.refmodel.cartpole.CartPoleFitness`, the 9-4-2 LIF policy,
3 episodes per evaluation, goal a generation whose best genome balances all its episodes for 500 steps) or
minimises a 10-D function (``sphere``, ``ellipsoid``, ``rosenbrock``; goal ``f <= 1e-8``) and writes the JSON
(``best_fitness_per_generation``, evaluations, wall time per generation, the machine). ``--executor`` is
``serial``, ``process`` (a ``ProcessPoolExecutor`` of ``--workers``) or ``dask`` (a ``LocalCluster`` of
``--workers`` processes on loopback, or ``--scheduler tcp://host:8786`` for a running cluster).

The report (``make bench``)::

    python tools/neuroevolution_benchmark.py --suite --output reports/neuroevolution.json

runs the GA and CMA-ES on cart-pole for seeds 0-4 (30 generations at most), CMA-ES on the three 10-D functions
for seeds 0-14 next to pycma's own ``cma.fmin2`` on ``cma.ff`` with the same ``x0``, ``sigma0`` and popsize
(evaluations to ``1e-8``), and times 2 Dask workers against serial evaluation on a costly fitness. The plot goes
next to the JSON as ``.png``. Everything except the wall times is a deterministic function of the arguments.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info

from plasticore.refmodel.cartpole import CartPoleFitness
from plasticore.refmodel.neuroevolution import (
    CMAESEvolver,
    FitnessExecutor,
    NegatedObjective,
    ProcessExecutor,
    SerialExecutor,
    SNNGeneticEvolver,
)

TASKS = ("cartpole", "sphere", "ellipsoid", "rosenbrock")
DIM = 10
FTARGET = 1e-8
CARTPOLE_GOAL = 500.0
GA_MUTATION = 0.3  # sigma of the GA's Gaussian mutation on cart-pole
CMA_SIGMA0_CARTPOLE = 0.5
SIGMA0 = 0.5  # pycma's sanity functions
SPEEDUP_WORK = 400  # NegatedObjective work units of the synthetic costly fitness (tens of ms per evaluation)


def x0_for(task: str) -> np.ndarray:
    """Start point of the 10-D functions: ones (sphere, ellipsoid), zeros (Rosenbrock, as in pycma's docs)."""
    return np.zeros(DIM) if task == "rosenbrock" else np.ones(DIM)


@contextmanager
def make_executor(kind: str, workers: int, scheduler: str | None = None) -> Iterator[FitnessExecutor]:
    """The executor named ``kind``, closed (pool shut down, cluster stopped) on leaving the block."""
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "process":
        with ProcessExecutor(workers) as ex:
            yield ex
    else:
        from plasticore.engines.dask_executor import DaskExecutor, local_cluster

        if scheduler:
            with DaskExecutor(scheduler) as ex:
                yield ex
        else:
            with local_cluster(workers) as client, DaskExecutor(client) as ex:
                yield ex


def build(algorithm: str, task: str, seed: int, executor: FitnessExecutor, population: int | None,
          sigma0: float | None, mutation_rate: float | None, work: int = 0) -> Any:
    """The evolver for one run (GA or CMA-ES on cart-pole or a 10-D function)."""
    if task == "cartpole":
        fit = CartPoleFitness(4, n_episodes=3)
        if algorithm == "ga":
            return SNNGeneticEvolver(fit.network, fit, population_size=population or 20,
                                     mutation_rate=GA_MUTATION if mutation_rate is None else mutation_rate,
                                     seed=seed, executor=executor)
        return CMAESEvolver(fit.network, fit, sigma0=sigma0 or CMA_SIGMA0_CARTPOLE, population_size=population or 20,
                            seed=seed, executor=executor)
    obj = NegatedObjective(task, work=work)
    if algorithm == "ga":
        return SNNGeneticEvolver(lambda rng: x0_for(task) + SIGMA0 * rng.standard_normal(DIM), obj,
                                 population_size=population or 20,
                                 mutation_rate=0.05 if mutation_rate is None else mutation_rate,
                                 seed=seed, executor=executor)
    return CMAESEvolver(x0_for(task), obj, sigma0=sigma0 or SIGMA0, population_size=population, seed=seed,
                        executor=executor)


def run_one(algorithm: str, task: str, generations: int, seed: int, executor: FitnessExecutor,
            population: int | None = None, sigma0: float | None = None, mutation_rate: float | None = None,
            work: int = 0, stop_at_goal: bool = True) -> dict[str, Any]:
    """Evolve for at most ``generations`` generations (stopping at the goal); the per-generation record."""
    ev = build(algorithm, task, seed, executor, population, sigma0, mutation_rate, work)
    goal = CARTPOLE_GOAL if task == "cartpole" else -FTARGET
    walls: list[float] = []
    evals: list[int] = []
    reached = None
    for _ in range(generations):
        t0 = time.perf_counter()
        st = ev.step()
        walls.append(time.perf_counter() - t0)
        evals.append(st.evaluations)
        if reached is None and st.best_fitness >= goal:
            reached = st.generation
            if stop_at_goal:
                break
        if algorithm == "cma" and ev.stop():
            break
    out: dict[str, Any] = {
        "algorithm": algorithm, "task": task, "seed": seed, "population_size": ev.population_size,
        "genome_size": ev.layout.size, "generations_run": ev.generation,
        "best_fitness_per_generation": ev.best_fitness_per_generation,
        "mean_fitness_per_generation": ev.mean_fitness_per_generation,
        "evaluations_per_generation": evals, "evaluations": ev.evaluations,
        "wall_seconds_per_generation": [round(w, 4) for w in walls],
        "goal": goal, "generation_reached_goal": reached,
        "evaluations_to_goal": None if reached is None else evals[reached - 1],
    }
    if task == "cartpole":
        fit = CartPoleFitness(4, n_episodes=100)
        out["best_genome_returns_on_100_new_episodes"] = fit.returns(ev.best_genome, 10_000 + seed).tolist()
    else:
        out["best_objective_per_generation"] = [-f for f in ev.best_fitness_per_generation]
        out["sigma0"] = ev.sigma0 if algorithm == "cma" else None
    return out


def pycma_reference(task: str, seed: int, popsize: int) -> dict[str, Any]:
    """pycma's own ``cma.fmin2`` on ``cma.ff`` with the same x0, sigma0, popsize and ``ftarget=1e-8``."""
    cma = importlib.import_module("cma")  # untyped

    fn = {"sphere": cma.ff.sphere, "ellipsoid": cma.ff.elli, "rosenbrock": cma.ff.rosen}[task]
    _, es = cma.fmin2(fn, list(x0_for(task)), SIGMA0, {"ftarget": FTARGET, "popsize": popsize, "seed": seed + 1,
                                                        "verbose": -9, "verb_log": 0, "verb_disp": 0})
    reached = es.result.fbest <= FTARGET
    return {"seed": seed + 1, "evaluations": int(es.result.evaluations), "fbest": float(es.result.fbest),
            "reached_goal": bool(reached), "stop": {k: str(v) for k, v in es.stop().items()}}


def _median(xs: list[int | None]) -> float | None:
    ok = [x for x in xs if x is not None]
    return float(np.median(ok)) if ok else None


def _timed_evaluations(fit: CartPoleFitness, population: np.ndarray, rounds: int,
                       ex: FitnessExecutor) -> dict[str, Any]:
    walls, values = [], []
    for r in range(rounds):
        seeds = np.arange(r * len(population), (r + 1) * len(population), dtype=np.int64)
        t0 = time.perf_counter()
        values.append(ex.evaluate(fit, population, seeds).tolist())
        walls.append(round(time.perf_counter() - t0, 4))
    return {"best_fitness_per_generation": values, "wall_seconds_per_generation": walls}


def _cartpole_costly(generations: int, ex: FitnessExecutor) -> dict[str, Any]:
    fit = CartPoleFitness(4, n_episodes=10)
    ev = SNNGeneticEvolver(fit.network, fit, population_size=20, mutation_rate=GA_MUTATION, seed=0, executor=ex)
    walls = []
    for _ in range(generations):
        t0 = time.perf_counter()
        ev.step()
        walls.append(round(time.perf_counter() - t0, 4))
    return {"best_fitness_per_generation": ev.best_fitness_per_generation, "wall_seconds_per_generation": walls}


def _cpu_job(work: int) -> float:
    """``work`` units of :class:`NegatedObjective`'s CPU work; returns its wall time."""
    t0 = time.perf_counter()
    NegatedObjective("sphere", work=work)(np.zeros(1), 0)
    return time.perf_counter() - t0


def parallel_capacity(workers: int, work: int = 5_000) -> float:
    """How many cores' worth of CPU the machine gives ``workers`` processes right now: ``workers`` equal CPU jobs
    run at once in a process pool against one of them alone, ``workers * t_one / t_all`` (``workers`` on an idle
    machine, about 1 when other work keeps the cores busy). No executor can beat it."""
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_cpu_job, [10] * workers))  # start the processes
        t0 = time.perf_counter()
        pool.submit(_cpu_job, work).result()
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_cpu_job, [work] * workers))
        t_all = time.perf_counter() - t0
    return round(workers * t_one / t_all, 3)


def speedup(workers: int, repeats: int) -> dict[str, Any]:
    """Wall time of the same work on serial and on a Dask LocalCluster of ``workers`` processes, on costly
    fitnesses: (1) 5 evaluations of a trained cart-pole population (the last population of the GA run with
    seed 1: 20 genomes that mostly balance, 10 episodes of up to 500 steps each per evaluation); (2) CMA-ES on
    the sphere with ``SPEEDUP_WORK`` units of CPU-bound work per evaluation (tens of ms; 10 generations,
    popsize 20); (3) a whole cart-pole GA run
    with 10 episodes per evaluation (40 generations; the early ones are cheap). Serial and Dask alternate
    ``repeats`` times and the fastest of each is kept (the machine is shared); the results must be identical.
    The workers are warmed up (modules imported) before the clock starts; the load average and the
    :func:`parallel_capacity` (the speed-up the shared machine allows at all) are recorded before and after."""
    from plasticore.engines.dask_executor import DaskExecutor, local_cluster

    with SerialExecutor() as ex:
        trained = build("ga", "cartpole", 1, ex, None, None, None)
        trained.run(30, target=CARTPOLE_GOAL)
    population = trained.population
    fit10 = CartPoleFitness(4, n_episodes=10)
    cases = {
        "cartpole_trained_population_5_evaluations": lambda ex: _timed_evaluations(fit10, population, 5, ex),
        "sphere_plus_work_cmaes_10_generations": lambda ex: run_one("cma", "sphere", 10, 0, ex, population=20,
                                                                    work=SPEEDUP_WORK, stop_at_goal=False),
        "cartpole_ga_run_10_episodes_40_generations": lambda ex: _cartpole_costly(40, ex),
    }
    out: dict[str, Any] = {"workers": workers, "repeats": repeats, "load_average_1min_before": os.getloadavg()[0],
                           "parallel_capacity_before": parallel_capacity(workers)}
    with local_cluster(workers) as client, DaskExecutor(client) as dask_ex:
        fit = CartPoleFitness(4)
        dask_ex.evaluate(fit, np.zeros((workers, fit.size)), np.zeros(workers, dtype=np.int64))
        for name, fn in cases.items():
            t_s, t_d, same = math.inf, math.inf, True
            ref = None
            for _ in range(repeats):
                serial, dask = fn(SerialExecutor()), fn(dask_ex)
                ref = ref or serial
                same = same and serial["best_fitness_per_generation"] == dask["best_fitness_per_generation"] == \
                    ref["best_fitness_per_generation"]
                t_s = min(t_s, sum(serial["wall_seconds_per_generation"]))
                t_d = min(t_d, sum(dask["wall_seconds_per_generation"]))
            out[name] = {"serial_seconds": round(t_s, 3), "dask_seconds": round(t_d, 3),
                         "speedup": round(t_s / t_d, 3), "identical_results": same}
            print(f"  {name}: serial {t_s:.2f} s, dask {t_d:.2f} s, speed-up {t_s / t_d:.2f}x", flush=True)
    out["load_average_1min_after"] = os.getloadavg()[0]
    out["parallel_capacity_after"] = parallel_capacity(workers)
    print(f"  parallel capacity of {workers} processes: {out['parallel_capacity_before']} before, "
          f"{out['parallel_capacity_after']} after", flush=True)
    return out


def suite(args: argparse.Namespace) -> dict[str, Any]:
    """The whole report (module docstring)."""
    seeds = list(range(5))
    sanity_seeds = list(range(15))
    report: dict[str, Any] = {"benchmark": "neuroevolution (issue #10)", "cartpole": {}, "sanity": {}}
    with SerialExecutor() as ex:
        for alg in ("ga", "cma"):
            runs = [run_one(alg, "cartpole", 30, s, ex) for s in seeds]
            gens = [r["generation_reached_goal"] for r in runs]
            report["cartpole"][alg] = {
                "generations_to_goal_per_seed": gens,
                "seeds_reaching_goal": sum(g is not None for g in gens),
                "runs": runs,
            }
            print(f"cartpole {alg}: generations to 500 steps per seed {gens}", flush=True)
        for task in ("sphere", "ellipsoid", "rosenbrock"):
            ours = [run_one("cma", task, 3000, s, ex) for s in sanity_seeds]
            popsize = ours[0]["population_size"]
            ref = [pycma_reference(task, s, popsize) for s in sanity_seeds]
            e_ours = [r["evaluations_to_goal"] for r in ours]
            e_ref = [r["evaluations"] if r["reached_goal"] else None for r in ref]
            curve0 = ours[0]["best_objective_per_generation"]
            ours = [{"seed": r["seed"], "generations_run": r["generations_run"], "evaluations": r["evaluations"],
                     "evaluations_to_goal": r["evaluations_to_goal"],
                     "best_objective": min(r["best_objective_per_generation"])} for r in ours]
            report["sanity"][task] = {
                "dimension": DIM, "x0": x0_for(task).tolist(), "sigma0": SIGMA0, "popsize": popsize,
                "ftarget": FTARGET, "plasticore_cmaes_evaluations_per_seed": e_ours,
                "pycma_fmin2_evaluations_per_seed": e_ref,
                "plasticore_median": _median(e_ours), "pycma_median": _median(e_ref),
                "note": "same algorithm (pycma's CMAEvolutionStrategy) with its randn drawn from the evolver's "
                        "Generator instead of NumPy's global RNG; cma.fmin2 also evaluates x0 once, so its counts "
                        "are 1 + popsize per iteration; pycma seeds are seed + 1 (its seed 0 means 'from the clock')",
                "plasticore_runs": ours, "pycma_runs": ref, "plasticore_seed0_best_objective_per_generation": curve0,
            }
            print(f"{task}: evaluations to 1e-8 ours {e_ours} pycma {e_ref}", flush=True)
    report["dask_speedup"] = speedup(args.workers, args.repeats)
    report["dask_speedup"]["target"] = 1.6
    print("dask speed-up:", {k: v["speedup"] for k, v in report["dask_speedup"].items() if isinstance(v, dict)},
          flush=True)
    report["machine"] = machine_info()
    return report


def plot(report: dict[str, Any], path: Path) -> None:
    """Three panels: cart-pole curves, evaluations to 1e-8 against pycma, and the Dask timing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the plot extra
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    for alg, ls in (("ga", "-"), ("cma", "--")):
        for r in report["cartpole"][alg]["runs"]:
            ax.plot(range(1, len(r["best_fitness_per_generation"]) + 1), r["best_fitness_per_generation"], ls,
                    label=f"{alg} seed {r['seed']}")
    ax.axhline(CARTPOLE_GOAL, color="gray", ls=":")
    ax.set_xlabel("generation")
    ax.set_ylabel("best mean return (3 episodes)")
    ax.set_title("Spiking cart-pole")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[1]
    tasks = list(report["sanity"])
    xs = np.arange(len(tasks))
    ax.bar(xs - 0.2, [report["sanity"][t]["plasticore_median"] or 0 for t in tasks], 0.4, label="CMAESEvolver")
    ax.bar(xs + 0.2, [report["sanity"][t]["pycma_median"] or 0 for t in tasks], 0.4, label="cma.fmin2")
    ax.set_xticks(xs, tasks)
    ax.set_ylabel("median evaluations to 1e-8 (10-D)")
    ax.set_title("Sanity benchmark vs pycma")
    ax.legend()
    ax = axes[2]
    sp = report["dask_speedup"]
    names = [k for k, v in sp.items() if isinstance(v, dict)]
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, [sp[n]["serial_seconds"] for n in names], 0.4, label="serial")
    ax.bar(xs + 0.2, [sp[n]["dask_seconds"] for n in names], 0.4, label=f"Dask, {sp['workers']} workers")
    short = {"cartpole_trained_population_5_evaluations": "cart-pole,\ntrained pop.",
             "sphere_plus_work_cmaes_10_generations": "sphere +\nCPU work",
             "cartpole_ga_run_10_episodes_40_generations": "cart-pole,\nGA run"}
    ax.set_xticks(xs, [f"{short.get(n, n)}\n{sp[n]['speedup']:.2f}x" for n in names], fontsize=8)
    ax.set_ylabel("seconds for the run")
    ax.set_title("Dask speed-up")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Arguments; bad values exit with status 2 and a one-line message (argparse's ``error``)."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--algorithm", choices=("cma", "ga"), default="ga")
    ap.add_argument("--task", choices=TASKS, default="cartpole")
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--executor", choices=("serial", "process", "dask"), default="serial")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (with --executor dask)")
    ap.add_argument("--population", type=int, default=None)
    ap.add_argument("--sigma0", type=float, default=None)
    ap.add_argument("--mutation-rate", type=float, default=None)
    ap.add_argument("--work", type=int, default=0, help="units of extra CPU work per evaluation (10-D tasks)")
    ap.add_argument("--suite", action="store_true", help="run the whole report instead of one run")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats of the suite's speed-up measurement")
    ap.add_argument("--output", type=Path, default=Path("build/neuroevolution.json"))
    args = ap.parse_args(argv)
    for name, lo in (("generations", 1), ("workers", 1), ("seed", 0), ("repeats", 1)):
        if getattr(args, name) < lo:
            ap.error(f"--{name} must be an int >= {lo}, not {getattr(args, name)}")
    if args.population is not None and args.population < 2:
        ap.error(f"--population must be an int >= 2, not {args.population}")
    for name in ("sigma0", "mutation_rate"):
        v = getattr(args, name)
        if v is not None and not (np.isfinite(v) and v > 0):
            ap.error(f"--{name.replace('_', '-')} must be a finite number > 0, not {v}")
    if args.work < 0:
        ap.error(f"--work must be an int >= 0, not {args.work}")
    if args.scheduler and args.executor != "dask":
        ap.error("--scheduler needs --executor dask")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run one configuration or the suite and write the JSON (and the suite's plot)."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    if args.suite:
        report = suite(args)
    else:
        with make_executor(args.executor, args.workers, args.scheduler) as ex:
            report = run_one(args.algorithm, args.task, args.generations, args.seed, ex, args.population,
                             args.sigma0, args.mutation_rate, args.work)
        report["executor"] = args.executor
        report["workers"] = 1 if args.executor == "serial" else args.workers
        report["machine"] = machine_info()
        print(f"{args.algorithm} on {args.task}: {report['generations_run']} generations, "
              f"{report['evaluations']} evaluations, goal reached in generation {report['generation_reached_goal']}")
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    if args.suite:
        plot(report, args.output.with_suffix(".png"))


if __name__ == "__main__":
    main()
