"""A real Flower deployment on loopback: one SuperLink, N SuperNodes and ``flwr run``, started and stopped here.

Flower 1.42 (Beutel et al. 2020, "Flower: A Friendly Federated Learning Research Framework", arXiv:2007.14390)
deploys as long-running infrastructure plus short-lived app processes::

    flower-superlink --insecure --host 127.0.0.1 --port L --disable-runtime-dependency-installation
    flower-supernode --insecure --superlink 127.0.0.1:L --port P_i --node-config "partition-id=i num-partitions=N"
    flwr run APP_DIR CONNECTION --stream       # CONNECTION = [superlink.CONNECTION] in $FLWR_HOME/config.toml

The SuperLink starts ``flower-superexec`` (its own session), which starts one ``flwr-serverapp`` per run; every
SuperNode starts its own ``flower-superexec`` and one ``flwr-clientapp`` per message. :class:`FlowerDeployment`

* picks free loopback ports (bind to port 0, read the port back);
* gives every process its own ``FLWR_HOME`` under ``workdir`` and its log file ``workdir/<name>.log``;
* tags every process it starts with an environment variable ``PLASTICORE_FLOWER_DEPLOYMENT=<token>``, inherited by
  all helpers (even those that start their own session or are re-parented to init), so :meth:`stop` finds exactly
  this deployment's processes, SIGTERMs them, and SIGKILLs whatever is still alive after a grace period;
* bounds every wait (start-up, the run, the stop) and raises :class:`FlowerDeploymentError` with the log tail.

``flwr run --stream`` exits 0 even when the ServerApp failed, so :meth:`run` reads the run's final status with
``flwr list CONNECTION --run-id ID --format json``. Nothing here is specific to plasticore: the app directory and its
run config come from the caller (:mod:`plasticore.engines.flower_engine` for the federated learners).

Required tools: the ``flwr`` package (``pip install plasticore[distributed]``), whose console scripts must be on
``PATH`` (the SuperLink starts ``flower-superexec`` by name): the directory of the running interpreter is put first.
Build products: ``workdir/`` (logs, FLWR_HOME folders), nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from plasticore.refmodel.errors import MissingDependencyError

__all__ = ["DEPLOYMENT_ENV", "FlowerDeployment", "FlowerDeploymentError", "FlowerRun", "deployment_pids", "free_port"]

#: environment variable that tags every process of one deployment (value: a random token per deployment)
DEPLOYMENT_ENV = "PLASTICORE_FLOWER_DEPLOYMENT"
_CONNECTION = "plasticore-loopback"


class FlowerDeploymentError(RuntimeError):
    """A Flower process did not start, a run did not finish in time, or a run ended in failure."""


@dataclass(frozen=True, slots=True)
class FlowerRun:
    """Outcome of one ``flwr run``: the run id, its final status (``"finished"``) and sub-status
    (``"completed"``, ``"failed"``, ``"stopped"``), the wall time and the path of the streamed log."""

    run_id: int
    status: str
    sub_status: str
    seconds: float
    log: Path
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the ServerApp ran to its end without an exception."""
        return self.status == "finished" and self.sub_status == "completed"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def deployment_pids(token: str | None = None) -> list[int]:
    """PIDs of live processes tagged by :data:`DEPLOYMENT_ENV` (any deployment, or the one with ``token``).

    Reads ``/proc/<pid>/environ``; processes of other users (unreadable) are skipped; zombies are not counted."""
    needle = f"{DEPLOYMENT_ENV}=".encode() + (token.encode() if token else b"")
    found: list[int] = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            if state == b"Z":
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, IndexError):
            continue
        if any(e == needle or (token is None and e.startswith(needle)) for e in env):
            found.append(int(entry))
    return sorted(found)


def _tail(path: Path, n: int = 25) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


