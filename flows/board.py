"""Board top levels of the closed-loop core and their bitstreams (``make synth`` runs :func:`main`).

Two boards, each a real top level around :func:`plasticore.hw.o1_core.o1_core` (not the narrow measurement
wrapper of :mod:`plasticore.flows.wrapper`):

* ``icebreaker`` (iCE40 UP5K sg48): the 12 MHz oscillator through ``SB_PLL40_PAD`` to the core clock, SPI on
  the FTDI/flash pins (``constraints/icebreaker-core.pcf``), ``miso`` through an ``SB_IO`` tri-state buffer
  (released while ``cs_n`` is high), the red LED = a sticky error, the green LED = a timestep runs, the
  user button = reset. Built to ``board_top.bin`` with Yosys, nextpnr-ice40 and ``icepack`` (Edalize).
* ``ulx3s`` (ECP5 LFE5U-25F): the 25 MHz oscillator through ``EHXPLLL``, SPI on GPIO gp0..gp3
  (``constraints/ulx3s-core.lpf``), ``miso`` through a ``BB`` buffer; built to ``board_top.bit`` with ``ecppack``.

Both tops hold the core in reset until the PLL locks and for 16 clocks after, and while the button is pressed.
The PLL settings come from :func:`ice40_pll` / :func:`ecp5_pll` (the documented VCO and PFD ranges of the
iCE40 ``SB_PLL40`` and ECP5 ``EHXPLLL``). Each build writes a record (measured resources, Fmax per seed,
the core clock, the timestep rate at 10% input activity) to ``reports/board/<board>-<name>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from plasticore.hw.core_emitter import OnlineO1CoreEmitter
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

from .edam import STAT_FILE, YOSYS_SCRIPT, Target, nextpnr_options, yosys_script
from .icestorm import ICE40_UP5K
from .report import measured_from_reports, write_record
from .trellis import ECP5_25F

BOARD_TOP = "board_top"


@dataclasses.dataclass(frozen=True)
class Board:
    """A board: its FPGA target, constraint file, oscillator and the core clock to ask the PLL for."""

    name: str
    target: Target
    constraint_file: str
    osc_mhz: float
    core_mhz: float


BOARDS: dict[str, Board] = {
    "icebreaker": Board("icebreaker", ICE40_UP5K, "icebreaker-core.pcf", 12.0, 41.25),
    "ulx3s": Board("ulx3s", ECP5_25F, "ulx3s-core.lpf", 25.0, 80.0),
}


def ice40_pll(f_out: float, f_in: float = 12.0) -> dict[str, Any]:
    """``SB_PLL40`` settings nearest to ``f_out`` MHz: ``f_out = f_in (DIVF + 1) / ((DIVR + 1) 2^DIVQ)`` with
    the PFD ``f_in / (DIVR + 1)`` in 10..133 MHz and the VCO in 533..1066 MHz (iCE40 sysCLOCK PLL guide, as
    ``icepll`` searches); ``FILTER_RANGE`` from the PFD."""
    if not 16.0 <= f_out <= 275.0:
        raise ValueError(f"f_out must be in 16..275 MHz for the iCE40 PLL, not {f_out}")
    best: tuple[float, int, int, int] | None = None
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10.0 <= pfd <= 133.0:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533.0 <= vco <= 1066.0:
                continue
            for divq in range(1, 7):
                f = vco / (1 << divq)
                if best is None or abs(f - f_out) < abs(best[0] - f_out):
                    best = (f, divr, divf, divq)
    assert best is not None
    f, divr, divf, divq = best
    pfd = f_in / (divr + 1)
    filt = next(i for i, hi in enumerate((10, 16, 25, 40, 65, 100, 133), start=0) if pfd <= hi + 1e-9)
    return {"DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": max(filt, 1), "f_out_mhz": round(f, 4)}


def ecp5_pll(f_out: float, f_in: float = 25.0) -> dict[str, Any]:
    """``EHXPLLL`` settings for ``f_out`` MHz: ``f_out = f_in CLKFB_DIV / CLKI_DIV``, the VCO
    ``f_out CLKOP_DIV`` in 400..800 MHz, the PFD in 3.125..400 MHz (as ``ecppll`` searches)."""
    if not 10.0 <= f_out <= 400.0:
        raise ValueError(f"f_out must be in 10..400 MHz for the ECP5 PLL, not {f_out}")
    best: tuple[float, int, int, int] | None = None
    for clki in range(1, 129):
        pfd = f_in / clki
        if not 3.125 <= pfd <= 400.0:
            continue
        for clkfb in range(1, 81):
            f = pfd * clkfb
            ops = [k for k in range(1, 129) if 400.0 <= f * k <= 800.0]
            if ops:  # the VCO nearest the middle of its range
                clkop = min(ops, key=lambda k: abs(f * k - 600.0))
                if best is None or abs(f - f_out) < abs(best[0] - f_out):
                    best = (f, clki, clkfb, clkop)
    assert best is not None
    f, clki, clkfb, clkop = best
    return {"CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop, "CLKOP_CPHASE": clkop // 2 - 1 if clkop > 1
            else 0, "f_out_mhz": round(f, 4)}


def board_pll(board: str, core_mhz: float | None = None) -> dict[str, Any]:
    """The PLL settings of ``board`` for ``core_mhz`` (default: the board's core clock), by its FPGA family."""
    b = _board(board)
    mhz = b.core_mhz if core_mhz is None else core_mhz
    return ice40_pll(mhz, b.osc_mhz) if b.target.family == "ice40" else ecp5_pll(mhz, b.osc_mhz)


_RESET = """    // reset: until the PLL locks, for 16 clocks after, and while the button is pressed
    reg [1:0] btn_sync = 2'b00;
    reg [4:0] por = 5'd0;
    always @(posedge clk) begin
        btn_sync <= {btn_sync[0], btn_n};
        if (!locked || !btn_sync[1])
            por <= 5'd0;
        else if (!por[4])
            por <= por + 5'd1;
    end
    wire rst = !por[4];
    wire miso, miso_oe, busy, error;
    {core} core (.clk(clk), .rst(rst), .sck(spi_sck), .cs_n(spi_ss_n), .mosi(spi_mosi), .miso(miso),
        .miso_oe(miso_oe), .busy(busy), .error(error));
"""


def board_top_verilog(board: str, core_module: str, core_mhz: float | None = None) -> str:
    """The Verilog of ``board_top`` for ``board`` around the core module ``core_module``."""
    b = _board(board)
    p = board_pll(board, core_mhz)
    head = (f"// {BOARD_TOP}: the closed-loop core {core_module} on the {b.name} "
            "(plasticore.flows.board; build product).")
    if b.target.family == "ice40":
        return "\n".join([
            head,
            f"// core clock {p['f_out_mhz']} MHz from the {b.osc_mhz:g} MHz oscillator (SB_PLL40_PAD).",
            f"module {BOARD_TOP} (",
            "    input  wire clk_12m, input wire btn_n,",
            "    input  wire spi_sck, input wire spi_ss_n, input wire spi_mosi, inout wire spi_miso,",
            "    output wire led_r_n, output wire led_g_n",
            ");",
            "    wire clk, locked;",
            f"    SB_PLL40_PAD #(.FEEDBACK_PATH(\"SIMPLE\"), .DIVR(4'd{p['DIVR']}), .DIVF(7'd{p['DIVF']}), "
            f".DIVQ(3'd{p['DIVQ']}), .FILTER_RANGE(3'd{p['FILTER_RANGE']}))",
            "        pll (.PACKAGEPIN(clk_12m), .PLLOUTGLOBAL(clk), .LOCK(locked), .RESETB(1'b1), .BYPASS(1'b0));",
            _RESET.replace("{core}", core_module).rstrip("\n"),
            "    SB_IO #(.PIN_TYPE(6'b1010_01)) miso_io (.PACKAGE_PIN(spi_miso), .OUTPUT_ENABLE(miso_oe), "
            ".D_OUT_0(miso));",
            "    assign led_r_n = !error;",
            "    assign led_g_n = !busy;",
            "endmodule",
            "",
        ])
    return "\n".join([
        head,
        f"// core clock {p['f_out_mhz']} MHz from the {b.osc_mhz:g} MHz oscillator (EHXPLLL).",
        f"module {BOARD_TOP} (",
        "    input  wire clk_25m, input wire btn_n,",
        "    input  wire spi_sck, input wire spi_ss_n, input wire spi_mosi, inout wire spi_miso,",
        "    output wire led_err, output wire led_busy",
        ");",
        "    wire clk, locked;",
        "    (* FREQUENCY_PIN_CLKI=\"25\" *)",
        "    EHXPLLL #(.PLLRST_ENA(\"DISABLED\"), .INTFB_WAKE(\"DISABLED\"), .STDBY_ENABLE(\"DISABLED\"),",
        "        .DPHASE_SOURCE(\"DISABLED\"), .OUTDIVIDER_MUXA(\"DIVA\"), .OUTDIVIDER_MUXB(\"DIVB\"),",
        "        .OUTDIVIDER_MUXC(\"DIVC\"), .OUTDIVIDER_MUXD(\"DIVD\"), .CLKOP_ENABLE(\"ENABLED\"),"
        " .FEEDBK_PATH(\"CLKOP\"),",
        f"        .CLKI_DIV({p['CLKI_DIV']}), .CLKFB_DIV({p['CLKFB_DIV']}), .CLKOP_DIV({p['CLKOP_DIV']}), "
        f".CLKOP_CPHASE({p['CLKOP_CPHASE']}), .CLKOP_FPHASE(0))",
        "        pll (.RST(1'b0), .STDBY(1'b0), .CLKI(clk_25m), .CLKOP(clk), .CLKFB(clk), .PHASESEL0(1'b0),",
        "        .PHASESEL1(1'b0), .PHASEDIR(1'b0), .PHASESTEP(1'b0), .PHASELOADREG(1'b0), .PLLWAKESYNC(1'b0),",
        "        .ENCLKOP(1'b0), .LOCK(locked));",
        _RESET.replace("{core}", core_module).rstrip("\n"),
        "    BB miso_io (.I(miso), .T(!miso_oe), .O(), .B(spi_miso));",
        "    assign led_err = error;",
        "    assign led_busy = busy;",
        "endmodule",
        "",
    ])


def _board(name: str) -> Board:
    if name not in BOARDS:
        raise ValueError(f"board must be one of {sorted(BOARDS)}, not {name!r}")
    return BOARDS[name]


@dataclasses.dataclass(frozen=True)
class CoreBuild:
    """One core to build on one board."""

    name: str
    board: str
    o1: OnlineO1Config
    lif: FixedLIFConfig
    n_pre: int
    n_post: int
    lanes: int
    memory: str

    def emitter(self) -> OnlineO1CoreEmitter:
        """The core's emitter (pipelined update)."""
        return OnlineO1CoreEmitter(self.o1, self.lif, self.n_pre, self.n_post, self.lanes, memory=self.memory,
                                   pipelined_update=True)


# the trained configuration of the task (plasticore.refmodel.o1_tasks.large_task_setup) at ODIN's size
TASK_O1 = OnlineO1Config(weight_bits=8, trace_bits=8, reward_bits=8, learning_shift=7, trace_decay_shift=1)
TASK_LIF = FixedLIFConfig(membrane_bits=16, leak_shift=2, threshold=512, reset="zero", weight_offset=0)
CORE_BUILDS: tuple[CoreBuild, ...] = (
    CoreBuild("core256x256", "icebreaker", TASK_O1, TASK_LIF, 256, 256, 2, "spram"),
    # ECP5-25F: 56 DP16KD (1008 kbit) cannot hold 256 x 256 x 16 bits plus the traces; 256 x 192 in 6 lanes fits
    CoreBuild("core256x192", "ulx3s", TASK_O1, TASK_LIF, 256, 192, 6, "inferred"),
)


def timesteps_per_second(build: CoreBuild, f_mhz: float, activity: float = 0.1,
                         spi_clocks: int = 0) -> float:
    """Timesteps per second at ``f_mhz`` with ``activity * n_pre`` spiking inputs, plus ``spi_clocks`` of host
    traffic per step that does not overlap the timestep."""
    cyc = build.emitter().cycles_per_timestep(round(activity * build.n_pre)) + spi_clocks
    return f_mhz * 1e6 / cyc


def build_core(build: CoreBuild, *, build_root: Path, reports_root: Path, seeds: tuple[int, ...] = (1, 2, 3),
               core_mhz: float | None = None) -> dict[str, Any]:
    """Emit, synthesize, place, route and pack one core on its board; write and return its record."""
    from .icestorm import make_flow as ice40_flow
    from .trellis import make_flow as ecp5_flow

    b = _board(build.board)
    target = b.target
    em = build.emitter()
    work = build_root / f"{b.name}-{build.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sources = [p.name for p in em.write(work, "verilog")]
    (work / f"{BOARD_TOP}.v").write_text(board_top_verilog(b.name, em.module_name, core_mhz))
    from plasticore.constraints import __file__ as cdir

    shutil.copy(Path(cdir).parent / b.constraint_file, work / b.constraint_file)
    (work / YOSYS_SCRIPT).write_text(yosys_script(em.module_name, top=BOARD_TOP))
    files = [{"name": s, "file_type": "verilogSource"} for s in [*sources, f"{BOARD_TOP}.v"]]
    files += [{"name": b.constraint_file, "file_type": target.constraint_type},
              {"name": YOSYS_SCRIPT, "file_type": "user"}]
    reports: dict[int, dict[str, Any]] = {}
    name = f"{b.name}_{build.name}"
    make = ice40_flow if target.family == "ice40" else ecp5_flow
    with open(work / "flow.log", "w") as log:
        for seed in seeds:
            t0 = time.monotonic()
            edam = {"name": name, "toplevel": BOARD_TOP, "files": files, "flow_options": {
                "yosys_synth_options": list(target.yosys_synth_options), "yosys_template": YOSYS_SCRIPT,
                "nextpnr_options": nextpnr_options(target, seed)}}
            for ext in ("asc", "bin", "config", "bit"):
                (work / f"{name}.{ext}").unlink(missing_ok=True)
            flow = make(edam, work)
            flow.stdout = log
            flow.stderr = log
            with contextlib.redirect_stdout(log):
                flow.configure()
                flow.build()
            reports[seed] = json.loads((work / f"report_seed{seed}.json").read_text())
            print(f"  {b.name} {build.name} seed {seed}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    stat = json.loads((work / STAT_FILE).read_text())
    measured = measured_from_reports(target, stat, reports, em.module_name)
    bitstream = work / (f"{name}.bin" if target.family == "ice40" else f"{name}.bit")
    pll = board_pll(build.board, core_mhz)
    f_core = float(pll["f_out_mhz"])
    ts_per_s = timesteps_per_second(build, f_core)
    record = {
        "board": b.name, "target": target.name, "name": build.name, "n_pre": build.n_pre, "n_post": build.n_post,
        "n_synapses": build.n_pre * build.n_post, "lanes": build.lanes, "memory": em.memory,
        "config": build.o1.as_dict(), "lif_config": build.lif.as_dict(), "seeds": list(seeds),
        "core_clock_mhz": f_core, "pll": pll, "timing_met": measured["fmax_min_mhz"] >= f_core,
        "bitstream": {"file": bitstream.name, "bytes": bitstream.stat().st_size if bitstream.exists() else 0},
        "cycles_per_timestep_10pct": em.cycles_per_timestep(round(0.1 * build.n_pre)),
        "timesteps_per_s_10pct_at_core_clock": round(ts_per_s, 1),
        "synaptic_updates_per_s_at_core_clock": round(ts_per_s * build.n_pre * build.n_post),
        "measured": measured,
    }
    write_record(reports_root / "board" / f"{b.name}-{build.name}.json", record)
    return record


def main(argv: list[str] | None = None) -> int:
    """``python -m plasticore.flows.board [--boards ...] [--seeds N]``: build every core of :data:`CORE_BUILDS`."""
    ap = argparse.ArgumentParser(prog="plasticore-board", description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=sorted(BOARDS), choices=sorted(BOARDS))
    ap.add_argument("--seeds", type=int, default=3, help="placer seeds 1..N (default 3)")
    ap.add_argument("--build", type=Path, default=Path("build/board"))
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    args = ap.parse_args(argv)
    for cb in CORE_BUILDS:
        if cb.board in args.boards:
            rec = build_core(cb, build_root=args.build, reports_root=args.reports,
                             seeds=tuple(range(1, args.seeds + 1)))
            m = rec["measured"]
            print(f"{cb.board} {cb.name}: fmax min {m['fmax_min_mhz']} MHz, core clock {rec['core_clock_mhz']} MHz, "
                  f"{rec['timesteps_per_s_10pct_at_core_clock']} timesteps/s at 10% activity", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
