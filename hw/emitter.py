"""``OnlineO1LearningEmitter``: Verilog and VHDL for the O(1) lane, from MyHDL, deterministically.

Generated HDL is a build product: nobody edits it. Conversion runs MyHDL's converter in a private
temporary folder and returns/copies its output; MyHDL's dated header is switched off, so the same
config always gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from plasticore.refmodel.online_o1 import OnlineO1Config

from .estimator import estimator
from .hdl_names import HdlPort, check_module_name
from .o1_lane import lane_port_signals, o1_lane
from .o1_lane_pipelined import PIPELINE_DELAY, o1_lane_pipelined
from .verilog_comb import comb_always_to_functions
from .widths import O1Widths

HDLS = ("verilog", "vhdl")

LANE_PORTS: tuple[str, ...] = (
    "clk", "rst", "load_en", "load_weight", "step_en", "pre_spike", "post_spike", "reward",
    "weight", "pre_trace", "post_trace", "eligibility",
)


def config_tag(config: OnlineO1Config) -> str:
    """Short identifier of a config, e.g. ``w16t12r8l4s4``: :attr:`OnlineO1Config.tag` (kept as an alias)."""
    return config.tag


def block_ports(top: Any, signals: dict[str, Any]) -> list[HdlPort]:
    """The ports of the elaborated block ``top`` made from ``signals`` (name -> MyHDL signal, in port order).

    Width and signedness come from each signal's declaration (``len``, ``min < 0``); a port is an output
    when a process of the elaborated design assigns it, else an input.
    """
    driven: set[int] = set()
    stack = [top]
    while stack:
        blk = stack.pop()
        for sub in blk.subs:
            if hasattr(sub, "subs"):
                stack.append(sub)
            else:
                driven.update(id(sub.symdict[n]) for n in sub.outputs if n in sub.symdict)
    return [
        HdlPort(name, "output" if id(sig) in driven else "input", len(sig), sig.min is not None and sig.min < 0)
        for name, sig in signals.items()
    ]


def _check_hdl(hdl: str) -> str:
    key = hdl.lower() if isinstance(hdl, str) else hdl
    if key not in HDLS:
        raise ValueError(f"hdl must be one of {list(HDLS)}, not {hdl!r}")
    return key


_VERILOG_SENS = re.compile(r"^(\s*always @\()([^)]*)(\) begin)", re.MULTILINE)
_VHDL_SENS = re.compile(r"^(\s*[A-Za-z0-9_]+: process \()([^)]*)(\) is)", re.MULTILINE)


def canonical_sensitivity(text: str) -> str:
    """Sort every sensitivity list.

    MyHDL builds them from Python sets, so their order follows the process's string-hash seed
    (``PYTHONHASHSEED``); the order has no meaning in Verilog or VHDL. Sorting makes the output identical
    in every process.
    """

    def fix(m: re.Match[str]) -> str:
        names = sorted(n.strip() for n in m.group(2).split(","))
        return f"{m.group(1)}{', '.join(names)}{m.group(3)}"

    return _VHDL_SENS.sub(fix, _VERILOG_SENS.sub(fix, text))


def reset_block_names() -> None:
    """Forget MyHDL's process-global instance counters so names in the output do not depend on what was
    elaborated before (MyHDL numbers instances across the whole process: ``o1_synapse_update0_0_1``)."""
    import myhdl._block as mb
    import myhdl._simulator as ms

    for deco in ms._blocks:
        deco.calls = 0
    mb._name_set.clear()
    mb._inst_name_set.clear()


@contextlib.contextmanager
def released_signals() -> Iterator[None]:
    """Drop, on exit, the signals created inside the block from MyHDL's process-global signal list.

    MyHDL appends every ``Signal`` ever made to ``myhdl._simulator._signals`` and every later
    ``Simulation`` walks that whole list (``_makeWaiters``, and ``_finalize`` deep-copies each initial
    value), so a process that converts or counts many designs makes each later simulation slower and keeps
    every elaborated design alive. Only for elaborations that are converted or counted and then dropped:
    a signal released here must not be simulated afterwards.
    """
    import myhdl._simulator as ms

    n = len(ms._signals)
    try:
        yield
    finally:
        del ms._signals[n:]


def convert_block(make_top: Callable[[], Any], hdl: str, name: str, out_dir: Path) -> list[Path]:
    """Elaborate ``make_top()`` with fresh instance names and convert it into ``out_dir``.

    Returns the written files in compile order (VHDL: the MyHDL support package first).
    """
    key = _check_hdl(hdl)
    out_dir.mkdir(parents=True, exist_ok=True)
    reset_block_names()
    with released_signals(), tempfile.TemporaryDirectory(prefix="plasticore-hdl-") as tmp:
        top = make_top()
        if key == "verilog":
            top.convert(hdl="Verilog", path=tmp, name=name, testbench=False, no_myhdl_header=True)
            produced = [Path(tmp) / f"{name}.v"]
        else:
            top.convert(hdl="VHDL", path=tmp, name=name, no_myhdl_header=True)
            packages = sorted(Path(tmp).glob("pck_myhdl_*.vhd"))
            produced = [*packages, Path(tmp) / f"{name}.vhd"]
        files = []
        for f in produced:
            text = f.read_text()
            text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"
            text = canonical_sensitivity(text)
            if f.suffix == ".v":  # combinational blocks as functions + assign: correct from time 0
                text = comb_always_to_functions(text)
            dest = out_dir / f.name
            dest.write_text(text)
            files.append(dest)
    return files


class OnlineO1LearningEmitter:
    """Emit the one-lane O(1) update block as Verilog or VHDL.

    ``pipelined=False`` (default): :func:`plasticore.hw.o1_lane.o1_lane`, a whole step per edge, outputs
    valid after the step's own edge. ``pipelined=True``: :func:`plasticore.hw.o1_lane_pipelined.o1_lane_pipelined`,
    the same ports and still one step per edge, every state field in its own stage for a higher clock rate;
    the outputs show a step :data:`~plasticore.hw.o1_lane_pipelined.PIPELINE_DELAY` edges later. The default
    module name is ``o1_lane`` or ``o1_lane_pipelined``.

    >>> v = OnlineO1LearningEmitter().generate()   # one self-contained Verilog module named o1_lane
    """

    def __init__(self, config: OnlineO1Config | None = None, module_name: str | None = None,
                 pipelined: bool = False) -> None:
        self.config = config if config is not None else OnlineO1Config()
        if not isinstance(self.config, OnlineO1Config):
            raise TypeError(f"config must be an OnlineO1Config, not {type(self.config).__name__}")
        if not isinstance(pipelined, bool):
            raise TypeError(f"pipelined must be a bool, not {type(pipelined).__name__} {pipelined!r}")
        self.pipelined = pipelined
        if module_name is None:
            module_name = "o1_lane_pipelined" if pipelined else "o1_lane"
        self.module_name = check_module_name(module_name)

    @property
    def pipeline_delay(self) -> int:
        """Edges from the edge that samples an operation to the edge after which the outputs show it."""
        return PIPELINE_DELAY if self.pipelined else 0

    def _top(self, signals: dict[str, Any] | None = None) -> Any:
        make = o1_lane_pipelined if self.pipelined else o1_lane
        return make(**(signals if signals is not None else lane_port_signals(self.config)), config=self.config)

    def elaborate(self) -> Any:
        """The MyHDL block this emitter converts (elaborated, not converted)."""
        return self._top()

    def ports(self) -> list[HdlPort]:
        """The module's ports in declaration order, from the port signals
        (:func:`~plasticore.hw.o1_lane.lane_port_signals`) and the elaborated block (which ones it drives)."""
        signals = lane_port_signals(self.config)
        return block_ports(self._top(signals), signals)

    def write(self, out_dir: str | Path, hdl: str = "verilog") -> list[Path]:
        """Write the HDL into ``out_dir``; returns the files in compile order (VHDL: MyHDL package first)."""
        return convert_block(self._top, hdl, self.module_name, Path(out_dir))

    def generate(self, hdl: str = "verilog") -> str:
        """The HDL as one string: Verilog is one module; VHDL is the MyHDL package followed by the entity."""
        with tempfile.TemporaryDirectory(prefix="plasticore-gen-") as tmp:
            files = self.write(tmp, hdl)
            return "\n".join(f.read_text() for f in files)

    def manifest(self) -> dict[str, Any]:
        """What the emitter produces and the contract it implements (deterministic)."""
        c = self.config
        w = O1Widths.of(c)
        return {
            "module": self.module_name,
            "files": {
                "verilog": [f"{self.module_name}.v"],
                "vhdl": ["pck_myhdl_011.vhd", f"{self.module_name}.vhd"],
            },
            "ports": list(LANE_PORTS),
            "pipelined": self.pipelined,
            "pipeline_delay": self.pipeline_delay,
            "config": c.as_dict(),
            "config_tag": c.tag,
            "annotation": c.to_scnir_annotation(rule_id=self.module_name),
            "per_synapse_state_bits": c.per_synapse_state_bits,
            "datapath_widths": {k: getattr(w, k) for k in w.__dataclass_fields__},
        }

    def estimate_resources(
        self,
        *,
        target: str,
        n_pre: int | None = None,
        n_post: int | None = None,
        n_synapses: int | None = None,
        lanes: int = 1,
        design: str | None = None,
        memory: str = "auto",
        pipelined_update: bool | None = None,
        check_fit: bool = True,
    ) -> dict[str, Any]:
        """Predicted FPGA resources of this emitter's config: :func:`plasticore.estimate.estimate_resources`
        (reached through :mod:`plasticore.hw.estimator`, so ``hw`` does not import the predictor).

        Without a size the design is this emitter's lane; ``pipelined_update=None`` then means this
        emitter's ``pipelined`` (else False). With a size it is an array of this config.
        """
        if pipelined_update is None:
            sized = any(v is not None for v in (n_pre, n_post, n_synapses))
            pipelined_update = self.pipelined and not sized and design in (None, "o1_lane")
        return estimator()(config=self.config, target=target, n_pre=n_pre, n_post=n_post, n_synapses=n_synapses,
                           lanes=lanes, design=design, memory=memory, pipelined_update=pipelined_update,
                           check_fit=check_fit)
