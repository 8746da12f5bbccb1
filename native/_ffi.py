"""ctypes binding of the ``plasticore_native`` Rust library (``native/``): loading and thin handles.

This module imports nothing from :mod:`plasticore.refmodel` (the reference model imports it lazily for its
``backend="native"``); :mod:`plasticore.native` puts the seed's API on top. The library is looked up, in
order, at ``$PLASTICORE_NATIVE_LIB``, in the crate's own ``target/release/`` (this folder is both the Rust crate
and the Python package, so a checkout finds its build) and next to this module (a copy installed with the
package). Every handle the library returns is checked: NULL is an error, never a
crash, and each status code other than 0 raises.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "LIBRARY_NAME",
    "NativeLayerHandle",
    "NativeSynapseHandle",
    "NativeUnavailableError",
    "candidate_paths",
    "default_threads",
    "library_path",
    "load_library",
    "simd_level",
]

LIBRARY_NAME = {"darwin": "libplasticore_native.dylib", "win32": "plasticore_native.dll"}.get(
    sys.platform, "libplasticore_native.so")
_HERE = Path(__file__).resolve().parent
_STATUS = {-1: "NULL handle", -2: "a spike that is not 0/1", -3: "NULL data pointer",
           -4: "a state value out of its range", -5: "an internal error (panic caught in the library)"}
_FIELDS = ("weight", "eligibility", "pre_trace", "post_trace")


class NativeUnavailableError(ImportError):
    """The native library is not built or cannot be loaded (the message says where it was looked for)."""


def candidate_paths() -> list[Path]:
    """Where the library is looked for, in order."""
    out = []
    env = os.environ.get("PLASTICORE_NATIVE_LIB")
    if env:
        out.append(Path(env))
    out.append(_HERE / "target" / "release" / LIBRARY_NAME)
    out.append(_HERE / LIBRARY_NAME)
    return out


_lib: ctypes.CDLL | None = None
_lib_path: Path | None = None
_load_error: str | None = None


def _declare(lib: ctypes.CDLL) -> None:
    i32, i64, vp, u8 = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p, ctypes.c_uint8
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "pc_o1_synapse_new": (vp, [i32, i32, i32, i32, i32, i64]),
        "pc_o1_synapse_free": (None, [vp]),
        "pc_o1_synapse_step": (i32, [vp, u8, u8, i64, vp]),
        "pc_o1_synapse_get_state": (i32, [vp, vp]),
        "pc_o1_synapse_set_state": (i32, [vp, vp]),
        "pc_o1_layer_new": (vp, [i32, i32, i32, i32, i32, i64, i64, i32]),
        "pc_o1_layer_free": (None, [vp]),
        "pc_o1_layer_word_bytes": (i32, [vp]),
        "pc_o1_layer_field_ptr": (vp, [vp, i32]),
        "pc_o1_layer_step": (i32, [vp, vp, vp, i64, vp]),
        "pc_simd_level": (i32, []),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def load_library() -> ctypes.CDLL:
    """The loaded library (cached); :class:`NativeUnavailableError` naming the paths tried otherwise."""
    global _lib, _lib_path, _load_error
    if _lib is not None:
        return _lib
    if _load_error is None:
        errors = []
        for p in candidate_paths():
            if not p.is_file():
                errors.append(f"{p}: not found")
                continue
            try:
                lib = ctypes.CDLL(str(p))
                _declare(lib)
            except (OSError, AttributeError) as exc:
                errors.append(f"{p}: {exc}")
                continue
            _lib, _lib_path = lib, p
            return lib
        _load_error = "; ".join(errors)
    raise NativeUnavailableError(
        f"the plasticore native library is not available ({_load_error}); build it with "
        f"`cargo build --release --offline` in native/ (make setup does this when cargo is present)")


def library_path() -> Path | None:
    """The file the library was loaded from, or ``None`` when it is not available."""
    try:
        load_library()
    except NativeUnavailableError:
        return None
    return _lib_path


SIMD_LEVELS = {0: "portable", 1: "avx2", 2: "avx512"}


def simd_level() -> str:
    """The layer kernel's code path in this process: ``"avx512"``, ``"avx2"`` or ``"portable"`` (detected once;
    ``$PLASTICORE_NATIVE_SIMD=avx2|portable`` caps it). :class:`NativeUnavailableError` without the library."""
    return SIMD_LEVELS[int(load_library().pc_simd_level())]


def _check(status: int, what: str) -> None:
    if status != 0:
        raise RuntimeError(f"plasticore native {what} failed: {_STATUS.get(status, f'status {status}')}")


class NativeSynapseHandle:
    """Owns one ``pc_o1_synapse`` (freed with the object). Arguments are assumed validated by the caller;
    the library checks them again and a NULL handle raises ``ValueError``."""

    __slots__ = ("__weakref__", "_h", "_lib", "_out")

    def __init__(self, widths: tuple[int, int, int, int, int], initial_weight: int) -> None:
        self._h: int | None = None
        self._lib = load_library()
        h = self._lib.pc_o1_synapse_new(*widths, initial_weight)
        if not h:
            raise ValueError(f"the native library rejected the synapse config {widths} with initial_weight "
                             f"{initial_weight}")
        self._h = h
        self._out = (ctypes.c_int64 * 4)()

    def __reduce__(self) -> Any:
        # a copy of the address would be freed twice: copy the state instead (``state_dict``)
        raise TypeError("a native synapse handle cannot be copied or pickled; copy its state_dict() instead")

    def step(self, pre: int, post: int, reward: int) -> tuple[int, int, int, int]:
        """One step (``reward`` must fit in int64; the library saturates it); the new four fields."""
        _check(self._lib.pc_o1_synapse_step(self._h, pre, post, reward, self._out), "synapse step")
        o = self._out
        return (o[0], o[1], o[2], o[3])

    def get_state(self) -> tuple[int, int, int, int]:
        """``(weight, pre_trace, post_trace, eligibility)`` as stored in the library."""
        _check(self._lib.pc_o1_synapse_get_state(self._h, self._out), "synapse get_state")
        o = self._out
        return (o[0], o[1], o[2], o[3])

    def set_state(self, fields: tuple[int, int, int, int]) -> None:
        """Store the four fields; the library checks every range (``RuntimeError``, nothing written, otherwise)."""
        buf = (ctypes.c_int64 * 4)(*fields)
        _check(self._lib.pc_o1_synapse_set_state(self._h, buf), "synapse set_state")

    def __del__(self) -> None:
        if getattr(self, "_h", None):
            self._lib.pc_o1_synapse_free(self._h)
            self._h = None


class _View:
    """Exposes one library-owned buffer to NumPy; NumPy keeps it (and so the handle) alive as the array base."""

    def __init__(self, owner: NativeLayerHandle, ptr: int, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._owner = owner
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str, "data": (ptr, False), "version": 3}


def default_threads() -> int:
    """Threads for a new layer: ``$PLASTICORE_NATIVE_THREADS`` (0 = one per core), else 1.

    Threads are optional (std::thread, used only for layers of at least 2^17 synapses): on a machine whose
    cores are busy they cost more than they save, so they are off unless asked for.
    """
    raw = os.environ.get("PLASTICORE_NATIVE_THREADS", "1").strip() or "1"
    if not raw.isdigit():
        raise ValueError(f"PLASTICORE_NATIVE_THREADS must be an int >= 0, not {raw!r}")
    return int(raw)


class NativeLayerHandle:
    """Owns one ``pc_o1_layer``; :meth:`arrays` gives NumPy views of its state buffers (no copies).

    ``n_threads``: ``None`` = :func:`default_threads`, 0 = one per core, 1 = single-threaded, k = at most k.
    """

    def __init__(self, widths: tuple[int, int, int, int, int], n_pre: int, n_post: int,
                 n_threads: int | None = None) -> None:
        self._h: int | None = None
        self._lib = load_library()
        if n_threads is None:
            n_threads = default_threads()
        h = self._lib.pc_o1_layer_new(*widths, n_pre, n_post, n_threads)
        if not h:
            raise ValueError(f"the native library rejected the layer config {widths}, n_pre={n_pre}, "
                             f"n_post={n_post}, n_threads={n_threads} (bad value or out of memory)")
        self._h = h
        self.n_pre, self.n_post = n_pre, n_post
        nbytes = self._lib.pc_o1_layer_word_bytes(h)
        self.dtype: np.dtype[Any] = np.dtype(np.int32 if nbytes == 4 else np.int64)
        self._step = self._lib.pc_o1_layer_step
        # persistent input buffers with cached addresses: ``ndarray.ctypes.data`` costs microseconds per call
        self._pre_buf = np.zeros(n_pre, dtype=np.bool_)
        self._post_buf = np.zeros(n_post, dtype=np.bool_)
        self._rew_buf = np.zeros(n_post, dtype=np.int64)
        self._pre_ptr, self._post_ptr = self._pre_buf.ctypes.data, self._post_buf.ctypes.data
        self._rew_ptr = self._rew_buf.ctypes.data

    def __reduce__(self) -> Any:
        # a copy of the address would be freed twice, and copied views would silently detach from the library
        raise TypeError("a native layer (OnlineO1Layer(backend='native')) cannot be copied or pickled; "
                        "move its state_dict() into a new layer instead")

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """``weight``, ``eligibility`` ``(n_post, n_pre)``, ``pre_trace`` ``(n_pre,)``, ``post_trace`` ``(n_post,)``:
        writable views of the library's buffers; each keeps this handle alive."""
        shapes = ((self.n_post, self.n_pre), (self.n_post, self.n_pre), (self.n_pre,), (self.n_post,))
        out: dict[str, npt.NDArray[Any]] = {}
        for k, (name, shape) in enumerate(zip(_FIELDS, shapes, strict=True)):
            ptr = self._lib.pc_o1_layer_field_ptr(self._h, k)
            if not ptr:
                raise RuntimeError(f"plasticore native layer returned no buffer for {name}")
            out[name] = np.asarray(_View(self, ptr, shape, self.dtype))
        return out

    def step(self, pre: npt.NDArray[np.bool_], post: npt.NDArray[np.bool_],
             reward: int | npt.NDArray[Any]) -> None:
        """One step: ``pre``/``post`` boolean vectors; ``reward`` one int (int64 range) or ``(n_post,)`` ints."""
        if pre.shape != (self.n_pre,) or post.shape != (self.n_post,):
            raise ValueError(f"spikes must have shapes ({self.n_pre},) and ({self.n_post},), not {pre.shape} and "
                             f"{post.shape}")
        self._pre_buf[...] = pre  # a bool copy keeps the bytes: the library rejects any that is not 0/1
        self._post_buf[...] = post
        if isinstance(reward, int):
            status = self._step(self._h, self._pre_ptr, self._post_ptr, reward, None)
        else:
            r = np.asarray(reward)
            if r.shape != (self.n_post,):
                raise ValueError(f"reward must have shape ({self.n_post},), not {r.shape}")
            self._rew_buf[...] = r
            status = self._step(self._h, self._pre_ptr, self._post_ptr, 0, self._rew_ptr)
        _check(status, "layer step")

    def __del__(self) -> None:
        if getattr(self, "_h", None):
            self._lib.pc_o1_layer_free(self._h)
            self._h = None
