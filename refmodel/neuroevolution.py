"""Neuroevolution of spiking networks: a genetic algorithm, CMA-ES (pycma) and OpenAI-ES, on pluggable executors.

A *genome* is the flat float64 vector of a network's weights (:func:`flatten_weights`, :func:`unflatten_weights`,
:func:`load_genome`). A *fitness* is a picklable callable ``fitness(genome, seed) -> float`` that is
**maximised**; ``seed`` is a per-genome int the evolver draws from its own generator, so that a stochastic task
(random start states) is still a deterministic function of its arguments. All randomness of a run comes from
the evolver's seeded ``numpy.random.Generator``; a run is therefore identical on every executor
(:class:`SerialExecutor`, :class:`ProcessExecutor` over ``concurrent.futures``, and
:class:`plasticore.engines.dask_executor.DaskExecutor` over a Dask ``distributed.Client``). An executor sends one
interleaved *slice* of the population per task (:func:`split_population`), not one task per genome.

Every generation is evaluated, the last one included: :meth:`step` breeds a new population from the last
evaluated one (except in generation 1, the initial population) and then evaluates it.

**Genetic algorithm** (Holland 1975, *Adaptation in natural and artificial systems*; the real-coded GA with
elitism, tournament selection and Gaussian mutation of e.g. Such et al. 2017, *Deep neuroevolution*,
arXiv:1712.06567). With population ``P`` of ``n`` genomes and fitnesses ``f``, ``n_e`` elites
(``floor(elite_fraction n)``, at least one when ``elite_fraction > 0``) and ``m = n - n_e`` children:

.. math::

    P' = \\{P_{(1)}, \\dots, P_{(n_e)}\\} \\cup \\{c_1, \\dots, c_m\\}, \\qquad
    c_j = \\mathrm{xover}(P_{a_j}, P_{b_j}) + \\sigma \\, (u_j \\odot \\xi_j), \\quad \\xi_j \\sim N(0, I)

where ``P_(i)`` is the ``i``-th best genome (copied unchanged), ``a_j, b_j`` are tournament winners (the
fittest of ``tournament_size`` genomes drawn uniformly with replacement; ties go to the earlier draw),
``xover`` is uniform crossover (each gene from ``P_b`` with probability 1/2) applied with probability
``crossover_rate`` (else ``P_a`` is copied), ``u_j`` is a 0/1 mask with ``P(u = 1) = mutation_prob`` and
``sigma = mutation_rate`` is the standard deviation of the Gaussian mutation (the seed package's meaning of
``mutation_rate``). The random draws of one breeding step, in this order:
``rng.integers(0, n, (m, 2, k))`` (tournaments), ``rng.random(m)`` (crossover or not),
``rng.random((m, d))`` (crossover mask, ``< 0.5`` takes ``P_b``), ``rng.random((m, d))`` (mutation mask,
``< mutation_prob``), ``rng.standard_normal((m, d))`` (``xi``); then ``rng.integers(0, 2**31, n)`` gives
the evaluation seeds.

**CMA-ES** (Hansen & Ostermeier 2001, *Completely derandomized self-adaptation in evolution strategies*, Evol.
Comput. 9:159; Hansen 2016, *The CMA evolution strategy: a tutorial*, arXiv:1604.00772): candidates
``x_k = m + sigma B D z_k``, ``z_k ~ N(0, I)``, ``k = 1..lambda``; the mean moves to the weighted mean of the
``mu`` best, ``m <- sum_i w_i x_{i:lambda}``, the covariance ``C = B D^2 B^T`` follows the rank-one and rank-mu
updates and ``sigma`` the cumulative step-size adaptation. :class:`CMAESEvolver` runs pycma's
``CMAEvolutionStrategy`` ask/tell loop (the algorithm is not re-implemented here) with pycma's ``randn``
option bound to the evolver's generator, so pycma never touches NumPy's global RNG.

**OpenAI-ES** (Salimans, Ho, Chen, Sidor & Sutskever 2017, *Evolution strategies as a scalable alternative to
reinforcement learning*, arXiv:1703.03864): antithetic samples ``theta +- sigma eps_i``, fitnesses turned into
centred ranks ``r in [-0.5, 0.5]``, and the search-gradient estimate

.. math::

    g = \\frac{1}{n \\sigma} \\sum_{i=1}^{n/2} (r_i^+ - r_i^-) \\, \\epsilon_i

applied by the package's :class:`~plasticore.refmodel.optimizers.Adam` as ascent (``theta <- Adam(-g)``) with
an optional L2 weight decay ``-lambda theta`` added to ``g``.
"""

from __future__ import annotations

