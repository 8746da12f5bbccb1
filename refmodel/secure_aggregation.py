"""Secure aggregation (Bonawitz et al. 2017): the server learns the sum of the clients' updates, not the updates.

Bonawitz, Ivanov, Kreuter, Marcedone, McMahan, Patel, Ramage, Segal & Seth (2017), *Practical Secure
Aggregation for Privacy-Preserving Machine Learning*, ACM CCS, pp. 1175-1191 (their Fig. 4, the
honest-but-curious variant of the protocol), run in one process: the four rounds below are function calls and
the messages between clients (routed through the server in the paper, encrypted and signed there) are passed
directly. What this module reproduces exactly is the arithmetic: the masks cancel, dropped clients are
recovered, and too few survivors cannot unmask.

**Encoding.** ``n`` clients, clip ``c > 0``, ``k = bits`` (2..62). Each entry is clipped to ``[-c, c]`` and
quantized with ``M = floor((2^(k-1) - 1) / n)`` levels per side, ``scale = M / c``:

.. math::

    q = \\operatorname{clamp}(\\lfloor \\operatorname{clip}(x, -c, c) \\cdot scale + 1/2 \\rfloor, -M, M),

so ``|sum of n q| <= n M <= 2^(k-1) - 1``: the sum never wraps and its signed representative mod ``2^k`` is the
true integer sum. Decoding is ``S / scale``. Each ``q / scale`` is within ``c / (2 M)`` of the clipped entry, so
the decoded sum of ``s <= n`` survivors is within ``s c / (2 M)`` of the sum of their clipped entries, and the
mean within ``c / (2 M)``, plus ``c 2^-50`` per client for float64 rounding (:func:`quantization_bound`;
clipping itself changes nothing when ``|x| <= c``).

**Round 0, AdvertiseKeys.** Client ``u`` draws an X25519 key pair ``(s_u^SK, s_u^PK)`` (RFC 7748) and a 32-byte
self-mask seed ``b_u``, and publishes ``s_u^PK``.

**Round 1, ShareKeys.** Client ``u`` splits ``s_u^SK`` and ``b_u`` (as integers ``< 2^256``) into ``n`` Shamir
shares with threshold ``t`` over ``GF(p)``, ``p = 2^521 - 1`` (:func:`shamir_split`), and gives share ``j`` to
client ``j``.

**Round 2, MaskedInputCollection.** With ``s_{u,v} = X25519(s_u^SK, s_v^PK) = X25519(s_v^SK, s_u^PK)`` and the
PRG below, a surviving client ``u`` sends

.. math::

    y_u = q_u + PRG(b_u) + \\sum_{v > u} PRG(s_{u,v}) - \\sum_{v < u} PRG(s_{u,v}) \\pmod{2^k}.

Each pair's mask enters once with ``+`` and once with ``-``: in ``sum_u y_u`` over *all* clients the pairwise
masks cancel. ``y_u`` alone is uniform mod ``2^k`` (a one-time pad with ``PRG(b_u)``), uncorrelated with ``q_u``.

**Round 3, Unmasking.** Let ``U`` be the survivors and ``D`` the dropped clients. If ``|U| < t`` the server
stops with :class:`SecureAggregationError`. Otherwise each survivor hands over its shares of ``b_u`` for
``u in U`` and of ``s_v^SK`` for ``v in D`` (never both for the same client); the server reconstructs them and
computes

.. math::

    \\sum_{u \\in U} q_u = \\sum_{u \\in U} y_u - \\sum_{u \\in U} PRG(b_u)
        - \\sum_{v \\in D} \\sum_{u \\in U} \\pm PRG(s_{u,v}) \\pmod{2^k}

with the sign ``u`` used (``+`` for ``v > u``). The result is *exactly* ``sum_{u in U} q_u``. With fewer than
``t`` shares Shamir's scheme reveals nothing about a secret (any value is consistent with them).

**PRG.** ``PRG(seed)``: HKDF-SHA256 (RFC 5869) of the seed (the 32-byte X25519 shared secret, or ``b_u``) with
a purpose label as ``info`` gives a 256-bit AES key; AES-256 in CTR mode (zero nonce; every key is used for one
stream) encrypts zeros, and the keystream read as little-endian ``uint64`` words, reduced mod ``2^k``, is the
mask. (NumPy's PCG64/Philox are not cryptographic PRGs, so they are not used for masks.)

**Randomness.** Key pairs, self-mask seeds and Shamir coefficients come from the seeded
``numpy.random.Generator`` of ``seed`` so that runs are reproducible (a deployment draws them from the
operating system, ``secrets.token_bytes``). The threshold trades privacy for dropout tolerance: ``t`` must
exceed the number of colluding parties (``t`` shares reveal a secret) and must not exceed the number of clients
that survive (else nothing can be unmasked), ``T + 1 <= t <= n - (dropouts)``; this module accepts any
``1 <= t <= n`` and leaves the choice to the caller (:func:`~plasticore.refmodel.federated.server_update`
defaults to ``n // 2 + 1``).

**Simplifications** (in-process reference, not a deployment): one key pair per client for masking (the paper
has a second pair for the encrypted client-to-client channel), no signatures, no consistency check round, and
the server never asks one client for both shares of the same client because this code is the server.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from ._validate import check_array, check_count, check_real, check_rng, check_seed
from .errors import MissingDependencyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]

__all__ = [
    "SHAMIR_PRIME",
    "SecAggClient",
    "SecureAggregationError",
    "SecureSumResult",
    "dequantize",
    "prg_mask",
    "quantization_bound",
    "quantization_levels",
    "quantization_scale",
    "quantize",
    "secure_sum",
    "secure_sum_protocol",
    "shamir_reconstruct",
    "shamir_split",
]

SHAMIR_PRIME = (1 << 521) - 1
"""The Mersenne prime ``2^521 - 1``: the field of the Shamir shares (larger than any 256-bit secret)."""

_BITS = (2, 62)
_Share = tuple[int, int]
_PAIR_INFO = b"plasticore.secagg.v1 pairwise mask"
_SELF_INFO = b"plasticore.secagg.v1 self mask"


class SecureAggregationError(RuntimeError):
    """The server cannot unmask the sum: fewer surviving clients than the Shamir threshold."""


class SecureSumResult(NamedTuple):
    """Outcome of :func:`secure_sum_protocol`.

    ``sum``: the decoded float sum of the survivors' clipped updates (``quantized_sum / scale``);
    ``quantized_sum``: the exact signed integer sum ``sum_{u in U} q_u`` (int64); ``masked``: what the server
    received, ``y_u`` mod ``2^k`` (uint64) per survivor; ``survivors`` / ``dropped``: client indices.
    """

    sum: Array
    quantized_sum: IntArray
    masked: dict[int, UIntArray]
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]


# ---- encoding ---------------------------------------------------------------------------------------

def _check_encoding(n_clients: int, clip: float, bits: int) -> tuple[int, float, int]:
    n = check_count("n_clients", n_clients, 1)
    c = check_real("clip", clip, 0.0, None, lo_open=True)
    k = check_count("bits", bits, *_BITS)
    if (1 << (k - 1)) - 1 < n:
        raise ValueError(f"bits must leave at least one quantization level per client (2^(bits-1) - 1 >= "
                         f"n_clients = {n}), not {k}")
    return n, c, k


def quantization_levels(n_clients: int, clip: float, bits: int) -> int:
    """``M = floor((2^(bits-1) - 1) / n_clients)``: the largest ``|q|`` of one client (so ``n M`` fits)."""
    n, _, k = _check_encoding(n_clients, clip, bits)
    return ((1 << (k - 1)) - 1) // n


def quantization_scale(n_clients: int, clip: float, bits: int) -> float:
    """``scale = M / clip`` with ``M`` = :func:`quantization_levels`: ``q = round(x * scale)``."""
    return quantization_levels(n_clients, clip, bits) / float(clip)


def quantization_bound(n_clients: int, clip: float, bits: int, *, mean: bool = False) -> float:
    """Largest difference quantization can make in the aggregate: ``n (c / (2 M) + c 2^-50)`` for the decoded
    sum of ``n_clients`` clipped updates (fewer survivors ``s`` give at most ``s / n`` of it), ``c / (2 M) +
    c 2^-50`` for their mean.

    Each client's ``q / scale`` is within ``1 / (2 scale) = c / (2 M)`` of its clipped entry (round half up;
    the clamp to ``[-M, M]`` only acts within rounding of ``+-M``). The term ``c 2^-50`` per client bounds
    the float64 rounding of ``x * scale + 1/2`` (at most ``M 2^-52`` levels) and of the decoding
    ``S * (c / M)`` (three roundings of a value ``<= n c``); it matters only for ``bits`` above ~50. The bound
    excludes the clipping itself, which is exact for ``|x| <= c``.
    """
    n, c, _ = _check_encoding(n_clients, clip, bits)
    per_client = c / (2.0 * quantization_levels(n_clients, clip, bits)) + c * 2.0**-50
    return per_client if mean else n * per_client


def quantize(x: npt.ArrayLike, n_clients: int, clip: float, bits: int) -> IntArray:
    """``q = clamp(floor(clip(x, -c, c) * scale + 1/2), -M, M)`` as int64 (module docstring)."""
    m = quantization_levels(n_clients, clip, bits)
    a = check_array("x", x)
    q = np.floor(np.clip(a, -float(clip), float(clip)) * (m / float(clip)) + 0.5)
    return np.clip(q, -m, m).astype(np.int64)


def dequantize(q_sum: npt.ArrayLike, n_clients: int, clip: float, bits: int) -> Array:
    """``q_sum / scale`` (float64): the decoded sum of the clients' quantized entries."""
    m = quantization_levels(n_clients, clip, bits)
    q = np.asarray(q_sum)
    if q.dtype.kind not in "iu":
        raise TypeError(f"q_sum must be an integer array, not dtype {q.dtype}")
    return q.astype(np.float64) * (float(clip) / m)


