"""The synthesis sweep on Dask ``distributed`` (``@pytest.mark.synth``): the same records as a serial run.

Two small designs (the small-config lane and the small-config 8x8 one-lane array) on the iCE40 HX8K, one
placer seed, built once with ``--executor serial`` and once on a ``LocalCluster`` of two worker processes
started here (through ``--scheduler``, the path of an existing cluster); the records must be the same bytes
(a record has no wall-clock field). Then a run on the tool's own ``LocalCluster`` rebuilds nothing (the
digest cache), a job whose worker has other tool versions fails naming its target and design, and an
unreachable scheduler is an error within seconds. No Dask process may outlive its cluster.

Work directories sit outside ``/tmp`` (YoWASP maps ``/tmp`` privately). Needs yosys (with Tcl),
nextpnr-ice40, icepack, make and ``distributed``; skipped when one is missing. ~45 s on 2 cores.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plasticore.flows import cluster
from plasticore.flows.designs import DesignSpec
from plasticore.flows.synth import TARGETS, Job, main, tool_versions

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "synth" / "pytest-dask"
TOOLS = ("yosys", "nextpnr-ice40", "icepack", "make")
TARGET = "ice40-hx8k"
DESIGNS = ("o1_lane-w8t6r4l3s2", "o1_array-w8t6r4l3s2-8x8-p1")
ARGS = ["--targets", TARGET, "--seeds", "1", "--no-report", "--designs", *DESIGNS]

needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}")


def dask_children(wait_s: float = 10.0, *, besides: frozenset[int] = frozenset()) -> list[str]:
    """Command lines of this process's Dask child processes (the nanny/worker processes of a LocalCluster are
    ``multiprocessing`` spawn/forkserver children; Python's own ``resource_tracker``, the pids ``besides`` and
    unrelated helpers other tests of the same session started, such as W&B's ``wandb-core``, are not counted),
    after waiting up to ``wait_s`` for them to exit."""
    psutil = pytest.importorskip("psutil")  # a dependency of distributed
    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = " ".join(p.cmdline())
                daskish = any(k in cmd for k in ("spawn_main", "forkserver", "distributed", "dask"))
                if daskish and "resource_tracker" not in cmd and p.pid not in besides:
                    left.append(cmd)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def run(argv: list[str]) -> tuple[int, str, float]:
    """``plasticore-synth argv`` in this process: exit status, stderr, seconds."""
    err = io.StringIO()
    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err):
        mp.setenv("PATH", os.environ["PATH"])  # main() puts .venv/bin first: undo afterwards
        code = main(argv)
    return code, err.getvalue(), time.monotonic() - t0


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[Any]:
    """A LocalCluster of 2 one-thread worker processes on loopback; afterwards no Dask process is left."""
    pytest.importorskip("edalize")
    pytest.importorskip("myhdl")
    distributed = pytest.importorskip("distributed")
    import logging

    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        yield lc
    finally:
        lc.close()
    assert dask_children() == []


@pytest.fixture(scope="module")
def two_runs(local_cluster: Any) -> dict[str, Any]:
    """The two designs built serially into ``serial/`` and on the cluster into ``dask/``."""
    shutil.rmtree(WORK, ignore_errors=True)
    out: dict[str, Any] = {}
    for name, extra in (("serial", ["--executor", "serial"]),
                        ("dask", ["--scheduler", local_cluster.scheduler_address])):
        (WORK / name).mkdir(parents=True)
        code, err, sec = run([*ARGS, *extra, "--build", str(WORK / name / "build"),
                              "--reports", str(WORK / name / "reports")])
        assert code == 0, err
        out[name] = {"err": err, "seconds": sec, "records": WORK / name / "reports" / "synth" / TARGET}
    return out


@pytest.mark.synth
@needs_tools
def test_serial_and_dask_write_the_same_records(two_runs: dict[str, Any]) -> None:
    for name in ("serial", "dask"):
        assert two_runs[name]["err"].count(" built in ") == 2, two_runs[name]["err"]
    serial, dask = two_runs["serial"]["records"], two_runs["dask"]["records"]
    assert sorted(p.name for p in serial.iterdir()) == sorted(f"{d}.json" for d in DESIGNS)
    for d in DESIGNS:
        # field by field: no record field differs (no wall-clock field in the schema), so the bytes agree too
        a, b = (json.loads((r / f"{d}.json").read_text()) for r in (serial, dask))
        assert sorted(a) == sorted(b) and {k for k in a if a[k] != b[k]} == set()
        assert (serial / f"{d}.json").read_bytes() == (dask / f"{d}.json").read_bytes()
        assert list(a["measured"]["fmax_by_seed"]) == ["1"] and a["seeds"] == [1]
    lane = json.loads((dask / f"{DESIGNS[0]}.json").read_text())["measured"]
    assert lane["ffs"] == 8 + 3 * 6  # W + 3T state bits of the small config


@pytest.mark.synth
@needs_tools
def test_a_second_dask_run_rebuilds_nothing(two_runs: dict[str, Any]) -> None:
    """On the tool's own LocalCluster (2 workers): every digest matches, so no flow runs and no record or
    placement changes."""
    records = two_runs["dask"]["records"]
    before = {p.name: p.read_bytes() for p in records.iterdir()}
    pnr = sorted((WORK / "dask" / "build").glob(f"{TARGET}/*/pnr/report_seed1.json"))
    assert len(pnr) == 2
    stamps = [p.stat().st_mtime_ns for p in pnr]
    psutil = pytest.importorskip("psutil")
    test_cluster = frozenset(p.pid for p in psutil.Process().children(recursive=True))
    code, err, _ = run([*ARGS, "--workers", "2", "--build", str(WORK / "dask" / "build"),
                        "--reports", str(WORK / "dask" / "reports")])
    assert code == 0, err
    assert "on a LocalCluster of 2 workers" in err
    assert err.count(" cached in ") == 2 and " built in " not in err, err
    assert {p.name: p.read_bytes() for p in records.iterdir()} == before
    assert [p.stat().st_mtime_ns for p in pnr] == stamps
    assert dask_children(besides=test_cluster) == []  # the tool closed its own cluster


@pytest.mark.synth
@needs_tools
def test_a_failing_job_names_its_target_and_design(local_cluster: Any, two_runs: dict[str, Any]) -> None:
    """A worker whose tools are not the client's (here: the client claims another nextpnr) fails that job
    with an error naming it; the other job, whose digest matches its stored record, comes back cached."""
    distributed = pytest.importorskip("distributed")
    from plasticore.flows.synth import JobResult, run_job

    target = TARGETS[TARGET]
    real = tool_versions(target)
    recs = [json.loads((two_runs["serial"]["records"] / f"{d}.json").read_text()) for d in DESIGNS]
    build = WORK / "serial" / "build"
    jobs = [Job(DesignSpec.from_record(recs[0]), target, build, (1,), {**real, "nextpnr": "nextpnr-9.9 (bogus)"}),
            Job(DesignSpec.from_record(recs[1]), target, build, (1,), real, old_digest=recs[1]["digest"])]
    with distributed.Client(local_cluster.scheduler_address) as client:
        results = dict(cluster.dask_results(client, run_job, jobs, [j.name for j in jobs]))
    bad, good = results[0], results[1]
    assert isinstance(bad, cluster.JobError) and bad.name == f"{TARGET} {DESIGNS[0]}"
    assert str(bad).startswith(f"{TARGET} {DESIGNS[0]}: RuntimeError: {TARGET} {DESIGNS[0]}: tool versions here")
    assert "nextpnr-9.9 (bogus)" in str(bad)
    assert isinstance(good, JobResult) and not good.rebuilt and good.digest == recs[1]["digest"]


@pytest.mark.synth
@needs_tools
def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    (WORK / "unreachable").mkdir(parents=True, exist_ok=True)
    code, err, sec = run([*ARGS, "--scheduler", address, "--connect-timeout", "2",
                          "--build", str(WORK / "unreachable" / "build"),
                          "--reports", str(WORK / "unreachable" / "reports")])
    assert code == 1 and sec < 10
    assert f"plasticore-synth: error: cannot reach the Dask scheduler at '{address}' within 2 s" in err
    assert not (WORK / "unreachable" / "reports" / "synth").exists()  # nothing written


# ---- the command line, without EDA tools ----
@pytest.mark.parametrize(("argv", "message"), [
    (["--executor", "serial", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --executor dask"),
    (["--workers", "0"], "--workers must be >= 1, not 0"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--workers is for the LocalCluster only"),
    (["--workers", "2", "--executor", "serial"], "--workers is for the LocalCluster only"),
    (["--connect-timeout", "0"], "--connect-timeout must be > 0, not 0.0"),
])
def test_executor_arguments_are_checked(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--targets", TARGET, "--designs", DESIGNS[0], "--build", str(WORK / "args"), *argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (WORK / "args").exists()


def test_executor_defaults() -> None:
    from plasticore.flows.synth import _parser

    args = _parser().parse_args([])
    assert (args.executor, args.scheduler, args.workers) == ("dask", None, None)
    assert args.connect_timeout == cluster.CONNECT_TIMEOUT_S == 10.0
    assert cluster.available_cores() >= 1
