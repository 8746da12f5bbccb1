"""The Flower app that ``flwr run engines/flower_app <connection>`` ships: plasticore's ClientApp and ServerApp.

Both come from :mod:`plasticore.engines.flower_engine` (the SuperLink and SuperNodes must have plasticore
installed: runtime dependency installation is disabled); this file only names them for ``pyproject.toml``.
"""

from __future__ import annotations

from plasticore.engines.flower_engine import make_client_app, make_server_app

client_app = make_client_app()
server_app = make_server_app()
