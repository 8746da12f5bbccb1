"""Memory of the gradient learners, measured with tracemalloc (NumPy reports its buffers to it).

TBPTT (k = 50) and e-prop keep O(k) / O(batch * n_rec * n_pre) state, so their peak memory beyond the
caller's input and target arrays must not grow with T: the ratio of peaks at T = 10,000 and T = 1,000 is at
most 1.2. BPTT stores the whole trajectory, so its ratio must be close to 10 (we require >= 5)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from plasticore.refmodel.gradient_learners import BPTTLearner, EligibilityTrace, TBPTTLearner
from plasticore.refmodel.lif import LIFNetwork

N_IN, N_REC, N_OUT, BATCH = 20, 32, 2, 4
SHORT, LONG = 1_000, 10_000


def peak_bytes(make: Callable[[LIFNetwork, str], object], n_t: int, loss: str) -> int:
    net = LIFNetwork(N_IN, N_REC, N_OUT, seed=0)
    rng = np.random.default_rng(0)
    x = (rng.random((n_t, BATCH, N_IN)) < 0.1).astype(np.float64)
    tgt = rng.standard_normal((n_t, BATCH, N_OUT)) if loss == "mse" else rng.integers(0, N_OUT, BATCH)
    learner = make(net, loss)
    tracemalloc.start()
    try:
        grads = learner.gradients(x, tgt)  # type: ignore[attr-defined]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    assert float(np.abs(grads["w_in"]).max()) > 0.0  # spikes happened, so the measurement is meaningful
    return peak


# random e-prop runs the same code as e-prop with another feedback matrix, so it is not measured twice
BOUNDED = {
    "tbptt_k50": lambda net, loss: TBPTTLearner(net, k=50, loss=loss),
    "eprop": lambda net, loss: EligibilityTrace(net, chunk=50, loss=loss),
}


@pytest.mark.parametrize("name", sorted(BOUNDED))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_memory_does_not_grow_with_sequence_length(name: str, loss: str) -> None:
    short = peak_bytes(BOUNDED[name], SHORT, loss)
    long = peak_bytes(BOUNDED[name], LONG, loss)
    assert long / short <= 1.2, (name, loss, short, long)


def test_bptt_memory_grows_linearly() -> None:
    short = peak_bytes(lambda net, loss: BPTTLearner(net, loss=loss), SHORT, "mse")
    long = peak_bytes(lambda net, loss: BPTTLearner(net, loss=loss), LONG, "mse")
    assert long / short >= 5.0, (short, long)
