r"""The Flower engine of :mod:`plasticore.refmodel.federated`: a ClientApp and a ServerApp (Flower 1.42).

Flower (Beutel et al. 2020, arXiv:2007.14390) runs the same algorithm as the in-process reference
:func:`plasticore.refmodel.federated.run_inprocess`; this module is the thin adapter (STYLE 16): every numeric step
is a refmodel function, and only the transport and the aggregation of FedAvg are Flower's own.

**ClientApp** (:func:`make_client_app`): SuperNode ``partition-id = k`` rebuilds the task from the run config
(:func:`~plasticore.refmodel.federated.make_spiking_classification`, the same seed on every node, so client ``k``
holds exactly the reference's ``clients[k]``) and trains on its split:

* ``learner = "gradient"``: :func:`~plasticore.refmodel.federated.local_update` (BPTT + SGD on the LIF network,
  seed :func:`~plasticore.refmodel.federated.client_seed`); with FedProx (Li et al. 2020, MLSys) the proximal term
  :math:`\frac{\mu}{2}\lVert w - w^t\rVert^2`, i.e. the gradient transform :math:`g + \mu (w - w^t)`, with ``mu``
  taken from Flower's ``proximal-mu`` config entry. The reply is
  :func:`~plasticore.refmodel.federated.client_payload` (the weights, or ``sign(w - w^t)`` for sign vote), the
  example count ``n_k`` and the drift :math:`\lVert w_k - w^t\rVert_2`.
* ``learner = "o1"``: :func:`~plasticore.refmodel.federated.o1_local_update`, the O(1) layer with its
  reward-modulated rule (integer weights); the server averages them exactly with
  :func:`~plasticore.refmodel.federated.aggregate_fixed_point`. The rule, the neurons and the reward are
  :func:`~plasticore.refmodel.federated.o1_task_preset`'s, the initial weights
  :func:`~plasticore.refmodel.federated.o1_initial_weights` ``(seed)``, as in
  :func:`~plasticore.refmodel.federated.run_inprocess_fixed_point`; :meth:`FederatedRunConfig.for_o1` also sets
  the preset's task (``n_in``, ``n_steps``, ``p_on``, ``p_off``), on which the rule learns.

**ServerApp** (:func:`make_server_app`), one of

* Flower's message-API :class:`flwr.serverapp.strategy.FedAvg` (McMahan et al. 2017, AISTATS:
  :math:`w^{t+1} = \sum_k n_k w_k / \sum_k n_k`) or :class:`~flwr.serverapp.strategy.FedProx`, wrapped so that each
  round records who reported, enforces the strategy's ``min_train_nodes`` on the *replies* (fewer replies than
  that fail the run; more keep it going), and, for ``signvote`` (Bernstein et al. 2018, signSGD with majority vote)
  and ``o1``, aggregates with :func:`~plasticore.refmodel.federated.server_update` /
  :func:`~plasticore.refmodel.federated.aggregate_fixed_point` instead of the weighted mean;
* with ``secure = true``, Flower's SecAgg+ (Bonawitz et al. 2017, CCS; Bell et al. 2020): the legacy
  :class:`flwr.server.strategy.FedAvg` under ``DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))``, and on the
  clients :func:`flwr.client.mod.secaggplus_mod` (applied only to the SecAgg+ messages, so one ClientApp serves
  both modes). The server then sees only the masked sum.

After every round the ServerApp evaluates the global model on
:func:`~plasticore.refmodel.federated.global_test_set` and at the end writes ``<output>.json`` (per round:
accuracy, loss, reporting partitions, failures, mean client loss and drift) and ``<output>.npz`` (the global
weights after every round, ``r{round}/{name}``), from which :func:`replay_rounds` recomputes each round in
process on the same client updates.

**SecAgg+ quantization** (Flower's encoding, not the refmodel's): client ``k`` scales its weights by
:math:`d_k = \mathrm{round}(Q n_k / W) / Q` (``W = max_weight``, ``Q = quantization_range``), clips to
:math:`[-c, c]` and rounds stochastically to the grid of step :math:`2c/Q` (error :math:`|e_k| < 1` step); the
server decodes :math:`\sum_k d_k p_k / D + (2c/Q)\sum_k e_k / D` with :math:`D = \sum_k d_k`. Against the exact
weighted mean :math:`\sum_k n_k p_k / \sum_k n_k` the difference is at most (:func:`secaggplus_bound`)

.. math:: \frac{K}{Q D}\,(2c + P), \qquad P = \max_k \lVert p_k \rVert_\infty,

(the weight rounding :math:`|d_k - Q^{-1} Q n_k/W| \le 1/(2Q)` moves the mean by at most
:math:`\sum_k |a_k - b_k|\,P \le (K / (Q D))\,P`; the grid adds :math:`2cK/(QD)`), provided no entry is clipped,
:math:`P \max_k d_k \le c`.

Flower is imported only when an app is built; without it :class:`~plasticore.refmodel.errors.MissingDependencyError`
names the ``distributed`` extra.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from plasticore.refmodel import federated as fed
from plasticore.refmodel.errors import MissingDependencyError

if TYPE_CHECKING:
    from flwr.app import Context, Message
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp

__all__ = ["LEARNERS", "FederatedRunConfig", "make_client_app", "make_server_app", "replay_rounds",
           "secaggplus_bound"]

Array = npt.NDArray[np.float64]
LEARNERS: tuple[str, ...] = ("gradient", "o1")
_POLL = 0.1  # s between the ServerApp's pulls for replies (Flower's own Grid sleeps 3 s)


def _require_flwr(feature: str) -> None:
    try:
        import flwr  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(feature, "flwr", "distributed", str(exc)) from exc


@dataclass(frozen=True, slots=True)
class FederatedRunConfig:
    """Everything a run needs, as Flower's run config (``[tool.flwr.app.config]``; keys with ``-`` for ``_``).

    The task (``num_clients`` .. ``seed``; ``p_on`` / ``p_off`` the spike probabilities of
    :func:`~plasticore.refmodel.federated.make_spiking_classification`) is rebuilt identically on every node; the
    defaults are the gradient learner's task, :meth:`for_o1` the O(1) learner's preset; ``round_timeout`` bounds
    every exchange (s); ``hold_partition``/``hold_round`` (``-1``: none) make that client wait ``hold_seconds`` at the
    start of that round's training after touching ``<output>.hold`` (the hook that lets a tool kill it mid-round
    deterministically); ``output`` is the absolute path stem of the result files.
    """

    num_server_rounds: int = 3
    strategy: str = "fedavg"
    learner: str = "gradient"
    proximal_mu: float = 0.0
    secure: bool = False
    num_clients: int = 3
    min_train_nodes: int = 2
    partition: str = "iid"
    alpha: float = 0.5
    n_classes: int = 4
    n_in: int = 20
    n_steps: int = 20
    n_rec: int = 32
    samples_per_client: int = 40
    p_on: float = fed.P_ON
    p_off: float = fed.P_OFF
    seed: int = 0
    epochs: int = 1
    lr: float = 0.03
    batch_size: int = 10
    server_lr: float = 0.01
    round_timeout: float = 30.0
    clipping_range: float = 8.0
    quantization_range: int = 4194304
    max_weight: float = 1000.0
    hold_partition: int = -1
    hold_round: int = -1
    hold_seconds: float = 120.0
    output: str = ""

    def __post_init__(self) -> None:
        if self.strategy not in fed.STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(fed.STRATEGIES)}, not {self.strategy!r}")
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {', '.join(LEARNERS)}, not {self.learner!r}")
        if self.secure and (self.strategy == "signvote" or self.learner == "o1"):
            raise ValueError("secure aggregation supports the gradient learner with fedavg or fedprox, not "
                             f"{self.learner} with {self.strategy}")
        if self.num_server_rounds < 1:
            raise ValueError(f"num_server_rounds must be >= 1, not {self.num_server_rounds}")
        if self.num_clients < 1:
            raise ValueError(f"num_clients must be >= 1, not {self.num_clients}")
        if not 1 <= self.min_train_nodes <= self.num_clients:
            raise ValueError(f"min_train_nodes must be in 1..{self.num_clients}, not {self.min_train_nodes}")
        if self.secure and self.min_train_nodes < 2:
            raise ValueError(f"secure aggregation needs min_train_nodes >= 2, not {self.min_train_nodes}")
        if self.proximal_mu < 0:
            raise ValueError(f"proximal_mu must be >= 0, not {self.proximal_mu}")
        if self.round_timeout <= 0:
            raise ValueError(f"round_timeout must be > 0, not {self.round_timeout}")

    @classmethod
    def for_o1(cls, **overrides: Any) -> FederatedRunConfig:
        """A run of the O(1) learner on :func:`~plasticore.refmodel.federated.o1_task_preset`'s task
        (``learner = "o1"``, the preset's ``n_in``, ``n_steps``, ``p_on``, ``p_off``); ``overrides`` set any
        field, those too."""
        kwargs: dict[str, Any] = {"learner": "o1", **fed.o1_task_preset().task_kwargs()}
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_run_config(self) -> dict[str, int | float | str | bool]:
        """The ``--run-config`` mapping (``proximal_mu`` -> ``proximal-mu``)."""
        return {k.replace("_", "-"): v for k, v in asdict(self).items()}

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any]) -> FederatedRunConfig:
        """Parse Flower's run config (unknown keys are ignored; types follow the dataclass fields)."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = f.name.replace("_", "-")
            if key in run_config:
                default = getattr(cls(), f.name)
                kwargs[f.name] = type(default)(run_config[key])
        return cls(**kwargs)

    def clients(self) -> list[fed.ClientData]:
        """The task, split over the clients, exactly as the in-process reference builds it."""
        return fed.make_spiking_classification(
            self.num_clients, partition=self.partition, alpha=self.alpha, n_classes=self.n_classes, n_in=self.n_in,
            n_steps=self.n_steps, samples_per_client=self.samples_per_client, p_on=self.p_on, p_off=self.p_off,
            seed=self.seed)

    def initial_weights(self) -> dict[str, Array]:
        """The initial global model (the reference's ``make_network(seed)``)."""
        net = fed.make_network(self.seed, n_in=self.n_in, n_rec=self.n_rec, n_out=self.n_classes)
        return {k: np.asarray(v, dtype=np.float64).copy() for k, v in net.state_dict().items()}

    def o1_initial_weights(self) -> dict[str, np.ndarray]:
        """The O(1) layer's initial weights ``(n_classes, n_in)``, the in-process reference's:
        :func:`~plasticore.refmodel.federated.o1_initial_weights` ``(o1_config(), n_in, n_classes, seed)``."""
        return {"w": fed.o1_initial_weights(self.o1_config(), self.n_in, self.n_classes, self.seed)}

    def o1_config(self) -> Any:
        """The O(1) rule's fixed-point configuration: :func:`~plasticore.refmodel.federated.o1_task_preset`'s."""
        return fed.o1_task_preset().config

    def o1_lif_config(self) -> Any:
        """The O(1) layer's integer LIF neurons: :func:`~plasticore.refmodel.federated.o1_task_preset`'s."""
        return fed.o1_task_preset().lif_config

    def o1_reward(self) -> int:
        """The O(1) clients' reward magnitude: :func:`~plasticore.refmodel.federated.o1_task_preset`'s."""
        return fed.o1_task_preset().reward


def secaggplus_bound(num_examples: Iterable[int], *, max_abs_param: float, clipping_range: float = 8.0,
                     quantization_range: int = 4194304, max_weight: float = 1000.0) -> float:
    """Largest difference Flower's SecAgg+ encoding can make to the weighted mean (module docstring):
    ``K (2c + P) / (Q D)`` with ``D = sum_k round(Q n_k / W) / Q``; ``inf`` if an entry would be clipped."""
    n = [int(v) for v in num_examples]
    if not n:
        raise ValueError("num_examples must not be empty")
    q = float(quantization_range)
    d = [round(q * v / max_weight) / q for v in n]
    if max_abs_param * max(d) > clipping_range:
        return math.inf
    return len(n) * (2.0 * clipping_range + max_abs_param) / (q * sum(d))


# ---------------------------------------------------------------------------------------------------- records
def _to_record(weights: Mapping[str, npt.ArrayLike]) -> Any:
    from flwr.app import Array as FlArray
    from flwr.app import ArrayRecord

    return ArrayRecord({k: FlArray(np.ascontiguousarray(np.asarray(v))) for k, v in weights.items()})


def _from_record(record: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.numpy()) for k, v in record.items()}


