"""Where the synthesis sweep runs its jobs: in this process (``serial``) or on Dask ``distributed`` (``dask``).

Both executors have one shape: :func:`serial_results` and :func:`dask_results` take a job function, the
jobs and a name per job, and yield ``(index, result)`` or ``(index, JobError)`` as the jobs finish
(in order for ``serial``, in completion order for ``dask``), so :mod:`plasticore.flows.synth` consumes them
with one loop, writes every record itself (the workers only build and measure) and prints progress in
the parent process. A failing job is a :class:`JobError` that names the job (target and design), never a
stopped sweep.

:func:`dask_client` is the context manager that gives a ``distributed.Client`` and closes everything it
started when the block is left (also on an error or Ctrl-C):

* without an address: a ``LocalCluster`` on ``127.0.0.1`` of :func:`available_cores` worker *processes*
  with one thread each, dashboard off;
* with ``scheduler="tcp://host:port"``: a client to a running cluster (closed on exit; the cluster stays).
  An unreachable address is a :class:`ClusterError` after ``connect_timeout`` seconds.

Running the sweep on a real cluster::

    # on the scheduler host
    dask scheduler --port 8786
    # on every worker host (one build at a time per process: nextpnr is single-threaded)
    dask worker tcp://scheduler-host:8786 --nworkers auto --nthreads 1
    # on the client (the checkout whose reports/ you want filled)
    make synth SCHEDULER=tcp://scheduler-host:8786
    # or: python -m plasticore.flows.synth --scheduler tcp://scheduler-host:8786

Every worker needs plasticore importable (the same version as the client: a job pickles a
:class:`~plasticore.flows.designs.DesignSpec` and imports :mod:`plasticore.flows.synth`), ``distributed``
(``pip install plasticore[distributed]``), and the same EDA tools, first on its ``PATH`` (a job puts the
worker interpreter's ``bin`` folder first, where ``make setup`` puts the YoWASP wrappers): Yosys with Tcl,
nextpnr-ice40/ecp5, icepack/ecppack and make, of the versions the client sees. The tool versions are part
of every build digest; a job checks that its worker runs the client's versions and fails (naming both)
otherwise. Work directories go to the client's absolute ``--build`` path on each worker's own file system
(outside ``/tmp``; a shared file system keeps them in one place); the records come back to the client.

Requires ``distributed`` for ``dask`` only (imported when a client is made).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["ClusterError", "JobError", "available_cores", "dask_client", "dask_results", "serial_results"]

_J = TypeVar("_J")
_R = TypeVar("_R")

CONNECT_TIMEOUT_S = 10.0


class ClusterError(RuntimeError):
    """The Dask cluster could not be started or reached (the message names the address)."""


class JobError(RuntimeError):
    """One job failed; ``name`` is the job's name (e.g. ``"ice40-hx8k o1_lane-w8t6r4l3s2"``), ``cause`` the
    exception raised on the worker (or by Dask, e.g. ``KilledWorker`` when the worker process died)."""

    def __init__(self, name: str, cause: BaseException) -> None:
        self.name = name
        self.cause = cause
        super().__init__(f"{name}: {type(cause).__name__}: {cause}")


def available_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def serial_results(
    fn: Callable[[_J], _R], jobs: Sequence[_J], names: Sequence[str], *,
    on_start: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, _R | JobError]]:
    """Run the jobs one after the other in this process; yield ``(index, result or JobError)``.
    ``on_start(index)`` is called before each job (progress)."""
    for i, job in enumerate(jobs):
        if on_start is not None:
            on_start(i)
        try:
            result: _R | JobError = fn(job)
        except Exception as exc:  # one failing job must not stop the others
            result = JobError(names[i], exc)
        yield i, result


def dask_results(
    client: Any, fn: Callable[[_J], _R], jobs: Sequence[_J], names: Sequence[str]
) -> Iterator[tuple[int, _R | JobError]]:
    """Submit one task per job to ``client`` (a ``distributed.Client``), in order, and yield ``(index,
    result or JobError)`` as the tasks finish. Task keys are ``synth-<name>-<random>`` (unique per call, so
    never a result another client left on the scheduler). Leaving the generator early cancels the tasks
    left."""
    from distributed import as_completed

    if len(names) != len(jobs):
        raise ValueError(f"need one name per job: {len(jobs)} jobs, {len(names)} names")
    run = uuid.uuid4().hex[:8]
    futures = [client.submit(fn, job, key=f"synth-{names[i].replace(' ', '-')}-{run}", pure=False)
               for i, job in enumerate(jobs)]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                result: _R | JobError = fut.result()
            except Exception as exc:  # the task's own exception, re-raised here, or KilledWorker
                result = JobError(names[i], exc)
            fut.release()
            yield i, result
    finally:
        client.cancel([f for f in futures if not f.done()])


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, *, n_workers: int | None = None, connect_timeout: float = CONNECT_TIMEOUT_S,
) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``), or to a
    ``LocalCluster`` of ``n_workers`` (default :func:`available_cores`) one-thread worker processes on
    loopback, dashboard off, started here. Everything started here is closed on leaving the block.

    Raises :class:`ClusterError` when the scheduler cannot be reached within ``connect_timeout`` seconds.
    With a ``LocalCluster``, scripts must guard their entry point with ``if __name__ == "__main__":``
    (the workers are started with ``spawn``).
    """
    try:
        import distributed
    except ImportError as err:
        raise ClusterError(f"--executor dask needs the 'distributed' package ({err}); "
                           f"install it with: pip install plasticore[distributed]") from err
    if n_workers is not None and (not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1):
        raise ValueError(f"n_workers must be an int >= 1, not {n_workers!r}")
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be > 0 s, not {connect_timeout!r}")
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            n = n_workers if n_workers is not None else available_cores()
            try:
                cluster = distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR,
                    # no dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            except Exception as exc:
                raise ClusterError(f"could not start a LocalCluster of {n} workers: {exc}") from exc
            stack.callback(cluster.close)
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            client = distributed.Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address!r} within {connect_timeout:g} s: "
                               f"{type(exc).__name__}: {exc}") from exc
        stack.callback(client.close)
        if scheduler is None:
            client.wait_for_workers(n, timeout=max(60.0, connect_timeout))
        yield client
