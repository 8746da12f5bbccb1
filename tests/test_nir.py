"""NIR export/import of LIFNetwork (:mod:`plasticore.refmodel.nir_io`): file round trip, the NIR equations,
foreign node types, rejections, the O(1) annotation, and snnTorch's importer (with its documented difference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel.lif import LIFNetwork
from plasticore.refmodel.nir_io import RESET_METADATA, from_nir, online_rules_from_nir, to_nir
from plasticore.refmodel.online_o1 import OnlineO1Config

nir = pytest.importorskip("nir")


def _net(recurrent: bool = True, dt: float = 1.0, tau_mem: float = 8.0, tau_out: float = 12.0) -> LIFNetwork:
    net = LIFNetwork(12, 9, 4, recurrent=recurrent, tau_mem=tau_mem, tau_out=tau_out, dt=dt, threshold=0.8, seed=5)
    net.weights["w_in"] *= 2.5  # enough drive for many spikes (and resets) per neuron
    return net


def _inputs(seed: int = 0, n_t: int = 80, batch: int = 3, n_in: int = 12) -> np.ndarray:
    return (np.random.default_rng(seed).random((n_t, batch, n_in)) < 0.4).astype(np.float64)


def _euler(graph: Any, x: np.ndarray, dt: float, reset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate the graph from NIR's own equations, forward Euler at ``dt`` (written for this test, independently
    of nir_io): ``v += dt/tau * (v_leak - v + r I)``, spike ``v > v_threshold``; ``reset`` is ``"subtract"``
    (the plasticore.reset metadata: subtract the threshold at the next step) or ``"zero"`` (NIR's v_reset)."""
    n = graph.nodes
    lif, ro = n["lif"], n["readout"]
    w_in, w_out = n["w_in"].weight, n["w_out"].weight
    w_rec = n["w_rec"].weight if "w_rec" in n else None
    batch = x.shape[1]
    v = np.zeros((batch, w_in.shape[0]))
    z = np.zeros_like(v)
    y = np.zeros((batch, w_out.shape[0]))
    vs, zs, ys = [], [], []
    for t in range(x.shape[0]):
        current = x[t] @ w_in.T + (z @ w_rec.T if w_rec is not None else 0.0)
        v_prev = v - lif.v_threshold * z if reset == "subtract" else np.where(z > 0, lif.v_reset, v)
        if reset == "subtract":  # plasticore: v_t = alpha v_{t-1} + I_t - theta z_{t-1}
            v = v + dt / lif.tau * (lif.v_leak - v + lif.r * current) - lif.v_threshold * z
        else:
            v = v_prev + dt / lif.tau * (lif.v_leak - v_prev + lif.r * current)
        z = (v > lif.v_threshold).astype(np.float64)
        y = y + dt / ro.tau * (ro.v_leak - y + ro.r * (z @ w_out.T))
        vs.append(v)
        zs.append(z)
        ys.append(y)
    return np.array(vs), np.array(zs), np.array(ys)


@pytest.mark.parametrize("recurrent", [True, False])
def test_write_read_from_nir_reproduces_spikes_and_readout_exactly(recurrent: bool, tmp_path: Path) -> None:
    net = _net(recurrent)
    path = tmp_path / "net.nir"
    nir.write(path, to_nir(net))
    back = from_nir(nir.read(path))
    assert back.recurrent == recurrent and (back.n_in, back.n_rec, back.n_out) == (12, 9, 4)
    assert (back.alpha, back.kappa, back.threshold, back.dt) == (net.alpha, net.kappa, net.threshold, net.dt)
    for k, w in net.weights.items():
        assert np.array_equal(back.weights[k], w)
    x = _inputs()
    a, _ = net.forward(x)
    b, _ = back.forward(x)
    assert a.z.sum() > 100 and (a.z.sum(axis=0) > 1).any()  # many spikes, repeated ones (the reset matters)
    assert np.array_equal(a.z, b.z) and np.array_equal(a.y, b.y) and np.array_equal(a.v, b.v)