# ---------------------------------------------------------------------------------------------------- client
def _train(cfg: FederatedRunConfig, weights: Mapping[str, np.ndarray], partition: int, server_round: int,
           mu: float) -> tuple[dict[str, np.ndarray], int, dict[str, float]]:
    """One client's round: local training from ``weights``; the payload, ``n_k`` and metrics."""
    if cfg.hold_partition == partition and cfg.hold_round == server_round:
        Path(cfg.output + ".hold").write_text(f"{partition} {server_round} {os.getpid()}\n")
        time.sleep(cfg.hold_seconds)
        raise RuntimeError(f"partition {partition} was held {cfg.hold_seconds} s in round {server_round} and "
                           "nobody killed it")
    data = cfg.clients()[partition]
    seed = fed.client_seed(cfg.seed, server_round - 1, partition)  # Flower counts rounds from 1, the reference from 0
    if cfg.learner == "o1":
        w = np.asarray(weights["w"], dtype=np.int64)
        new, n, metrics = fed.o1_local_update(w, data, cfg.o1_config(), seed=seed, epochs=cfg.epochs,
                                              reward=cfg.o1_reward(), lif_config=cfg.o1_lif_config())
        drift = float(np.linalg.norm((new - w).astype(np.float64)))
        return {"w": np.asarray(new, dtype=np.int64)}, int(n), {**metrics, "drift": drift}
    glob = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    local, n, metrics = fed.local_update(glob, data, epochs=cfg.epochs, lr=cfg.lr, mu=mu, seed=seed,
                                         batch_size=cfg.batch_size)
    drift = fed.client_drift(local, glob)
    payload = fed.client_payload(cfg.strategy, local, glob)
    return payload, int(n), {**metrics, "drift": drift}