import concurrent.futures
import copy
import importlib
import math
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array, load_float, load_int
from ._validate import check_array, check_count, check_real, check_rng
from .errors import MissingDependencyError
from .lif import LIFNetwork
from .optimizers import Adam

Array = npt.NDArray[np.float64]

__all__ = [
    "CMAESEvolver",
    "Fitness",
    "FitnessExecutor",
    "GenerationStats",
    "GenomeLayout",
    "NegatedObjective",
    "OpenAIESEvolver",
    "ProcessExecutor",
    "SNNGeneticEvolver",
    "SerialExecutor",
    "as_executor",
    "centered_ranks",
    "ellipsoid",
    "evaluate_slice",
    "flatten_weights",
    "load_genome",
    "rosenbrock",
    "sphere",
    "split_population",
    "unflatten_weights",
]

SEED_BOUND = 2**31
"""Evaluation seeds are drawn from ``[0, SEED_BOUND)``."""


class Fitness(Protocol):
    """``fitness(genome, seed) -> float``, maximised; deterministic in its arguments and picklable."""

    def __call__(self, genome: Array, seed: int, /) -> float: ...


# ----------------------------------------------------------------------------------------------- genomes


class GenomeLayout(NamedTuple):
    """Where each weight matrix sits in a genome: the keys in order and their shapes."""

    keys: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def size(self) -> int:
        """Number of genes, ``sum(prod(shape))``."""
        return sum(math.prod(s) for s in self.shapes)


def _weights_of(source: object, name: str) -> Mapping[str, Any]:
    if isinstance(source, LIFNetwork):
        shapes = source.weight_shapes()
        return {k: source.weights[k] for k in shapes}
    if isinstance(source, Mapping):
        if not source:
            raise ValueError(f"{name} must be a non-empty dict of weight arrays, not an empty dict")
        return source
    raise TypeError(f"{name} must be a LIFNetwork or a dict of weight arrays, not {type(source).__name__}")


def flatten_weights(weights: LIFNetwork | Mapping[str, npt.ArrayLike]) -> tuple[Array, GenomeLayout]:
    """The genome of a network (its weights dict, in :meth:`LIFNetwork.weight_shapes` order: ``w_in``,
    ``w_rec``, ``w_out``) or of a plain dict of arrays (in the dict's order): every array raveled row-major and
    concatenated, as a new float64 vector, and the :class:`GenomeLayout` that :func:`unflatten_weights` needs."""
    w = _weights_of(weights, "weights")
    arrays = {str(k): check_array(f"weights[{k!r}]", v) for k, v in w.items()}
    layout = GenomeLayout(tuple(arrays), tuple(a.shape for a in arrays.values()))
    genome = np.concatenate([a.ravel() for a in arrays.values()]) if layout.size else np.zeros(0)
    return np.array(genome, dtype=np.float64), layout


def unflatten_weights(genome: npt.ArrayLike, layout: GenomeLayout) -> dict[str, Array]:
    """The weights dict of ``genome`` (new arrays): the inverse of :func:`flatten_weights`."""
    if not isinstance(layout, GenomeLayout):
        raise TypeError(f"layout must be a GenomeLayout (from flatten_weights), not {type(layout).__name__}")
    g = check_array("genome", genome, (layout.size,))
    out: dict[str, Array] = {}
    start = 0
    for k, shape in zip(layout.keys, layout.shapes, strict=True):
        n = math.prod(shape)
        out[k] = g[start:start + n].reshape(shape).copy()
        start += n
    return out


def load_genome(network: LIFNetwork, genome: npt.ArrayLike) -> None:
    """Write ``genome`` into ``network``'s weights in place (through :meth:`LIFNetwork.load_state_dict`)."""
    if not isinstance(network, LIFNetwork):
        raise TypeError(f"network must be a LIFNetwork, not {type(network).__name__}")
    _, layout = flatten_weights(network)
    network.load_state_dict(unflatten_weights(genome, layout))


# --------------------------------------------------------------------------------------------- executors


def split_population(n: int, n_slices: int) -> list[slice]:
    """``n`` genomes dealt into ``k = min(n, n_slices)`` interleaved slices ``slice(i, n, k)`` (rows ``i, i + k,
    i + 2k, ...``), whose sizes differ by at most one. Interleaving spreads the elites, which the GA keeps at
    the front of its population and which are often the costly genomes (long episodes), over the workers."""
    n = check_count("n", n, 0)
    k = max(1, min(n, check_count("n_slices", n_slices, 1)))
    return [slice(i, n, k) for i in range(k)]