# ---- PRG and Shamir ------------------------------------------------------------------------------------

def _crypto() -> types.SimpleNamespace:
    """The ``cryptography`` primitives, imported on first use (plasticore imports without the extra);
    :class:`~plasticore.refmodel.errors.MissingDependencyError` naming the ``distributed`` extra if absent."""
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    except ImportError as exc:
        raise MissingDependencyError("secure aggregation", "cryptography", "distributed", str(exc)) from exc
    return types.SimpleNamespace(hashes=hashes, X25519PrivateKey=X25519PrivateKey, X25519PublicKey=X25519PublicKey,
                                 Cipher=Cipher, algorithms=algorithms, modes=modes, HKDF=HKDF, Encoding=Encoding,
                                 PublicFormat=PublicFormat)


def prg_mask(seed: bytes, info: bytes, size: int, bits: int) -> UIntArray:
    """``size`` pseudorandom words mod ``2^bits``: AES-256-CTR keystream under ``HKDF-SHA256(seed, info)``."""
    if not isinstance(seed, bytes) or len(seed) < 16:
        raise TypeError(f"seed must be bytes of length >= 16, not {type(seed).__name__}")
    n = check_count("size", size, 0)
    k = check_count("bits", bits, *_BITS)
    c = _crypto()
    key = c.HKDF(algorithm=c.hashes.SHA256(), length=32, salt=None, info=info).derive(seed)
    enc = c.Cipher(c.algorithms.AES(key), c.modes.CTR(b"\x00" * 16)).encryptor()
    stream = enc.update(b"\x00" * (8 * n)) + enc.finalize()
    words = np.frombuffer(stream, dtype="<u8").astype(np.uint64)
    return words & np.uint64((1 << k) - 1)


