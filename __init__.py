"""plasticore: on-chip learning for spiking neural networks.

Subpackages
-----------
plasticore.refmodel  NumPy reference model (fixed-point O(1) rule, gradient and local learning)
plasticore.hw        MyHDL hardware bit-exact with the reference model
plasticore.estimate  resource and speed predictor for the hardware (imports hw; hw never imports it)
plasticore.flows     Edalize/Yosys/nextpnr synthesis flows and report parsers

Importing the package imports :mod:`plasticore.estimate`, which registers the predictor with the emitters
(:mod:`plasticore.hw.estimator`), so ``OnlineO1LearningEmitter(...).estimate_resources(...)`` always works.
"""

# absolute, not relative: pytest imports this file on its own when it collects the checkout (the repository
# root is the package), and a relative import has no parent package there
import plasticore.estimate as estimate

__version__ = "0.1.0"

__all__ = ["__version__", "estimate"]
