"""Helpers shared by the benchmark and report scripts: the machine description (what the numbers were
measured on) and progress bars for the long jobs."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

_T = TypeVar("_T")


def progress_enabled() -> bool:
    """Progress bars are shown only on an interactive terminal and never under CI (``CI`` set, non-empty)."""
    return not os.environ.get("CI") and sys.stderr.isatty()


def progress(items: Iterable[_T], desc: str, total: int | None = None) -> Iterator[_T]:
    """``items`` with a ``tqdm`` bar on stderr (``pip install plasticore[dev]``), or plainly when
    :func:`progress_enabled` is false or tqdm is not installed."""
    if progress_enabled():
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is in the dev extra
            pass
        else:
            yield from tqdm(items, desc=desc, total=total, leave=False, dynamic_ncols=True)
            return
    yield from items


def machine_info() -> dict[str, Any]:
    """Platform, CPU model, core count and the Python and NumPy versions."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
