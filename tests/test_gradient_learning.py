"""Every gradient learner learns real tasks, seeded, with stated thresholds.

* Classification of Poisson-encoded rate patterns (4 classes, 40 inputs, T = 40, cross-entropy on the
  time-summed readout): >= 90 % accuracy on 256 held-out samples after 40 steps of batch 32 (chance 25 %).
* Temporal pattern generation (Bellec et al. 2020, Fig. 2: frozen Poisson input, target a sum of three
  sinusoids, MSE): the loss falls >= 10x from its initial value and ends below 0.25x the energy of the
  target (the loss of the all-zero output), i.e. the output explains most of the target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel.gradient_learners import (
    BPTTLearner,
    EligibilityTrace,
    GradientLearner,
    TBPTTLearner,
)
from plasticore.refmodel.lif import LIFNetwork
from plasticore.refmodel.losses import accuracy
from plasticore.refmodel.optimizers import SGD, Adam, Optimizer
from plasticore.refmodel.schedulers import ExponentialScheduler

Make = Callable[..., GradientLearner]

LEARNERS: dict[str, Make] = {
    "bptt": lambda net, **kw: BPTTLearner(net, **kw),
    "tbptt_k10": lambda net, **kw: TBPTTLearner(net, k=10, **kw),
    "eprop": lambda net, **kw: EligibilityTrace(net, **kw),
    "random_eprop": lambda net, **kw: EligibilityTrace(net, feedback="random", seed=0, **kw),
}


def poisson_patterns(rng: np.random.Generator, prototypes: np.ndarray, n: int, n_t: int,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples: a random class each, spikes drawn per step with the class's per-input probability."""
    labels = rng.integers(0, prototypes.shape[0], n)
    x = (rng.random((n_t, n, prototypes.shape[1])) < prototypes[labels][None]).astype(np.float64)
    return x, labels


def classification_accuracy(make: Make, optimizer: Optimizer) -> tuple[float, float]:
    n_cls, n_in, n_t = 4, 40, 40
    prototypes = np.random.default_rng(0).uniform(0.0, 0.2, (n_cls, n_in))
    x_test, l_test = poisson_patterns(np.random.default_rng(99), prototypes, 256, n_t)
    net = LIFNetwork(n_in, 64, n_cls, seed=1)
    learner = make(net, loss="cross_entropy", optimizer=optimizer)
    before = accuracy(net.forward(x_test)[0].y, l_test)
    rng = np.random.default_rng(1)
    for _ in range(40):
        learner.train_step(*poisson_patterns(rng, prototypes, 32, n_t))
    return before, accuracy(net.forward(x_test)[0].y, l_test)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_poisson_pattern_classification(name: str) -> None:
    before, after = classification_accuracy(LEARNERS[name], Adam(lr=0.01))
    assert before < 0.5
    assert after >= 0.90, (name, after)


def test_classification_with_sgd_momentum() -> None:
    before, after = classification_accuracy(LEARNERS["bptt"], SGD(lr=0.003, momentum=0.9))
    assert before < 0.5
    assert after >= 0.90, after


def pattern_task(n_in: int = 50, n_t: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.random((n_t, 1, n_in)) < 0.2).astype(np.float64)  # frozen Poisson noise, the same every step
    t = np.arange(n_t)
    target = np.zeros((n_t, 1, 1))
    for period in (100, 50, 25):
        target[:, 0, 0] += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return x, target


def pattern_generation_losses(name: str, seed: int) -> tuple[float, float, float]:
    """(initial loss, final loss, loss of the all-zero output) after 800 steps of Adam with decaying lr."""
    x, target = pattern_task(seed=seed)
    net = LIFNetwork(50, 100, 1, seed=seed)
    learner = LEARNERS[name](net, optimizer=Adam(lr=0.005), scheduler=ExponentialScheduler(0.005, 0.997))
    initial = learner.loss(x, target)
    learner.fit((x, target) for _ in range(800))
    return initial, learner.loss(x, target), 0.5 * float(np.sum(target**2))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_temporal_pattern_generation_other_seeds(name: str, seed: int) -> None:
    """The thresholds are not tuned to one seed (measured: >= 22x, final <= 0.15x the target energy)."""
    initial, final, zero = pattern_generation_losses(name, seed)
    assert final <= initial / 10.0, (name, seed, initial, final)
    assert final <= 0.25 * zero, (name, seed, final, zero)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_temporal_pattern_generation(name: str) -> None:
    x, target = pattern_task()
    net = LIFNetwork(50, 100, 1, seed=1)
    losses: list[dict[str, Any]] = []

    class Record:
        def on_step_end(self, step: int, logs: dict[str, float]) -> None:
            losses.append(dict(logs))

    learner = LEARNERS[name](net, optimizer=Adam(lr=0.005), scheduler=ExponentialScheduler(0.005, 0.997),
                             callbacks=[Record()])
    initial = learner.loss(x, target)
    learner.fit((x, target) for _ in range(800))
    final = learner.loss(x, target)
    assert len(losses) == 800 and losses[0]["loss"] == pytest.approx(initial, rel=1e-12)
    assert losses[-1]["lr"] == pytest.approx(0.005 * 0.997**799, rel=1e-12)
    assert final <= initial / 10.0, (name, initial, final)
    assert final <= 0.25 * 0.5 * float(np.sum(target**2)), (name, final)