def _reply_metrics(partition: int, n: int, metrics: Mapping[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {"num-examples": n, "partition-id": partition}
    for k, v in metrics.items():
        if isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v)):
            out[f"client-{k}"] = float(v)
    return out


def make_client_app() -> ClientApp:
    """The ClientApp: message-API ``train`` (Flower FedAvg/FedProx/sign vote/O(1)) and, for messages of the
    SecAgg+ protocol, :func:`flwr.client.mod.secaggplus_mod` around the legacy ``FitIns``/``FitRes`` format."""
    _require_flwr("make_client_app")
    from flwr.app import ArrayRecord, Message, MessageType, MetricRecord, RecordDict
    from flwr.client.mod import secaggplus_mod
    from flwr.clientapp import ClientApp
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
    from flwr.compat.common import recorddict_compat as compat

    def secure_when_asked(msg: Message, ctxt: Context, call_next: Any) -> Message:
        """``secaggplus_mod`` for the SecAgg+ stages only (they carry its config record)."""
        if msg.metadata.message_type == MessageType.TRAIN and RECORD_KEY_CONFIGS in msg.content.config_records:
            out: Message = secaggplus_mod(msg, ctxt, call_next)
            return out
        reply: Message = call_next(msg, ctxt)
        return reply

    app = ClientApp(mods=[secure_when_asked])

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        cfg = FederatedRunConfig.from_run_config(context.run_config)
        partition = int(context.node_config["partition-id"])
        if "fitins.parameters" in msg.content.array_records:  # legacy FitIns (SecAgg+ workflow)
            fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
            names = sorted(cfg.initial_weights())
            weights = dict(zip(names, parameters_to_ndarrays(fitins.parameters), strict=True))
            fit_config: dict[str, Any] = dict(fitins.config)
            server_round = int(fit_config["server-round"])
            mu = float(fit_config.get("proximal-mu", 0.0))
            payload, n, metrics = _train(cfg, weights, partition, server_round, mu)
            fitres = FitRes(status=Status(code=Code.OK, message=""),
                            parameters=ndarrays_to_parameters([payload[k] for k in names]), num_examples=n,
                            metrics=_reply_metrics(partition, n, metrics))
            return Message(content=compat.fitres_to_recorddict(fitres, keep_input=True), reply_to=msg)
        config: dict[str, Any] = dict(msg.content["config"])
        server_round = int(config["server-round"])
        mu = float(config.get("proximal-mu", 0.0))
        weights = _from_record(msg.content["arrays"])
        payload, n, metrics = _train(cfg, weights, partition, server_round, mu)
        arrays: ArrayRecord = _to_record(payload)
        content = RecordDict({"arrays": arrays, "metrics": MetricRecord(_reply_metrics(partition, n, metrics))})
        return Message(content=content, reply_to=msg)

    return app


