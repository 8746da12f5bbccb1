"""Callbacks: every logger is checked by reading what it wrote back from disk with an independent reader.

CSV: :mod:`csv` readers, also after SIGKILL of a training subprocess. TensorBoard: TensorBoard's own
``EventAccumulator``. W&B: the offline run's ``.wandb`` transaction log, decoded with W&B's protobuf schema.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel.callbacks import CSVCallback, TensorBoardCallback, TrainingCallback, WandBCallback
from plasticore.refmodel.errors import MissingDependencyError

# --------------------------------------------------------------------------- TrainingCallback


class Recorder(TrainingCallback):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_step_end(self, step: int, logs: Mapping[str, float]) -> None:
        self.calls.append(("step", step, dict(logs)))

    def close(self) -> None:
        self.calls.append(("close",))


def test_base_hooks_are_noops_and_return_none() -> None:
    cb = TrainingCallback()
    assert cb.on_train_begin() is None  # type: ignore[func-returns-value]
    assert cb.on_step_end(0, {"loss": 1.0}) is None  # type: ignore[func-returns-value]
    assert cb.on_epoch_end(0, {"loss": 1.0}) is None  # type: ignore[func-returns-value]
    assert cb.on_train_end({"loss": 1.0}) is None  # type: ignore[func-returns-value]
    assert cb.close() is None  # type: ignore[func-returns-value]
    assert vars(cb) == {}  # no state


def test_context_manager_closes_once_even_on_error() -> None:
    with Recorder() as cb:
        cb.on_step_end(3, {"loss": 0.5})
    assert cb.calls == [("step", 3, {"loss": 0.5}), ("close",)]
    rec = Recorder()
    with pytest.raises(KeyError), rec:
        raise KeyError("boom")
    assert rec.calls == [("close",)]


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_values_round_trip_exactly(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    values = [0.1 + 0.2, 1 / 3, 1e-300, -2.5e17, float("inf"), float("-inf")]
    with CSVCallback(path) as cb:
        for step, v in enumerate(values):
            cb.on_step_end(step, {"loss": v, "n": np.int64(step)})  # type: ignore[dict-item]
        cb.on_step_end(6, {"loss": float("nan"), "n": 6})
        cb.on_epoch_end(0, {"loss": np.float32(0.25)})  # type: ignore[dict-item]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["phase"] for r in rows] == ["step"] * 7 + ["epoch"]
    assert [int(r["index"]) for r in rows] == [0, 1, 2, 3, 4, 5, 6, 0]
    assert [float(r["loss"]) for r in rows[:6]] == values  # bit-exact, via repr
    assert math.isnan(float(rows[6]["loss"]))
    assert [float(r["n"]) for r in rows[:7]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert rows[7] == {"phase": "epoch", "index": "0", "loss": "0.25", "n": ""}


def test_csv_quotes_awkward_keys(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    key = 'loss, "train"\nline2 ü'
    with CSVCallback(path) as cb:
        cb.on_step_end(0, {key: 1.5, "plain": 2.0})
    assert read_csv(path) == [["phase", "index", key, "plain"], ["step", "0", "1.5", "2.0"]]


def test_csv_streams_rows_and_records_late_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "log.csv"  # parent folder created
    cb = CSVCallback(path)
    assert read_csv(path) == [["phase", "index"]]
    cb.on_step_end(0, {"loss": 1.0})
    assert read_csv(path) == [["phase", "index", "loss"], ["step", "0", "1.0"]]  # on disk before close
    cb.on_step_end(1, {"loss": 0.5, "acc": 0.25})  # new key: header widened, old row padded
    assert read_csv(path) == [
        ["phase", "index", "loss", "acc"],
        ["step", "0", "1.0", ""],
        ["step", "1", "0.5", "0.25"],
    ]
    cb.on_epoch_end(0, {"acc": 0.75, "lr": 0.01})
    cb.on_step_end(2, {"loss": 0.125})
    cb.on_train_end()
    assert not cb.closed  # train end only releases the file: another fit() may follow
    assert read_csv(path) == [
        ["phase", "index", "loss", "acc", "lr"],
        ["step", "0", "1.0", "", ""],
        ["step", "1", "0.5", "0.25", ""],
        ["epoch", "0", "", "0.75", "0.01"],
        ["step", "2", "0.125", "", ""],
    ]
    assert sorted(p.name for p in path.parent.iterdir()) == ["log.csv"]  # no temp file left behind
    cb.close()
    assert cb.closed
    with pytest.raises(RuntimeError, match=r"^CSVCallback for '.*log.csv' is closed$"):
        cb.on_step_end(3, {"loss": 0.1})
    cb.close()  # idempotent


def test_csv_append_resumes_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    with CSVCallback(path) as cb:
        cb.on_step_end(0, {"loss": 1.0})
    with CSVCallback(path, append=True) as cb:
        cb.on_step_end(1, {"loss": 0.5, "acc": 0.5})
    assert read_csv(path) == [
        ["phase", "index", "loss", "acc"],
        ["step", "0", "1.0", ""],
        ["step", "1", "0.5", "0.5"],
    ]
    with CSVCallback(path) as cb:  # without append, a new file
        cb.on_step_end(0, {"x": 2.0})
    assert read_csv(path) == [["phase", "index", "x"], ["step", "0", "2.0"]]
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"header must start with 'phase,index', not 'a,b'$"):
        CSVCallback(other, append=True)


def test_csv_header_rewrite_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.csv"
    cb = CSVCallback(path)
    cb.on_step_end(0, {"loss": 1.0})
    before = path.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)  # the rewrite dies just before the rename
    with pytest.raises(OSError, match="disk gone"):
        cb.on_step_end(1, {"loss": 0.5, "acc": 0.5})
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]  # temp file removed
    monkeypatch.undo()
    cb.on_step_end(1, {"loss": 0.5})  # still usable; the failed row was not recorded
    cb.on_step_end(2, {"loss": 0.25, "acc": 0.5})
    cb.close()
    assert read_csv(path) == [
        ["phase", "index", "loss", "acc"],
        ["step", "0", "1.0", ""],
        ["step", "1", "0.5", ""],
        ["step", "2", "0.25", "0.5"],
    ]


CHILD = textwrap.dedent(
    """
    import sys, time
    from plasticore.refmodel.callbacks import CSVCallback
    cb = CSVCallback(sys.argv[1])
    for step in range(40):
        logs = {"loss": 1.0 / (step + 1)}
        if step >= 25:
            logs["acc"] = step / 40  # a key that appears mid-run forces a header rewrite
        cb.on_step_end(step, logs)
        if step % 10 == 9:
            cb.on_epoch_end(step // 10, {"loss": 0.5})
    print("logged", flush=True)
    time.sleep(60)  # still "training" when killed: no close(), no atexit, no buffer flush
    """
)


def test_csv_loses_no_row_when_training_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "logged\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    rows = read_csv(path)
    assert rows[0] == ["phase", "index", "loss", "acc"]
    expected: list[list[str]] = []
    for step in range(40):
        expected.append(["step", str(step), repr(1.0 / (step + 1)), repr(step / 40) if step >= 25 else ""])
        if step % 10 == 9:
            expected.append(["epoch", str(step // 10), "0.5", ""])
    assert rows[1:] == expected


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda cb: cb.on_step_end(-1, {"a": 1.0}), ValueError, r"^step must be an int >= 0, not -1$"),
        (
            lambda cb: cb.on_epoch_end(1.0, {"a": 1.0}),
            TypeError,
            r"^epoch must be an int >= 0, not float 1.0$",
        ),
        (
            lambda cb: cb.on_step_end(0, {"phase": 1.0}),
            ValueError,
            r"^log key 'phase' is reserved by this callback \(reserved: \['index', 'phase'\]\)$",
        ),
        (
            lambda cb: cb.on_step_end(0, {"a": "1.0"}),
            TypeError,
            r"^log value for 'a' must be a real number, not str '1.0'$",
        ),
        (lambda cb: cb.on_step_end(0, {3: 1.0}), TypeError, r"^log keys must be non-empty str, not int 3$"),
    ],
)
def test_csv_bad_input_messages(tmp_path: Path, call: Any, exc: type[Exception], message: str) -> None:
    with CSVCallback(tmp_path / "log.csv") as cb:
        with pytest.raises(exc, match=message):
            call(cb)
        cb.on_step_end(0, {"a": 1.0})
    # the rejected calls wrote nothing, not even a header column
    assert read_csv(tmp_path / "log.csv") == [["phase", "index", "a"], ["step", "0", "1.0"]]


# --------------------------------------------------------------------------- optional dependencies


@pytest.mark.parametrize(
    ("make", "feature", "package"),
    [
        (lambda p: TensorBoardCallback(p), "TensorBoardCallback", "tensorboard"),
        (lambda p: WandBCallback(dir=p), "WandBCallback", "wandb"),
    ],
)
def test_missing_dependency_fails_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: Any, feature: str, package: str
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import <package>` raise ImportError
    with pytest.raises(MissingDependencyError) as info:
        make(tmp_path)
    err = info.value
    assert isinstance(err, ImportError)
    assert (err.package, err.extra, err.name, err.feature) == (package, package, package, feature)
    assert str(err).startswith(f"{feature} needs the '{package}' package, which could not be imported (")
    assert str(err).endswith(f"); install it with: pip install plasticore[{package}]")
    assert list(tmp_path.iterdir()) == []  # nothing was created


# --------------------------------------------------------------------------- TensorBoard


def test_tensorboard_scalars_read_back_by_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ticks = iter(1000.0 + k for k in range(100))
    losses = [1.0 / (k + 1) for k in range(12)]
    with TensorBoardCallback(tmp_path / "tb", clock=lambda: next(ticks)) as cb:
        cb.on_train_begin()
        for step, loss in enumerate(losses):
            cb.on_step_end(step, {"loss": loss, "lr": 0.1 * 0.9**step})
        cb.on_epoch_end(0, {"loss": 0.3})
        cb.on_epoch_end(1, {"loss": 0.2})
        cb.on_train_end()
    files = list((tmp_path / "tb").iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")

    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["epoch/loss", "loss", "lr"]
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == list(range(12))
    assert [e.value for e in loss] == [float(np.float32(v)) for v in losses]  # simple_value is float32
    assert [e.wall_time for e in loss] == [1000.0 + k for k in range(12)]
    assert [e.value for e in acc.Scalars("lr")] == [float(np.float32(0.1 * 0.9**k)) for k in range(12)]
    epoch = acc.Scalars("epoch/loss")
    assert [(e.step, e.value) for e in epoch] == [(0, float(np.float32(0.3))), (1, float(np.float32(0.2)))]
    with pytest.raises(RuntimeError, match=r"^TensorBoardCallback for '.*tb' is closed$"):
        cb.on_step_end(12, {"loss": 0.0})


def test_tensorboard_works_without_torch_or_tensorflow(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    script = textwrap.dedent(
        """
        import sys
        for name in ("torch", "tensorflow"):
            sys.modules[name] = None  # any import of them now fails
        from plasticore.refmodel.callbacks import TensorBoardCallback
        with TensorBoardCallback(sys.argv[1]) as cb:
            cb.on_step_end(7, {"loss": 0.5})
        """
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(7, 0.5)]


# --------------------------------------------------------------------------- Weights & Biases


def read_wandb_records(path: Path) -> list[Any]:
    """Decode a ``.wandb`` transaction log: a 7-byte header (``:W&B``, magic, version), then LevelDB-log
    records (4-byte CRC, 2-byte length, 1-byte type FULL/FIRST/MIDDLE/LAST) in 32 KiB blocks, each
    holding a serialized ``wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, pos, pending, out = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # trailer too short for a header: skip to next block
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]  # generated at import, no stub
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def test_wandb_offline_run_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb = pytest.importorskip("wandb")
    for var, value in {
        "WANDB_SILENT": "true",
        "WANDB_MODE": "offline",
        "WANDB_CONFIG_DIR": str(tmp_path / "config"),
        "WANDB_CACHE_DIR": str(tmp_path / "cache"),
        "WANDB_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(var, value)
    losses = [1.0 / (k + 3) for k in range(6)]
    with WandBCallback(
        "plasticore-test",
        dir=tmp_path / "runs",
        name="unit",
        config={"lr": 0.01, "rule": "eprop"},
        settings=wandb.Settings(console="off", x_disable_stats=True),
    ) as cb:
        for step, loss in enumerate(losses):
            cb.on_step_end(step, {"loss": loss})
        cb.on_epoch_end(0, {"loss": 0.125, "acc": 0.75})
        with pytest.raises(ValueError, match=r"^log key '_x' starts with '_', which W&B reserves"):
            cb.on_step_end(6, {"_x": 1.0})
        with pytest.raises(ValueError, match=r"^log key 'step' is reserved by this callback"):
            cb.on_step_end(6, {"step": 1.0})
    with pytest.raises(RuntimeError, match=r"^WandBCallback is closed"):
        cb.on_step_end(6, {"loss": 0.0})

    (run_file,) = (tmp_path / "runs" / "wandb").glob("offline-run-*/run-*.wandb")
    # wandb-core appends the buffered log a few ms after finish() returns; the exit record ends it
    deadline = time.monotonic() + 20.0
    records = read_wandb_records(run_file)
    while not any(r.WhichOneof("record_type") == "exit" for r in records) and time.monotonic() < deadline:
        time.sleep(0.01)
        records = read_wandb_records(run_file)
    history = []
    for rec in records:
        if rec.WhichOneof("record_type") == "history":
            items = rec.history.item
            row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
            history.append({k: v for k, v in row.items() if not k.startswith("_")})
    assert history == [{"step": k, "loss": v} for k, v in enumerate(losses)] + [
        {"epoch": 0, "epoch/loss": 0.125, "epoch/acc": 0.75}
    ]
    (run_rec,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run_rec.project == "plasticore-test" and run_rec.display_name == "unit"
    config = {item.key: json.loads(item.value_json) for item in run_rec.config.update}
    assert (config["lr"], config["rule"]) == (0.01, "eprop")
    exits = [r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"]
    assert exits == [0]


def test_bad_constructor_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"^path must be a str or os.PathLike, not NoneType None$"):
        CSVCallback(None)  # type: ignore[arg-type]
    pytest.importorskip("tensorboard")
    with pytest.raises(TypeError, match=r"^epoch_prefix must be a str, not int 5$"):
        TensorBoardCallback(tmp_path / "a", epoch_prefix=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^clock must be a callable returning the wall time, not float 1.5$"):
        TensorBoardCallback(tmp_path / "b", clock=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^flush_secs must be a finite number > 0, not str '10'$"):
        TensorBoardCallback(tmp_path / "c", flush_secs="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^flush_secs must be a finite number > 0, not nan$"):
        TensorBoardCallback(tmp_path / "d", flush_secs=math.nan)
    assert list(tmp_path.iterdir()) == []  # rejected before anything was created