def evaluate_slice(fitness: Fitness, genomes: Array, seeds: npt.NDArray[np.int64]) -> Array:
    """``[fitness(genomes[i], seeds[i]) for i]`` as a float64 vector: the unit of work sent to a worker.

    A fitness value that is not a finite real number is a ``ValueError`` naming the genome's row in the slice.
    """
    out = np.empty(len(genomes))
    for i in range(len(genomes)):
        v = fitness(genomes[i], int(seeds[i]))
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"fitness must return a real number, not {type(v).__name__} {v!r}")
        if not math.isfinite(float(v)):
            raise ValueError(f"fitness must return a finite number, not {v!r} (genome {i} of the slice)")
        out[i] = float(v)
    return out


class FitnessExecutor(ABC):
    """Evaluates a population: :meth:`evaluate` cuts it into :attr:`n_slices` slices
    (:func:`split_population`) and runs :func:`evaluate_slice` on each through :meth:`map_slices`.

    Subclasses implement :meth:`map_slices` only; :meth:`close` releases what the executor owns (also on
    leaving a ``with`` block).
    """

    n_slices: int = 1

    @abstractmethod
    def map_slices(self, fitness: Fitness, parts: Sequence[tuple[Array, npt.NDArray[np.int64]]]) -> list[Array]:
        """``[evaluate_slice(fitness, genomes, seeds) for genomes, seeds in parts]``, in order."""

    def evaluate(self, fitness: Fitness, genomes: Array, seeds: npt.NDArray[np.int64]) -> Array:
        """Fitness of every row of ``genomes`` ``(n, d)`` with ``seeds`` ``(n,)``, as a float64 vector."""
        slices = split_population(len(genomes), self.n_slices) if len(genomes) else []
        parts = [(np.ascontiguousarray(genomes[s]), np.ascontiguousarray(seeds[s])) for s in slices]
        results = self.map_slices(fitness, parts) if parts else []
        out = np.empty(len(genomes))
        for s, (g, _), r in zip(slices, parts, results, strict=True):
            if np.shape(r) != (len(g),):
                raise RuntimeError(f"{type(self).__name__} returned {np.shape(r)} fitness values for a slice of "
                                   f"{len(g)} genomes")
            out[s] = r
        return out

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op unless the executor owns a pool or client
        """Release owned resources (nothing for this class)."""

    def __enter__(self) -> FitnessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(FitnessExecutor):
    """Everything in this process, one slice: the reference the parallel executors must match exactly."""

    n_slices = 1

    def map_slices(self, fitness: Fitness, parts: Sequence[tuple[Array, npt.NDArray[np.int64]]]) -> list[Array]:
        """Evaluate the slices one after the other."""
        return [evaluate_slice(fitness, g, s) for g, s in parts]


class ProcessExecutor(FitnessExecutor):
    """Slices on a ``concurrent.futures`` executor, one task per slice.

    ``workers`` (int >= 1): start an owned ``ProcessPoolExecutor(workers, mp_context=mp_context)``, shut down by
    :meth:`close`; or pass an existing ``concurrent.futures.Executor`` as ``pool`` (not shut down by us; any
    ``Executor`` works, e.g. a Dask ``client.get_executor()``). ``n_slices`` defaults to ``workers`` (or the
    pool's ``_max_workers``, else 1). The fitness must be picklable for a process pool.
    """

    def __init__(self, workers: int = 2, *, pool: concurrent.futures.Executor | None = None,
                 n_slices: int | None = None, mp_context: Any = None) -> None:
        if pool is not None and not isinstance(pool, concurrent.futures.Executor):
            raise TypeError(f"pool must be a concurrent.futures.Executor, not {type(pool).__name__}")
        self.workers = check_count("workers", workers, 1)
        self._owned = pool is None
        self.pool: concurrent.futures.Executor = (
            concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=mp_context) if pool is None else pool)
        default = self.workers if pool is None else int(getattr(pool, "_max_workers", 1) or 1)
        self.n_slices = default if n_slices is None else check_count("n_slices", n_slices, 1)

    def map_slices(self, fitness: Fitness, parts: Sequence[tuple[Array, npt.NDArray[np.int64]]]) -> list[Array]:
        """Submit one task per slice and collect the results in order."""
        futures = [self.pool.submit(evaluate_slice, fitness, g, s) for g, s in parts]
        return [np.asarray(f.result(), dtype=np.float64) for f in futures]

    def close(self) -> None:
        """Shut the pool down if this executor started it."""
        if self._owned:
            self.pool.shutdown(wait=True, cancel_futures=True)


