"""Training callbacks: the hooks a training loop calls, and loggers to CSV, TensorBoard and Weights & Biases.

The loop calls, in order::

    cb.on_train_begin(logs)                       # once
    cb.on_step_end(step, {"loss": 0.31, ...})     # after every update, step = 0, 1, 2, ...
    cb.on_epoch_end(epoch, {"loss": 0.29, ...})   # after every epoch, epoch = 0, 1, 2, ...
    cb.on_train_end(logs)                         # once; the loggers below flush here, they stay usable

``on_train_begin`` .. ``on_train_end`` bracket one ``fit()`` call; a callback serves any number of them
(steps and epochs keep counting across calls; the learner numbers them). ``logs`` maps metric names
(non-empty ``str``) to real numbers; values are stored as Python ``float`` (a negative zero as ``0.0``).
Every callback is a context manager whose exit calls :meth:`TrainingCallback.close`, which is
idempotent and final; a logger that is closed refuses further rows with ``RuntimeError``. Paths are
checked at construction (a directory given for a CSV file, an unwritable TensorBoard ``logdir``).

The optional loggers fail closed: :class:`TensorBoardCallback` and :class:`WandBCallback` import their
package when constructed and raise :class:`~plasticore.refmodel.errors.MissingDependencyError` (naming
the package and ``pip install plasticore[tensorboard]`` / ``plasticore[wandb]``) if it is missing.
Importing this module never needs them.
"""

from __future__ import annotations

import csv
import importlib
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import numpy as np

from .errors import MissingDependencyError

__all__ = ["CSVCallback", "TensorBoardCallback", "TrainingCallback", "WandBCallback"]

_C = TypeVar("_C", bound="TrainingCallback")


def _index(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 0, not {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value}")
    return int(value)


def _path(name: str, value: object) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, not {type(value).__name__} {value!r}")
    return Path(value)


def _prefix(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"epoch_prefix must be a str, not {type(value).__name__} {value!r}")
    return value


def _scalars(logs: Mapping[str, float] | None, reserved: frozenset[str] = frozenset()) -> dict[str, float]:
    """Check ``logs`` and return a copy with ``float`` values (non-finite values are kept)."""
    if logs is None:
        return {}
    if not isinstance(logs, Mapping):
        raise TypeError(f"logs must be a mapping of str to float, not {type(logs).__name__}")
    out: dict[str, float] = {}
    for key, value in logs.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"log keys must be non-empty str, not {type(key).__name__} {key!r}")
        if key in reserved:
            raise ValueError(f"log key {key!r} is reserved by this callback (reserved: {sorted(reserved)})")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"log value for {key!r} must be a real number, not {type(value).__name__} {value!r}"
            )
        out[key] = float(value) + 0.0  # -0.0 + 0.0 is 0.0: no "-0.0" in the logs
    return out


def _require(feature: str, package: str, extra: str, *modules: str) -> list[ModuleType]:
    """Import ``package`` then ``modules``, or raise :class:`MissingDependencyError` naming ``package``."""
    try:
        return [importlib.import_module(name) for name in (package, *modules)]
    except ImportError as exc:
        raise MissingDependencyError(feature, package, extra, reason=str(exc)) from exc


