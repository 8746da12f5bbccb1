"""plasticore.hw: MyHDL hardware, bit-exact with :mod:`plasticore.refmodel`.

The emitters are imported on first use (they need MyHDL); the vocabulary (:mod:`plasticore.hw.vocabulary`)
and the device table (:mod:`plasticore.hw.devices`) are pure Python and import without MyHDL. With MyHDL
present, importing this package installs :mod:`plasticore.hw.myhdl_frames` (a cheaper frame stack for
MyHDL's elaboration).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from .vocabulary import Design, Memory, TargetName

if importlib.util.find_spec("myhdl") is not None:  # elaboration without inspect.stack's source lookups
    from .myhdl_frames import install as _install_frame_stack

    _install_frame_stack()

if TYPE_CHECKING:
    from .array_emitter import OnlineO1ArrayEmitter
    from .emitter import LANE_PORTS, OnlineO1LearningEmitter, config_tag
    from .widths import O1Widths


def __getattr__(name: str) -> Any:
    """The emitters and widths, imported when first asked for (PEP 562)."""
    if name == "OnlineO1ArrayEmitter":
        from . import array_emitter

        return array_emitter.OnlineO1ArrayEmitter
    if name in ("LANE_PORTS", "OnlineO1LearningEmitter", "config_tag"):
        from . import emitter

        return getattr(emitter, name)
    if name == "O1Widths":
        from . import widths

        return widths.O1Widths
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LANE_PORTS",
    "Design",
    "Memory",
    "O1Widths",
    "OnlineO1ArrayEmitter",
    "OnlineO1LearningEmitter",
    "TargetName",
    "config_tag",
]
