"""Rough edges a new user found (issue 13, item 4), each pinned: callbacks over several fits and epochs,
no ``-0.0`` losses, bad paths at construction, R-STDP weights out of bounds, a state of another batch size,
sizes that would need terabytes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel import (
    SGD,
    BPTTLearner,
    CSVCallback,
    LIFNetwork,
    RewardModulatedLearner,
    RSTDPParams,
    TensorBoardCallback,
    cross_entropy_loss,
    rstdp_initial_state,
    rstdp_step,
)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.random((20, 2, 4)) < 0.3).astype(float), rng.normal(0.0, 0.3, (20, 2, 1))


class Events:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def on_train_begin(self, logs: Any = None) -> None:
        self.log.append(("begin",))

    def on_step_end(self, step: int, logs: dict[str, float]) -> None:
        self.log.append(("step", step))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.log.append(("epoch", epoch, logs["loss"]))

    def on_train_end(self, logs: Any = None) -> None:
        self.log.append(("end",))


def test_fit_calls_on_epoch_end_with_the_mean_loss_and_counts_across_fits() -> None:
    x, y = _data()
    ev = Events()
    learner = BPTTLearner(LIFNetwork(4, 6, 1, seed=0), optimizer=SGD(lr=0.01), callbacks=[ev])
    losses = learner.fit([(x, y)] * 2, epochs=2)
    more = learner.fit([(x, y)])
    assert [e[:2] for e in ev.log] == [("begin",), ("step", 0), ("step", 1), ("epoch", 0), ("step", 2), ("step", 3),
                                       ("epoch", 1), ("end",), ("begin",), ("step", 4), ("epoch", 2), ("end",)]
    assert ev.log[3][2] == pytest.approx((losses[0] + losses[1]) / 2, rel=1e-15)
    assert ev.log[10][2] == more[0]
    with pytest.raises(TypeError, match=r"batches must be re-iterable \(e.g. a list\) for epochs=2"):
        learner.fit(((x, y) for _ in range(2)), epochs=2)


def test_csv_callback_serves_several_fits(tmp_path: Path) -> None:
    x, y = _data()
    path = tmp_path / "log.csv"
    cb = CSVCallback(path)
    learner = BPTTLearner(LIFNetwork(4, 6, 1, seed=0), optimizer=SGD(lr=0.01), callbacks=[cb])
    first = learner.fit([(x, y)] * 2)
    second = learner.fit([(x, y)] * 2)  # used to raise: the first fit's on_train_end closed the file
    cb.close()
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["phase", "index", "loss", "lr"]
    assert [(r[0], int(r[1])) for r in rows[1:]] == [("step", 0), ("step", 1), ("epoch", 0),
                                                     ("step", 2), ("step", 3), ("epoch", 1)]
    assert [float(r[2]) for r in rows[1:] if r[0] == "step"] == first + second


def test_losses_never_log_as_negative_zero(tmp_path: Path) -> None:
    logits = np.array([[800.0, 0.0], [0.0, 800.0]])  # softmax is exactly one-hot: the loss is exactly 0
    loss = cross_entropy_loss(logits, np.array([0, 1]))
    assert loss == 0.0 and repr(loss) == "0.0"
    path = tmp_path / "z.csv"
    with CSVCallback(path) as cb:
        cb.on_step_end(0, {"loss": -0.0})
        cb.on_epoch_end(0, {"loss": np.float64(-0.0)})
    assert [r[2] for r in list(csv.reader(path.open()))[1:]] == ["0.0", "0.0"]


def test_bad_log_paths_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^path must be a CSV file path, not the directory '.*'$"):
        CSVCallback(tmp_path)
    pytest.importorskip("tensorboard")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"^logdir '.*file.txt/tb' cannot be created: "):
        TensorBoardCallback(blocker / "tb")


def test_tensorboard_callback_serves_several_fits(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = _data()
    with TensorBoardCallback(tmp_path / "tb") as cb:
        learner = BPTTLearner(LIFNetwork(4, 6, 1, seed=0), optimizer=SGD(lr=0.01), callbacks=[cb])
        losses = learner.fit([(x, y)]) + learner.fit([(x, y)])
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [0, 1]
    assert [e.value for e in acc.Scalars("loss")] == [float(np.float32(v)) for v in losses]


def test_rstdp_weights_above_w_max_are_an_error_not_clipped() -> None:
    params = RSTDPParams(w_max=1.0)
    learner = RewardModulatedLearner(3, 2, params)
    w = np.full((2, 3), 0.5)
    w[1, 2] = 1.5
    with pytest.raises(ValueError, match=r"^weights must be in \[w_min, w_max\] = \[0, 1\], not 1.5 at \(1, 2\)$"):
        learner.step([1, 0, 1], [1, 1], 1.0, w)
    w[1, 2] = np.nan
    with pytest.raises(ValueError, match="weights must be finite"):
        learner.step([1, 0, 1], [1, 1], 1.0, w)
    w[1, 2] = -0.1
    with pytest.raises(ValueError, match=r"not -0.1 at \(1, 2\)"):
        rstdp_step(np.ones(3, bool), np.ones(2, bool), 1.0, w, rstdp_initial_state(3, 2), params)


def test_forward_with_a_state_of_another_batch_size_is_named() -> None:
    net = LIFNetwork(4, 6, 1, seed=0)
    x, _ = _data()  # batch 2
    _, state = net.forward(x[:, :1])  # batch 1
    with pytest.raises(ValueError, match=r"^state.v must have shape \(batch, 6\) = \(2, 6\) for inputs with batch 2, "
                                         r"not \(1, 6\)$"):
        net.forward(x, state)
    rec, _ = net.forward(x[:, :1], state)  # the matching batch continues
    assert rec.v.shape == (20, 1, 6)


def test_sizes_that_need_terabytes_are_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^a LIFNetwork with n_in=10000000, n_rec=10000000, n_out=1 would need "
                                         r"[0-9.]+ PB of memory, more than this machine's"):
        LIFNetwork(10_000_000, 10_000_000, 1)
    with pytest.raises(ValueError, match=r"R-STDP state for n_post x n_pre = 1000000 x 1000000 synapses would need"):
        RewardModulatedLearner(1_000_000, 1_000_000)