def shamir_split(secret: int, n_shares: int, threshold: int, rng: np.random.Generator | int,
                 prime: int = SHAMIR_PRIME) -> list[tuple[int, int]]:
    """Shamir (1979), *How to share a secret*, CACM 22:612: the shares ``(x, f(x) mod p)``, ``x = 1..n_shares``,
    of ``f(x) = secret + a_1 x + ... + a_{t-1} x^(t-1)`` with ``a_i`` uniform in ``GF(p)`` (from ``rng``).

    Any ``t = threshold`` shares determine ``f`` and so ``f(0) = secret`` (:func:`shamir_reconstruct`); any
    ``t - 1`` are consistent with every secret. ``0 <= secret < prime``, ``1 <= threshold <= n_shares < prime``.
    """
    if isinstance(secret, bool) or not isinstance(secret, int) or not 0 <= secret < prime:
        raise ValueError(f"secret must be an int in 0..prime-1, not {secret!r}")
    n = check_count("n_shares", n_shares, 1)
    t = check_count("threshold", threshold, 1, n)
    if n >= prime:
        raise ValueError(f"n_shares must be < prime = {prime}, not {n}")
    gen = check_rng("rng", rng)
    n_bytes = (prime.bit_length() + 7) // 8 + 8  # 64 extra bits: the reduction mod p is uniform to ~2^-64
    coeffs = [secret] + [int.from_bytes(gen.bytes(n_bytes), "little") % prime for _ in range(t - 1)]
    shares = []
    for x in range(1, n + 1):
        y = 0
        for a in reversed(coeffs):  # Horner
            y = (y * x + a) % prime
        shares.append((x, y))
    return shares