def as_executor(executor: object) -> FitnessExecutor:
    """``None`` -> :class:`SerialExecutor`; a :class:`FitnessExecutor` as is; a ``concurrent.futures.Executor``
    -> :class:`ProcessExecutor` on it. A Dask client goes through
    :class:`plasticore.engines.dask_executor.DaskExecutor`."""
    if executor is None:
        return SerialExecutor()
    if isinstance(executor, FitnessExecutor):
        return executor
    if isinstance(executor, concurrent.futures.Executor):
        return ProcessExecutor(pool=executor)
    hint = (" (wrap a Dask client in plasticore.engines.dask_executor.DaskExecutor(client))"
            if type(executor).__module__.startswith("distributed") else "")
    raise TypeError(f"executor must be None, a FitnessExecutor or a concurrent.futures.Executor, "
                    f"not {type(executor).__name__}{hint}")


# --------------------------------------------------------------------------------------- benchmark functions


def sphere(x: npt.ArrayLike) -> float:
    """``f(x) = sum x_i^2`` (minimum 0 at 0; pycma's ``cma.ff.sphere``)."""
    a = np.asarray(x, dtype=np.float64)
    return float(np.sum(a * a))


def ellipsoid(x: npt.ArrayLike) -> float:
    """``f(x) = sum_i 10^(6 i/(n-1)) x_i^2`` (condition number 1e6; pycma's ``cma.ff.elli``)."""
    a = np.asarray(x, dtype=np.float64)
    n = a.size
    w = 1e6 ** (np.arange(n) / (n - 1)) if n > 1 else np.ones(n)
    return float(np.sum(w * a * a))


def rosenbrock(x: npt.ArrayLike) -> float:
    """``f(x) = sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`` (minimum 0 at 1; pycma's ``cma.ff.rosen``)."""
    a = np.asarray(x, dtype=np.float64)
    return float(np.sum(100.0 * (a[1:] - a[:-1] ** 2) ** 2 + (1.0 - a[:-1]) ** 2))


_OBJECTIVES: dict[str, Callable[[npt.ArrayLike], float]] = {
    "sphere": sphere, "ellipsoid": ellipsoid, "rosenbrock": rosenbrock}


class NegatedObjective:
    """The fitness ``-f(genome)`` of a named benchmark function (``sphere``, ``ellipsoid``, ``rosenbrock``),
    ignoring the seed; picklable. ``work`` (int >= 0) repetitions of a fixed CPU-bound computation per call
    (the sum of ``sin`` over 4096 numbers, about 50 us each on a 2020s core) make it a costly fitness for timing
    executors; the value is unchanged. The work is computation, not a wait, so it does not parallelise
    beyond the cores that are really free."""

    def __init__(self, name: str, *, work: int = 0) -> None:
        if name not in _OBJECTIVES:
            raise ValueError(f"name must be one of {sorted(_OBJECTIVES)}, not {name!r}")
        self.name = name
        self.work = check_count("work", work, 0)

    def __call__(self, genome: Array, seed: int) -> float:
        """``-f(genome)`` (after the extra work)."""
        if self.work:
            x = np.linspace(0.0, 1.0, 4096)
            acc = 0.0
            for _ in range(self.work):
                acc += float(np.sum(np.sin(x + acc * 1e-300)))
        return -_OBJECTIVES[self.name](genome)


# ------------------------------------------------------------------------------------------------ evolvers


class GenerationStats(NamedTuple):
    """One evaluated generation: its number (1 = the initial population), the best and mean fitness in it,
    the best fitness so far and the number of fitness evaluations so far."""

    generation: int
    best_fitness: float
    mean_fitness: float
    best_so_far: float
    evaluations: int


def _check_fitness(fitness: object) -> Fitness:
    if not callable(fitness):
        raise TypeError(f"fitness must be a callable (genome, seed) -> float, not {type(fitness).__name__}")
    return fitness


def _genome_from(source: object, name: str) -> tuple[Array, GenomeLayout]:
    if isinstance(source, (LIFNetwork, Mapping)):
        return flatten_weights(source)
    a = np.asarray(source)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must give a LIFNetwork, a dict of weight arrays or a non-empty 1-D genome, "
                         f"not an array of shape {a.shape}" if a.dtype.kind in "biuf" else
                         f"{name} must give a LIFNetwork, a dict of weight arrays or a 1-D genome, "
                         f"not {type(source).__name__}")
    g = check_array(name, a, (None,))
    return np.array(g, dtype=np.float64), GenomeLayout(("genome",), ((g.size,),))