def test_mapping_values_follow_the_forward_euler_rule() -> None:
    net = _net(dt=0.5)
    g = to_nir(net)
    lif, ro = g.nodes["lif"], g.nodes["readout"]
    tau = 0.5 / (1.0 - net.alpha)
    assert np.allclose(lif.tau, tau, rtol=0, atol=0) and np.array_equal(lif.r, lif.tau / 0.5)
    assert np.array_equal(lif.v_leak, np.zeros(9)) and np.array_equal(lif.v_threshold, np.full(9, 0.8))
    assert np.array_equal(lif.v_reset, np.zeros(9)) and lif.metadata["plasticore.reset"] == RESET_METADATA
    assert np.array_equal(ro.tau, np.full(4, 0.5 / (1.0 - net.kappa))) and np.array_equal(ro.v_leak, np.zeros(4))
    assert g.nodes["w_in"].weight.shape == (9, 12) and g.nodes["w_out"].weight.shape == (4, 9)  # [out, in]
    assert set(g.edges) == {("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
                            ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")}
    assert g.metadata["plasticore.dt"] == 0.5
    # one Euler step of NIR's equation with these values is plasticore's v <- alpha v + I
    v, current = 0.3, 0.7
    euler = v + 0.5 / lif.tau[0] * (0.0 - v + lif.r[0] * current)
    assert euler == pytest.approx(net.alpha * v + current, rel=1e-14)


@pytest.mark.parametrize("recurrent", [True, False])
def test_simulating_the_nir_equations_agrees_with_plasticore(recurrent: bool) -> None:
    net = _net(recurrent, dt=1.0)
    x = _inputs(1)
    rec, _ = net.forward(x)
    v, z, y = _euler(to_nir(net), x, 1.0, "subtract")
    assert np.array_equal(z, rec.z)
    np.testing.assert_allclose(v, rec.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(y, rec.y, rtol=0, atol=1e-12)


def test_online_o1_annotation_rides_along_through_a_file(tmp_path: Path) -> None:
    net = _net()
    rules = {"w_in": OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3,
                                    trace_decay_shift=2), "w_rec": OnlineO1Config()}
    path = tmp_path / "rules.nir"
    nir.write(path, to_nir(net, online_rules=rules))
    g = nir.read(path)
    assert online_rules_from_nir(g) == rules
    assert "plasticore.online_o1" not in g.nodes["w_out"].metadata
    with pytest.raises(ValueError, match=r"online_rules key 'w_hid' is not a weight of this network"):
        to_nir(net, online_rules={"w_hid": OnlineO1Config()})
    with pytest.raises(TypeError, match=r"online_rules\['w_in'\] must be an OnlineO1Config, not dict"):
        to_nir(net, online_rules={"w_in": {}})  # type: ignore[dict-item]


def _foreign(spiking: Any, w_in: Any, w_out: Any, extra: dict[str, Any] | None = None,
             edges: list[tuple[str, str]] | None = None) -> Any:
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}), "w_in": w_in, "lif": spiking,
             "w_out": w_out, "readout": nir.LI(tau=np.full(2, 4.0), r=np.full(2, 4.0), v_leak=np.zeros(2)),
             "output": nir.Output(output_type={"output": np.array([2])}), **(extra or {})}
    default = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges or default)


def test_foreign_cubalif_affine_scale_chain_imports_and_matches_its_equations() -> None:
    rng = np.random.default_rng(3)
    w1, w2 = rng.normal(size=(5, 3)), rng.normal(size=(2, 5))
    scale = np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    spk = nir.CubaLIF(tau_syn=np.full(5, 1.0), tau_mem=np.full(5, 5.0), r=np.full(5, 2.0), v_leak=np.zeros(5),
                      v_threshold=np.full(5, 0.5), v_reset=np.zeros(5), w_in=np.full(5, 1.5))
    g = _foreign(spk, nir.Affine(weight=w1, bias=np.zeros(5)), nir.Linear(weight=w2), {"scale": nir.Scale(scale)},
                 [("input", "w_in"), ("w_in", "scale"), ("scale", "lif"), ("lif", "w_out"), ("w_out", "readout"),
                  ("readout", "output")])
    net = from_nir(g, dt=1.0)
    # CubaLIF with tau_syn = dt: I = w_in * (scale * W1 x); v += dt/tau_mem * (-v + r I), reset by subtraction
    assert net.alpha == pytest.approx(1.0 - 1.0 / 5.0, rel=1e-14)
    np.testing.assert_allclose(net.weights["w_in"], (1.0 / 5.0) * 2.0 * 1.5 * scale[:, None] * w1, rtol=1e-14)
    np.testing.assert_allclose(net.weights["w_out"], (1.0 / 4.0) * 4.0 * w2, rtol=1e-14)
    assert net.kappa == pytest.approx(0.75, rel=1e-14)


