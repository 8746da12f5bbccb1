"""Every public class, method, property and function of ``plasticore.refmodel`` (and of ``hw``, ``estimate``
and ``flows``) has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from enum import Enum
from typing import NamedTuple

import plasticore.refmodel as refmodel


def _own_doc(obj: object, name: str) -> str:
    """The object's own docstring, ignoring the ones Python generates (NamedTuple, dataclass, Enum)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    doc = (doc or "").strip()
    return "" if doc.startswith(f"{name}(") or doc == "An enumeration." else doc


def undocumented(module: types.ModuleType) -> tuple[list[str], int]:
    """Public names defined in ``module`` without a docstring, and how many objects were checked."""
    missing, checked = [], 0
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        checked += 1
        if not _own_doc(obj, name):
            missing.append(f"{module.__name__}.{name}")
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                fn = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(fn):
                    checked += 1
                    if not (fn.__doc__ or "").strip():
                        missing.append(f"{module.__name__}.{name}.{attr}")
    return missing, checked


def test_every_public_object_of_refmodel_has_a_docstring() -> None:
    missing, checked = [], 0
    for info in pkgutil.iter_modules(refmodel.__path__):
        mod = importlib.import_module(f"plasticore.refmodel.{info.name}")
        m, c = undocumented(mod)
        missing += m
        checked += c
    assert checked > 200  # the walk really visits the package (about 250 objects)
    assert missing == []


def test_the_walker_flags_what_lacks_a_docstring() -> None:
    mod = types.ModuleType("fake")

    class Kind(Enum):
        A = 1

    class Point(NamedTuple):
        x: float

    class Thing:
        """Documented."""

        def method(self) -> None:
            pass

        @property
        def prop(self) -> int:
            return 1

    def func() -> None:
        pass

    for obj in (Kind, Point, Thing, func):
        obj.__module__ = "fake"
        setattr(mod, obj.__name__, obj)
    missing, checked = undocumented(mod)
    assert sorted(missing) == ["fake.Kind", "fake.Point", "fake.Thing.method", "fake.Thing.prop", "fake.func"]
    assert checked == 6


def test_every_public_object_of_hw_estimate_and_flows_has_a_docstring() -> None:
    import plasticore.estimate as estimate
    import plasticore.flows as flows
    import plasticore.hw as hw

    missing, checked = [], 0
    for pkg in (hw, estimate, flows):
        for info in pkgutil.iter_modules(pkg.__path__):
            m, c = undocumented(importlib.import_module(f"{pkg.__name__}.{info.name}"))
            missing += m
            checked += c
    assert checked > 150, checked
    assert missing == [], f"{len(missing)} without a docstring: {missing}"