# ---------------------------------------------------------------------------------------------------- server
class _Log:
    """What the ServerApp records per round; written as ``<output>.json`` / ``.npz`` at the end."""

    def __init__(self, cfg: FederatedRunConfig) -> None:
        self.cfg = cfg
        self.clients = cfg.clients()
        self.test_x, self.test_y = fed.global_test_set(self.clients)
        self.rounds: list[dict[str, Any]] = []
        self.weights: dict[int, dict[str, np.ndarray]] = {}
        self.pending: dict[str, Any] = {}
        self.t0 = time.monotonic()

    def evaluate(self, server_round: int, weights: Mapping[str, np.ndarray]) -> dict[str, float]:
        if self.cfg.learner == "o1":
            res = fed.o1_evaluate(weights["w"], self.test_x, self.test_y, self.cfg.o1_config(),
                                  lif_config=self.cfg.o1_lif_config())
            res = {"accuracy": float(res["accuracy"]), "loss": float(res.get("loss", float("nan")))}
        else:
            res = {k: float(v) for k, v in fed.evaluate(weights, self.test_x, self.test_y).items()}
        self.weights[server_round] = {k: np.array(v, copy=True) for k, v in weights.items()}
        row = {"round": server_round, "accuracy": res["accuracy"], "loss": res["loss"],
               "seconds": round(time.monotonic() - self.t0, 3), **self.pending}
        self.pending = {}
        self.rounds.append(row)
        return res

    def replies(self, server_round: int, reported: Sequence[tuple[int, int, Mapping[str, Any]]],
                failures: list[str]) -> None:
        """``reported``: (partition, num_examples, metrics) per valid reply."""
        def mean(key: str) -> float:
            vals = [float(m[key]) for _, _, m in reported if key in m]
            return float(np.mean(vals)) if vals else float("nan")

        expected = set(range(self.cfg.num_clients))
        got = sorted(p for p, _, _ in reported)
        self.pending = {"reported": got, "num_examples": {str(p): n for p, n, _ in reported},
                        "missing": sorted(expected - set(got)), "failures": failures,
                        "client_loss": mean("client-loss"), "drift": mean("client-drift")}
        if len(got) < self.cfg.min_train_nodes:
            self.write(status="failed")
            raise RuntimeError(f"round {server_round}: {len(got)} of {self.cfg.num_clients} clients reported, the "
                               f"strategy needs at least min_train_nodes={self.cfg.min_train_nodes}")

    def write(self, status: str = "completed") -> None:
        if not self.cfg.output:
            return
        out = Path(self.cfg.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {f"r{r}/{k}": v for r, w in self.weights.items() for k, v in w.items()}
        np.savez(str(out.with_suffix(".npz")), **arrays)
        missing = sorted({p for row in self.rounds for p in row.get("missing", [])})
        doc = {"status": status, "config": asdict(self.cfg), "rounds": self.rounds, "dropped_clients": missing,
               "seconds": round(time.monotonic() - self.t0, 3)}
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(out.with_suffix(".json"))


def _fast_grid(grid: Grid) -> Grid:
    """``grid`` with a ``send_and_receive`` that pulls every 0.1 s instead of 3 s (same push/pull calls)."""
    from flwr.serverapp import Grid as GridBase

    class FastPollGrid(GridBase):
        def __init__(self, inner: Grid) -> None:
            self._inner = inner

        def set_run(self, run: Any) -> None:
            self._inner.set_run(run)

        @property
        def run(self) -> Any:
            return self._inner.run

        def create_message(self, content: Any, message_type: str, dst_node_id: int, group_id: str,
                           ttl: float | None = None) -> Any:
            return self._inner.create_message(content, message_type, dst_node_id, group_id, ttl)

        def get_node_ids(self) -> Iterable[int]:
            return self._inner.get_node_ids()

        def get_nodes(self) -> Any:
            return self._inner.get_nodes()

        def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
            return self._inner.push_messages(messages)

        def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
            return self._inner.pull_messages(message_ids)

        def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None
                             ) -> Iterable[Message]:
            ids = set(self.push_messages(messages))
            end = time.monotonic() + (timeout if timeout is not None else math.inf)
            got: list[Message] = []
            while ids and time.monotonic() < end:
                res = list(self.pull_messages(ids))
                got.extend(res)
                ids.difference_update(m.metadata.reply_to_message_id for m in res)
                if ids:
                    time.sleep(_POLL)
            return got

    return FastPollGrid(grid)


