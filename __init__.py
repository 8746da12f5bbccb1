"""plasticore: on-chip learning for spiking neural networks.

Subpackages
-----------
plasticore.refmodel  NumPy reference model (fixed-point O(1) rule, gradient and local learning)
plasticore.hw        MyHDL hardware bit-exact with the reference model
plasticore.flows     Edalize/Yosys/nextpnr synthesis flows and report parsers
"""

__version__ = "0.1.0"
