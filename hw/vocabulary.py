"""The project's vocabulary, defined once: designs, memory kinds, targets, families and RAM kinds.

Every name is a ``str``-valued :class:`~enum.Enum`, so the plain strings the public API has always taken
(``memory="spram"``, ``target="ice40-up5k"``) keep working and compare equal to the members
(``Memory.SPRAM == "spram"``); :func:`choice` turns either form into the plain string the rest of the code
uses, or raises an error that names the parameter, the allowed values and the bad value.

Pure Python (no MyHDL): :mod:`plasticore.hw`, :mod:`plasticore.estimate` and :mod:`plasticore.flows` all
import it, and it imports nothing from the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Name(str, Enum):
    """A ``str``-valued enum member that formats as its value (``f"{Memory.SPRAM}" == "spram"``)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Design(Name):
    """What is synthesized: one synapse in registers, the synapse array in block RAM, or the closed-loop core
    (the array with LIF neurons behind SPI; built by :mod:`plasticore.flows.board`, not by the sweep)."""

    LANE = "o1_lane"
    ARRAY = "o1_array"
    CORE = "o1_core"


class Memory(Name):
    """Where the array keeps its synapse words (``AUTO``: decide from the size, see ``choose_memory``)."""

    AUTO = "auto"
    INFERRED = "inferred"  # a simple dual-port RAM in the idiom Yosys infers (iCE40 EBR, ECP5 DP16KD)
    SPRAM = "spram"  # iCE40 UltraPlus SB_SPRAM256KA, instantiated explicitly


class TargetName(Name):
    """The devices the predictor knows (``GENERIC``: a LUT4 fabric without limits, RAM counted in bits)."""

    ICE40_UP5K = "ice40-up5k"
    ICE40_HX8K = "ice40-hx8k"
    ECP5_25F = "ecp5-25f"
    GENERIC = "generic"


class Family(Name):
    """FPGA families (one flow module and one set of fitted coefficients each)."""

    ICE40 = "ice40"
    ECP5 = "ecp5"
    GENERIC = "generic"


class RamKind(Name):
    """Hard RAM blocks: iCE40 EBR (4 kbit), iCE40 UltraPlus SPRAM (256 kbit), ECP5 DP16KD (18 kbit)."""

    EBR = "ebr"
    SPRAM = "spram"
    DP16KD = "dp16kd"


DESIGNS: tuple[str, ...] = (Design.LANE.value, Design.ARRAY.value)  # what the synthesis sweep builds
PREDICTED_DESIGNS: tuple[str, ...] = tuple(d.value for d in Design)  # what the predictor estimates
MEMORIES: tuple[str, ...] = (Memory.INFERRED.value, Memory.SPRAM.value)  # resolved memory kinds
MEMORY_CHOICES: tuple[str, ...] = tuple(m.value for m in Memory)  # what a caller may ask for
TARGETS: tuple[str, ...] = tuple(t.value for t in TargetName)


def choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """``value`` (a string or an enum member) as a plain string, checked against ``allowed``.

    Raises :class:`TypeError` for a value that is not a string, :class:`ValueError` for an unknown one;
    both messages name the parameter, the allowed values and the bad value
    (``memory must be one of ['auto', 'inferred', 'spram'], not 'bram'``).
    """
    options = list(allowed)
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {options} (a str), not {type(value).__name__} {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, not {value!r}")
    return str(value)


__all__ = [
    "DESIGNS",
    "MEMORIES",
    "MEMORY_CHOICES",
    "PREDICTED_DESIGNS",
    "TARGETS",
    "Design",
    "Family",
    "Memory",
    "Name",
    "RamKind",
    "TargetName",
    "choice",
]
