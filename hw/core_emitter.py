"""``OnlineO1CoreEmitter``: Verilog and VHDL of the closed-loop core (:func:`plasticore.hw.o1_core.o1_core`).

>>> em = OnlineO1CoreEmitter(OnlineO1Config(8, 6, 4, 2, 2), FixedLIFConfig(12, 2, 100), n_pre=8, n_post=4, lanes=2)
>>> em.cycles_per_timestep(n_active=0) == em.cycles_per_timestep(n_active=1)
True
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from myhdl import Signal

from plasticore.host.regmap import SCK_DIVIDER_MIN
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

from .array_emitter import choose_memory, convert_with_models
from .emitter import block_ports
from .estimator import estimator
from .hdl_names import HdlPort, check_module_name
from .o1_core import check_core_params, core_cycles_per_timestep, o1_core, param_values

CORE_PORTS: tuple[str, ...] = ("clk", "rst", "sck", "cs_n", "mosi", "miso", "miso_oe", "busy", "error")


def core_port_signals() -> dict[str, Any]:
    """Fresh MyHDL signals for every port of :func:`o1_core` (all 1 bit)."""
    return {name: Signal(bool(1 if name == "cs_n" else 0)) for name in CORE_PORTS}


class OnlineO1CoreEmitter:
    """Emit an ``n_pre``-input, ``n_post``-neuron closed-loop core; parameters validated at construction."""

    def __init__(
        self,
        o1: OnlineO1Config | None = None,
        lif: FixedLIFConfig | None = None,
        n_pre: int = 1,
        n_post: int = 1,
        lanes: int = 1,
        memory: str = "inferred",
        module_name: str = "o1_core",
        pipelined_update: bool = True,
    ) -> None:
        self.o1 = o1 if o1 is not None else OnlineO1Config()
        self.lif = lif if lif is not None else FixedLIFConfig()
        check_core_params(self.o1, self.lif, n_pre, n_post, lanes)
        self.memory = choose_memory(self.o1, n_pre, n_post, lanes, memory)
        check_core_params(self.o1, self.lif, n_pre, n_post, lanes, self.memory)
        check_module_name(module_name)
        if not isinstance(pipelined_update, bool):
            raise TypeError(f"pipelined_update must be a bool, not {type(pipelined_update).__name__}")
        self.n_pre, self.n_post, self.lanes = n_pre, n_post, lanes
        self.module_name = module_name
        self.pipelined_update = pipelined_update

    def cycles_per_timestep(self, n_active: int) -> int:
        """Exact clocks of one timestep with ``n_active`` spiking inputs (:func:`core_cycles_per_timestep`)."""
        return core_cycles_per_timestep(n_active, self.n_pre, self.n_post, self.lanes, self.pipelined_update)

    def estimate_resources(self, *, target: str, n_active: int | None = None,
                           check_fit: bool = True) -> dict[str, Any]:
        """Predicted FPGA resources of this core on ``target``: :func:`plasticore.estimate.estimate_resources`
        with ``design="o1_core"`` and this emitter's configs, size, lanes, memory and update; its
        ``cycles_per_timestep`` is at ``n_active`` spiking inputs (default ``round(0.1 * n_pre)``). Reached
        through :mod:`plasticore.hw.estimator`, so ``hw`` does not import the predictor."""
        return estimator()(config=self.o1, target=target, n_pre=self.n_pre, n_post=self.n_post, lanes=self.lanes,
                           design="o1_core", memory=self.memory, pipelined_update=self.pipelined_update,
                           check_fit=check_fit, lif=self.lif, n_active=n_active)

    def params(self) -> dict[str, int]:
        """The PARAM table the core reports over SPI."""
        return param_values(self.o1, self.lif, self.n_pre, self.n_post, self.lanes, self.memory,
                            self.pipelined_update)

    def _top(self, signals: dict[str, Any] | None = None) -> Any:
        return o1_core(**(signals if signals is not None else core_port_signals()), o1=self.o1, lif=self.lif,
                       n_pre=self.n_pre, n_post=self.n_post, lanes=self.lanes, memory=self.memory,
                       pipelined_update=self.pipelined_update)

    def elaborate(self) -> Any:
        """The MyHDL block instance of the core (for simulation in MyHDL or inspection)."""
        return self._top()

    def ports(self) -> list[HdlPort]:
        """The top-level ports (:data:`CORE_PORTS`) with their directions and widths."""
        signals = core_port_signals()
        return block_ports(self._top(signals), signals)

    def write(self, out_dir: str | Path, hdl: str = "verilog", sim_models: bool = False) -> list[Path]:
        """Write the HDL into ``out_dir`` (compile order); ``sim_models`` adds the SPRAM model for simulators."""
        return convert_with_models(self._top, hdl, self.module_name, out_dir, sim_models and self.memory == "spram")

    def generate(self, hdl: str = "verilog") -> str:
        """The HDL as one string (``"verilog"`` or ``"vhdl"``; VHDL includes the MyHDL package)."""
        with tempfile.TemporaryDirectory(prefix="plasticore-core-") as tmp:
            return "\n".join(f.read_text() for f in self.write(tmp, hdl))

    def manifest(self) -> dict[str, Any]:
        """What was emitted: module, ports, configs, sizes, memory, the PARAM table and the SPI clock limit."""
        return {
            "module": self.module_name, "block": "plasticore.hw.o1_core.o1_core", "ports": list(CORE_PORTS),
            "config": self.o1.as_dict(), "lif_config": self.lif.as_dict(), "n_pre": self.n_pre,
            "n_post": self.n_post, "lanes": self.lanes, "memory": self.memory,
            "pipelined_update": self.pipelined_update, "params": self.params(),
            "sck_max": f"f_clk / {SCK_DIVIDER_MIN}",
            "cycles_per_timestep_formula": "n_pre + n_post * max(A, 1) + n_post + (n_pre * ceil(n_post / lanes) + D)"
                                           " + 8 (A: spiking inputs; D = 4, or 8 pipelined)",
        }


__all__ = ["CORE_PORTS", "OnlineO1CoreEmitter", "core_port_signals"]
