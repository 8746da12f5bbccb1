"""The Flower engine against the in-process reference, on a real deployment on loopback.

One module-wide deployment (``flower-superlink --insecure`` + 3 ``flower-supernode`` on free ports, every process
tagged so that none is left behind) serves the runs: FedAvg equals :func:`run_inprocess` within 1e-9, SecAgg+
stays within its quantization bound, the O(1) learner equals :func:`run_inprocess_fixed_point` exactly (integers)
and learns its preset task, and a SuperNode SIGKILLed mid-round does not stop the run and is recorded.
The killing test runs last (it removes a node). Rounds take seconds each (Flower polls every 3 s), so the runs are
2, 1, 3 and 2 rounds of tiny tasks.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tomllib

pytest.importorskip("flwr")

from plasticore.engines.flower_deploy import FlowerDeployment, deployment_pids
from plasticore.engines.flower_engine import APP_DIR, FederatedRunConfig, run_on, secaggplus_bound
from plasticore.refmodel import federated as fed
from plasticore.refmodel.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "federated_benchmark.py"
N = 3
TIMEOUT = 20.0  # s a round waits for replies; the killed client's round takes this long


def _cfg(**kw: object) -> FederatedRunConfig:
    base: dict[str, object] = {"num_clients": N, "min_train_nodes": N - 1, "round_timeout": TIMEOUT,
                               "partition": "two_class", "seed": 3}
    base.update(kw)
    return FederatedRunConfig(**base)  # type: ignore[arg-type]


def _max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k], dtype=np.float64) - b[k]))) for k in b)


@pytest.fixture(scope="module")
def deployment() -> Iterator[FlowerDeployment]:
    build = ROOT / "build" / "test_federated_flower"
    dep = FlowerDeployment(N, build).start()
    assert len(dep.pids()) >= 1 + N  # the SuperLink and N SuperNodes (and, soon, their SuperExecs)
    try:
        yield dep
    finally:
        dep.stop()
        assert dep.pids() == []


def test_app_config_defaults_are_the_dataclass_defaults() -> None:
    doc = tomllib.loads((APP_DIR / "pyproject.toml").read_text())
    assert doc["tool"]["flwr"]["app"]["config"] == FederatedRunConfig().to_run_config()
    cfg = FederatedRunConfig.from_run_config(FederatedRunConfig(strategy="fedprox", proximal_mu=0.5).to_run_config())
    assert cfg.strategy == "fedprox" and cfg.proximal_mu == 0.5
    o1 = FederatedRunConfig.for_o1(seed=4)
    pre = fed.o1_task_preset()
    assert (o1.learner, o1.n_in, o1.n_steps, o1.p_on, o1.p_off, o1.seed) == ("o1", 16, 8, 0.5, 0.02, 4)
    assert o1.o1_config() == pre.config and o1.o1_lif_config() == pre.lif_config and o1.o1_reward() == pre.reward
    assert np.array_equal(o1.o1_initial_weights()["w"], fed.o1_initial_weights(pre.config, 16, 4, 4))
    assert (FederatedRunConfig().p_on, FederatedRunConfig().p_off) == (fed.P_ON, fed.P_OFF)  # gradient task kept


def test_fedavg_on_flower_equals_inprocess(deployment: FlowerDeployment) -> None:
    cfg = _cfg(num_server_rounds=2)
    doc = run_on(deployment, cfg, name="fedavg")
    assert doc["run"]["sub_status"] == "completed" and doc["status"] == "completed"
    assert [r["reported"] for r in doc["rounds"][1:]] == [[0, 1, 2], [0, 1, 2]]
    assert doc["dropped_clients"] == []
    assert max(e["max_abs_diff"] for e in doc["replay"]) <= 1e-9
    ref = fed.run_inprocess(cfg.clients(), rounds=2, seed=cfg.seed, lr=cfg.lr)
    assert _max_diff(doc["final_weights"], ref.weights) <= 1e-9
    assert [r["accuracy"] for r in doc["rounds"]] == pytest.approx(ref.accuracy, abs=1e-12)
    assert ref.accuracy[-1] > ref.accuracy[0]  # it learns


def test_secagg_plus_stays_within_its_quantization_bound(deployment: FlowerDeployment) -> None:
    cfg = _cfg(num_server_rounds=1, secure=True, max_weight=40.0)
    doc = run_on(deployment, cfg, name="secure")
    assert doc["run"]["sub_status"] == "completed" and doc["status"] == "completed"
    assert doc["rounds"][1]["reported"] == [0, 1, 2]
    (entry,) = doc["replay"]
    assert 0.0 < entry["max_abs_diff"] <= entry["bound"] < 1e-4  # quantized (so masked), and within the bound
    # the bound is the formula's: K (2c + P) / (Q D), D = sum_k round(Q n_k / W) / Q
    q, n = cfg.quantization_range, [40, 40, 40]
    p = entry["bound"] * q * sum(round(q * v / 40.0) / q for v in n) / 3 - 2 * cfg.clipping_range
    assert 0.0 < p < cfg.clipping_range
    assert secaggplus_bound(n, max_abs_param=9.0, max_weight=40.0) == float("inf")  # would clip


def test_o1_on_flower_equals_inprocess_exactly_and_learns(deployment: FlowerDeployment) -> None:
    cfg = FederatedRunConfig.for_o1(num_clients=N, min_train_nodes=N - 1, round_timeout=TIMEOUT,
                                    partition="two_class", seed=3, num_server_rounds=3)
    doc = run_on(deployment, cfg, name="o1")
    assert doc["run"]["sub_status"] == "completed" and doc["status"] == "completed"
    assert [r["reported"] for r in doc["rounds"][1:]] == [[0, 1, 2]] * 3
    assert [e["max_abs_diff"] for e in doc["replay"]] == [0.0, 0.0, 0.0]
    pre = fed.o1_task_preset()
    ref = fed.run_inprocess_fixed_point(cfg.clients(), pre.config, rounds=3, seed=cfg.seed, reward=pre.reward,
                                        lif_config=pre.lif_config)
    assert doc["initial_weights"]["w"].dtype.kind == "i" and doc["final_weights"]["w"].dtype.kind == "i"
    assert np.array_equal(doc["initial_weights"]["w"], fed.o1_initial_weights(pre.config, 16, 4, cfg.seed))
    assert np.array_equal(doc["final_weights"]["w"], ref.weights)
    assert [r["accuracy"] for r in doc["rounds"]] == ref.accuracy  # the same integers give the same answers
    # measured: 0.15 (initial) -> 0.58, 0.73, 0.87 global test accuracy (chance 0.25)
    assert ref.accuracy[0] < 0.3 and ref.accuracy[-1] >= 0.8


def test_killed_supernode_does_not_stop_the_run_and_is_recorded(deployment: FlowerDeployment) -> None:
    cfg = _cfg(num_server_rounds=2)
    node = deployment.node_pids(1)
    doc = run_on(deployment, cfg, drop_client=1, drop_round=2, name="drop")
    assert doc["killed"] == [1]
    assert all(not Path(f"/proc/{pid}").exists() or pid not in deployment.pids() for pid in node)
    assert doc["run"]["sub_status"] == "completed" and doc["status"] == "completed"
    assert [r["reported"] for r in doc["rounds"][1:]] == [[0, 1, 2], [0, 2]]
    assert doc["dropped_clients"] == [1]
    assert max(e["max_abs_diff"] for e in doc["replay"]) <= 1e-9
    ref = fed.run_inprocess(cfg.clients(), rounds=2, seed=cfg.seed, lr=cfg.lr, drop_client=1, drop_round=1)
    assert ref.reported == [(0, 1, 2), (0, 2)]
    assert _max_diff(doc["final_weights"], ref.weights) <= 1e-9
    deployment.stop()
    assert deployment.pids() == [] and deployment_pids(deployment.token) == []


@pytest.mark.parametrize("args, message", [
    (["--clients", "0"], "--clients must be >= 1, not 0"),
    (["--rounds", "0"], "--rounds must be >= 1, not 0"),
    (["--mu", "0.1"], "--mu 0.1 needs --strategy fedprox, not fedavg"),
    (["--strategy", "fedprox", "--mu", "-1"], "--mu must be >= 0, not -1.0"),
    (["--drop-client", "3", "--clients", "3"], "--drop-client must be in 0..2, not 3"),
    (["--engine", "flower", "--secure", "--strategy", "signvote"], "--secure on Flower supports fedavg and fedprox"),
    (["--learner", "o1", "--strategy", "signvote"], "--learner o1 needs --strategy fedavg, no --secure and no"),
    (["--engine", "dask"], "argument --engine: invalid choice"),
    (["--clients", "x"], "argument --clients: invalid int value"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    sys.path.insert(0, str(TOOL.parent))
    try:
        tool = importlib.import_module("federated_benchmark")
    finally:
        sys.path.remove(str(TOOL.parent))
    with pytest.raises(SystemExit) as exc:
        tool.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_bad_arguments_from_the_command_line() -> None:
    res = subprocess.run([sys.executable, str(TOOL), "--rounds", "-1"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == ["federated_benchmark.py: error: --rounds must be >= 1, not -1"]


def test_missing_flwr_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from plasticore.engines import flower_engine

    monkeypatch.setitem(sys.modules, "flwr", None)
    with pytest.raises(MissingDependencyError, match=r"pip install plasticore\[distributed\]"):
        flower_engine.make_client_app()
    with pytest.raises(MissingDependencyError, match="'flwr'"):
        flower_engine.make_server_app()


@pytest.mark.slow
def test_cli_flower_run_with_a_killed_client_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "fl.json"
    res = subprocess.run([sys.executable, str(TOOL), "--engine", "flower", "--clients", "3", "--rounds", "3",
                          "--strategy", "fedprox", "--mu", "0.1", "--drop-client", "2", "--drop-round", "2",
                          "--output", str(out)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    import json

    doc = json.loads(out.read_text())
    assert doc["engine"] == "flower" and doc["secure"] is False and doc["dropped_clients"] == [2]
    assert [r["clients"] for r in doc["rounds"]] == [[0, 1, 2], [0, 1], [0, 1]]
    assert doc["max_abs_diff_vs_inprocess"] <= 1e-9 and doc["final_weights_diff_vs_run_inprocess"] <= 1e-9
    assert doc["leftover_processes"] == [] and deployment_pids() == []