class FlowerDeployment:
    """SuperLink + ``n_nodes`` SuperNodes on loopback; a context manager that always stops what it started.

    ``node_configs[i]`` is SuperNode ``i``'s ``--node-config`` (default ``partition-id=i num-partitions=N``).
    ``env`` adds variables to every process (e.g. ``PYTHONHASHSEED``). Use::

        with FlowerDeployment(3, Path("build/flower")) as dep:
            run = dep.run(Path("engines/flower_app"), {"num-server-rounds": 2}, timeout=120)
    """

    def __init__(self, n_nodes: int, workdir: Path, *, node_configs: Sequence[Mapping[str, int | float | str]] | None
                 = None, env: Mapping[str, str] | None = None, startup_timeout: float = 60.0,
                 task_poll_interval: float = 0.2) -> None:
        if n_nodes < 1:
            raise ValueError(f"n_nodes must be >= 1, not {n_nodes}")
        if node_configs is not None and len(node_configs) != n_nodes:
            raise ValueError(f"node_configs must have {n_nodes} entries, not {len(node_configs)}")
        if shutil.which("flower-superlink", path=self._bin_path()) is None:
            try:
                import flwr  # noqa: F401
            except ImportError as exc:
                raise MissingDependencyError("FlowerDeployment", "flwr", "distributed", str(exc)) from exc
            raise MissingDependencyError("FlowerDeployment", "flwr", "distributed",
                                         "its console script flower-superlink is not on PATH")
        self.n_nodes = n_nodes
        self.workdir = Path(workdir).resolve()
        self.node_configs: list[dict[str, int | float | str]] = [dict(c) for c in node_configs] \
            if node_configs is not None else [
            {"partition-id": i, "num-partitions": n_nodes} for i in range(n_nodes)]
        self.startup_timeout = startup_timeout
        self.task_poll_interval = task_poll_interval
        self.token = secrets.token_hex(8)
        self.host = "127.0.0.1"
        self.superlink_port = 0
        self.node_ports: list[int] = []
        self._extra_env = dict(env or {})
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self.killed_nodes: list[int] = []

    # ------------------------------------------------------------------ environment
    @staticmethod
    def _bin_path() -> str:
        return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    def _env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self._extra_env)
        env.update({"PATH": self._bin_path(), "FLWR_HOME": str(home), DEPLOYMENT_ENV: self.token,
                    "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1", "PYTHONUNBUFFERED": "1",
                    "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": str(self.task_poll_interval)})
        return env

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        home = self.workdir / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"{name}.log", "wb")
        self._logs[name] = log
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(home), cwd=self.workdir,
                                start_new_session=True)
        self._procs[name] = proc
        return proc

    def _wait_port(self, name: str, port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._procs[name].poll() is not None:
                raise FlowerDeploymentError(f"{name} exited with {self._procs[name].returncode}:\n"
                                            f"{_tail(self.workdir / f'{name}.log')}")
            if _port_open(self.host, port):
                return
            time.sleep(0.1)
        raise FlowerDeploymentError(f"{name} did not listen on {self.host}:{port} within {self.startup_timeout} s:\n"
                                    f"{_tail(self.workdir / f'{name}.log')}")

    @property
    def address(self) -> str:
        """The SuperLink's address as ``host:port`` (Fleet, Control and Runtime API share it in Flower 1.42)."""
        return f"{self.host}:{self.superlink_port}"

    # ------------------------------------------------------------------ life cycle
    def start(self) -> FlowerDeployment:
        """Start the SuperLink, wait for its port, start the SuperNodes and wait for their runtime ports."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.superlink_port = free_port(self.host)
            self._spawn("superlink", ["flower-superlink", "--insecure", "--host", self.host, "--port",
                                      str(self.superlink_port), "--disable-runtime-dependency-installation"])
            self._wait_port("superlink", self.superlink_port)
            for i, cfg in enumerate(self.node_configs):
                port = free_port(self.host)
                while port == self.superlink_port or port in self.node_ports:
                    port = free_port(self.host)
                self.node_ports.append(port)
                node_config = " ".join(f"{k}={json.dumps(v) if isinstance(v, str) else v}" for k, v in cfg.items())
                self._spawn(f"supernode{i}", ["flower-supernode", "--insecure", "--superlink", self.address,
                                              "--host", self.host, "--port", str(port), "--node-config", node_config])
            for i, port in enumerate(self.node_ports):
                self._wait_port(f"supernode{i}", port)
            self._write_cli_config()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_cli_config(self) -> None:
        home = self.workdir / "home" / "cli"
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(
            f'[superlink]\ndefault = "{_CONNECTION}"\n\n[superlink.{_CONNECTION}]\n'
            f'address = "{self.address}"\ninsecure = true\n')

    def __enter__(self) -> FlowerDeployment:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """Live processes of this deployment (SuperLink, SuperNodes, SuperExecs, ServerApp/ClientApp processes)."""
        return deployment_pids(self.token)

    def node_pids(self, i: int) -> list[int]:
        """SuperNode ``i`` and its helpers (its SuperExec and ClientApp processes: the descendants of its PID,
        including those that started their own session)."""
        proc = self._procs.get(f"supernode{i}")
        if proc is None or proc.poll() is not None:
            return []
        parents: dict[int, int] = {}
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    parents[pid] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
        tree, grew = {proc.pid}, True
        while grew:
            new = {p for p, pp in parents.items() if pp in tree and p not in tree}
            tree |= new
            grew = bool(new)
        return sorted(tree)

    def kill_node(self, i: int, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        """Kill SuperNode ``i`` and its helpers with ``sig`` (default SIGKILL: a crash, no goodbye to the
        SuperLink, so the SuperLink only notices when the node's heartbeat expires); returns the PIDs signalled."""
        victims = self.node_pids(i)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        proc = self._procs.get(f"supernode{i}")
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.killed_nodes.append(i)
        return victims

    def stop(self, grace: float = 10.0) -> list[int]:
        """SIGTERM every process of this deployment, SIGKILL those alive after ``grace`` s; returns the PIDs that
        needed SIGKILL. Idempotent; afterwards :meth:`pids` is empty."""
        for name in sorted(self._procs, key=lambda n: n == "superlink"):  # nodes first, then the SuperLink
            with contextlib.suppress(ProcessLookupError):
                self._procs[name].send_signal(signal.SIGTERM)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.pids():
            for proc in self._procs.values():
                proc.poll()
            time.sleep(0.1)
        forced = self.pids()
        for pid in forced:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and self.pids():
            time.sleep(0.05)
        for proc in self._procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        for log in self._logs.values():
            log.close()
        self._procs.clear()
        self._logs.clear()
        return forced

    # ------------------------------------------------------------------ runs
    def _flwr(self, args: list[str], *, timeout: float, log: IO[bytes] | None = None) -> subprocess.CompletedProcess[
            bytes]:
        env = self._env(self.workdir / "home" / "cli")
        try:
            return subprocess.run(["flwr", *args], env=env, cwd=self.workdir, timeout=timeout, check=False,
                                  stdout=log if log is not None else subprocess.PIPE, stderr=subprocess.STDOUT)
        except subprocess.TimeoutExpired as exc:
            raise FlowerDeploymentError(f"`flwr {' '.join(args)}` did not finish within {timeout} s") from exc

    def run(self, app_dir: Path, run_config: Mapping[str, int | float | str | bool], *, timeout: float = 300.0,
            name: str = "run") -> FlowerRun:
        """``flwr run app_dir <connection> --run-config ... --stream`` (log in ``workdir/<name>.log``), bounded by
        ``timeout`` s; then the run's status from ``flwr list``. Raises :class:`FlowerDeploymentError` if the run
        did not start or did not end in time (the run is then stopped with ``flwr stop``)."""
        if not self._procs:
            raise FlowerDeploymentError("the deployment is not started")
        overrides = " ".join(f"{k}={self._toml(v)}" for k, v in run_config.items())
        args = ["run", str(Path(app_dir).resolve()), _CONNECTION, "--stream"]
        if overrides:
            args += ["--run-config", overrides]
        log_path = self.workdir / f"{name}.log"
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            try:
                self._flwr(args, timeout=timeout, log=log)
            except FlowerDeploymentError:
                run_id = self._run_id(log_path)
                if run_id is not None:
                    with contextlib.suppress(FlowerDeploymentError):
                        self._flwr(["stop", str(run_id), _CONNECTION], timeout=30)
                raise FlowerDeploymentError(f"run did not finish within {timeout} s:\n{_tail(log_path)}") from None
        seconds = time.monotonic() - t0
        run_id = self._run_id(log_path)
        if run_id is None:
            raise FlowerDeploymentError(f"`flwr run` started no run:\n{_tail(log_path)}")
        status, sub_status, details = self._status(run_id)
        return FlowerRun(run_id, status, sub_status, seconds, log_path, details)

    @staticmethod
    def _toml(v: int | float | str | bool) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        return repr(v)

    @staticmethod
    def _run_id(log_path: Path) -> int | None:
        m = re.search(r"Successfully started run (\d+)", log_path.read_text(errors="replace"))
        return int(m.group(1)) if m else None

    def _status(self, run_id: int) -> tuple[str, str, dict[str, object]]:
        """``(status, sub_status, row)`` of ``run_id`` from ``flwr list --format json``; polls briefly, because the
        SuperLink marks a run finished a moment after its log stream closed."""
        deadline = time.monotonic() + 30.0
        row: dict[str, object] = {}
        while True:
            out = self._flwr(["list", _CONNECTION, "--run-id", str(run_id), "--format", "json"], timeout=60)
            text = out.stdout.decode(errors="replace")
            with contextlib.suppress(ValueError):
                data = json.loads(text[text.index("{"):])
                runs = data.get("runs", [])
                row = runs[0] if runs else {}
            status = str(row.get("status", ""))
            if status.startswith("finished") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        parts = status.split(":", 1)
        return parts[0], parts[1] if len(parts) > 1 else str(row.get("sub-status", "")), row
