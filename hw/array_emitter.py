"""``OnlineO1ArrayEmitter``: Verilog and VHDL of the O(1) synapse array (:func:`plasticore.hw.o1_array.o1_array`).

>>> em = OnlineO1ArrayEmitter(OnlineO1Config(), n_pre=5, n_post=7, lanes=3)
>>> em.cycles_per_timestep          # n_pre * ceil(n_post / lanes) + 4
19
>>> OnlineO1ArrayEmitter(OnlineO1Config(), 5, 7, 3, pipelined_update=True).cycles_per_timestep   # ... + 8
23

Deterministic (via :func:`plasticore.hw.emitter.convert_block`): the same parameters give byte-identical files.
``memory`` chooses where the synapse words live:

* ``"inferred"``: a simple dual-port RAM per lane in the RAM idiom Yosys infers (iCE40 EBR, ECP5 DP16KD);
* ``"spram"``: iCE40 UltraPlus ``SB_SPRAM256KA`` instances, two parity banks per lane
  (:func:`~plasticore.hw.o1_array_synmem.o1_array_synmem`): 2 SPRAMs per lane when ``W + T <= 16``,
  4 when ``W + T <= 32``; at most 32,768 synapse words per lane;
* ``"auto"``: ``"spram"`` when the synapse memory (``lanes * n_pre * ceil(n_post / lanes) * (W + T)`` bits)
  exceeds the UP5K's EBR (30 x 4 kbit) and fits the UP5K's four SPRAMs, else ``"inferred"`` (a UP5K-oriented
  rule: for other devices pass ``"inferred"``).

``pipelined_update=True`` computes the update in five pipeline stages
(:func:`~plasticore.hw.o1_array_update.o1_array_update`) instead of one combinational block: four more clocks
per timestep and a much shorter critical path (use it for the clock rate).

The written HDL is for synthesis; ``write(..., sim_models=True)`` adds the ``SB_SPRAM256KA`` simulation model
(Verilog: extracted from Yosys' ``ice40/cells_sim.v``; VHDL: :data:`~plasticore.hw.o1_array_spram.SPRAM_VHDL_MODEL`)
in compile order, for simulators (never give it to Yosys: the primitive is built in).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from plasticore.refmodel.online_o1 import OnlineO1Config

from .devices import DEVICE_TABLE, RAM_BLOCKS
from .emitter import HDLS, block_ports, convert_block
from .estimator import estimator
from .hdl_names import HdlPort, check_module_name
from .o1_array import (
    ARRAY_PORTS,
    READ_LATENCY,
    addr_bits,
    array_port_signals,
    check_array_params,
    column_groups,
    cycles_per_timestep,
    o1_array,
    pipeline_depth,
    synapse_depth,
)
from .o1_array_spram import SPRAM_VHDL_MODEL, spram_verilog_model
from .o1_array_synmem import MAX_WIDTH, spram_count
from .o1_array_synmem import synmem_check as _synmem_check
from .vocabulary import MEMORY_CHOICES, choice
from .widths import O1Widths

# the memory="auto" rule is UP5K-oriented: its EBR (30 x 4 kbit) and SPRAMs (4), from the device table
_UP5K = DEVICE_TABLE["ice40-up5k"]
UP5K_EBR_BITS = _UP5K.ram["ebr"] * RAM_BLOCKS["ebr"].bits
UP5K_SPRAMS = _UP5K.ram["spram"]
SPRAM_MODEL_FILES = {"verilog": "SB_SPRAM256KA.v", "vhdl": "SB_SPRAM256KA.vhd"}


def convert_with_models(top: Any, hdl: str, module_name: str, out_dir: str | Path, spram_model: bool) -> list[Path]:
    """Convert the block factory ``top`` into ``out_dir`` (files in compile order, VHDL: MyHDL's package first);
    with ``spram_model`` the ``SB_SPRAM256KA`` simulation model is written too, before the design."""
    out = Path(out_dir)
    files = convert_block(top, hdl, module_name, out)
    key = hdl.lower()
    if spram_model:
        model = out / SPRAM_MODEL_FILES[key]
        model.write_text(spram_verilog_model() if key == "verilog" else SPRAM_VHDL_MODEL)
        files = [model, *files] if key == "verilog" else [*files[:-1], model, files[-1]]
    return files


def spram_fits(config: OnlineO1Config, n_pre: int, n_post: int, lanes: int, sprams: int = UP5K_SPRAMS) -> bool:
    """True when the parity-banked SPRAM layout holds the array in ``sprams`` SPRAMs."""
    width = config.weight_bits + config.trace_bits
    depth = synapse_depth(n_pre, n_post, lanes)
    try:
        _synmem_check(depth, width, addr_bits(depth))
    except ValueError:
        return False
    return lanes * spram_count(width) <= sprams


def choose_memory(config: OnlineO1Config, n_pre: int, n_post: int, lanes: int, memory: str = "auto") -> str:
    """Resolve ``memory`` (``"auto"``, ``"inferred"`` or ``"spram"``) to ``"inferred"`` or ``"spram"``."""
    memory = choice("memory", memory, MEMORY_CHOICES)
    if memory != "auto":
        return memory
    bits = lanes * synapse_depth(n_pre, n_post, lanes) * (config.weight_bits + config.trace_bits)
    return "spram" if bits > UP5K_EBR_BITS and spram_fits(config, n_pre, n_post, lanes) else "inferred"


class OnlineO1ArrayEmitter:
    """Emit an ``n_pre x n_post`` O(1) synapse array with ``lanes`` update lanes as Verilog or VHDL.

    Parameters are validated at construction (errors name the parameter, its range and the bad value).
    """

    def __init__(
        self,
        config: OnlineO1Config | None = None,
        n_pre: int = 1,
        n_post: int = 1,
        lanes: int = 1,
        memory: str = "auto",
        module_name: str = "o1_array",
        pipelined_update: bool = False,
    ) -> None:
        self.config = config if config is not None else OnlineO1Config()
        check_array_params(self.config, n_pre, n_post, lanes)
        check_module_name(module_name)
        self.n_pre, self.n_post, self.lanes = n_pre, n_post, lanes
        self.memory = choose_memory(self.config, n_pre, n_post, lanes, memory)
        check_array_params(self.config, n_pre, n_post, lanes, self.memory)
        self.module_name = module_name
        if not isinstance(pipelined_update, bool):
            raise TypeError(
                f"pipelined_update must be a bool, not {type(pipelined_update).__name__} {pipelined_update!r}"
            )
        self.pipelined_update = pipelined_update

    # ---- derived numbers ----------------------------------------------------------------------------
    @property
    def column_groups(self) -> int:
        """``K = ceil(n_post / lanes)``."""
        return column_groups(self.n_post, self.lanes)

    @property
    def cycles_per_timestep(self) -> int:
        """``n_pre * ceil(n_post / lanes) + 4`` (``+ 8`` pipelined) clocks from ``start`` to ``done``."""
        return cycles_per_timestep(self.n_pre, self.n_post, self.lanes, self.pipelined_update)

    def _top(self, signals: dict[str, Any] | None = None) -> Any:
        return o1_array(
            **(signals if signals is not None else array_port_signals(self.config, self.n_pre, self.n_post)),
            config=self.config, n_pre=self.n_pre, n_post=self.n_post, lanes=self.lanes, memory=self.memory,
            pipelined_update=self.pipelined_update,
        )

    def elaborate(self) -> Any:
        """The MyHDL block this emitter converts (elaborated, not converted)."""
        return self._top()

    def ports(self) -> list[HdlPort]:
        """The module's ports in declaration order, from the port signals
        (:func:`~plasticore.hw.o1_array.array_port_signals`) and the elaborated block (which ones it drives)."""
        signals = array_port_signals(self.config, self.n_pre, self.n_post)
        return block_ports(self._top(signals), signals)

    def estimate_resources(self, *, target: str, check_fit: bool = True) -> dict[str, Any]:
        """Predicted FPGA resources of this array on ``target``: :func:`plasticore.estimate.estimate_resources`
        with this emitter's config, size, lanes, memory and update (reached through
        :mod:`plasticore.hw.estimator`, so ``hw`` does not import the predictor)."""
        return estimator()(config=self.config, target=target, n_pre=self.n_pre, n_post=self.n_post,
                           lanes=self.lanes, design="o1_array", memory=self.memory,
                           pipelined_update=self.pipelined_update, check_fit=check_fit)

    # ---- output ------------------------------------------------------------------------------------
    def write(self, out_dir: str | Path, hdl: str = "verilog", sim_models: bool = False) -> list[Path]:
        """Write the HDL into ``out_dir``; returns the files in compile order.

        VHDL: MyHDL's package first. With ``sim_models`` and ``memory == "spram"`` the ``SB_SPRAM256KA``
        simulation model comes before the design (simulation only).
        """
        return convert_with_models(self._top, hdl, self.module_name, out_dir, sim_models and self.memory == "spram")

    def generate(self, hdl: str = "verilog") -> str:
        """The synthesis HDL as one string (VHDL: the MyHDL package followed by the entity)."""
        with tempfile.TemporaryDirectory(prefix="plasticore-array-") as tmp:
            return "\n".join(f.read_text() for f in self.write(tmp, hdl))

    def memories(self) -> list[dict[str, Any]]:
        """Every memory of the design: name, kind, instances, depth x width (words x bits)."""
        c = self.config
        kk, depth = self.column_groups, synapse_depth(self.n_pre, self.n_post, self.lanes)
        w_syn = c.weight_bits + c.trace_bits
        syn: dict[str, Any] = {
            "name": "synapse", "per": "lane", "instances": self.lanes, "depth": depth, "width": w_syn,
            "word": f"{{weight[{c.weight_bits}], eligibility[{c.trace_bits}] two's complement}}",
            "address": "i * K + k for synapse (i, j = k * lanes + lane)",
        }
        if self.memory == "spram":
            syn.update(kind="SB_SPRAM256KA", banks="address parity (even: bank 0, odd: bank 1), bank address addr >> 1",
                       sprams_per_lane=spram_count(w_syn), sprams=self.lanes * spram_count(w_syn))
        else:
            syn.update(kind="inferred simple dual-port RAM, registered read")
        pre_depth = 1 << addr_bits(self.n_pre)
        inferred = "inferred simple dual-port RAM, registered read"
        return [
            syn,
            {"name": "post_trace", "per": "lane", "instances": self.lanes, "depth": kk, "width": c.trace_bits,
             "kind": inferred, "address": "k"},
            {"name": "post_input", "per": "lane", "instances": self.lanes, "depth": kk, "width": 1 + c.reward_bits,
             "kind": inferred, "word": f"{{post_spike[1], reward[{c.reward_bits}] two's complement}}", "address": "k"},
            {"name": "pre_trace", "per": "array", "instances": 1, "depth": pre_depth, "width": c.trace_bits,
             "kind": inferred, "address": "i"},
            {"name": "pre_spike", "per": "array", "instances": 1, "depth": pre_depth, "width": 1,
             "kind": inferred, "address": "i"},
        ]

    def manifest(self) -> dict[str, Any]:
        """What the emitter produces and the contract it implements (deterministic, JSON-ready)."""
        c = self.config
        w = O1Widths.of(c)
        mems = self.memories()
        model = [SPRAM_MODEL_FILES["verilog"]] if self.memory == "spram" else []
        vmodel = [SPRAM_MODEL_FILES["vhdl"]] if self.memory == "spram" else []
        return {
            "module": self.module_name,
            "block": "plasticore.hw.o1_array.o1_array",
            "files": {"verilog": [f"{self.module_name}.v"], "vhdl": ["pck_myhdl_011.vhd", f"{self.module_name}.vhd"]},
            "simulation_models": {"verilog": model, "vhdl": vmodel},
            "ports": list(ARRAY_PORTS),
            "config": c.as_dict(),
            "config_tag": c.tag,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "n_synapses": self.n_pre * self.n_post,
            "lanes": self.lanes,
            "memory": self.memory,
            "column_groups": self.column_groups,
            "lane_mapping": "lane p owns post neurons j = k * lanes + p, k = 0 .. ceil(n_post / lanes) - 1",
            "reward": "per post neuron (load the same value everywhere for a scalar reward)",
            "pipelined_update": self.pipelined_update,
            "cycles_per_timestep_formula": f"n_pre * ceil(n_post / lanes) + {pipeline_depth(self.pipelined_update)}",
            "cycles_per_timestep": self.cycles_per_timestep,
            "load_cycles_per_timestep": "n_pre + n_post host writes (one per clock) if every spike is rewritten",
            "read_latency_cycles": READ_LATENCY,
            "memories": mems,
            "synapse_memory_bits": self.lanes * synapse_depth(self.n_pre, self.n_post, self.lanes)
            * (c.weight_bits + c.trace_bits),
            "sprams": mems[0].get("sprams", 0),
            "max_spram_word_bits": MAX_WIDTH,
            "datapath_widths": {k: getattr(w, k) for k in w.__dataclass_fields__},
        }


__all__ = ["HDLS", "MEMORY_CHOICES", "OnlineO1ArrayEmitter", "choose_memory", "spram_fits"]
