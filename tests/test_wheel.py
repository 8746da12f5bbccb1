"""The wheel works outside a checkout: it ships the constraints and the coefficients file, and its console
entry points (``plasticore-synth``, ``plasticore-hdl``, ``plasticore-calibrate``) run from a folder that is not
the checkout, importing the installed package, not this one.

The wheel is built with ``pip wheel --no-deps --no-build-isolation`` and installed with ``pip install
--no-deps --target`` (its dependencies come from this environment); ~15 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    cp = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert cp.returncode == 0, f"{args} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
    return cp.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    pytest.importorskip("myhdl")
    tmp = tmp_path_factory.mktemp("wheel")
    dist, target, src = tmp / "dist", tmp / "site", tmp / "src"
    # build from a clean copy of the sources: setuptools reuses build/lib, where stale modules would linger
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "__init__.py"):
        shutil.copy(ROOT / name, src / name)
    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for d in sorted(set(dirs.values()) - {"."}):
        shutil.copytree(ROOT / d, src / d, ignore=shutil.ignore_patterns("__pycache__"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
          str(src)], src, dict(os.environ))
    wheel = next(dist.glob("plasticore-*.whl"))
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
         tmp, dict(os.environ))
    env = {**os.environ, "PYTHONPATH": str(target), "PATH": f"{target / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    return wheel, target, env


def test_wheel_ships_package_data(installed: tuple[Path, Path, dict[str, str]]) -> None:
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "plasticore/hw/resources.py" not in names  # the predictor lives in plasticore.estimate
    assert {"plasticore/constraints/ice40-up5k-sg48.pcf", "plasticore/constraints/ice40-hx8k-ct256.pcf",
            "plasticore/constraints/ecp5-25f-cabga381.lpf", "plasticore/estimate/coefficients.json"} <= names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "plasticore-synth = plasticore.flows.synth:main" in text
    assert "plasticore-hdl = plasticore.hw.build:main" in text


def test_entry_points_run_outside_the_checkout(installed: tuple[Path, Path, dict[str, str]],
                                               tmp_path: Path) -> None:
    _, target, env = installed
    where = _run([sys.executable, "-c", "import plasticore, plasticore.estimate as e; "
                  "from plasticore.flows.synth import TARGETS; "
                  "print(plasticore.__file__); print(TARGETS['ice40-up5k'].constraint_path()); "
                  "print(e.COEFFICIENTS.t_per_level_ns['ice40-up5k'])"], tmp_path, env).splitlines()
    assert where[0].startswith(str(target)) and where[1].startswith(str(target))
    assert float(where[2]) > 0
    listing = _run([str(target / "bin" / "plasticore-synth"), "--list", "--targets", "ice40-up5k"], tmp_path, env)
    assert listing.splitlines()[0] == "ice40-up5k o1_lane-w16t12r8l4s4"
    assert "--out" in _run([str(target / "bin" / "plasticore-hdl"), "--help"], tmp_path, env)
    assert "--write" in _run([str(target / "bin" / "plasticore-calibrate"), "--help"], tmp_path, env)
    assert list(tmp_path.iterdir()) == []  # nothing written into the working directory by --list / --help