def shamir_reconstruct(shares: Sequence[tuple[int, int]], prime: int = SHAMIR_PRIME) -> int:
    """``f(0)`` of the polynomial of degree ``< len(shares)`` through ``shares`` (Lagrange interpolation):

    .. math::

        f(0) = \\sum_j y_j \\prod_{m \\ne j} \\frac{x_m}{x_m - x_j} \\pmod p .

    With at least the threshold number of shares this is the secret; with fewer it is some other value.
    The ``x`` must be distinct and nonzero mod ``p``.
    """
    pts = [(int(x) % prime, int(y) % prime) for x, y in shares]
    if not pts:
        raise ValueError("shares must hold at least one (x, y) pair, not 0")
    xs = [x for x, _ in pts]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError(f"shares must have distinct nonzero x, not {sorted(xs)}")
    total = 0
    for j, (xj, yj) in enumerate(pts):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * xm % prime
                den = den * (xm - xj) % prime
        total = (total + yj * num * pow(den, -1, prime)) % prime
    return total


# ---- clients and server --------------------------------------------------------------------------------

def _public_bytes(key: X25519PublicKey) -> bytes:
    c = _crypto()
    b: bytes = key.public_bytes(c.Encoding.Raw, c.PublicFormat.Raw)
    return b


def _pair_mask(private: X25519PrivateKey, peer_public: bytes, size: int, bits: int) -> UIntArray:
    shared = private.exchange(_crypto().X25519PublicKey.from_public_bytes(peer_public))
    return prg_mask(shared, _PAIR_INFO, size, bits)


class SecAggClient:
    """One client of the protocol (module docstring): its key pair, self-mask seed and received shares.

    ``index`` is ``0..n_clients-1``; the Shamir share of client ``j`` is the point ``x = j + 1``.
    """

    def __init__(self, index: int, n_clients: int, rng: np.random.Generator) -> None:
        self.n_clients = check_count("n_clients", n_clients, 1)
        self.index = check_count("index", index, 0, self.n_clients - 1)
        self._private_bytes = rng.bytes(32)
        self._private: X25519PrivateKey = _crypto().X25519PrivateKey.from_private_bytes(self._private_bytes)
        self._self_seed = rng.bytes(32)
        self.received: dict[int, tuple[_Share, _Share]] = {}

    @property
    def public_key(self) -> bytes:
        """Round 0: the raw 32-byte X25519 public key ``s_u^PK``."""
        return _public_bytes(self._private.public_key())

    def share_keys(self, threshold: int, rng: np.random.Generator) -> dict[int, tuple[_Share, _Share]]:
        """Round 1: for each client ``j``, its shares ``(share of s_u^SK, share of b_u)``."""
        sk = shamir_split(int.from_bytes(self._private_bytes, "little"), self.n_clients, threshold, rng)
        b = shamir_split(int.from_bytes(self._self_seed, "little"), self.n_clients, threshold, rng)
        return {j: (sk[j], b[j]) for j in range(self.n_clients)}

    def masked_input(self, q: npt.ArrayLike, public_keys: Mapping[int, bytes], bits: int) -> UIntArray:
        """Round 2: ``y_u = q_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv) mod 2^bits``."""
        qa = np.asarray(q)
        if qa.dtype.kind not in "iu":
            raise TypeError(f"q must be an integer array, not dtype {qa.dtype}")
        mod = np.uint64((1 << bits) - 1)
        size = qa.size
        y = qa.reshape(-1).astype(np.int64).astype(np.uint64)  # two's complement: q mod 2^64
        y = y + prg_mask(self._self_seed, _SELF_INFO, size, bits)
        for v, pk in public_keys.items():
            if v == self.index:
                continue
            m = _pair_mask(self._private, pk, size, bits)
            y = y + m if v > self.index else y - m  # uint64 wraps mod 2^64, a multiple of 2^bits
        return y & mod

    def unmask_shares(self, survivors: Iterable[int], dropped: Iterable[int]) -> dict[tuple[str, int], tuple[int, int]]:
        """Round 3: this client's share of ``b_u`` for every survivor ``u`` and of ``s_v^SK`` for every dropped
        ``v`` (never both for one client)."""
        out: dict[tuple[str, int], tuple[int, int]] = {}
        for u in survivors:
            out[("b", u)] = self.received[u][1]
        for v in dropped:
            out[("sk", v)] = self.received[v][0]
        return out