def test_foreign_if_has_no_leak() -> None:
    g = _foreign(nir.IF(r=np.full(5, 1.0), v_threshold=np.full(5, 1.0), v_reset=np.zeros(5)),
                 nir.Linear(weight=np.ones((5, 3))), nir.Linear(weight=np.ones((2, 5))))
    net = from_nir(g, dt=0.5)
    assert net.alpha == 1.0
    np.testing.assert_array_equal(net.weights["w_in"], 0.5 * np.ones((5, 3)))  # dt * r


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": {"delay": nir.Delay(delay=np.ones(5))}, "edges": None},
         r"node 'delay' has unsupported type Delay"),
        ({"w_in": nir.Affine(weight=np.ones((5, 3)), bias=np.ones(5))}, r"node 'w_in' \(Affine\): a nonzero bias"),
        ({"spiking": nir.LIF(tau=np.array([2.0, 3, 3, 3, 3]), r=np.ones(5), v_leak=np.zeros(5),
                             v_threshold=np.ones(5))}, r"node 'lif': tau must be the same for every neuron"),
        ({"spiking": nir.LIF(tau=np.full(5, 3.0), r=np.ones(5), v_leak=np.full(5, 0.1), v_threshold=np.ones(5))},
         r"node 'lif' \(LIF\): v_leak must be 0"),
        ({"spiking": nir.CubaLIF(tau_syn=np.full(5, 3.0), tau_mem=np.full(5, 3.0), r=np.ones(5), v_leak=np.zeros(5),
                                 v_threshold=np.ones(5))}, r"node 'lif' \(CubaLIF\): only tau_syn = dt"),
    ],
)
def test_unsupported_graphs_are_rejected_naming_the_node(change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"spiking": nir.LIF(tau=np.full(5, 3.0), r=np.full(5, 3.0), v_leak=np.zeros(5),
                                               v_threshold=np.ones(5)),
                            "w_in": nir.Linear(weight=np.ones((5, 3))), "w_out": nir.Linear(weight=np.ones((2, 5)))}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        from_nir(_foreign(**args), dt=1.0)


def test_foreign_graph_needs_dt_and_types_are_checked() -> None:
    g = _foreign(nir.LIF(tau=np.full(5, 3.0), r=np.full(5, 3.0), v_leak=np.zeros(5), v_threshold=np.ones(5)),
                 nir.Linear(weight=np.ones((5, 3))), nir.Linear(weight=np.ones((2, 5))))
    with pytest.raises(ValueError, match="pass dt="):
        from_nir(g)
    with pytest.raises(TypeError, match=r"graph must be a nir\.NIRGraph, not dict"):
        from_nir({})
    with pytest.raises(TypeError, match="network must be a LIFNetwork"):
        to_nir(object())  # type: ignore[arg-type]


def test_snntorch_import_from_nir_runs_the_spiking_graph_with_its_documented_differences() -> None:
    """snnTorch 1.0's importer (a) has no mapping for LI, so the full graph fails with that error; (b) fixes
    ``dt = 1e-4`` (beta = 1 - 1e-4 / tau) and (c) resets the membrane to zero at once (``reset_mechanism="zero"``).
    With a network at dt = 1e-4 its spikes on the spiking part of the exported graph are exactly those of NIR's
    own equations with reset to ``v_reset = 0``, and equal plasticore's (subtractive reset) up to each neuron's
    first spike; after it they differ, because NIR's LIF cannot express the subtraction (module docstring)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("nirtorch")
    from snntorch.import_nir import import_from_nir

    net = _net(recurrent=False, dt=1e-4, tau_mem=8e-4, tau_out=12e-4)
    g = to_nir(net)
    with pytest.raises(ValueError, match=r"Unknown node type .*LI"):
        import_from_nir(g)
    n = net.n_rec
    spiking = nir.NIRGraph(nodes={"input": g.nodes["input"], "w_in": g.nodes["w_in"], "lif": g.nodes["lif"],
                                  "output": nir.Output(output_type={"output": np.array([n])})},
                           edges=[("input", "w_in"), ("w_in", "lif"), ("lif", "output")])
    module = import_from_nir(spiking)
    x = _inputs(2, n_t=60, batch=1)
    with torch.no_grad():
        outs = []
        for t in range(x.shape[0]):
            o = module(torch.tensor(x[t], dtype=torch.float32))
            outs.append((o[0] if isinstance(o, tuple) else o).numpy().copy())
    z_snn = np.array(outs).reshape(x.shape[0], 1, n)
    _, z_zero, _ = _euler(g, x, 1e-4, "zero")
    rec, _ = net.forward(x)
    assert np.array_equal(z_snn, z_zero)  # snnTorch == NIR's equations with reset to v_reset = 0
    counts = rec.z[:, 0, :].sum(axis=0)
    assert (counts > 1).sum() >= 3  # several neurons spike repeatedly, so the reset matters
    for j in range(n):
        end = int(np.argmax(rec.z[:, 0, j] > 0)) + 1 if counts[j] else x.shape[0]  # through the first spike
        assert np.array_equal(z_snn[:end, 0, j], rec.z[:end, 0, j])
    assert not np.array_equal(z_snn, rec.z)  # and afterwards the two resets give different spike trains
