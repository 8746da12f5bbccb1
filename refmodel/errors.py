"""Exceptions shared across :mod:`plasticore.refmodel`."""

from __future__ import annotations

__all__ = ["MissingDependencyError"]


class MissingDependencyError(ImportError):
    """An optional feature was used without the package that backs it.

    Raised when the feature is *constructed* (fail closed), never at import of plasticore, so the core
    package keeps working without the extras. The message names the missing package and the extra
    that installs it, e.g.::

        TensorBoardCallback needs the 'tensorboard' package, which could not be imported
        (No module named 'tensorboard'); install it with: pip install plasticore[tensorboard]

    ``package`` and ``extra`` are kept as attributes; :attr:`ImportError.name` is set to ``package``.
    """

    def __init__(self, feature: str, package: str, extra: str, reason: str | None = None) -> None:
        self.feature = feature
        self.package = package
        self.extra = extra
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"{feature} needs the {package!r} package, which could not be imported{because}; "
            f"install it with: pip install plasticore[{extra}]",
            name=package,
        )
