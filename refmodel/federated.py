"""Federated learning, in process: FedAvg, FedProx, signSGD majority vote, fixed-point and secure aggregation.

This is the pure, in-process reference (house style 16): the Flower engine (:mod:`plasticore.engines`) calls
the same client and server functions (:func:`local_update`, :func:`client_payload`, :func:`server_update`,
:func:`client_seed`, :func:`server_seed`) and must give the same numbers.

**FedAvg** (McMahan, Moore, Ramage, Hampson & Aguera y Arcas 2017, *Communication-efficient learning of deep
networks from decentralized data*, AISTATS): each client ``k`` trains from the global weights ``w`` on its
``n_k`` examples and the server takes the example-weighted mean

.. math::

    w \\leftarrow \\sum_k \\frac{n_k}{N} w_k, \\qquad N = \\sum_k n_k

(:func:`fedavg`, computed as ``sum_k (n_k / N) w_k`` in float64 in client order, so one client gives its
weights bit for bit).

**FedProx** (Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith 2020, *Federated optimization in heterogeneous
networks*, MLSys): the local objective gets the proximal term ``mu/2 ||w - w_global||^2``, i.e. the gradient
``g + mu (w - w_global)`` (:class:`FedProx`, a gradient transform of :mod:`plasticore.refmodel.transforms`);
``mu = 0`` is FedAvg. The server step is FedAvg's.

**signSGD with majority vote** (Bernstein, Zhao, Azizzadenesheli & Anandkumar 2019, *signSGD with majority vote
is communication efficient and fault tolerant*, ICLR; arXiv 2018): clients send one sign per weight and the
server broadcasts the sign of their sum, ``sign(sum_k sign(g_k))`` (a tie gives 0; :func:`sign_vote`). Here the
clients send the sign of their local *update*, ``sign(w_k - w)`` (the direction of descent of their local
training), and the server steps ``w <- w + eta_s * vote`` with the server learning rate ``eta_s`` (equivalently
``w <- w - eta_s * sign_vote(sign(w - w_k))`` in the gradient convention of the paper).

**Fixed-point aggregation** (:func:`aggregate_fixed_point`) for the integer weights of the on-chip O(1) rule
(:mod:`plasticore.refmodel.online_o1`): the exact rational weighted mean rounded half up, in integers only.
The federated O(1) learner (:func:`run_inprocess_fixed_point`) has its own task variant and configuration,
:func:`o1_task_preset` (fewer inputs, steps and noise than the gradient learner's task, which it does not learn),
and starts from :func:`o1_initial_weights`.

**Secure aggregation** (Bonawitz et al. 2017, :mod:`plasticore.refmodel.secure_aggregation`): with
``secure=True`` the server only learns the sum of the clients' clipped, quantized messages.

**The task** (:func:`make_spiking_classification`): ``n_classes`` Poisson-rate patterns over ``n_in`` inputs.
Class ``c`` has a set ``A_c`` of ``a = max(1, n_in // n_classes)`` inputs (disjoint, from a seeded permutation);
at every step input ``i`` of a sample of class ``c`` spikes with probability ``p_on = 0.2`` if ``i in A_c`` and
``p_off = 0.1`` otherwise (Bernoulli, the discrete-time Poisson process). Clients differ in their label
distribution: ``iid`` (uniform), ``dirichlet`` (``p_k ~ Dir(alpha 1)``, Hsu, Qi & Brown 2019) or ``two_class``
(client ``k`` holds classes ``k mod C`` and ``(k + 1) mod C`` in equal parts, the pathological non-IID split of
McMahan et al.). Each client also has a local test split of the same distribution; the global test set
(:func:`global_test_set`) is their union. The model (:func:`make_network`) is a feed-forward
:class:`~plasticore.refmodel.lif.LIFNetwork` trained with BPTT on the cross-entropy of the time-summed readout
by plain SGD (no optimizer state, so a round of local training depends only on the global weights, the data
and the seed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import Enum
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._validate import check_array, check_count, check_enum, check_real, check_seed
from .gradient_learners import BPTTLearner
from .lif import LIFNetwork
from .losses import accuracy, cross_entropy_loss
from .o1_network import FixedLIFConfig, OnlineO1Network
from .o1_tasks import random_weights
from .online_o1 import OnlineO1Config
from .optimizers import SGD
from .secure_aggregation import secure_sum_protocol

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "STRATEGIES",
    "ClientData",
    "FedProx",
    "FederatedAggregator",
    "FederatedHistory",
    "FixedPointHistory",
    "O1TaskPreset",
    "Partition",
    "Strategy",
    "aggregate_fixed_point",
    "client_drift",
    "client_payload",
    "client_seed",
    "default_o1_lif_config",
    "evaluate",
    "fedavg",
    "global_test_set",
    "local_update",
    "make_network",
    "make_spiking_classification",
    "o1_evaluate",
    "o1_initial_weights",
    "o1_local_update",
    "o1_task_preset",
    "run_inprocess",
    "run_inprocess_fixed_point",
    "server_seed",
    "server_update",
    "sign_vote",
]

P_ON = 0.2
P_OFF = 0.1
TAU_MEM = 10.0
TAU_OUT = 10.0


class Strategy(str, Enum):
    """The server rule: ``fedavg``, ``fedprox`` (FedAvg's server, proximal clients) or ``signvote``."""

    FEDAVG = "fedavg"
    FEDPROX = "fedprox"
    SIGNVOTE = "signvote"


STRATEGIES: tuple[str, ...] = tuple(s.value for s in Strategy)


class Partition(str, Enum):
    """How labels are spread over clients (module docstring)."""

    IID = "iid"
    DIRICHLET = "dirichlet"
    TWO_CLASS = "two_class"


class ClientData(NamedTuple):
    """One client's data: ``inputs`` (T, B, n_in) 0/1 float64 spikes, ``labels`` (B,) int64, a local test split
    ``test_inputs`` (T, B_test, n_in) / ``test_labels`` (B_test,), and ``n_classes`` (the task's, not the client's)."""

    inputs: Array
    labels: IntArray
    test_inputs: Array
    test_labels: IntArray
    n_classes: int


class FixedPointHistory(NamedTuple):
    """Result of :func:`run_inprocess_fixed_point`: global test ``accuracy`` (``R + 1`` entries, index 0 the
    initial weights), per round the mean online ``client_accuracy`` of the clients, the final integer
    ``weights`` ``(n_classes, n_in)``."""

    accuracy: list[float]
    client_accuracy: list[float]
    weights: IntArray


class FederatedHistory(NamedTuple):
    """Result of :func:`run_inprocess`.

    ``accuracy`` / ``loss``: global test accuracy and loss, ``R + 1`` entries (index 0 is the initial model,
    index ``r`` after round ``r``); ``reported``: per round the clients whose message the server used;
    ``client_loss``: per round the mean training loss of the reporting clients' final local weights;
    ``drift``: per round ``mean_k ||w_k - w_global||_2`` (all weights as one vector) of the local models from
    the global model they started at; ``weights``: the final global weights; ``dropped``: the clients that
    dropped out.
    """

    accuracy: list[float]
    loss: list[float]
    reported: list[tuple[int, ...]]
    client_loss: list[float]
    drift: list[float]
    weights: dict[str, Array]
    dropped: tuple[int, ...]


# ---- checks ---------------------------------------------------------------------------------------------

def _weight_dict(name: str, value: object, like: Mapping[str, Array] | None = None) -> dict[str, Array]:
    """``value`` as a dict of float64 arrays (copies), with the keys and shapes of ``like`` if given."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of arrays, not {type(value).__name__}")
    if like is not None and set(value) != set(like):
        raise ValueError(f"{name} must have the keys {sorted(like)}, not {sorted(value)}")
    if not value:
        raise ValueError(f"{name} must hold at least one array, not an empty dict")
    out: dict[str, Array] = {}
    for k in (like if like is not None else value):
        a = np.array(check_array(f"{name}[{k!r}]", value[k]), dtype=np.float64, copy=True)
        if like is not None and a.shape != like[k].shape:
            raise ValueError(f"{name}[{k!r}] must have shape {like[k].shape}, not {a.shape}")
        out[str(k)] = a
    return out


def _dict_list(name: str, value: object) -> list[dict[str, Array]]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of weight dicts (one per client), not {type(value).__name__}")
    if len(value) < 1:
        raise ValueError(f"{name} must hold at least one client's dict, not 0")
    first = _weight_dict(f"{name}[0]", value[0])
    return [first] + [_weight_dict(f"{name}[{k}]", v, first) for k, v in enumerate(value) if k > 0]


def _counts(name: str, value: object, n: int) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of ints >= 1, not {type(value).__name__}")
    if len(value) != n:
        raise ValueError(f"{name} must have one count per client ({n}), not {len(value)}")
    return [check_count(f"{name}[{k}]", c, 1) for k, c in enumerate(value)]


# ---- aggregation rules ---------------------------------------------------------------------------------

def fedavg(updates: Sequence[Mapping[str, npt.ArrayLike]], num_examples: Sequence[int]) -> dict[str, Array]:
    """FedAvg's server step: ``sum_k (n_k / N) w_k`` with ``N = sum_k n_k`` (module docstring), float64.

    ``updates``: one weight dict per client, all with the same keys and shapes; ``num_examples``: ``n_k``,
    ints >= 1, one per client.
    """
    ws = _dict_list("updates", updates)
    ns = _counts("num_examples", num_examples, len(ws))
    total = sum(ns)
    out = {k: np.zeros_like(v) for k, v in ws[0].items()}
    for w, n in zip(ws, ns, strict=True):
        p = n / total
        for k in out:
            out[k] += p * w[k]
    return out


class FedProx:
    """FedProx's proximal gradient transform (Li et al. 2020): ``g <- g + mu (w - w_global)``.

    The gradient of ``L(w) + mu/2 ||w - w_global||^2``. ``mu`` in ``[0, inf)``; ``mu = 0`` returns the gradient
    unchanged (FedAvg's local step). ``global_weights`` (copied) is the model the round started from. With SGD
    at rate ``eta`` the proximal part of a step is ``-eta mu (w - w_global)``, stable for ``eta mu < 2``.
    """

    def __init__(self, mu: float, global_weights: Mapping[str, npt.ArrayLike]) -> None:
        self.mu = check_real("mu", mu, 0.0, None)
        self.global_weights = _weight_dict("global_weights", global_weights)

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        """``grads + mu (weights - global_weights)`` (new arrays; ``weights`` is not modified)."""
        g = _weight_dict("grads", grads, self.global_weights)
        if self.mu == 0.0:
            return g
        w = _weight_dict("weights", weights, self.global_weights)
        return {k: g[k] + self.mu * (w[k] - self.global_weights[k]) for k in g}

    def __repr__(self) -> str:
        return f"FedProx(mu={self.mu!r})"


def _vote(arrays: Sequence[Array]) -> Array:
    total = np.zeros_like(arrays[0])
    for a in arrays:
        total += np.sign(a)
    return np.sign(total)


def sign_vote(gradients: Sequence[Mapping[str, npt.ArrayLike]]) -> dict[str, Array]:
    """Majority vote of signs (Bernstein et al. 2018): ``sign(sum_k sign(g_k))`` per entry, float64 in
    ``{-1, 0, 1}``; an equal number of ``+`` and ``-`` votes (a tie; zero entries vote 0) gives 0."""
    gs = _dict_list("gradients", gradients)
    return {k: _vote([g[k] for g in gs]) for k in gs[0]}


class FederatedAggregator:
    """The server's aggregation rules, on plain arrays and weight dicts.

    ``threshold``, ``clip``, ``bits`` and ``seed`` are the defaults of :meth:`secure_sum_protocol`
    (``threshold=None``: ``n // 2 + 1`` of the ``n`` clients of the call).
    """

    def __init__(self, *, threshold: int | None = None, clip: float = 1.0, bits: int = 32, seed: int = 0) -> None:
        self.threshold = None if threshold is None else check_count("threshold", threshold, 1)
        self.clip = check_real("clip", clip, 0.0, None, lo_open=True)
        self.bits = check_count("bits", bits, 2, 62)
        self.seed = check_seed("seed", seed)

    def aggregate_gradients(self, gradients: list[npt.ArrayLike]) -> Array:
        """Majority vote of signs on plain arrays (:func:`sign_vote`): ``sign(sum_k sign(g_k))``, ties 0."""
        if isinstance(gradients, (str, bytes, np.ndarray)) or not isinstance(gradients, Sequence):
            raise TypeError(f"gradients must be a list of arrays, not {type(gradients).__name__}")
        if len(gradients) < 1:
            raise ValueError("gradients must hold at least one array, not 0")
        arrays = [check_array(f"gradients[{k}]", g) for k, g in enumerate(gradients)]
        for k, a in enumerate(arrays):
            if a.shape != arrays[0].shape:
                raise ValueError(f"gradients[{k}] must have the shape of gradients[0] {arrays[0].shape}, not {a.shape}")
        return _vote(arrays)

    def fedavg(self, updates: Sequence[Mapping[str, npt.ArrayLike]], num_examples: Sequence[int]) -> dict[str, Array]:
        """:func:`fedavg`."""
        return fedavg(updates, num_examples)

    def secure_sum_protocol(self, updates: Sequence[npt.ArrayLike | None], *, threshold: int | None = None,
                            clip: float | None = None, bits: int | None = None, seed: int | None = None,
                            drop: Sequence[int] = ()) -> Array:
        """The sum of the surviving clients' clipped updates by secure aggregation
        (:func:`plasticore.refmodel.secure_aggregation.secure_sum`); ``None`` takes the aggregator's default."""
        n = len(updates)
        t = threshold if threshold is not None else self.threshold if self.threshold is not None else n // 2 + 1
        return secure_sum_protocol(updates, threshold=t, clip=self.clip if clip is None else clip,
                                   bits=self.bits if bits is None else bits, seed=self.seed if seed is None else seed,
                                   drop=drop).sum


def _int_weights(name: str, value: object, config: OnlineO1Config, shape: tuple[int, ...] | None) -> IntArray:
    a = np.asarray(value)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array (fixed-point O(1) weights), not dtype {a.dtype}")
    if a.ndim != 2 or (shape is not None and a.shape != shape):
        want = "(n_post, n_pre)" if shape is None else str(shape)
        raise ValueError(f"{name} must have shape {want}, not {a.shape}")
    if a.size and (int(a.min()) < 0 or int(a.max()) > config.max_weight):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise ValueError(f"{name} must be in 0..{config.max_weight} (config.max_weight), not containing {bad}")
    return a.astype(np.int64)


def aggregate_fixed_point(weights: Sequence[npt.ArrayLike], num_examples: Sequence[int], config: OnlineO1Config,
                          *, global_weights: npt.ArrayLike | None = None,
                          server_lr: int | Fraction = 1) -> IntArray:
    """FedAvg of fixed-point O(1) weights, in exact integer arithmetic.

    With ``g`` = ``global_weights`` (default 0), ``d_k = w_k - g`` and the server rate ``eta`` (an int or a
    ``fractions.Fraction`` > 0, default 1),

    .. math::

        w = \\operatorname{sat}_{[0, 2^W - 1]}\\Big(g + \\big\\lfloor \\eta \\frac{\\sum_k n_k d_k}{N}
            + \\frac{1}{2} \\big\\rfloor\\Big), \\qquad N = \\sum_k n_k,

    i.e. the exact rational rounded half up (toward ``+inf`` at a half: ``2.5 -> 3``, ``-2.5 -> -2``), as
    ``floor((2 a S + b N) / (2 b N))`` for ``eta = a / b`` in integers (int64, or Python ints when the sums
    could exceed 62 bits), never a float. With ``eta = 1`` this is ``round_half_up(sum n_k w_k / N)`` for any
    ``g``, which lies in the weight range; ``eta > 1`` (a server step larger than the mean update, as in
    FedOpt, Reddi et al. 2021) can leave it and is saturated at both ends. Weights are ``(n_post, n_pre)``
    integers in ``0..config.max_weight``; ``num_examples`` ints >= 1. Returns int64.
    """
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    if isinstance(weights, (str, bytes, np.ndarray)) or not isinstance(weights, Sequence):
        raise TypeError(f"weights must be a sequence of integer arrays (one per client), not {type(weights).__name__}")
    if len(weights) < 1:
        raise ValueError("weights must hold at least one client's array, not 0")
    first = _int_weights("weights[0]", weights[0], config, None)
    ws = [first] + [_int_weights(f"weights[{k}]", w, config, first.shape) for k, w in enumerate(weights) if k > 0]
    ns = _counts("num_examples", num_examples, len(ws))
    g = (np.zeros_like(first) if global_weights is None
         else _int_weights("global_weights", global_weights, config, first.shape))
    if isinstance(server_lr, bool) or not isinstance(server_lr, (int, np.integer, Fraction)) or server_lr <= 0:
        raise ValueError(f"server_lr must be an int or Fraction > 0, not {server_lr!r}")
    lr = Fraction(int(server_lr)) if isinstance(server_lr, (int, np.integer)) else server_lr
    a, b, big_n = lr.numerator, lr.denominator, sum(ns)
    # |2 a S + b N| <= 2 a N max_weight + b N: int64 if that fits in 62 bits, else exact Python ints
    exact: Any = np.int64 if (2 * a * config.max_weight + b) * big_n < (1 << 62) else object
    s = np.zeros(first.shape, dtype=exact)
    for w, n in zip(ws, ns, strict=True):
        s = s + (w - g).astype(exact) * n
    delta = (2 * a * s + b * big_n) // (2 * b * big_n)  # floor division: floors for negatives too
    out = np.clip(g.astype(exact) + delta, 0, config.max_weight)
    return np.asarray(out, dtype=np.int64)


# ---- the task -----------------------------------------------------------------------------------------

def make_spiking_classification(n_clients: int, *, partition: str | Partition = "iid", alpha: float = 0.5,
                                n_classes: int = 4, n_in: int = 20, n_steps: int = 20, samples_per_client: int = 40,
                                test_per_client: int = 20, p_on: float = P_ON, p_off: float = P_OFF,
                                seed: int = 0) -> list[ClientData]:
    """Poisson-rate spike patterns per class, partitioned over ``n_clients`` clients (module docstring).

    ``partition``: ``"iid"``, ``"dirichlet"`` (concentration ``alpha`` > 0) or ``"two_class"``;
    ``n_classes`` 2..n_in; ``n_in``, ``n_steps``, ``samples_per_client``, ``test_per_client`` >= 1; the spike
    probabilities per step ``p_on`` (inputs of the class, default 0.2) and ``p_off`` (the others, default 0.1)
    in ``[0, 1]``. Everything
    comes from ``numpy.random.default_rng(seed)`` in a fixed order (class inputs, then per client: label
    distribution, training labels and spikes, test labels and spikes), so the data depend only on the arguments.
    """
    n_c = check_count("n_clients", n_clients, 1)
    part = check_enum("partition", Partition, partition)
    a = check_real("alpha", alpha, 0.0, None, lo_open=True)
    n_in_ = check_count("n_in", n_in, 1)
    n_cls = check_count("n_classes", n_classes, 2, max(2, n_in_))
    if n_cls > n_in_:
        raise ValueError(f"n_classes must be an int 2..n_in = {n_in_}, not {n_cls}")
    n_t = check_count("n_steps", n_steps, 1)
    b = check_count("samples_per_client", samples_per_client, 1)
    b_test = check_count("test_per_client", test_per_client, 1)
    on = check_real("p_on", p_on, 0.0, 1.0)
    off = check_real("p_off", p_off, 0.0, 1.0)
    rng = np.random.default_rng(check_seed("seed", seed))
    per = max(1, n_in_ // n_cls)
    perm = rng.permutation(n_in_)
    rates = np.full((n_cls, n_in_), off)
    for c in range(n_cls):
        rates[c, perm[c * per:(c + 1) * per]] = on

    def draw(p: Array, n: int) -> tuple[Array, IntArray]:
        labels = rng.choice(n_cls, size=n, p=p).astype(np.int64)
        spikes = (rng.random((n_t, n, n_in_)) < rates[labels][None]).astype(np.float64)
        return spikes, labels

    clients = []
    for k in range(n_c):
        if part is Partition.IID:
            p = np.full(n_cls, 1.0 / n_cls)
        elif part is Partition.DIRICHLET:
            p = rng.dirichlet(np.full(n_cls, a))
        else:
            p = np.zeros(n_cls)
            p[[k % n_cls, (k + 1) % n_cls]] = 0.5
        x, y = draw(p, b)
        xt, yt = draw(p, b_test)
        clients.append(ClientData(x, y, xt, yt, n_cls))
    return clients


def _check_client(name: str, data: object) -> ClientData:
    if not isinstance(data, ClientData):
        raise TypeError(f"{name} must be a ClientData (from make_spiking_classification), not {type(data).__name__}")
    return data


def global_test_set(clients: Sequence[ClientData]) -> tuple[Array, IntArray]:
    """The union of the clients' local test splits: inputs concatenated along the batch axis in client order."""
    if isinstance(clients, (str, bytes)) or not isinstance(clients, Sequence) or len(clients) < 1:
        raise ValueError(f"clients must be a non-empty list of ClientData, not {clients!r:.60}")
    cs = [_check_client(f"clients[{k}]", c) for k, c in enumerate(clients)]
    return (np.concatenate([c.test_inputs for c in cs], axis=1),
            np.concatenate([c.test_labels for c in cs]).astype(np.int64))


def make_network(seed: int = 0, *, n_in: int = 20, n_rec: int = 32, n_out: int = 4) -> LIFNetwork:
    """The task's model: a feed-forward :class:`LIFNetwork` ``n_in -> n_rec -> n_out`` with
    ``tau_mem = tau_out = 10`` steps, weights from ``seed``."""
    return LIFNetwork(n_in, n_rec, n_out, recurrent=False, tau_mem=TAU_MEM, tau_out=TAU_OUT,
                      seed=check_seed("seed", seed))


def _network_for(weights: Mapping[str, Array]) -> LIFNetwork:
    """A :func:`make_network` network whose weights are (copies of) ``weights``."""
    if "w_in" not in weights or "w_out" not in weights:
        raise ValueError(f"weights must have the keys ['w_in', 'w_out'] (and optionally 'w_rec'), "
                         f"not {sorted(weights)}")
    n_rec, n_in = weights["w_in"].shape
    net = LIFNetwork(n_in, n_rec, weights["w_out"].shape[0], recurrent="w_rec" in weights, tau_mem=TAU_MEM,
                     tau_out=TAU_OUT, seed=0)
    net.load_state_dict(_weight_dict("weights", weights, net.weights))
    return net


def evaluate(weights: Mapping[str, npt.ArrayLike], data_inputs: npt.ArrayLike,
             data_labels: npt.ArrayLike) -> dict[str, float]:
    """``{"loss", "accuracy"}``: mean cross-entropy of the time-summed readout and the fraction of samples whose
    argmax is the label, of the network with ``weights`` on ``data_inputs`` (T, B, n_in), ``data_labels`` (B,)."""
    net = _network_for(_weight_dict("weights", weights))
    x = net.check_inputs(check_array("data_inputs", data_inputs))
    y = np.asarray(data_labels)
    if y.dtype.kind not in "iu" or y.shape != (x.shape[1],):
        raise ValueError(f"data_labels must be integers of shape ({x.shape[1]},), not {y.dtype} {y.shape}")
    rec, _ = net.forward(x)
    return {"loss": cross_entropy_loss(rec.y.sum(axis=0), y.astype(np.int64)), "accuracy": accuracy(rec.y, y)}


def client_drift(local: Mapping[str, Array], global_weights: Mapping[str, Array]) -> float:
    """``||w_local - w_global||_2`` over all weights as one vector."""
    g = _weight_dict("global_weights", global_weights)
    w = _weight_dict("local", local, g)
    return math.sqrt(sum(float(np.vdot(w[k] - g[k], w[k] - g[k])) for k in g))


def local_update(weights: Mapping[str, npt.ArrayLike], data: ClientData, *, epochs: int = 1, lr: float = 0.03,
                 mu: float = 0.0, seed: int = 0, batch_size: int = 10) -> tuple[dict[str, Array], int,
                                                                                  dict[str, float]]:
    """A client's local training: ``epochs`` passes of minibatch SGD (rate ``lr`` > 0, batches of
    ``batch_size`` in an order drawn from ``numpy.random.default_rng(seed)``) with a
    :class:`~plasticore.refmodel.gradient_learners.BPTTLearner` on the cross-entropy, starting from
    ``weights`` (not modified), with the :class:`FedProx` transform ``mu (w - weights)`` when ``mu > 0``.

    Returns ``(new weights, n_examples, {"loss", "accuracy", "train_loss"})``: ``loss`` / ``accuracy`` of the
    new weights on the client's training data, ``train_loss`` the mean of the step losses.
    """
    d = _check_client("data", data)
    w0 = _weight_dict("weights", weights)
    n_ep = check_count("epochs", epochs, 1)
    rate = check_real("lr", lr, 0.0, None, lo_open=True)
    m = check_real("mu", mu, 0.0, None)
    bs = check_count("batch_size", batch_size, 1)
    rng = np.random.default_rng(check_seed("seed", seed))
    net = _network_for(w0)
    learner = BPTTLearner(net, loss="cross_entropy", optimizer=SGD(rate),
                          transforms=[FedProx(m, w0)] if m > 0 else [])
    n = d.labels.shape[0]
    losses: list[float] = []
    for _ in range(n_ep):
        order = rng.permutation(n)
        for s in range(0, n, bs):
            idx = order[s:s + bs]
            losses.append(learner.train_step(d.inputs[:, idx], d.labels[idx]))
    new = net.state_dict()
    metrics = evaluate(new, d.inputs, d.labels)
    metrics["train_loss"] = float(np.mean(losses))
    return new, n, metrics


# ---- fixed-point O(1) clients -------------------------------------------------------------------------

def default_o1_lif_config(config: OnlineO1Config) -> FixedLIFConfig:
    """Integer LIF neurons for the O(1) clients, those of
    :func:`~plasticore.refmodel.o1_tasks.small_task_setup` scaled to the weight width: membrane
    ``max(16, W + 8)`` bits (at most 32), leak ``1/2`` per step, threshold ``2^(W-1)`` (128 for ``W = 8``),
    reset to zero, all weights excitatory (``weight_offset = 0``)."""
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    return FixedLIFConfig(membrane_bits=min(32, max(16, config.weight_bits + 8)), leak_shift=1,
                          threshold=1 << (config.weight_bits - 1), reset="zero", weight_offset=0)


class O1TaskPreset(NamedTuple):
    """A task variant and a fixed-point configuration on which the federated O(1) learner learns
    (:func:`o1_task_preset`); both engines use it for ``learner = "o1"``.

    ``n_in``, ``n_steps``, ``p_on``, ``p_off``: the arguments of :func:`make_spiking_classification` (the other
    task arguments, ``n_classes``, partition, sizes, seed, are the run's); ``config`` / ``lif_config``: the O(1)
    rule and the integer LIF neurons; ``reward``: the SPIKING reward magnitude of :func:`o1_local_update`.
    """

    n_in: int
    n_steps: int
    p_on: float
    p_off: float
    config: OnlineO1Config
    lif_config: FixedLIFConfig
    reward: int

    def task_kwargs(self) -> dict[str, int | float]:
        """``{"n_in", "n_steps", "p_on", "p_off"}`` for :func:`make_spiking_classification`."""
        return {"n_in": self.n_in, "n_steps": self.n_steps, "p_on": self.p_on, "p_off": self.p_off}


def o1_task_preset() -> O1TaskPreset:
    """The O(1) learner's task and configuration: the task of
    :func:`~plasticore.refmodel.o1_tasks.small_task_setup` (16 inputs, 8 steps, 4 inputs per class firing with
    ``p_on = 0.5``) with a little noise, ``p_off = 0.02`` on every other input; the O(1) rule ``W = T = R = 8``,
    ``L = 7`` (``large_task_setup``'s smaller step), ``s = 1``; neurons ``V = 16``, leak ``1/4`` per step
    (``k = 2``), ``theta = 128``, reset to zero, all weights excitatory; reward 64. Initial weights:
    :func:`o1_initial_weights` (uniform in ``0..255``).

    Why not the gradient learner's task (``n_in = 20``, 20 steps, ``p_on = 0.2``, ``p_off = 0.1``): the rule
    credits every input that spiked shortly before a post spike (a decaying eligibility, leaky neurons that
    integrate over a few steps), and there 15 noise inputs at 0.1 give 60 % of those spikes against 40 % from
    the 5 class inputs at 0.2, so the weight changes mostly follow noise: measured 0.12 -> 0.10, 0.25, 0.28
    over 3 rounds with the default :class:`OnlineO1Config` (``W = 16``, ``L = 4``) and 0.05 -> 0.42, 0.43, 0.25
    with the small-task rule at ``p_on = 0.5``, ``p_off = 0.1`` (3 clients, two classes each, seed 0).
    With this preset, 3 clients with two classes each (classes ``k, k + 1 mod 4``, class 3 never occurs),
    seeds 0..7 (data and initial weights), :func:`run_inprocess_fixed_point` measured 0.10 -> 0.69, 0.82, 0.91
    (means; after round 3 every seed 0.87..0.93); ``p_off = 0.05`` plateaus near 0.7 on that split.
    """
    return O1TaskPreset(
        n_in=16, n_steps=8, p_on=0.5, p_off=0.02,
        config=OnlineO1Config(weight_bits=8, trace_bits=8, reward_bits=8, learning_shift=7, trace_decay_shift=1),
        lif_config=FixedLIFConfig(membrane_bits=16, leak_shift=2, threshold=128, reset="zero", weight_offset=0),
        reward=64)


def o1_initial_weights(config: OnlineO1Config, n_in: int, n_classes: int, seed: int) -> IntArray:
    """The global O(1) model both engines start from: ``(n_classes, n_in)`` integers uniform in
    ``0..config.max_weight`` from ``numpy.random.default_rng(seed)``
    (:func:`plasticore.refmodel.o1_tasks.random_weights`). Random, not all equal: equal weights make every
    neuron answer alike, so the first trials are ties (no answer)."""
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    return random_weights(config, check_count("n_in", n_in, 1), check_count("n_classes", n_classes, 1),
                          check_seed("seed", seed))


def _o1_answer(counts: IntArray) -> int:
    top = int(counts.max())
    winners = np.flatnonzero(counts == top)
    return int(winners[0]) if top > 0 and winners.size == 1 else -1


def _o1_run(net: OnlineO1Network, x: Array, label: int, reward: int, gap_steps: int) -> int:
    """Present one sample (T, n_in), then ``gap_steps`` silent steps; the first gives the SPIKING reward."""
    counts = np.zeros(net.n_post, dtype=np.int64)
    for t in range(x.shape[0]):
        counts += net.step(x[t] > 0.5, 0)
    r = np.where(counts > 0, -reward, 0).astype(np.int64)
    if counts[label] > 0:
        r[label] = reward
    silent = np.zeros(net.n_pre, dtype=bool)
    for g in range(gap_steps):
        net.step(silent, r if g == 0 else 0)
    return _o1_answer(counts)


def o1_local_update(weights: npt.ArrayLike, data: ClientData, config: OnlineO1Config, *, seed: int = 0,
                    epochs: int = 1, reward: int | None = None, gap_steps: int = 2,
                    lif_config: FixedLIFConfig | None = None) -> tuple[IntArray, int, dict[str, float]]:
    """A fixed-point client: an :class:`~plasticore.refmodel.o1_network.OnlineO1Network` (integer LIF neurons on
    an O(1) layer, weights ``(n_classes, n_in)``) learns the client's data with its reward-modulated rule.

    Samples come in an order from ``numpy.random.default_rng(seed)``; each is shown for its ``T`` steps
    (reward 0), then ``gap_steps`` silent steps, the first of which carries the reward of
    :attr:`plasticore.refmodel.o1_tasks.RewardMode.SPIKING`: ``+reward`` for the target neuron if it spiked,
    ``-reward`` for every other neuron that spiked, 0 for silent ones (``reward`` in ``1..config.reward_max``;
    default ``2^(R-2)``, 64 for ``R = 8`` as in :func:`~plasticore.refmodel.o1_tasks.small_task_setup`).
    ``lif_config`` defaults to :func:`default_o1_lif_config`. The task of ``small_task_setup`` is
    ``make_spiking_classification(..., n_in=16, n_steps=8, p_on=0.5, p_off=0.0)``; :func:`o1_task_preset`
    gives the configuration, reward and task (with ``p_off = 0.02``) that both engines use.
    The layer's traces and eligibilities start at 0 (only weights are federated). Returns ``(weights int64,
    n_examples, {"accuracy"})``, the online accuracy (answer = the neuron with the most spikes, unique, > 0).
    """
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    d = _check_client("data", data)
    shape = (d.n_classes, d.inputs.shape[2])
    w = _int_weights("weights", weights, config, shape)
    n_ep = check_count("epochs", epochs, 1)
    r = check_count("reward", max(1, 1 << max(0, config.reward_bits - 2)) if reward is None else reward, 1,
                    config.reward_max)
    gaps = check_count("gap_steps", gap_steps, 1)
    lif = default_o1_lif_config(config) if lif_config is None else lif_config
    rng = np.random.default_rng(check_seed("seed", seed))
    net = OnlineO1Network(config, lif, shape[1], shape[0], w)
    n = d.labels.shape[0]
    correct = 0
    for _ in range(n_ep):
        for b in rng.permutation(n):
            correct += _o1_run(net, d.inputs[:, b], int(d.labels[b]), r, gaps) == int(d.labels[b])
    return np.asarray(net.weights, dtype=np.int64), n, {"accuracy": correct / (n * n_ep)}


def o1_evaluate(weights: npt.ArrayLike, data_inputs: npt.ArrayLike, data_labels: npt.ArrayLike,
                config: OnlineO1Config, *, gap_steps: int = 2,
                lif_config: FixedLIFConfig | None = None) -> dict[str, float]:
    """``{"accuracy"}`` of the O(1) network with ``weights`` on the samples in order, with reward 0 (so
    ``w' = w + ((0 * e') >> L) = w``: no learning)."""
    x = check_array("data_inputs", data_inputs)
    y = np.asarray(data_labels)
    w = _int_weights("weights", weights, config, None)
    if x.ndim != 3 or x.shape[2] != w.shape[1] or y.shape != (x.shape[1],) or y.dtype.kind not in "iu":
        raise ValueError(f"data_inputs must be (T, B, {w.shape[1]}) and data_labels integers (B,), not "
                         f"{x.shape} and {y.dtype} {y.shape}")
    lif = default_o1_lif_config(config) if lif_config is None else lif_config
    net = OnlineO1Network(config, lif, w.shape[1], w.shape[0], w)
    silent = np.zeros(w.shape[1], dtype=bool)
    correct = 0
    for b in range(x.shape[1]):
        counts = np.zeros(w.shape[0], dtype=np.int64)
        for t in range(x.shape[0]):
            counts += net.step(x[t, b] > 0.5, 0)
        for _ in range(check_count("gap_steps", gap_steps, 1)):
            net.step(silent, 0)
        correct += _o1_answer(counts) == int(y[b])
    return {"accuracy": correct / x.shape[1]}


# ---- one round, both engines ---------------------------------------------------------------------------

def client_seed(seed: int, round_index: int, client: int) -> int:
    """The local-training seed of ``client`` in round ``round_index``: the first word of
    ``numpy.random.SeedSequence((seed, round_index, client))`` (both engines use it)."""
    key = (check_seed("seed", seed), check_count("round_index", round_index, 0), check_count("client", client, 0))
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def server_seed(seed: int, round_index: int) -> int:
    """The seed of round ``round_index``'s secure aggregation (keys, masks, shares):
    ``SeedSequence((seed, round_index, 2^32 - 1))``'s first word."""
    key = (check_seed("seed", seed), check_count("round_index", round_index, 0), (1 << 32) - 1)
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def client_payload(strategy: str | Strategy, local_weights: Mapping[str, Array],
                   global_weights: Mapping[str, Array]) -> dict[str, Array]:
    """What a client sends: its weights (``fedavg``, ``fedprox``) or ``sign(w_local - w_global)`` (``signvote``)."""
    s = check_enum("strategy", Strategy, strategy)
    g = _weight_dict("global_weights", global_weights)
    w = _weight_dict("local_weights", local_weights, g)
    if s is Strategy.SIGNVOTE:
        return {k: np.sign(w[k] - g[k]) for k in g}
    return w


def _flat(d: Mapping[str, Array], keys: Sequence[str]) -> Array:
    return np.concatenate([d[k].reshape(-1) for k in keys])


def _unflat(v: Array, like: Mapping[str, Array]) -> dict[str, Array]:
    out, i = {}, 0
    for k, a in like.items():
        out[k] = v[i:i + a.size].reshape(a.shape).copy()
        i += a.size
    return out


def server_update(strategy: str | Strategy, global_weights: Mapping[str, Array],
                  payloads: Sequence[Mapping[str, Array] | None], num_examples: Sequence[int], *,
                  server_lr: float = 0.01, secure: bool = False, threshold: int | None = None, clip: float = 1.0,
                  bits: int = 32, seed: int = 0) -> dict[str, Array]:
    """The server step of a round, shared by both engines. ``payloads[k]`` is client ``k``'s
    :func:`client_payload`, ``None`` if it dropped out; ``num_examples[k]`` its ``n_k`` (announced by every
    client, also the dropped ones). Returns the new global weights.

    * ``fedavg`` / ``fedprox``: :func:`fedavg` of the survivors' weights. ``secure=True``: client ``k``'s
      message is ``x_k = (n_k / n_max) (w_k - w)`` (``n_max = max_k n_k``, so ``|x_k| <= |w_k - w|`` and
      ``clip`` bounds the weight change), the server gets ``S = sum_{k in U} x_k`` by
      :func:`~plasticore.refmodel.secure_aggregation.secure_sum_protocol` (``threshold`` default ``n // 2 + 1``,
      ``clip``, ``bits``, ``seed``; the dropped clients recovered) and sets ``w + n_max S / sum_{k in U} n_k``,
      FedAvg up to clipping and :func:`~plasticore.refmodel.secure_aggregation.quantization_bound` times
      ``n_max / sum_U n_k`` per entry.
    * ``signvote``: ``w + server_lr * sign_vote(survivors' signs)``; ``secure=True`` sums the signs securely
      (clip 1) and rounds the decoded sum to the nearest integer, which is the exact vote count whenever
      ``quantization_bound(n, 1, bits) < 1/2``.

    The client-side encoding (``x_k``) is done here in process; an engine that runs it on the clients must use
    the same formula.
    """
    s = check_enum("strategy", Strategy, strategy)
    g = _weight_dict("global_weights", global_weights)
    if isinstance(payloads, (str, bytes, Mapping)) or not isinstance(payloads, Sequence) or len(payloads) < 1:
        raise TypeError(f"payloads must be a non-empty list of weight dicts or None, not {type(payloads).__name__}")
    ns = _counts("num_examples", num_examples, len(payloads))
    eta = check_real("server_lr", server_lr, 0.0, None, lo_open=True)
    alive = [k for k, p in enumerate(payloads) if p is not None]
    if not alive:
        raise ValueError(f"payloads must hold at least one surviving client's dict, not all {len(payloads)} None")
    msgs = {k: _weight_dict(f"payloads[{k}]", payloads[k], g) for k in alive}
    dropped = [k for k in range(len(payloads)) if k not in msgs]
    keys = list(g)
    n = len(payloads)
    t = n // 2 + 1 if threshold is None else threshold
    if s is Strategy.SIGNVOTE:
        if secure:
            vec: list[Array | None] = [_flat(msgs[k], keys) if k in msgs else None for k in range(n)]
            total = secure_sum_protocol(vec, threshold=t, clip=1.0, bits=bits, seed=seed, drop=dropped).sum
            vote = _unflat(np.sign(np.rint(total)), g)
        else:
            vote = sign_vote([msgs[k] for k in alive])
        return {k: g[k] + eta * vote[k] for k in keys}
    if not secure:
        return fedavg([msgs[k] for k in alive], [ns[k] for k in alive])
    n_max = max(ns)
    vec = [_flat({k2: (ns[k] / n_max) * (msgs[k][k2] - g[k2]) for k2 in keys}, keys) if k in msgs else None
           for k in range(n)]
    total = secure_sum_protocol(vec, threshold=t, clip=clip, bits=bits, seed=seed, drop=dropped).sum
    step = _unflat(total * (n_max / sum(ns[k] for k in alive)), g)
    return {k: g[k] + step[k] for k in keys}


def run_inprocess(clients: list[ClientData], *, rounds: int, strategy: str | Strategy = "fedavg", mu: float = 0.0,
                  secure: bool = False, drop_client: int | None = None, drop_round: int = 0, epochs: int = 1,
                  lr: float = 0.03, seed: int = 0, server_lr: float = 0.01, threshold: int | None = None,
                  clip: float = 1.0, bits: int = 32, n_rec: int = 32, batch_size: int = 10) -> FederatedHistory:
    """The in-process reference simulation of ``rounds`` rounds of federated training.

    The global model starts as ``make_network(seed, n_in, n_rec, n_classes)``. In round ``r`` (0-based) every
    client ``k`` still present runs :func:`local_update` from the global weights (``epochs``, ``lr``,
    ``batch_size``, ``mu`` for ``fedprox``, seed :func:`client_seed` ``(seed, r, k)``) and sends
    :func:`client_payload`; the server applies :func:`server_update` (``server_lr`` for ``signvote``;
    ``secure``, ``threshold``, ``clip``, ``bits`` with seed :func:`server_seed` ``(seed, r)``).
    ``drop_client`` (an index) drops out from round ``drop_round`` on: it takes part in the key exchange of
    secure aggregation but never sends its update. ``mu`` (>= 0) is only allowed with ``fedprox``. After each
    round the global model is evaluated on :func:`global_test_set`.
    """
    if isinstance(clients, (str, bytes)) or not isinstance(clients, Sequence) or len(clients) < 1:
        raise ValueError(f"clients must be a non-empty list of ClientData, not {type(clients).__name__}")
    cs = [_check_client(f"clients[{k}]", c) for k, c in enumerate(clients)]
    n_rounds = check_count("rounds", rounds, 1)
    strat = check_enum("strategy", Strategy, strategy)
    m = check_real("mu", mu, 0.0, None)
    if m > 0 and strat is not Strategy.FEDPROX:
        raise ValueError(f"mu must be 0 unless strategy is 'fedprox' (strategy {strat.value!r}), not {mu!r}")
    drop = None if drop_client is None else check_count("drop_client", drop_client, 0, len(cs) - 1)
    d_round = check_count("drop_round", drop_round, 0)
    sd = check_seed("seed", seed)
    n_in, n_cls = cs[0].inputs.shape[2], cs[0].n_classes
    for k, c in enumerate(cs):
        if c.inputs.shape[2] != n_in or c.n_classes != n_cls:
            raise ValueError(f"clients[{k}] must have n_in = {n_in} and n_classes = {n_cls} like clients[0], "
                             f"not {c.inputs.shape[2]} and {c.n_classes}")
    g = make_network(sd, n_in=n_in, n_rec=check_count("n_rec", n_rec, 1), n_out=n_cls).state_dict()
    test_x, test_y = global_test_set(cs)
    ev = evaluate(g, test_x, test_y)
    hist = FederatedHistory([ev["accuracy"]], [ev["loss"]], [], [], [], g, () if drop is None else (drop,))
    for r in range(n_rounds):
        payloads: list[dict[str, Array] | None] = []
        losses, drifts = [], []
        for k, c in enumerate(cs):
            if drop == k and r >= d_round:
                payloads.append(None)
                continue
            w, _, met = local_update(g, c, epochs=epochs, lr=lr, mu=m, seed=client_seed(sd, r, k),
                                     batch_size=batch_size)
            losses.append(met["loss"])
            drifts.append(client_drift(w, g))
            payloads.append(client_payload(strat, w, g))
        counts = [int(c.labels.shape[0]) for c in cs]
        g = server_update(strat, g, payloads, counts, server_lr=server_lr, secure=secure, threshold=threshold,
                          clip=clip, bits=bits, seed=server_seed(sd, r))
        ev = evaluate(g, test_x, test_y)
        hist.accuracy.append(ev["accuracy"])
        hist.loss.append(ev["loss"])
        hist.reported.append(tuple(k for k, p in enumerate(payloads) if p is not None))
        hist.client_loss.append(float(np.mean(losses)))
        hist.drift.append(float(np.mean(drifts)))
    return hist._replace(weights=g)


def run_inprocess_fixed_point(clients: list[ClientData], config: OnlineO1Config, *, rounds: int, seed: int = 0,
                              epochs: int = 1, reward: int | None = None,
                              lif_config: FixedLIFConfig | None = None) -> FixedPointHistory:
    """Federated on-chip learning, in process: per round every client runs :func:`o1_local_update` (seed
    :func:`client_seed` ``(seed, r, k)``) from the global integer weights and the server takes
    :func:`aggregate_fixed_point` of the results (exact, round half up). The initial weights are
    :func:`o1_initial_weights` ``(config, n_in, n_classes, seed)`` (uniform in ``0..config.max_weight``); the
    global model is scored by :func:`o1_evaluate` on :func:`global_test_set`. :func:`o1_task_preset` gives a
    task and configuration on which this learns (``config``, ``lif_config``, ``reward``)."""
    if isinstance(clients, (str, bytes)) or not isinstance(clients, Sequence) or len(clients) < 1:
        raise ValueError(f"clients must be a non-empty list of ClientData, not {type(clients).__name__}")
    cs = [_check_client(f"clients[{k}]", c) for k, c in enumerate(clients)]
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    n_rounds = check_count("rounds", rounds, 1)
    sd = check_seed("seed", seed)
    g = o1_initial_weights(config, cs[0].inputs.shape[2], cs[0].n_classes, sd)
    test_x, test_y = global_test_set(cs)
    hist = FixedPointHistory([o1_evaluate(g, test_x, test_y, config, lif_config=lif_config)["accuracy"]], [], g)
    for r in range(n_rounds):
        res = [o1_local_update(g, c, config, seed=client_seed(sd, r, k), epochs=epochs, reward=reward,
                               lif_config=lif_config) for k, c in enumerate(cs)]
        g = aggregate_fixed_point([w for w, _, _ in res], [n for _, n, _ in res], config)
        hist.accuracy.append(o1_evaluate(g, test_x, test_y, config, lif_config=lif_config)["accuracy"])
        hist.client_accuracy.append(float(np.mean([m["accuracy"] for _, _, m in res])))
    return hist._replace(weights=g)
