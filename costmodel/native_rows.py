"""The ``native`` analysis, step 0: each layer as (repetitions × one analysed convolution),
folded according to the corrections ``strides`` and ``grouped`` (:mod:`costmodel.native`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from costmodel import maestro as M
from costmodel.batch import LayerBatch
from costmodel.native_options import NativeOptions
from workloads.layer import OpType

# --------------------------------------------------------------------------------------------
# layers → analysed rows


@dataclass(frozen=True)
class NativeRows:
    """The per-layer rows the level machinery costs, and the layer-level tensor sizes.

    ``dims`` (n, 7): repetitions, K, C, Y, X, R, S of one repetition (Y, X in input rows/columns
    actually touched); ``stride`` (n, 2); ``channel_out``: output indexed by C (depthwise fold);
    ``weights``: the layer has a weight tensor; ``valid``: at least one output position.
    Tensor words are the layer's own (unpadded input, true weights and outputs).
    """

    dims: np.ndarray
    stride: np.ndarray
    channel_out: np.ndarray
    weights: np.ndarray
    valid: np.ndarray
    input_words: np.ndarray
    weight_words: np.ndarray
    output_words: np.ndarray

    def take(self, index: np.ndarray) -> NativeRows:
        """The rows at ``index`` (an int array), in that order."""
        return NativeRows(*(getattr(self, f.name)[index] for f in fields(self)))


def native_rows(batch: LayerBatch, options: NativeOptions) -> NativeRows:
    """Step 0: each layer as (repetitions × one analysed convolution), per the corrections."""
    if not (options.strides or options.grouped):
        dims = M.maestro_dims(batch)
        ones = np.ones((len(batch), 2), dtype=np.int64)
        return _rows(batch, dims, ones, np.zeros(len(batch), bool), np.ones(len(batch), bool))
    n, k, c, y, x, r, s = (batch.dims[:, i].copy() for i in range(7))
    stride = batch.stride.copy() if options.strides else np.ones_like(batch.stride)
    plain = batch.xrbench & (batch.stride == 1).all(axis=1)
    oy, ox = batch.out_y, batch.out_x
    y = np.where(plain, y, (oy - 1) * stride[:, 0] + r)
    x = np.where(plain, x, (ox - 1) * stride[:, 1] + s)
    g = batch.groups
    per_channel = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    eltwise = batch.op == OpType.ELTWISE.value
    depthwise = (g > 1) & (c == g) & (k == g)
    fold = options.grouped & (per_channel | depthwise)
    reps = np.where(fold, n, np.where(per_channel, n * k, n * g))
    kk = np.where(fold | per_channel, 1, k // g)
    cc = np.where(fold, k, np.where(per_channel, 1, c // g))
    y = np.where(eltwise, y - r + 1, y)
    x = np.where(eltwise, x - s + 1, x)
    r = np.where(eltwise, 1, r)
    s = np.where(eltwise, 1, s)
    dims = np.column_stack([reps, kk, cc, y, x, r, s]).astype(np.int64)
    weights = ~(options.grouped & per_channel)
    return _rows(batch, dims, stride.astype(np.int64), fold, weights)


def _rows(batch, dims, stride, channel_out, weights) -> NativeRows:
    n, k, c, y, x, r, s = batch.dims.T
    has_w = ~np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    oy, ox = batch.out_y, batch.out_x
    valid = (oy >= 1) & (ox >= 1)
    weight_words = np.where(has_w, k * (c // batch.groups) * r * s, 0)
    return NativeRows(
        dims=dims,
        stride=stride,
        channel_out=np.asarray(channel_out, bool),
        weights=np.asarray(weights, bool),
        valid=valid,
        input_words=n * c * y * x,
        weight_words=weight_words.astype(np.int64),
        output_words=n * k * np.maximum(oy, 0) * np.maximum(ox, 0),
    )
