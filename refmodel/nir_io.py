"""NIR (Neuromorphic Intermediate Representation, ``nir`` 1.0) export and import of :class:`LIFNetwork`.

:func:`to_nir` writes a network as the graph::

    input -> w_in (Linear) -> lif (LIF) -> w_out (Linear) -> readout (LI) -> output
                               lif -> w_rec (Linear) -> lif                 (when recurrent)

with weights ``[out, in]`` (the layout of :class:`LIFNetwork` and ``torch.nn.Linear``). NIR's neurons are
continuous-time equations; plasticore's are their forward-Euler discretisation at step ``dt``. NIR's LIF

.. math::

    \\tau \\dot v = (v_{leak} - v) + R I, \\qquad z = H(v - v_{threshold})

stepped with Euler at ``dt`` is ``v <- (1 - dt/tau) v + (dt/tau) R I``, which is plasticore's
``v <- alpha v + I`` for

* ``tau = dt / (1 - alpha)``, ``r = tau / dt`` (so ``(dt/tau) r = 1``), ``v_leak = 0``,
  ``v_threshold = threshold``;
* the readout likewise: LI with ``tau = dt / (1 - kappa)``, ``r = tau / dt``, ``v_leak = 0``.

``alpha = exp(-dt / tau_mem)``, so NIR's ``tau`` is *not* plasticore's ``tau_mem`` (for ``dt << tau_mem`` they
agree to first order). Units: ``tau`` and ``dt`` in the same time unit as the network's ``dt`` (the graph
metadata ``plasticore.dt`` records it).

**Reset.** plasticore resets by *subtracting the threshold at the next step*
(``v_t = alpha v_{t-1} + I_t - theta z_{t-1}``); NIR's LIF resets ``v`` to ``v_reset`` right after a spike and
cannot express subtraction. The LIF node is written with ``v_reset = 0`` (NIR's nominal field) and metadata
``{"plasticore.reset": "subtract_threshold_next_step"}``; a consumer that ignores the metadata simulates reset
to zero, which gives the same spikes until a neuron's first spike and differs after it (the test of snnTorch's
importer shows exactly that). :func:`from_nir` always builds plasticore's subtractive reset: a foreign graph
whose LIF resets to zero imports with that difference (documented, not hidden: ``from_nir`` never claims
reset-to-zero).

**Recurrence.** ``w_rec`` acts on the previous step's spikes ``z_{t-1}`` (a one-step delay on the cycle, as
snnTorch's ``RLeaky`` does).

**Online learning.** ``to_nir(network, online_rules={"w_in": OnlineO1Config(...)})`` puts
``config.to_scnir_annotation(rule_id=key)`` (as a JSON string, so it survives HDF5) into the metadata of that
weight node under ``plasticore.online_o1``; :func:`online_rules_from_nir` restores the configs.

:func:`from_nir` also reads the common graphs other tools write: spiking ``LIF``, ``CubaLIF`` (only with
``tau_syn = dt``, where the synaptic filter is the identity; its ``w_in`` gain is folded into the weights),
``IF`` (``alpha = 1``), a leaky ``LI`` readout, and chains of ``Linear`` / ``Affine`` (zero bias) / ``Scale``
between them (composed into one matrix; gains ``(dt/tau) r`` other than 1 are folded into the incoming
weights). Anything else is a ``ValueError`` naming the node and its type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import MissingDependencyError
from .lif import LIFNetwork
from .online_o1 import ANNOTATION_SCHEMA, OnlineO1Config

__all__ = ["RESET_METADATA", "from_nir", "online_rules_from_nir", "to_nir"]

RESET_KEY = "plasticore.reset"
RESET_METADATA = "subtract_threshold_next_step"
RULE_KEY = "plasticore.online_o1"
_WEIGHT_KEYS = ("w_in", "w_rec", "w_out")
_GAIN_TOL = 1e-12
Array = npt.NDArray[np.float64]


def _nir() -> Any:
    try:
        import nir
    except ImportError as exc:
        raise MissingDependencyError("NIR export/import", "nir", "nir", str(exc)) from exc
    return nir


def to_nir(network: LIFNetwork, *, online_rules: Mapping[str, OnlineO1Config] | None = None) -> Any:
    """``network`` as a ``nir.NIRGraph`` (see the module docstring for the mapping and the reset).

    ``online_rules`` maps weight keys (``"w_in"``, ``"w_rec"``, ``"w_out"``) to the :class:`OnlineO1Config` of the
    synapses that learn online there; each rides along in that node's metadata.
    """
    nir = _nir()
    if not isinstance(network, LIFNetwork):
        raise TypeError(f"network must be a LIFNetwork, not {type(network).__name__}")
    rules = dict(online_rules or {})
    for key, cfg in rules.items():
        if key not in network.weights:
            raise ValueError(f"online_rules key {key!r} is not a weight of this network ({sorted(network.weights)})")
        if not isinstance(cfg, OnlineO1Config):
            raise TypeError(f"online_rules[{key!r}] must be an OnlineO1Config, not {type(cfg).__name__}")
    dt, alpha, kappa = network.dt, network.alpha, network.kappa
    if not (alpha < 1.0 and kappa < 1.0):
        raise ValueError(f"tau_mem and tau_out must be finite so that alpha, kappa < 1, not {alpha}, {kappa}")
    n_rec, n_out = network.n_rec, network.n_out
    tau_m, tau_o = dt / (1.0 - alpha), dt / (1.0 - kappa)

    def meta(key: str) -> dict[str, Any]:
        if key not in rules:
            return {}
        return {RULE_KEY: json.dumps(rules[key].to_scnir_annotation(rule_id=key), sort_keys=True)}

    def full(n: int, x: float) -> Array:
        return np.full(n, x, dtype=np.float64)

    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array([network.n_in])}),
        "w_in": nir.Linear(weight=np.array(network.weights["w_in"], dtype=np.float64), metadata=meta("w_in")),
        "lif": nir.LIF(tau=full(n_rec, tau_m), r=full(n_rec, tau_m / dt), v_leak=full(n_rec, 0.0),
                       v_threshold=full(n_rec, network.threshold), v_reset=full(n_rec, 0.0),
                       metadata={RESET_KEY: RESET_METADATA, "plasticore.tau_mem": network.tau_mem}),
        "w_out": nir.Linear(weight=np.array(network.weights["w_out"], dtype=np.float64), metadata=meta("w_out")),
        "readout": nir.LI(tau=full(n_out, tau_o), r=full(n_out, tau_o / dt), v_leak=full(n_out, 0.0),
                          metadata={"plasticore.tau_out": network.tau_out}),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")]
    if network.recurrent:
        nodes["w_rec"] = nir.Linear(weight=np.array(network.weights["w_rec"], dtype=np.float64),
                                    metadata=meta("w_rec"))
        edges += [("lif", "w_rec"), ("w_rec", "lif")]
    graph_meta = {"plasticore.dt": dt, "plasticore.surrogate": network.surrogate_name,
                  "plasticore.surrogate_slope": network.surrogate_slope, "plasticore.format": "LIFNetwork.v1"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)


# ---- import ----------------------------------------------------------------------------------------


def _uniform(name: str, node_name: str, value: Any) -> float:
    a = np.asarray(value, dtype=np.float64).ravel()
    if a.size == 0 or not np.all(a == a[0]):
        raise ValueError(f"node {node_name!r}: {name} must be the same for every neuron (LIFNetwork has one value), "
                         f"got {a.tolist()[:8]}")
    return float(a[0])


def _meta(node: Any) -> dict[str, Any]:
    m = getattr(node, "metadata", None)
    return dict(m) if isinstance(m, Mapping) else {}


def _meta_float(meta: Mapping[str, Any], key: str) -> float | None:
    v = meta.get(key)
    if v is None:
        return None
    return float(np.asarray(v).item())


def _meta_str(meta: Mapping[str, Any], key: str) -> str | None:
    v = meta.get(key)
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        v = v.item()
        return v.decode() if isinstance(v, bytes) else str(v)
    return str(v)


class _Neuron:
    """A spiking or readout population: per-step decay, input gain, threshold, tau for LIFNetwork."""

    def __init__(self, name: str, node: Any, dt: float, nir: Any) -> None:
        meta = _meta(node)
        self.name = name
        if isinstance(node, nir.CubaLIF):
            tau_syn = _uniform("tau_syn", name, node.tau_syn)
            if abs(dt / tau_syn - 1.0) > _GAIN_TOL:
                raise ValueError(f"node {name!r} (CubaLIF): only tau_syn = dt ({dt}) is supported (an identity "
                                 f"synaptic filter; LIFNetwork has no synaptic current), not {tau_syn}")
            tau, r = _uniform("tau_mem", name, node.tau_mem), _uniform("r", name, node.r)
            gain_in = _uniform("w_in", name, node.w_in)
        elif isinstance(node, nir.IF):
            tau, r, gain_in = math.inf, _uniform("r", name, node.r), 1.0
        else:  # LIF, LI
            tau, r, gain_in = _uniform("tau", name, node.tau), _uniform("r", name, node.r), 1.0
        if isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI)):
            v_leak = _uniform("v_leak", name, node.v_leak)
            if v_leak != 0.0:
                raise ValueError(f"node {name!r} ({type(node).__name__}): v_leak must be 0 (LIFNetwork has no "
                                 f"leak potential), not {v_leak}")
        self.threshold = None if isinstance(node, nir.LI) else _uniform("v_threshold", name, node.v_threshold)
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"node {name!r}: r must be finite and > 0, not {r}")
        if math.isinf(tau):
            self.decay, gain = 1.0, dt * r
        else:
            if not (tau >= dt > 0):
                raise ValueError(f"node {name!r}: tau must be >= dt ({dt}) for a stable Euler step, not {tau}")
            self.decay, gain = 1.0 - dt / tau, (dt / tau) * r
        gain *= gain_in
        self.gain = 1.0 if abs(gain - 1.0) <= _GAIN_TOL else gain
        exact_tau = _meta_float(meta, "plasticore.tau_mem" if self.threshold is not None else "plasticore.tau_out")
        if exact_tau is not None and abs(math.exp(-dt / exact_tau) - self.decay) <= 1e-9:
            self.tau_plasticore = exact_tau  # our own graph: the exact tau, so alpha is bit-identical
        elif self.decay >= 1.0:
            self.tau_plasticore = 1e300  # IF: exp(-dt / 1e300) == 1.0 exactly
        elif self.decay <= 0.0:
            raise ValueError(f"node {name!r}: tau = dt gives no memory (decay 0); LIFNetwork needs decay in (0, 1]")
        else:
            self.tau_plasticore = -dt / math.log(self.decay)


def _chain(graph: Any, first: str, nir: Any) -> tuple[str, Array | None]:
    """Follow weight nodes from ``first`` to the next non-weight node; that node and the composed matrix."""
    mat: Array | None = None
    name = first
    while True:
        node = graph.nodes[name]
        if isinstance(node, (nir.Linear, nir.Affine)):
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2:
                raise ValueError(f"node {name!r} ({type(node).__name__}): weight must be 2-d [out, in], not {w.shape}")
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                raise ValueError(f"node {name!r} (Affine): a nonzero bias is not supported (LIFNetwork has none)")
            mat = w if mat is None else w @ mat
        elif isinstance(node, nir.Scale):
            s = np.asarray(node.scale, dtype=np.float64).ravel()
            mat = np.diag(s) if mat is None else s[:, None] * mat
        else:
            return name, mat
        nxt = [b for a, b in graph.edges if a == name]
        if len(nxt) != 1:
            raise ValueError(f"node {name!r} ({type(node).__name__}) must feed exactly one node, not {nxt}")
        name = nxt[0]


def from_nir(graph: Any, *, dt: float | None = None) -> LIFNetwork:
    """A :class:`LIFNetwork` from a ``nir.NIRGraph`` (the graphs :func:`to_nir` writes, and common foreign ones).

    ``dt`` is the Euler step; by default the graph's ``plasticore.dt`` metadata (a foreign graph without it
    needs ``dt``). Supported nodes: ``Input``, ``Output``, one spiking population (``LIF``, ``CubaLIF`` with
    ``tau_syn = dt``, ``IF``), one ``LI`` readout, and ``Linear`` / ``Affine`` (zero bias) / ``Scale`` chains
    between them; per-neuron parameters must be uniform. Any other node is a ``ValueError`` naming the node
    and its type. The reset is always plasticore's subtraction (module docstring).
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, not {type(graph).__name__}")
    allowed = (nir.Input, nir.Output, nir.LIF, nir.CubaLIF, nir.IF, nir.LI, nir.Linear, nir.Affine, nir.Scale)
    for name, node in graph.nodes.items():
        if not isinstance(node, allowed):
            raise ValueError(f"node {name!r} has unsupported type {type(node).__name__} (from_nir reads Input, "
                             f"Output, LIF, CubaLIF, IF, LI, Linear, Affine, Scale)")
    gmeta = dict(graph.metadata or {})
    step = dt if dt is not None else _meta_float(gmeta, "plasticore.dt")
    if step is None:
        raise ValueError("the graph has no plasticore.dt metadata: pass dt= (the Euler step of the NIR equations)")
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"dt must be a finite number > 0, not {step!r}")

    def only(kinds: tuple[type, ...], what: str) -> str:
        names = [n for n, v in graph.nodes.items() if isinstance(v, kinds)]
        if len(names) != 1:
            raise ValueError(f"LIFNetwork needs exactly one {what} node, found {names}")
        return names[0]

    inp, out = only((nir.Input,), "Input"), only((nir.Output,), "Output")
    lif, ro = only((nir.LIF, nir.CubaLIF, nir.IF), "spiking (LIF/CubaLIF/IF)"), only((nir.LI,), "LI readout")
    inp_succ = [b for a, b in graph.edges if a == inp]
    if len(inp_succ) != 1:
        raise ValueError(f"the Input {inp!r} must feed exactly one node, not {inp_succ}")
    target, w_in = _chain(graph, inp_succ[0], nir)
    if target != lif or w_in is None:
        raise ValueError(f"the input must reach {lif!r} through weight nodes, not {target!r}")
    lif_succ = [b for a, b in graph.edges if a == lif]
    w_out = w_rec = None
    for first in lif_succ:
        tgt, mat = _chain(graph, first, nir)
        if tgt == lif and mat is not None:
            w_rec = mat
        elif tgt == ro and mat is not None:
            w_out = mat
        else:
            raise ValueError(f"node {lif!r} feeds {first!r}, which reaches {tgt!r}: expected the readout {ro!r} "
                             f"or a recurrent path back to {lif!r}")
    if w_out is None:
        raise ValueError(f"no weight path from {lif!r} to the readout {ro!r}")
    if [b for a, b in graph.edges if a == ro] != [out]:
        raise ValueError(f"the readout {ro!r} must feed the Output {out!r} directly")
    spk, rdo = _Neuron(lif, graph.nodes[lif], step, nir), _Neuron(ro, graph.nodes[ro], step, nir)
    assert spk.threshold is not None
    n_rec, n_in = w_in.shape
    n_out = w_out.shape[0]
    if w_out.shape[1] != n_rec or (w_rec is not None and w_rec.shape != (n_rec, n_rec)):
        raise ValueError(f"weight shapes do not chain: w_in {w_in.shape}, w_rec "
                         f"{None if w_rec is None else w_rec.shape}, w_out {w_out.shape}")
    surrogate = _meta_str(gmeta, "plasticore.surrogate") or "fast_sigmoid"
    slope = _meta_float(gmeta, "plasticore.surrogate_slope") or 25.0
    net = LIFNetwork(n_in, n_rec, n_out, recurrent=w_rec is not None, tau_mem=spk.tau_plasticore,
                     tau_out=rdo.tau_plasticore, dt=step, threshold=spk.threshold, surrogate=surrogate,
                     surrogate_slope=slope, seed=0)
    weights = {"w_in": w_in * spk.gain, "w_out": w_out * rdo.gain}
    if w_rec is not None:
        weights["w_rec"] = w_rec * spk.gain
    net.load_state_dict(weights)
    return net


def online_rules_from_nir(graph: Any) -> dict[str, OnlineO1Config]:
    """The :class:`OnlineO1Config` of every weight node that carries a ``plasticore.online_o1`` annotation."""
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, not {type(graph).__name__}")
    out: dict[str, OnlineO1Config] = {}
    for name, node in graph.nodes.items():
        raw = _meta_str(_meta(node), RULE_KEY)
        if raw is None:
            continue
        ann = json.loads(raw)
        if ann.get("schema_version") != ANNOTATION_SCHEMA:
            raise ValueError(f"node {name!r}: annotation schema {ann.get('schema_version')!r} is not "
                             f"{ANNOTATION_SCHEMA!r}")
        cfg = OnlineO1Config(weight_bits=ann["weight_bits"], trace_bits=ann["trace_bits"],
                             reward_bits=ann["reward_bits"], learning_shift=ann["learning_shift"],
                             trace_decay_shift=ann["trace_decay_shift"], rule_family=ann["rule_family"])
        if cfg.to_scnir_annotation(rule_id=ann["rule_id"]) != ann:
            raise ValueError(f"node {name!r}: the annotation does not match the config it describes")
        out[name] = cfg
    return out