def _check_updates(updates: object, drop: Iterable[int]) -> tuple[list[Array | None], tuple[int, ...]]:
    if isinstance(updates, (str, bytes, np.ndarray)) or not isinstance(updates, Sequence):
        raise TypeError(f"updates must be a sequence of arrays (one per client), not {type(updates).__name__}")
    n = len(updates)
    if n < 1:
        raise ValueError("updates must hold at least one client's array, not 0")
    dropped: list[int] = []
    for d in drop:
        i = check_count("drop", d, 0, n - 1)
        if i in dropped:
            raise ValueError(f"drop must list distinct clients, not {i} twice")
        dropped.append(i)
    arrays: list[Array | None] = []
    shape: tuple[int, ...] | None = None
    for k, u in enumerate(updates):
        if k in dropped:
            arrays.append(None)
            continue
        if u is None:
            raise ValueError(f"updates[{k}] is None but client {k} is not in drop")
        a = check_array(f"updates[{k}]", u)
        if shape is None:
            shape = a.shape
        elif a.shape != shape:
            raise ValueError(f"updates[{k}] must have the shape of the first update {shape}, not {a.shape}")
        arrays.append(a)
    if shape is None:
        raise SecureAggregationError(f"secure aggregation has no surviving client: all {n} dropped")
    return arrays, tuple(sorted(dropped))


def secure_sum_protocol(updates: Sequence[npt.ArrayLike | None], *, threshold: int, clip: float, bits: int = 32,
                        seed: int = 0, drop: Iterable[int] = ()) -> SecureSumResult:
    """Run rounds 0-3 of the protocol in process for ``n = len(updates)`` clients (module docstring).

    ``drop``: clients that complete rounds 0 and 1 and then drop out (their entry in ``updates`` is ignored
    and may be ``None``). ``threshold``: Shamir threshold ``t`` in ``1..n``; fewer than ``t`` survivors raise
    :class:`SecureAggregationError` naming both numbers. ``clip``, ``bits``: the encoding
    (:func:`quantize`, ``n`` = all clients). ``seed``: int >= 0 for every key, seed and share.
    """
    arrays, dropped = _check_updates(updates, drop)
    n = len(arrays)
    t = check_count("threshold", threshold, 1, n)
    _, c, k = _check_encoding(n, clip, bits)
    rng = np.random.default_rng(check_seed("seed", seed))
    survivors = tuple(u for u in range(n) if u not in dropped)
    shape = next(a.shape for a in arrays if a is not None)
    size = int(np.prod(shape))
    # round 0: keys
    clients = [SecAggClient(u, n, rng) for u in range(n)]
    public = {u: cl.public_key for u, cl in enumerate(clients)}
    # round 1: shares (client u's share for j goes to j)
    for cl in clients:
        for j, share in cl.share_keys(t, rng).items():
            clients[j].received[cl.index] = share
    # round 2: masked inputs of the survivors
    masked: dict[int, UIntArray] = {}
    for u in survivors:
        a = arrays[u]
        assert a is not None
        masked[u] = clients[u].masked_input(quantize(a, n, c, k), public, k)
    # round 3: unmasking
    if len(survivors) < t:
        raise SecureAggregationError(
            f"secure aggregation cannot unmask the sum: {len(survivors)} of {n} clients survived "
            f"(dropped: {list(dropped)}), fewer than the threshold t = {t} of Shamir shares needed to "
            f"reconstruct the dropped clients' masks")
    responses = {u: clients[u].unmask_shares(survivors, dropped) for u in survivors[:t]}
    mod = np.uint64((1 << k) - 1)
    total = np.zeros(size, dtype=np.uint64)
    for y in masked.values():
        total = total + y
    for u in survivors:
        b = shamir_reconstruct([r[("b", u)] for r in responses.values()]).to_bytes(32, "little")
        total = total - prg_mask(b, _SELF_INFO, size, k)
    for v in dropped:
        sk = _crypto().X25519PrivateKey.from_private_bytes(
            shamir_reconstruct([r[("sk", v)] for r in responses.values()]).to_bytes(32, "little"))
        for u in survivors:  # u added +PRG(s_uv) if v > u, -PRG(s_uv) if v < u: take it out
            m = _pair_mask(sk, public[u], size, k)
            total = total - m if v > u else total + m
    total = total & mod
    wide = total.astype(np.int64)  # < 2^62: exact
    signed: IntArray = np.where(wide >= (1 << (k - 1)), wide - (1 << k), wide).astype(np.int64).reshape(shape)
    return SecureSumResult(dequantize(signed, n, c, k), signed, masked, survivors, dropped)


def secure_sum(updates: Sequence[npt.ArrayLike | None], *, threshold: int, clip: float, bits: int = 32, seed: int = 0,
               drop: Iterable[int] = ()) -> Array:
    """The decoded sum of the surviving clients' clipped updates, ``secure_sum_protocol(...).sum``: within
    :func:`quantization_bound` of ``sum_{u in U} clip(x_u, -c, c)``."""
    return secure_sum_protocol(updates, threshold=threshold, clip=clip, bits=bits, seed=seed, drop=drop).sum