class TrainingCallback:
    """Base class with no-op hooks. Subclass and override the hooks you need.

    Learners call these by duck typing; any object with the same four methods works.
    """

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        """Called once before the first update."""

    def on_step_end(self, step: int, logs: Mapping[str, float]) -> None:
        """Called after update ``step`` (0, 1, 2, ...) with that step's metrics."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Called after epoch ``epoch`` (0, 1, 2, ...) with that epoch's metrics."""

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        """Called once after the last update."""

    def close(self) -> None:
        """Release files, threads or runs held by the callback. Idempotent."""

    def __enter__(self: _C) -> _C:
        """The callback itself; leaving the ``with`` block calls :meth:`close`."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------------------
# CSV


class CSVCallback(TrainingCallback):
    """Stream every step and epoch record to a wide CSV file, one row per record, flushed as it is logged.

    Columns are ``phase`` (``step`` or ``epoch``), ``index`` (the step or epoch number), then one column
    per metric key in order of first appearance; a record without some key leaves that cell empty.
    Values are written with :func:`repr` (shortest text that round-trips the float exactly; ``nan``,
    ``inf`` and ``-inf`` as such) and cells are quoted by :mod:`csv`, so keys with commas, quotes or
    newlines survive. ``pandas.read_csv`` or :class:`csv.DictReader` read the file as is.

    Crash safety: each row is written, flushed and (``fsync=True``, the default) fsynced before the hook
    returns, so killing the process loses no logged row. When a key appears that the header lacks,
    the whole file is rewritten with the wider header into a temporary file in the same folder,
    fsynced, and moved over the old one with :func:`os.replace` (atomic): at every instant the path
    holds either the old or the new complete file. That costs O(rows so far) once per new key.

    ``append=True`` continues an existing file written by this class (its header is kept; e.g. to
    resume after a crash); otherwise an existing file is replaced. ``path`` must not be a directory
    (``ValueError`` at construction).

    Several ``fit()`` calls: :meth:`on_train_end` flushes and releases the file handle, and the next row
    (of the next ``fit()``) reopens it for appending, so one callback logs any number of runs into one
    file. :meth:`close` is final.
    """

    RESERVED = frozenset({"phase", "index"})

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False, fsync: bool = True) -> None:
        self.path = _path("path", path)
        if self.path.is_dir():
            raise ValueError(f"path must be a CSV file path, not the directory {str(self.path)!r}")
        self.fsync = bool(fsync)
        self._keys: list[str] = []
        self._final = False
        if append and self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open(newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), [])
            if header[:2] != ["phase", "index"]:
                raise ValueError(
                    f"cannot append to {str(self.path)!r}: its header must start with 'phase,index', "
                    f"not {','.join(header[:2])!r}"
                )
            self._keys = header[2:]
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._atomic_write([["phase", "index"]])
        self._fh: Any = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh)

    @property
    def columns(self) -> list[str]:
        """The current header."""
        return ["phase", "index", *self._keys]

    @property
    def closed(self) -> bool:
        """``True`` after :meth:`close` (not after :meth:`on_train_end`, which only releases the handle)."""
        return self._final

    def on_step_end(self, step: int, logs: Mapping[str, float]) -> None:
        """Write one ``step`` row."""
        self._log("step", _index("step", step), logs)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Write one ``epoch`` row."""
        self._log("epoch", _index("epoch", epoch), logs)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        """Flush and release the file handle; the next row reopens it (another ``fit()`` may follow)."""
        self._release()

    def close(self) -> None:
        """Flush and close the file; further rows raise ``RuntimeError``. Idempotent."""
        self._release()
        self._final = True

    def _release(self) -> None:
        if self._fh is not None:
            self._sync()
            self._fh.close()
            self._fh = None

    def _log(self, phase: str, index: int, logs: Mapping[str, float]) -> None:
        if self._final:
            raise RuntimeError(f"CSVCallback for {str(self.path)!r} is closed")
        if self._fh is None:
            self._fh = self.path.open("a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)
        values = _scalars(logs, self.RESERVED)
        new = [key for key in values if key not in self._keys]
        if new:
            self._widen(new)
        self._writer.writerow([phase, index, *(repr(values[k]) if k in values else "" for k in self._keys)])
        self._sync()

    def _sync(self) -> None:
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def _widen(self, new: list[str]) -> None:
        """Rewrite the file with ``new`` keys appended to the header (old rows padded with empty cells)."""
        self._sync()
        with self.path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        self._fh.close()  # everything is on disk; the path keeps the old file until the replace
        keys = [*self._keys, *new]
        header = ["phase", "index", *keys]
        try:
            self._atomic_write([header, *(row + [""] * (len(header) - len(row)) for row in rows[1:])])
            self._keys = keys  # only once the wider file is in place
        finally:
            self._fh = self.path.open("a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)

    def _atomic_write(self, rows: list[list[str]]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows(rows)
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if self.fsync and hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
            fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# ---------------------------------------------------------------------------------------------------------
# TensorBoard


class TensorBoardCallback(TrainingCallback):
    """Write scalars to a TensorBoard event file in ``logdir`` (needs ``tensorboard``, not torch or TF).

    Step metrics go to tag ``key`` at global step ``step``; epoch metrics to ``epoch_prefix + key``
    at global step ``epoch``. Values are stored as ``Summary.Value.simple_value``, a float32 (TensorBoard's
    scalar format), so they read back rounded to float32. Events are written by TensorBoard's
    ``EventFileWriter`` on a background thread; they are flushed at every epoch end and on close
    (and every ``flush_secs`` seconds). ``clock`` supplies the wall time of each event. ``logdir`` is
    created at construction; a path that cannot be created or written is a ``ValueError`` there.
    :meth:`on_train_end` flushes (the writer serves further ``fit()`` calls); :meth:`close` is final.

    Raises :class:`~plasticore.refmodel.errors.MissingDependencyError` if tensorboard is not installed.
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        *,
        epoch_prefix: str = "epoch/",
        flush_secs: float = 10.0,
        max_queue_size: int = 100,
        filename_suffix: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        _, event_pb2, summary_pb2, writer_mod = _require(
            "TensorBoardCallback",
            "tensorboard",
            "tensorboard",
            "tensorboard.compat.proto.event_pb2",
            "tensorboard.compat.proto.summary_pb2",
            "tensorboard.summary.writer.event_file_writer",
        )

        if isinstance(flush_secs, bool) or not isinstance(flush_secs, (int, float)):
            raise TypeError(f"flush_secs must be a finite number > 0, not {type(flush_secs).__name__} {flush_secs!r}")
        if not flush_secs > 0 or not math.isfinite(flush_secs):
            raise ValueError(f"flush_secs must be a finite number > 0, not {flush_secs!r}")
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning the wall time, not {type(clock).__name__} {clock!r}")
        if not isinstance(filename_suffix, str):
            raise TypeError(f"filename_suffix must be a str, not {type(filename_suffix).__name__} {filename_suffix!r}")
        self.logdir = _path("logdir", logdir)
        self.epoch_prefix = _prefix(epoch_prefix)
        queue = _index("max_queue_size", max_queue_size)
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"logdir {str(self.logdir)!r} cannot be created: {exc.strerror or exc}") from exc
        if not os.access(self.logdir, os.W_OK | os.X_OK):
            raise ValueError(f"logdir {str(self.logdir)!r} is not writable")
        self._clock = clock
        self._event_pb2 = event_pb2
        self._summary_pb2 = summary_pb2
        self._writer: Any = writer_mod.EventFileWriter(
            str(self.logdir),
            max_queue_size=queue,
            flush_secs=flush_secs,
            filename_suffix=filename_suffix,
        )

    def on_step_end(self, step: int, logs: Mapping[str, float]) -> None:
        """Write the step's scalars at global step ``step``."""
        self._write(_index("step", step), _scalars(logs))

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Write the epoch's scalars (tags prefixed by ``epoch_prefix``) at global step ``epoch`` and flush."""
        values = _scalars(logs)
        self._write(_index("epoch", epoch), {self.epoch_prefix + k: v for k, v in values.items()})
        self._writer.flush()

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        """Flush the events written so far (the writer stays open for another ``fit()``)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush, stop the writer thread and close the event file. Idempotent."""
        if self._writer is not None:
            self._writer.close()  # flushes and joins the writer thread
            self._writer = None

    def _write(self, step: int, values: dict[str, float]) -> None:
        if self._writer is None:
            raise RuntimeError(f"TensorBoardCallback for {str(self.logdir)!r} is closed")
        summary = self._summary_pb2.Summary(
            value=[self._summary_pb2.Summary.Value(tag=k, simple_value=v) for k, v in values.items()]
        )
        self._writer.add_event(self._event_pb2.Event(wall_time=self._clock(), step=step, summary=summary))


# ---------------------------------------------------------------------------------------------------------
# Weights & Biases


class WandBCallback(TrainingCallback):
    """Log to a Weights & Biases run; ``mode="offline"`` (the default) needs no network or account.

    Each step logs ``{"step": step, **logs}``; each epoch logs ``{"epoch": epoch, epoch_prefix + key: ...}``,
    with ``define_metric`` making ``step`` and ``epoch`` the x axes. An offline run lands in
    ``<dir>/wandb/offline-run-*/`` and can be uploaded later with ``wandb sync``; pass
    ``mode="online"`` to stream instead. ``dir``, ``project``, ``name``, ``config`` and any other
    keyword go to :func:`wandb.init`. :meth:`close` finishes the run (exit code 1 if the ``with`` block
    raised); :meth:`on_train_end` does not, so one run spans several ``fit()`` calls.
    Keys ``step``, ``epoch`` and keys starting with ``_`` (W&B's own) are rejected.

    The offline run's transaction log ``run-<id>.wandb`` is written by W&B's service process, which
    (wandb 0.31) may append its last buffered records a few milliseconds after ``finish()`` returns; the
    log is complete once it ends with the run's ``exit`` record (or at once after ``wandb.teardown()``).

    Raises :class:`~plasticore.refmodel.errors.MissingDependencyError` if wandb is not installed.
    """

    RESERVED = frozenset({"step", "epoch"})

    def __init__(
        self,
        project: str = "plasticore",
        *,
        mode: str = "offline",
        dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        epoch_prefix: str = "epoch/",
        **init_kwargs: Any,
    ) -> None:
        (wandb,) = _require("WandBCallback", "wandb", "wandb")
        if mode not in ("offline", "online", "disabled"):
            raise ValueError(f"mode must be one of 'offline', 'online', 'disabled', not {mode!r}")
        self.epoch_prefix = _prefix(epoch_prefix)
        if dir is not None:
            _path("dir", dir).mkdir(parents=True, exist_ok=True)
        self.run: Any = wandb.init(
            project=project,
            mode=mode,
            dir=None if dir is None else str(dir),
            name=name,
            config=dict(config) if config is not None else None,
            **init_kwargs,
        )
        self.run.define_metric("step")
        self.run.define_metric("epoch")
        self.run.define_metric(f"{epoch_prefix}*", step_metric="epoch")
        self._defined: set[str] = set()
        self._finished = False

    def on_step_end(self, step: int, logs: Mapping[str, float]) -> None:
        """Log ``{"step": step, **logs}``."""
        values = self._check(logs)
        for key in values.keys() - self._defined:
            self.run.define_metric(key, step_metric="step")
            self._defined.add(key)
        self._log({"step": _index("step", step), **values})

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Log ``{"epoch": epoch, epoch_prefix + key: value}``."""
        values = self._check(logs)
        self._log({"epoch": _index("epoch", epoch), **{self.epoch_prefix + k: v for k, v in values.items()}})

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        """Nothing: the run stays open for further ``fit()`` calls until :meth:`close`."""

    def close(self, exit_code: int = 0) -> None:
        """Finish the run with ``exit_code``. Idempotent."""
        if not self._finished:
            self._finished = True
            self.run.finish(exit_code=exit_code)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(exit_code=0 if exc_type is None else 1)

    def _check(self, logs: Mapping[str, float]) -> dict[str, float]:
        values = _scalars(logs, self.RESERVED)
        for key in values:
            if key.startswith("_"):
                raise ValueError(f"log key {key!r} starts with '_', which W&B reserves for its own keys")
        return values

    def _log(self, row: dict[str, float | int]) -> None:
        if self._finished:
            raise RuntimeError("WandBCallback is closed (its run has finished)")
        self.run.log(row)
