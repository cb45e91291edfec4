"""C-like integer arithmetic on int64 arrays (``docs/MAESTRO_METHOD.md`` §0).

MAESTRO is written in C++, where ``a / b`` truncates toward zero and ``a % b`` takes the sign of
``a``. numpy's ``//`` and ``%`` floor instead, which differs for negative operands; degenerate
layers (Y < R) make some operands negative, so every division of the cost model goes through these
helpers. Divisors are always positive in the model (offsets, cluster sizes, bandwidths).
"""

from __future__ import annotations

import numpy as np


def cdiv(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """``a ÷ b`` truncated toward zero (C semantics), elementwise, as int64."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def crem(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """``a rem b = a − b·(a ÷ b)`` (sign of ``a``, C semantics), elementwise, as int64."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return a - b * cdiv(a, b)


def ceil0(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """``⌈a/b⌉₀ = a ÷ b + [a rem b ≠ 0]`` (MAESTRO's integer ceiling, also for negative ``a``)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    q = cdiv(a, b)
    return q + (a - b * q != 0)


def ceil_div_bw(words: np.ndarray | int, bw: np.ndarray | float) -> np.ndarray:
    """Cycles to move ``words`` at ``bw`` words per cycle, as int64: :func:`ceil0` when every
    bandwidth is integral (MAESTRO's integer arithmetic, unchanged), otherwise ``⌈words/bw⌉``
    in float64 (a fractional bandwidth: a link that moves 1.2 words per cycle on average)."""
    if isinstance(bw, (int, float)) and float(bw).is_integer() and bw > 0:
        # one positive integral bandwidth (the usual case): the same int64 result as ceil0,
        # with fewer array operations (words >= 0: C's ceiling is the floor ceiling)
        a = np.asarray(words, dtype=np.int64)
        if a.ndim and a.size and a.min() >= 0:
            return -(-a // int(bw))
        return ceil0(a, int(bw))
    bw_arr = np.asarray(bw)
    if bw_arr.dtype.kind in "iu" or np.all(bw_arr == np.floor(bw_arr)):
        return ceil0(words, bw_arr.astype(np.int64))
    w = np.asarray(words, dtype=np.float64)
    cycles = np.ceil(np.abs(w) / bw_arr.astype(np.float64) - 1e-9)
    return (np.sign(w) * cycles).astype(np.int64)
