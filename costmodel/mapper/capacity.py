"""The mapper's own buffer-capacity check: a mapping's working sets from its directive list.

The mapper prunes mappings whose data do not fit the buffers without relying on the analysis to
report a spill (the loop-nest ``native`` path does not size L1 against ``l1_bytes_per_pe``). The
check is physical and layer by layer:

- **per PE (L1)** — walking the directive list outermost first, each dimension's tile is the
  smallest map size written for it at any level (a spatial map gives each sub-unit ``size`` of its
  parent's tile, a temporal map steps ``size`` at a time through it), clipped to the layer's
  extent; unmapped dimensions (R, S unless written) are whole, except N: a list that does not map N
  runs the images one after the other (:func:`costmodel.loopnest.build_loop_nest`), so a tile
  holds one image. The PE holds one step's weight
  tile ``K_t x C_t x R_t x S_t``, its input window ``N_t x C_t x rows x cols`` with the true
  window ``rows = (Y'_t - 1) * stride + R_t`` (capped at the input tile when Y itself is mapped,
  as in the row-stationary ``SpatialMap Y; SpatialMap R`` pair, which then also bounds Y'_t), and
  its output tile ``N_t x K_t x Y'_t x X'_t``. Depthwise, pooling and element-wise layers carry
  their channels in C (K = 1, as :func:`costmodel.mapper.evaluate.bounds`): their outputs have
  C_t channels and pooling / element-wise layers have no weights.
- **whole chip (L2)** — the same tensors for one level-0 step of all level-0 units together:
  level-0 tiles, the level-0 spatial dimension covered by ``(units - 1) * offset + size``.

A mapping fits when ``words x word_bytes`` is at most ``l1_bytes_per_pe`` per PE and at most
``l2_bytes`` for the chip. One copy of each tile is counted (the analysis's ``double_buffered``
overlap is its timing assumption, not sized here).
"""

from __future__ import annotations

import math

import numpy as np

from costmodel.batch import LayerBatch
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from workloads.layer import OpType

#: Dimensions a directive may name, as columns of the tile matrix.
_DIMS: tuple[str, ...] = ("N", "K", "C", "Y'", "X'", "Y", "X", "R", "S")


def _extents(batch: LayerBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 9)`` extents per layer in :data:`_DIMS` order (K, C per group / folded channels;
    Y, X padded input) and the per-layer "channels folded into C" mask."""
    n_, k, c, y, x, r, s = (batch.dims[:, j] for j in range(7))
    g = batch.groups
    per_channel = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    folded = per_channel | ((g > 1) & (c == g) & (k == g))
    kb = np.where(folded, 1, np.maximum(k // g, 1))
    cb = np.where(folded, k, np.maximum(c // g, 1))
    yp = y + 2 * batch.padding[:, 0]
    xp = x + 2 * batch.padding[:, 1]
    cols = [n_, kb, cb, batch.out_y, batch.out_x, yp, xp, r, s]
    ext = np.column_stack([np.maximum(v, 1) for v in cols]).astype(np.int64)
    return ext, folded


def _tensor_words(tile: np.ndarray, batch: LayerBatch, folded: np.ndarray) -> np.ndarray:
    """Weight + input-window + output words of one tile per layer (``tile`` in _DIMS order)."""
    n_t, k_t, c_t, oy_t, ox_t, y_t, x_t, r_t, s_t = (tile[:, j] for j in range(9))
    sy, sx = batch.stride[:, 0], batch.stride[:, 1]
    oy_t = np.minimum(oy_t, np.maximum((y_t - r_t) // sy + 1, 1))
    ox_t = np.minimum(ox_t, np.maximum((x_t - s_t) // sx + 1, 1))
    rows = np.minimum((oy_t - 1) * sy + r_t, y_t)
    cols = np.minimum((ox_t - 1) * sx + s_t, x_t)
    weightless = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    weights = np.where(weightless, 0, k_t * c_t * r_t * s_t)
    inputs = n_t * c_t * rows * cols
    outputs = n_t * np.where(folded, c_t, k_t) * oy_t * ox_t
    return weights + inputs + outputs


def working_set_words(
    batch: LayerBatch, accelerator: Accelerator, dataflow: Dataflow
) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: (words one PE holds, words the chip holds for one level-0 step)."""
    ext, folded = _extents(batch)
    if not any(d.dim == "N" for d in dataflow.directives):
        ext[:, _DIMS.index("N")] = 1  # the analysis runs the images one after the other
    pe = ext.copy()
    chip = ext.copy()
    clusters = [d.size for d in dataflow.directives if d.kind == "C"]
    units = max(accelerator.num_pes // max(math.prod(clusters), 1), 1)
    level = 0
    for d in dataflow.directives:
        if d.kind == "C":
            level += 1
            continue
        if d.dim not in _DIMS:
            continue
        j = _DIMS.index(d.dim)
        pe[:, j] = np.minimum(pe[:, j], d.size)
        if level == 0:
            covered = (units - 1) * d.offset + d.size if d.kind == "S" else d.size
            chip[:, j] = np.minimum(chip[:, j], covered)
    return _tensor_words(pe, batch, folded), _tensor_words(chip, batch, folded)


def capacity_excess_bytes(
    batch: LayerBatch, accelerator: Accelerator, dataflow: Dataflow
) -> np.ndarray:
    """Per layer: bytes by which the mapping overflows its PE's L1 plus its chip's L2 (0: fits)."""
    pe, chip = working_set_words(batch, accelerator, dataflow)
    wb = accelerator.word_bytes
    over_l1 = np.maximum(pe * wb - accelerator.l1_bytes_per_pe, 0)
    over_l2 = np.maximum(chip * wb - accelerator.l2_bytes, 0)
    return (over_l1 + over_l2).astype(np.float64)