def _message_api_main(grid: Grid, cfg: FederatedRunConfig, log: _Log) -> None:
    from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
    from flwr.serverapp.strategy import FedAvg, FedProx, Strategy

    inner: FedAvg = (FedProx(fraction_evaluate=0.0, min_train_nodes=cfg.min_train_nodes,
                             min_available_nodes=cfg.min_train_nodes, proximal_mu=cfg.proximal_mu)
                     if cfg.strategy == "fedprox" else
                     FedAvg(fraction_evaluate=0.0, min_train_nodes=cfg.min_train_nodes,
                            min_available_nodes=cfg.min_train_nodes))

    class Recorded(Strategy):
        """Flower's FedAvg/FedProx, recording the replies; sign vote and O(1) aggregate with the refmodel."""

        def __init__(self) -> None:
            self.glob: dict[str, np.ndarray] = {}

        def summary(self) -> None:
            inner.summary()

        def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                            grid: Grid) -> Iterable[Message]:
            self.glob = _from_record(arrays)
            return inner.configure_train(server_round, arrays, config, grid)

        def aggregate_train(self, server_round: int, replies: Iterable[Message]
                            ) -> tuple[ArrayRecord | None, MetricRecord | None]:
            replies = list(replies)
            ok = [m for m in replies if not m.has_error()]
            failures = [f"node {m.metadata.src_node_id}: {m.error.reason}" for m in replies if m.has_error()]
            metrics_of: list[dict[str, Any]] = [dict(m.content["metrics"]) for m in ok]
            reported = [(int(m["partition-id"]), int(m["num-examples"]), m) for m in metrics_of]
            log.replies(server_round, reported, failures)
            if cfg.learner == "gradient" and cfg.strategy != "signvote":
                return inner.aggregate_train(server_round, ok)
            payloads = [_from_record(m.content["arrays"]) for m in ok]
            counts = [n for _, n, _ in reported]
            new: dict[str, np.ndarray]
            if cfg.learner == "o1":
                w = fed.aggregate_fixed_point([p["w"] for p in payloads], counts, cfg.o1_config())
                new = {"w": np.asarray(w, dtype=np.int64)}
            else:
                new = fed.server_update("signvote", self.glob, payloads, counts, server_lr=cfg.server_lr)
            counted: dict[str, Any] = {"num-reported": len(ok)}
            metrics = MetricRecord(counted)
            return _to_record(new), metrics

        def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                               grid: Grid) -> Iterable[Message]:
            return []

        def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
            return None

    def evaluate_fn(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        res: dict[str, Any] = log.evaluate(server_round, _from_record(arrays))
        return MetricRecord(res)

    init = cfg.o1_initial_weights() if cfg.learner == "o1" else cfg.initial_weights()
    Recorded().start(grid=grid, initial_arrays=_to_record(init), num_rounds=cfg.num_server_rounds,
                     timeout=cfg.round_timeout, evaluate_fn=evaluate_fn)


def _secure_main(grid: Grid, context: Context, cfg: FederatedRunConfig, log: _Log) -> None:
    from flwr.common import FitRes, Metrics, Parameters, ndarrays_to_parameters
    from flwr.server import LegacyContext, ServerConfig
    from flwr.server.client_proxy import ClientProxy
    from flwr.server.strategy import FedAvg as LegacyFedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

    names = sorted(cfg.initial_weights())
    state: dict[str, Any] = {"round": 0}

    def fit_config(server_round: int) -> dict[str, Any]:
        state["round"] = server_round
        return {"server-round": server_round, "proximal-mu": cfg.proximal_mu if cfg.strategy == "fedprox" else 0.0}

    def fit_metrics(results: list[tuple[int, Metrics]]) -> Metrics:
        reported: list[tuple[int, int, Mapping[str, Any]]] = [(int(m["partition-id"]), n, m) for n, m in results]
        log.replies(int(state["round"]), reported, [])
        return {"num-reported": len(results)}

    def evaluate_fn(server_round: int, ndarrays: list[np.ndarray], config: dict[str, Any]
                    ) -> tuple[float, dict[str, Any]]:
        if server_round > 0 and not log.pending:  # SecAgg+ halted: this round did not aggregate
            log.pending = {"reported": [], "missing": list(range(cfg.num_clients)),
                           "failures": ["secure aggregation halted"], "num_examples": {}}
        res = log.evaluate(server_round, dict(zip(names, ndarrays, strict=True)))
        return res["loss"], {"accuracy": res["accuracy"]}

    class Strict(LegacyFedAvg):
        """Legacy FedAvg that refuses rounds with fewer results than ``min_fit_clients``."""

        def aggregate_fit(self, server_round: int, results: list[tuple[ClientProxy, FitRes]],
                          failures: list[tuple[ClientProxy, FitRes] | BaseException]
                          ) -> tuple[Parameters | None, dict[str, Any]]:
            if len(results) < self.min_fit_clients:
                log.replies(server_round, [], [str(f) for f in failures])
            return super().aggregate_fit(server_round, results, failures)

    # every sampled client gets a share of every key (num_shares = 1.0, the proportion); min_train_nodes shares
    # (>= 2) reconstruct a key, so up to K - min_train_nodes clients may drop after the key exchange
    init = cfg.initial_weights()
    strategy = Strict(fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=cfg.min_train_nodes,
                      min_evaluate_clients=0, min_available_clients=cfg.min_train_nodes,
                      initial_parameters=ndarrays_to_parameters([init[k] for k in names]),
                      evaluate_fn=evaluate_fn, on_fit_config_fn=fit_config, fit_metrics_aggregation_fn=fit_metrics)
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=cfg.num_server_rounds,
                                                                round_timeout=cfg.round_timeout),
                           strategy=strategy)
    workflow = DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(
        num_shares=1.0, reconstruction_threshold=cfg.min_train_nodes, max_weight=cfg.max_weight,
        clipping_range=cfg.clipping_range, quantization_range=cfg.quantization_range, timeout=cfg.round_timeout))
    workflow(grid, legacy)


