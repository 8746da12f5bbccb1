"""Dask ``distributed`` as a fitness executor for :mod:`plasticore.refmodel.neuroevolution`.

:class:`DaskExecutor` is the thin adaptor: one ``client.submit(evaluate_slice, fitness, genomes, seeds)`` per
slice of the population (:func:`~plasticore.refmodel.neuroevolution.split_population`, by default one slice
per worker thread), then ``client.gather`` in order. The algorithm, its random draws and the slice function
are the in-process ones, so a run gives the same result as on
:class:`~plasticore.refmodel.neuroevolution.SerialExecutor` (tested).

* one machine: ``with local_cluster(2) as client: evolver = SNNGeneticEvolver(..., executor=DaskExecutor(client))``
  (a ``LocalCluster`` of worker *processes* on loopback, no dashboard);
* a cluster: ``DaskExecutor("tcp://scheduler:8786")`` connects a client to a running scheduler (started with
  ``dask scheduler`` and ``dask worker tcp://scheduler:8786`` on the nodes, each with plasticore installed) and
  closes that client in :meth:`DaskExecutor.close`.

Requires ``distributed`` (``pip install plasticore[distributed]``): imported when an object is built, so this
module imports without it and a missing package is a
:class:`~plasticore.refmodel.errors.MissingDependencyError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from plasticore.refmodel._validate import check_count
from plasticore.refmodel.errors import MissingDependencyError
from plasticore.refmodel.neuroevolution import Fitness, FitnessExecutor, evaluate_slice

Array = npt.NDArray[np.float64]

__all__ = ["DaskExecutor", "local_cluster"]


def _distributed(feature: str) -> Any:
    try:
        import distributed
    except ImportError as err:
        raise MissingDependencyError(feature, "distributed", "distributed", str(err)) from err
    return distributed


class DaskExecutor(FitnessExecutor):
    """Evaluate population slices on a Dask cluster.

    ``client``: a ``distributed.Client`` (used, not closed) or a scheduler address such as
    ``"tcp://10.0.0.5:8786"`` (a client is connected and closed by :meth:`close`). ``n_slices`` (int >= 1)
    defaults to the number of worker threads when the executor is built. The fitness must be picklable
    (cloudpickle) and importable on the workers.
    """

    def __init__(self, client: Any, *, n_slices: int | None = None) -> None:
        distributed = _distributed("DaskExecutor")
        if isinstance(client, str):
            self.client = distributed.Client(client)
            self._owned = True
        elif isinstance(client, distributed.Client):
            self.client = client
            self._owned = False
        else:
            raise TypeError(f"client must be a distributed.Client or a scheduler address string, "
                            f"not {type(client).__name__}")
        threads = sum(self.client.nthreads().values())
        self.n_slices = max(1, threads) if n_slices is None else check_count("n_slices", n_slices, 1)

    def map_slices(self, fitness: Fitness, parts: Sequence[tuple[Array, npt.NDArray[np.int64]]]) -> list[Array]:
        """One task per slice (``pure=False``: never served from Dask's cache), gathered in order."""
        futures = [self.client.submit(evaluate_slice, fitness, g, s, pure=False) for g, s in parts]
        return [np.asarray(r, dtype=np.float64) for r in self.client.gather(futures)]

    def close(self) -> None:
        """Close the client if this executor connected it."""
        if self._owned:
            self.client.close()


@contextlib.contextmanager
def local_cluster(n_workers: int = 2, *, threads_per_worker: int = 1) -> Iterator[Any]:
    """A ``LocalCluster`` of ``n_workers`` worker processes (``processes=True``) on ``127.0.0.1`` with the
    dashboard off, and a ``Client`` to it; both are closed on leaving the block (also on an error).

    Scripts that use it must guard their entry point with ``if __name__ == "__main__":`` (the workers are
    started with ``spawn`` and import the main module).
    """
    distributed = _distributed("local_cluster")
    n = check_count("n_workers", n_workers, 1)
    t = check_count("threads_per_worker", threads_per_worker, 1)
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=t, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster)
        try:
            client.wait_for_workers(n)
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