def _load_rng_state(owner: str, rng: np.random.Generator, state: object) -> None:
    if not isinstance(state, Mapping) or "bit_generator" not in state:
        raise TypeError(f"{owner} state_dict['rng'] must be a bit_generator.state dict, not {type(state).__name__}")
    want = type(rng.bit_generator).__name__
    if state["bit_generator"] != want:
        raise ValueError(f"{owner} state_dict['rng'] is for {state['bit_generator']!r}, not {want!r}")
    rng.bit_generator.state = copy.deepcopy(dict(state))


class _EvolverBase:
    """Shared bookkeeping: the generator, executor, best-so-far and history."""

    fitness: Fitness
    executor: FitnessExecutor
    rng: np.random.Generator
    layout: GenomeLayout
    population: Array
    population_fitness: Array

    def _init_common(self, fitness: object, seed: int | np.random.Generator, executor: object) -> None:
        self.fitness = _check_fitness(fitness)
        self.rng = check_rng("seed", seed)
        self.executor = as_executor(executor)
        self.generation = 0
        self.evaluations = 0
        self.best_genome: Array | None = None
        self.best_fitness = -math.inf
        self.best_fitness_per_generation: list[float] = []
        self.mean_fitness_per_generation: list[float] = []

    def _evaluate(self, population: Array) -> GenerationStats:
        seeds = self.rng.integers(0, SEED_BOUND, size=len(population), dtype=np.int64)
        f = self.executor.evaluate(self.fitness, population, seeds)
        self.population, self.population_fitness = population, f
        self.generation += 1
        self.evaluations += len(population)
        i = int(np.argmax(f))
        if f[i] > self.best_fitness:
            self.best_fitness, self.best_genome = float(f[i]), population[i].copy()
        self.best_fitness_per_generation.append(float(f[i]))
        self.mean_fitness_per_generation.append(float(np.mean(f)))
        return GenerationStats(self.generation, float(f[i]), float(np.mean(f)), self.best_fitness, self.evaluations)

    def step(self) -> GenerationStats:
        """Breed (after the first generation) and evaluate one generation."""
        raise NotImplementedError

    def _should_stop(self) -> bool:
        return False

    def run(self, generations: int, *, target: float | None = None,
            callback: Callable[[GenerationStats], object] | None = None) -> list[GenerationStats]:
        """Evaluate ``generations`` more generations (every one of them, the last included); stop early once
        the best fitness of a generation reaches ``target`` (or the algorithm reports convergence).
        ``callback(stats)`` after each generation. Returns the stats of the generations run."""
        n = check_count("generations", generations, 1)
        goal = None if target is None else check_real("target", target, allow_inf=True)
        out = []
        for _ in range(n):
            stats = self.step()
            out.append(stats)
            if callback is not None:
                callback(stats)
            if (goal is not None and stats.best_fitness >= goal) or self._should_stop():
                break
        return out

    def best_weights(self) -> dict[str, Array]:
        """The best genome so far as a weights dict (:func:`unflatten_weights` with :attr:`layout`)."""
        if self.best_genome is None:
            raise RuntimeError("no generation has been evaluated yet: call step() or run() first")
        return unflatten_weights(self.best_genome, self.layout)

    def _common_state(self) -> dict[str, Any]:
        return {"generation": self.generation, "evaluations": self.evaluations,
                "population": self.population.copy(), "population_fitness": self.population_fitness.copy(),
                "rng": copy.deepcopy(self.rng.bit_generator.state),
                "best_genome": (np.zeros(0) if self.best_genome is None else self.best_genome.copy()),
                "best_fitness": self.best_fitness,
                "best_fitness_per_generation": np.array(self.best_fitness_per_generation, dtype=np.float64),
                "mean_fitness_per_generation": np.array(self.mean_fitness_per_generation, dtype=np.float64)}

    def _load_common(self, name: str, st: Mapping[str, Any], pop_rows: int) -> None:
        d = self.layout.size
        gen = load_int(name, "generation", st["generation"], 0)
        evals = load_int(name, "evaluations", st["evaluations"], 0)
        pop = load_array(name, "population", st["population"], (pop_rows, d), "f")
        n_fit = pop_rows if gen > 0 else 0
        pop_f = load_array(name, "population_fitness", st["population_fitness"], (n_fit,), "f")
        best = load_array(name, "best_genome", st["best_genome"], (d if gen > 0 else 0,), "f")
        best_f = load_float(name, "best_fitness", st["best_fitness"])
        hist_b = load_array(name, "best_fitness_per_generation", st["best_fitness_per_generation"], (gen,), "f")
        hist_m = load_array(name, "mean_fitness_per_generation", st["mean_fitness_per_generation"], (gen,), "f")
        _load_rng_state(name, self.rng, st["rng"])
        self.generation, self.evaluations = gen, evals
        self.population, self.population_fitness = pop, pop_f
        self.best_genome, self.best_fitness = (best if gen > 0 else None), best_f
        self.best_fitness_per_generation = hist_b.tolist()
        self.mean_fitness_per_generation = hist_m.tolist()

    def close(self) -> None:
        """Close the executor (a pool the executor started is shut down)."""
        self.executor.close()