def make_server_app() -> ServerApp:
    """The ServerApp (module docstring): message-API FedAvg/FedProx/sign vote/O(1), or SecAgg+ FedAvg."""
    _require_flwr("make_server_app")
    from flwr.serverapp import ServerApp

    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = FederatedRunConfig.from_run_config(context.run_config)
        log = _Log(cfg)
        fast = _fast_grid(grid)
        if cfg.secure:
            _secure_main(fast, context, cfg, log)
        else:
            _message_api_main(fast, cfg, log)
        log.write()

    return app


# ---------------------------------------------------------------------------------------------------- replay
def load_result(output: str | Path) -> tuple[dict[str, Any], dict[int, dict[str, np.ndarray]]]:
    """The ServerApp's ``<output>.json`` and the global weights per round from ``<output>.npz``."""
    stem = Path(output)
    doc = json.loads(stem.with_suffix(".json").read_text())
    weights: dict[int, dict[str, np.ndarray]] = {}
    with np.load(stem.with_suffix(".npz")) as z:
        for key in z.files:
            r, name = key.split("/", 1)
            weights.setdefault(int(r[1:]), {})[name] = z[key]
    return doc, weights


def replay_rounds(cfg: FederatedRunConfig, doc: Mapping[str, Any], weights: Mapping[int, Mapping[str, np.ndarray]]
                  ) -> list[dict[str, float]]:
    """Recompute every round in process on the same client updates: from the Flower run's global weights of
    round ``r - 1``, the clients that reported in round ``r`` train with the same seeds and the reference
    :func:`~plasticore.refmodel.federated.server_update` aggregates them; per round the largest
    ``|w_flower - w_reference|`` and, for secure runs, :func:`secaggplus_bound` for that round's clients."""
    clients = cfg.clients()
    out: list[dict[str, float]] = []
    for row in doc["rounds"]:
        r = int(row["round"])
        if r == 0:
            continue
        prev = weights[r - 1]
        payloads: list[Mapping[str, Any] | None] = []
        counts: list[int] = []
        reported = set(row.get("reported", []))
        for k in range(cfg.num_clients):
            if k not in reported:
                payloads.append(None)
                counts.append(int(clients[k].labels.shape[0]))
                continue
            mu = cfg.proximal_mu if cfg.strategy == "fedprox" else 0.0
            seed = fed.client_seed(cfg.seed, r - 1, k)
            if cfg.learner == "o1":
                new, n, _ = fed.o1_local_update(np.asarray(prev["w"], dtype=np.int64), clients[k], cfg.o1_config(),
                                                seed=seed, epochs=cfg.epochs, reward=cfg.o1_reward(),
                                                lif_config=cfg.o1_lif_config())
                payloads.append({"w": new})
            else:
                glob = {n_: np.asarray(v, dtype=np.float64) for n_, v in prev.items()}
                local, n, _ = fed.local_update(glob, clients[k], epochs=cfg.epochs, lr=cfg.lr, mu=mu, seed=seed,
                                               batch_size=cfg.batch_size)
                payloads.append(fed.client_payload(cfg.strategy, local, glob))
            counts.append(int(n))
        if not reported:
            ref: Mapping[str, Any] = prev
        elif cfg.learner == "o1":
            ref = {"w": fed.aggregate_fixed_point([p["w"] for p in payloads if p is not None],
                                                  [c for p, c in zip(payloads, counts, strict=True) if p is not None],
                                                  cfg.o1_config())}
        else:
            ref = fed.server_update(cfg.strategy, prev, payloads, counts, server_lr=cfg.server_lr)
        diff = max(float(np.max(np.abs(np.asarray(weights[r][k], dtype=np.float64) - np.asarray(ref[k]))))
                   for k in ref)
        entry = {"round": float(r), "max_abs_diff": diff}
        if cfg.secure and reported:
            p_max = max(float(np.max(np.abs(v))) for p in payloads if p is not None for v in p.values())
            entry["bound"] = secaggplus_bound([c for p, c in zip(payloads, counts, strict=True) if p is not None],
                                              max_abs_param=p_max, clipping_range=cfg.clipping_range,
                                              quantization_range=cfg.quantization_range, max_weight=cfg.max_weight)
        out.append(entry)
    return out


