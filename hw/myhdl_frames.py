"""A cheaper frame stack for MyHDL's elaboration (same frames, no source lookup).

MyHDL 0.11 finds a block's or an instance's defining scope with ``inspect.stack()`` (``myhdl._block`` once per
block call, ``myhdl._instance`` twice per ``@instance``/``@always``/``@always_comb``) and uses only each
record's frame (index 0), function name (index 3) and the stack's length. ``inspect.stack()`` also reads
every frame's source context, and for a frame whose file is not known to :mod:`inspect` yet it walks all of
``sys.modules``. Its cost grows with the stack's depth and the number of loaded modules: in a long pytest
session (deep stacks, thousands of modules from torch, Flower, Dask) elaborating the sweep's designs for the
predictor took ~17x longer than in a fresh process (274 s against 16 s).

:func:`install` gives those two MyHDL modules an ``inspect`` whose ``stack()`` returns the same frames and
names without the source lookup (``code_context`` and ``index`` are ``None``); every other ``inspect``
attribute is the real one. :mod:`plasticore.hw` installs it on import when MyHDL is present.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

PATCHED_MODULES: tuple[str, ...] = ("myhdl._block", "myhdl._instance")


def frame_stack(context: int = 1) -> list[inspect.FrameInfo]:
    """``inspect.stack(context)`` without the source context: the caller's frame first, then its callers."""
    del context  # MyHDL reads no source line from these records
    out = []
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        out.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back
    return out


class _Inspect(types.ModuleType):
    """:mod:`inspect` with :func:`frame_stack` as ``stack``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


_FAST = _Inspect("inspect")
_FAST.stack = frame_stack  # type: ignore[attr-defined]


def install() -> None:
    """Point ``myhdl._block.inspect`` and ``myhdl._instance.inspect`` at the cheaper stack (idempotent)."""
    import importlib

    for name in PATCHED_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "inspect", None) is not inspect and getattr(module, "inspect", None) is not _FAST:
            raise RuntimeError(f"{name} no longer imports inspect as `inspect`: check myhdl_frames against MyHDL")
        module.inspect = _FAST  # type: ignore[attr-defined]


__all__ = ["PATCHED_MODULES", "frame_stack", "install"]
