"""Row-stationary structures of the mapping space: PE sets of R x e PEs, four cluster levels.

A row-stationary mapping (Chen et al., ISCA 2016 / JSSC 2017) gives each PE one filter row and
one input row: a *PE set* of R x e PEs computes R filter rows x e output rows, each PE sliding
its filter row along the input row (a 1-D convolution). ``t`` PE sets work on different filters
and ``r`` on different channels, each PE holding ``p`` filters x ``q`` channels of its row; a
*processing pass* keeps ``m`` filters x ``e`` output rows x ``n`` images of partial sums in the
global buffer while the channels advance ``q·r`` at a time. As a directive list, outermost first::

    level 0 (one unit: the array)   TemporalMap(m) K; [TemporalMap(n) N]; TemporalMap(e) Y';
                                    TemporalMap(q·r) C   (in the point's loop order; X' whole)
    Cluster(t)                      SpatialMap(p) K      (PE sets on different filters)
    Cluster(r)                      SpatialMap(q) C      (PE sets on different channels)
    Cluster(e)                      SpatialMap(1) Y'     (the e output rows of a set)
    Cluster(R)                      SpatialMap(1) R; TemporalMap(1) X'   (filter rows; slide)

:func:`row_sets` derives the cluster sizes ``(t, r, e, R)`` of a layer from its filter rows R,
its output rows Y' and the PE count alone — nothing is specific to an accelerator or a layer:

- **pass widths** e: the output rows of a pass split evenly, e = ceil(Y'/k) for k = 1, 2, ...
  (fewest passes first), with R·e <= PEs; for each e the array holds s = PEs // (R·e) sets. Per
  set count s the widest e is kept (a narrower one with the same s only adds passes), and the
  first ``widths`` such (e, s) pairs (fewest passes) are used;
- **set splits** t x r = s: every divisor pair (filters vs channels), so every set is used and
  the array has one level-0 unit.

The temporal tiles m, n and the chunks p, q are free parameters of the point
(:mod:`costmodel.mapper.space`); the pass's channel tile is tied to q·r and its row tile to e.
A batch of layers gets the structures of one output height per distinct filter height
(:func:`batch_row_sets`), so the number of structures (and seeds) grows with the distinct
filter heights, not with the layers.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from hardware_db.dataflow import Directive

#: The ``inner`` mode of a row-stationary point (:class:`costmodel.mapper.space.Point`).
ROWS = "rows"
#: Pass widths (distinct set counts) kept per layer class.
WIDTHS = 3
#: The loop order of the row-stationary seeds: partial sums stay while the channels advance.
SEED_ORDER = "os"


def pass_widths(num_pes: int, filter_rows: int, out_rows: int, widths: int = WIDTHS):
    """``[(e, s), ...]``: pass widths e (even splits of ``out_rows``, widest first) with the
    number s of R x e PE sets the array holds, the widest e per s, at most ``widths`` pairs."""
    out: list[tuple[int, int]] = []
    seen_sets: set[int] = set()
    for k in range(1, max(out_rows, 1) + 1):
        e = math.ceil(out_rows / k)
        if e * filter_rows > num_pes:
            continue
        sets = num_pes // (e * filter_rows)
        if sets in seen_sets:
            continue
        seen_sets.add(sets)
        out.append((e, sets))
        if len(out) >= widths:
            break
    return out


def row_sets(num_pes: int, filter_rows: int, out_rows: int, widths: int = WIDTHS):
    """Cluster structures ``(t, r, e, R)`` of a layer with ``filter_rows`` R > 1 and
    ``out_rows`` Y' (module docstring); none when R is 1 or one PE set does not fit."""
    if filter_rows <= 1:
        return []
    out = []
    for e, sets in pass_widths(num_pes, filter_rows, out_rows, widths):
        for r in range(1, sets + 1):
            if sets % r == 0:
                out.append((sets // r, r, e, filter_rows))
    return out


def pe_chunks(filter_cols: int, l1_words: tuple[int, ...]) -> tuple[int, int]:
    """(p, q): filters and channels per PE that fill its buffers for a filter row of
    ``filter_cols`` S (weights p·q·S, inputs q·S, partial sums p): ``l1_words`` is one shared
    L1 ``(words,)`` or per-tensor buffers ``(weights, inputs, outputs)``. Per tensor: the most
    channels the input buffer holds, then the most filters; shared: the largest p·q that fits
    (ties: more filters). At least (1, 1)."""
    s = max(filter_cols, 1)
    if len(l1_words) == 3:
        w, i, o = l1_words
        q = max(1, i // s)
        return max(1, min(w // (q * s), o)), q
    words = l1_words[0] if l1_words else 0
    best = (1, 1)
    for q in range(1, max(words // s, 1) + 1):
        p = (words - q * s) // (q * s + 1)
        if p >= 1 and (p * q, p) > (best[0] * best[1], best[0]):
            best = (p, q)
    return best


def batch_row_sets(num_pes: int, dims: np.ndarray, out_rows: np.ndarray,
                   l1_words: tuple[int, ...] = (), widths: int = WIDTHS):  # fmt: skip
    """Structures and their seed chunks for a batch (``dims``: the batch's N, K, C, Y, X, R, S
    rows and ``out_rows`` Y', in the searched orientation): per distinct R > 1, the structures
    of the output height most of its layers have (ties: the tallest), each with the (p, q) of
    :func:`pe_chunks` for the filter width S most of those layers have. Returns
    ``((t, r, e, R), ...), ((p, q), ...)``."""
    keys = zip(dims[:, 5].tolist(), np.asarray(out_rows).tolist(), dims[:, 6].tolist(),
               strict=True)  # fmt: skip
    classes = Counter(keys)
    sets: dict[tuple[int, int, int, int], tuple[int, int]] = {}
    for rows in sorted({r for r, _, _ in classes if r > 1}):
        _, y = max((sum(n for (r, yy, _), n in classes.items() if r == rows and yy == y), y)
                   for (r, y, _) in classes if r == rows)  # fmt: skip
        _, cols = max((n, c) for (r, yy, c), n in classes.items() if r == rows and yy == y)
        chunks = pe_chunks(int(cols), l1_words)
        for structure in row_sets(num_pes, int(rows), int(y), widths):
            sets.setdefault(structure, chunks)
    return tuple(sets), tuple(sets.values())


def directives(
    clusters: tuple[int, ...],
    order: tuple[str, ...],
    tiles: dict[str, int],
    chunks: tuple[int, int],
    images: int,
) -> list[Directive]:
    """The directive list of a row-stationary point (module docstring): level 0 in ``order``
    (X' left whole: each PE slides along the row), the N tile before Y' when ``images`` > 1."""
    out = []
    for dim in order:
        if dim == "X'":
            continue
        if dim == "Y'" and images > 1:
            out.append(Directive("T", images, images, "N"))
        out.append(Directive("T", tiles[dim], tiles[dim], dim))
    t, r, e, rows = clusters
    p, q = chunks
    out += [Directive("C", t), Directive("S", p, p, "K"),
            Directive("C", r), Directive("S", q, q, "C"),
            Directive("C", e), Directive("S", 1, 1, "Y'"),
            Directive("C", rows), Directive("S", 1, 1, "R"),
            Directive("T", 1, 1, "X'")]  # fmt: skip
    return out


def structure_moves(current: tuple[int, ...], structures) -> list[tuple[int, ...]]:
    """Other row-stationary structures one move away: the same filter rows R and either the same
    pass width (another t x r split) or the same split of channels r (another width)."""
    t, r, e, rows = current
    return [s for s in structures
            if s != current and s[3] == rows and (s[2] == e or s[1] == r)]  # fmt: skip