# ---------------------------------------------------------------------------------------------------- driver
APP_DIR = Path(__file__).resolve().parent / "flower_app"
"""The app directory that ``flwr run`` ships (``pyproject.toml`` + ``plasticore_flower_app.py``)."""


def run_on(deployment: Any, cfg: FederatedRunConfig, *, drop_client: int | None = None, drop_round: int = 2,
           timeout: float | None = None, name: str = "run") -> dict[str, Any]:
    """Run ``cfg`` on a started :class:`~plasticore.engines.flower_deploy.FlowerDeployment` and collect the result.

    With ``drop_client = k`` the ClientApp of partition ``k`` holds at the start of round ``drop_round`` (see
    :class:`FederatedRunConfig`) and this function SIGKILLs that SuperNode with its ClientApp while the round is
    in progress; the strategy goes on with the others if at least ``min_train_nodes`` report. Returns the
    ServerApp's record (``rounds``, ``dropped_clients``, ...) plus ``run`` (id, status, seconds), ``killed``
    (the partitions whose node was killed), ``replay`` (:func:`replay_rounds`), ``initial_weights`` and
    ``final_weights`` (the global model before round 1 and after the last round)."""
    import dataclasses
    import threading

    from plasticore.engines.flower_deploy import FlowerDeploymentError

    if not cfg.output:
        cfg = dataclasses.replace(cfg, output=str(deployment.workdir / name / "result"))
    if drop_client is not None:
        if not 0 <= drop_client < cfg.num_clients:
            raise ValueError(f"drop_client must be in 0..{cfg.num_clients - 1}, not {drop_client}")
        cfg = dataclasses.replace(cfg, hold_partition=drop_client, hold_round=min(drop_round, cfg.num_server_rounds))
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".npz", ".hold"):
        out.with_suffix(suffix).unlink(missing_ok=True)
    Path(cfg.output + ".hold").unlink(missing_ok=True)
    stages = 5 if cfg.secure else 1
    if timeout is None:
        timeout = 60.0 + cfg.num_server_rounds * stages * (cfg.round_timeout + 10.0)
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        hold = Path(cfg.output + ".hold")
        while not stop.is_set():
            if hold.exists():
                deployment.kill_node(cfg.hold_partition)
                killed.append(cfg.hold_partition)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=killer, daemon=True) if drop_client is not None else None
    if watcher is not None:
        watcher.start()
    try:
        run = deployment.run(APP_DIR, cfg.to_run_config(), timeout=timeout, name=name)
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(timeout=15)
    if not out.with_suffix(".json").exists():
        raise FlowerDeploymentError(f"run {run.run_id} ({run.status}:{run.sub_status}) wrote no result; log "
                                    f"{run.log}")
    doc, weights = load_result(cfg.output)
    doc["run"] = {"run_id": run.run_id, "status": run.status, "sub_status": run.sub_status,
                  "seconds": round(run.seconds, 2), "log": str(run.log)}
    doc["killed"] = killed
    doc["replay"] = replay_rounds(cfg, doc, weights)
    doc["initial_weights"] = weights[0]
    doc["final_weights"] = weights[max(weights)]
    return doc