_COMMON_KEYS = ("generation", "evaluations", "population", "population_fitness", "rng", "best_genome",
                "best_fitness", "best_fitness_per_generation", "mean_fitness_per_generation")


class SNNGeneticEvolver(_EvolverBase):
    """Genetic algorithm with elitism, tournament selection, uniform crossover and Gaussian mutation (module
    docstring, with the order of the random draws).

    ``factory(rng) -> LIFNetwork | dict of arrays | 1-D genome`` builds one individual of the initial population
    from the evolver's generator (e.g. ``lambda rng: LIFNetwork(4, 8, 2, seed=rng)``; every call must give the
    same layout); ``fitness(genome, seed) -> float`` is maximised. ``population_size`` int >= 2,
    ``mutation_rate`` (sigma) >= 0, ``elite_fraction`` in [0, 1), ``tournament_size`` in
    1..population_size (default ``min(3, population_size)``), ``crossover_rate`` and ``mutation_prob`` in
    [0, 1], ``seed`` an int >= 0 or a Generator (used, not copied), ``executor`` see :func:`as_executor`.
    """

    def __init__(self, factory: Callable[[np.random.Generator], Any], fitness: Fitness, *,
                 population_size: int = 20, mutation_rate: float = 0.05, elite_fraction: float = 0.2,
                 seed: int | np.random.Generator = 0, executor: object = None, tournament_size: int | None = None,
                 crossover_rate: float = 0.5, mutation_prob: float = 1.0) -> None:
        if not callable(factory):
            raise TypeError(f"factory must be a callable rng -> LIFNetwork | dict | genome, "
                            f"not {type(factory).__name__}")
        self.population_size = check_count("population_size", population_size, 2)
        self.mutation_rate = check_real("mutation_rate", mutation_rate, 0.0, None)
        self.elite_fraction = check_real("elite_fraction", elite_fraction, 0.0, 1.0, hi_open=True)
        self.tournament_size = (min(3, self.population_size) if tournament_size is None
                                else check_count("tournament_size", tournament_size, 1, self.population_size))
        self.crossover_rate = check_real("crossover_rate", crossover_rate, 0.0, 1.0)
        self.mutation_prob = check_real("mutation_prob", mutation_prob, 0.0, 1.0)
        self._init_common(fitness, seed, executor)
        genomes = []
        for i in range(self.population_size):
            g, layout = _genome_from(factory(self.rng), "factory(rng)")
            if i == 0:
                self.layout = layout
            elif layout != self.layout:
                raise ValueError(f"factory(rng) must give the same layout every call: call {i} gave {layout}, "
                                 f"call 0 gave {self.layout}")
            genomes.append(g)
        self.population = np.stack(genomes)
        self.population_fitness = np.zeros(0)

    @property
    def n_elite(self) -> int:
        """``floor(elite_fraction * population_size)``, at least 1 if ``elite_fraction > 0``."""
        if self.elite_fraction == 0.0:
            return 0
        return min(self.population_size - 1, max(1, math.floor(self.elite_fraction * self.population_size + 1e-9)))

    def breed(self, population: Array, fitness: Array) -> Array:
        """The next population from an evaluated one (module docstring); uses the evolver's generator."""
        n, d = population.shape
        order = np.argsort(-fitness, kind="stable")
        elites = population[order[: self.n_elite]]
        m, k = n - self.n_elite, self.tournament_size
        cand = self.rng.integers(0, n, size=(m, 2, k))
        win = np.take_along_axis(cand, np.argmax(fitness[cand], axis=2)[..., None], axis=2)[..., 0]
        cross = self.rng.random(m) < self.crossover_rate
        take_b = (self.rng.random((m, d)) < 0.5) & cross[:, None]
        mutate = self.rng.random((m, d)) < self.mutation_prob
        xi = self.rng.standard_normal((m, d))
        children = np.where(take_b, population[win[:, 1]], population[win[:, 0]])
        children = children + self.mutation_rate * (xi * mutate)
        return np.concatenate([elites, children])

    def step(self) -> GenerationStats:
        """Breed from the last evaluated generation (not before the first) and evaluate the new one."""
        pop = self.population if self.generation == 0 else self.breed(self.population, self.population_fitness)
        return self._evaluate(pop)

    def state_dict(self) -> dict[str, Any]:
        """``{"evolver", "generation", "evaluations", "population", "population_fitness", "rng" (the generator's
        ``bit_generator.state``), "best_genome", "best_fitness", "best_fitness_per_generation",
        "mean_fitness_per_generation"}`` (copies); :meth:`load_state_dict` then continues the identical run."""
        return {"evolver": type(self).__name__, **self._common_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (everything checked before anything is written)."""
        name = type(self).__name__
        st = check_keys(name, state, ("evolver", *_COMMON_KEYS))
        if st["evolver"] != name:
            raise ValueError(f"state_dict is for evolver {st['evolver']!r}, not {name!r}")
        self._load_common(name, st, self.population_size)


class _Randn:
    """pycma's ``randn(lam, N)`` option drawing from a ``numpy.random.Generator`` (picklable)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, *shape: int) -> Array:
        return self.rng.standard_normal(shape)


_OWNED_CMA_OPTIONS = ("randn", "seed", "popsize")


class CMAESEvolver(_EvolverBase):
    """CMA-ES through pycma's ``CMAEvolutionStrategy`` ask/tell interface (module docstring).

    ``initial``: the start mean ``x0``, a LIFNetwork, a dict of arrays, a 1-D genome, or a factory ``rng ->``
    one of these (called once). ``sigma0`` > 0 the initial step size, ``population_size`` (``lambda``) >= 2 or
    ``None`` for pycma's default ``4 + floor(3 ln d)``; ``options`` extra pycma options (not ``randn``,
    ``seed``, ``popsize``, which the evolver owns). pycma is told ``-fitness`` (it minimises). Needs the
    ``cma`` package (``pip install plasticore[distributed]``); a ``MissingDependencyError`` otherwise.
    """

    def __init__(self, initial: Any, fitness: Fitness, *, sigma0: float = 0.5, population_size: int | None = None,
                 seed: int | np.random.Generator = 0, executor: object = None,
                 options: Mapping[str, Any] | None = None) -> None:
        try:
            cma = importlib.import_module("cma")  # untyped; the import is deferred so plasticore works without it
        except ImportError as err:
            raise MissingDependencyError("CMAESEvolver", "cma", "distributed", str(err)) from err
        self.sigma0 = check_real("sigma0", sigma0, 0.0, None, lo_open=True)
        self._init_common(fitness, seed, executor)
        source = initial(self.rng) if callable(initial) and not isinstance(initial, Mapping) else initial
        x0, self.layout = _genome_from(source, "initial")
        default = 4 + math.floor(3 * math.log(x0.size))
        self.population_size = default if population_size is None else check_count("population_size",
                                                                                    population_size, 2)
        extra = dict(options or {})
        owned = sorted(k for k in extra if k in _OWNED_CMA_OPTIONS)
        if owned:
            raise ValueError(f"options must not set {owned}: use seed= and population_size= of CMAESEvolver")
        opts = {"verbose": -9, "verb_log": 0, "verb_disp": 0, **extra,
                "popsize": self.population_size, "randn": _Randn(self.rng), "seed": np.nan}
        self.es = cma.CMAEvolutionStrategy(x0, self.sigma0, opts)
        self.population = np.zeros((0, x0.size))
        self.population_fitness = np.zeros(0)

    def step(self) -> GenerationStats:
        """``ask`` lambda candidates, evaluate them on the executor, ``tell`` pycma ``-fitness``."""
        pop = np.array(self.es.ask(), dtype=np.float64)
        stats = self._evaluate(pop)
        self.es.tell(list(pop), (-self.population_fitness).tolist())
        return stats

    def _should_stop(self) -> bool:
        return bool(self.stop())

    def stop(self) -> dict[str, Any]:
        """pycma's termination criteria that are met (empty while it runs on)."""
        return dict(self.es.stop())

    @property
    def mean(self) -> Array:
        """The distribution mean ``m`` (pycma's ``es.mean``)."""
        return np.array(self.es.mean, dtype=np.float64)

    @property
    def sigma(self) -> float:
        """The step size ``sigma``."""
        return float(self.es.sigma)

    def state_dict(self) -> dict[str, Any]:
        """:class:`SNNGeneticEvolver`'s keys plus ``"cma"``: pycma's strategy as ``pickle`` bytes (pycma has no
        other export; load only state dicts you made). The generator is saved in ``"rng"``."""
        return {"evolver": type(self).__name__, **self._common_state(), "cma": pickle.dumps(self.es)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the unpickled strategy is re-bound to this evolver's generator."""
        name = type(self).__name__
        st = check_keys(name, state, ("evolver", *_COMMON_KEYS, "cma"))
        if st["evolver"] != name:
            raise ValueError(f"state_dict is for evolver {st['evolver']!r}, not {name!r}")
        if not isinstance(st["cma"], bytes):
            raise TypeError(f"{name} state_dict['cma'] must be bytes, not {type(st['cma']).__name__}")
        es = pickle.loads(st["cma"])  # the evolver's own state_dict (see state_dict)
        if int(es.N) != self.layout.size or int(es.popsize) != self.population_size:
            raise ValueError(f"{name} state_dict['cma'] is for dimension {es.N} and popsize {es.popsize}, not "
                             f"{self.layout.size} and {self.population_size}")
        rows = self.population_size if load_int(name, "generation", st["generation"], 0) > 0 else 0
        self._load_common(name, st, rows)
        randn = _Randn(self.rng)
        es.opts["randn"] = randn
        es.sm.randn = randn
        self.es = es


def centered_ranks(x: npt.ArrayLike) -> Array:
    """Ranks of ``x`` mapped linearly onto ``[-0.5, 0.5]`` (Salimans et al. 2017's fitness shaping; ties by
    position)."""
    a = np.asarray(x, dtype=np.float64).ravel()
    ranks = np.empty(a.size)
    ranks[np.argsort(a, kind="stable")] = np.arange(a.size)
    return ranks / max(a.size - 1, 1) - 0.5


class OpenAIESEvolver(_EvolverBase):
    """OpenAI-ES (Salimans et al. 2017; module docstring): antithetic Gaussian perturbations, centred ranks,
    Adam ascent on the search gradient.

    ``initial`` as for :class:`CMAESEvolver`; ``population_size`` an even int >= 2 (``n/2`` pairs),
    ``sigma`` > 0 the perturbation scale, ``learning_rate`` > 0 for Adam, ``weight_decay`` >= 0. The population
    of a generation is ``theta + sigma eps_i`` and ``theta - sigma eps_i`` interleaved; ``eps`` is drawn with
    ``rng.standard_normal((n/2, d))`` before the evaluation seeds.
    """

    def __init__(self, initial: Any, fitness: Fitness, *, population_size: int = 20, sigma: float = 0.1,
                 learning_rate: float = 0.01, weight_decay: float = 0.0, seed: int | np.random.Generator = 0,
                 executor: object = None) -> None:
        self.population_size = check_count("population_size", population_size, 2)
        if self.population_size % 2:
            raise ValueError(f"population_size must be an even int >= 2 (antithetic pairs), not {population_size}")
        self.sigma = check_real("sigma", sigma, 0.0, None, lo_open=True)
        self.learning_rate = check_real("learning_rate", learning_rate, 0.0, None, lo_open=True)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0, None)
        self._init_common(fitness, seed, executor)
        source = initial(self.rng) if callable(initial) and not isinstance(initial, Mapping) else initial
        theta, self.layout = _genome_from(source, "initial")
        self.theta = {"theta": theta}
        self.optimizer = Adam(lr=self.learning_rate)
        self._eps = np.zeros((0, theta.size))
        self.population = np.zeros((0, theta.size))
        self.population_fitness = np.zeros(0)

    def step(self) -> GenerationStats:
        """Sample the antithetic population, evaluate it, and apply one Adam step on the search gradient."""
        half, theta = self.population_size // 2, self.theta["theta"]
        eps = self.rng.standard_normal((half, theta.size))
        pop = np.empty((self.population_size, theta.size))
        pop[0::2] = theta + self.sigma * eps
        pop[1::2] = theta - self.sigma * eps
        stats = self._evaluate(pop)
        r = centered_ranks(self.population_fitness)
        g = (r[0::2] - r[1::2]) @ eps / (self.population_size * self.sigma) - self.weight_decay * theta
        self.optimizer.apply(self.theta, {"theta": -g})
        return stats

    def state_dict(self) -> dict[str, Any]:
        """:class:`SNNGeneticEvolver`'s keys plus ``"theta"`` and ``"optimizer"`` (Adam's state)."""
        return {"evolver": type(self).__name__, **self._common_state(), "theta": self.theta["theta"].copy(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        name = type(self).__name__
        st = check_keys(name, state, ("evolver", *_COMMON_KEYS, "theta", "optimizer"))
        if st["evolver"] != name:
            raise ValueError(f"state_dict is for evolver {st['evolver']!r}, not {name!r}")
        theta = load_array(name, "theta", st["theta"], (self.layout.size,), "f")
        rows = self.population_size if load_int(name, "generation", st["generation"], 0) > 0 else 0
        self._load_common(name, st, rows)
        self.optimizer.load_state_dict(st["optimizer"])
        self.theta["theta"][...] = theta
