"""``python -m plasticore.hw.build --out build/hdl``: write Verilog and VHDL for the standard configs.

Writes ``<out>/verilog/`` and ``<out>/vhdl/`` with the default config as ``o1_lane`` and the small config
(W8/T6/R4, L3, s2) as ``o1_lane_w8t6r4l3s2``, the same two as pipelined lanes (``o1_lane_pipelined``,
``o1_lane_pipelined_w8t6r4l3s2``), plus ``<out>/manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plasticore.refmodel.online_o1 import OnlineO1Config

from .emitter import OnlineO1LearningEmitter

SMALL = OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2)
STANDARD: tuple[tuple[OnlineO1Config, str, bool], ...] = (
    (OnlineO1Config(), "o1_lane", False),
    (SMALL, f"o1_lane_{SMALL.tag}", False),
    (OnlineO1Config(), "o1_lane_pipelined", True),
    (SMALL, f"o1_lane_pipelined_{SMALL.tag}", True),
)


def main(argv: list[str] | None = None) -> int:
    """``plasticore-hdl`` / ``python -m plasticore.hw.build``: write the standard lanes' HDL and manifest."""
    ap = argparse.ArgumentParser(prog="plasticore-hdl", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/hdl", type=Path,
                    help="output folder, relative to the working directory (default: build/hdl)")
    args = ap.parse_args(argv)
    manifests = []
    for cfg, name, pipelined in STANDARD:
        em = OnlineO1LearningEmitter(cfg, module_name=name, pipelined=pipelined)
        for hdl in ("verilog", "vhdl"):
            for f in em.write(args.out / hdl, hdl):
                print(f)
        manifests.append(em.manifest())
    (args.out / "manifest.json").write_text(json.dumps(manifests, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
