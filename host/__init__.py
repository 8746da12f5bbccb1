"""plasticore.host: the host side of the closed-loop core (:mod:`plasticore.hw.o1_core`).

* :mod:`plasticore.host.regmap` - the register map and frame format (the contract with the hardware);
* :mod:`plasticore.host.driver` - :class:`~plasticore.host.driver.CoreDriver`, frames and timesteps over any
  ``transfer(bytes) -> bytes`` transport;
* :mod:`plasticore.host.sim` - :class:`~plasticore.host.sim.SimulatedCore`, the register map in Python over an
  :class:`~plasticore.refmodel.o1_network.OnlineO1Network` (a transport without hardware).
"""

from __future__ import annotations

from .driver import ConfigMismatchError, CoreDriver, CoreError, IdentityError, Transport
from .sim import SimulatedCore

__all__ = ["ConfigMismatchError", "CoreDriver", "CoreError", "IdentityError", "SimulatedCore", "Transport"]
