"""The mapper's buffer-capacity check: what each buffer holds under the analysis's own tiles.

The check sizes every tensor with the loop nest and the tile accounting the ``native`` analysis
costs (:func:`costmodel.native_nest.loop_nest_of`,
:meth:`costmodel.nest_walk.NestWalk.footprints`: the tiles the analysis reports with
``footprints=True``), so a mapping it accepts is one the analysis costs without a buffer
holding more than it has:

- **per PE (L1)** — the PE's *step tile* of each tensor for one image: what it holds while it
  computes. The innermost temporal loops walk through the PE's work, so a streamed dimension is
  not held whole: a row-stationary PE (``SpatialMap(1,1) R; TemporalMap(1,1) X'``) holds its
  filter rows, the sliding window of one output column (S inputs per channel) and one psum per
  filter. Images share nothing but weights, so a PE takes the images of its step one after the
  other (as the analysis's :func:`costmodel.reuse.l1_held`). The weight, input and output step
  tiles together must fit ``l1_bytes_per_pe``; this is exactly the analysis's condition for no
  L1 spill (every tensor held). A PE whose L1 is one buffer per tensor (``l1_tensor_bytes``,
  e.g. Eyeriss's filter, ifmap and psum scratchpads) must fit each step tile in its own buffer,
  which implies the shared condition.
- **whole chip (L2)** — L2 holds, per tensor, its tile below the outermost loop position at
  which the tiles fit (:func:`costmodel.reuse.l2_position`); tensors whose larger tiles do not
  fit are streamed from DRAM through it and the analysis charges the re-fetches. What L2 must
  hold at the least is one step of the whole array: every PE's step tiles (all images of the
  step, fan-outs widening the tiles, multicast data once). With ``l2_weight_bytes`` the weights
  must fit that part and the inputs and outputs the rest, as the analysis partitions L2.

One copy of each tile is counted (the analysis's ``double_buffered`` overlap is its timing
assumption, not sized here). The rule is the same for every accelerator and layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.native import nest_rows_of
from costmodel.native_nest import loop_nest_of
from costmodel.reuse import TENSORS, NestWalk
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow


def footprint_words(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflow: Dataflow,
    offsets: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per layer and tensor (I, W, O): words one PE holds (``pe_<t>``) and words the chip's L2
    must hold for one step of the whole array (``chip_<t>``) under ``dataflow`` (with per-row
    map ``offsets`` when given: one structure, a tiling per row, as the analysis takes them)."""
    rows = nest_rows_of(batch)
    acc = dataclasses.replace(accelerator, dataflow=dataflow)
    nest, shapes = loop_nest_of(rows, acc, offsets)
    return NestWalk(nest, shapes).footprints()  # as the analysis computes them


def working_set_words(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflow: Dataflow,
    offsets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: (words one PE holds, words the chip's L2 must hold), tensors summed."""
    words = footprint_words(batch, accelerator, dataflow, offsets)
    pe = np.sum([words[f"pe_{t}"] for t in TENSORS], axis=0)
    chip = np.sum([words[f"chip_{t}"] for t in TENSORS], axis=0)
    return pe, chip


def capacity_excess_bytes(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflow: Dataflow,
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Per layer: bytes by which the mapping overflows its PE's L1 (or its per-tensor buffers,
    with ``l1_tensor_bytes``) plus its chip's L2 (or the L2 parts, with ``l2_weight_bytes``);
    0: fits. ``offsets``: per-row map offsets (:func:`footprint_words`)."""
    return excess_bytes(footprint_words(batch, accelerator, dataflow, offsets), accelerator)


def excess_bytes(words: dict[str, np.ndarray], accelerator: Accelerator) -> np.ndarray:
    """:func:`capacity_excess_bytes` from the footprints ``words`` (keys ``pe_<t>``,
    ``chip_<t>``: :func:`footprint_words`, or the analysis's ``footprints`` output)."""
    wb = accelerator.word_bytes
    l1_words = accelerator.l1_bytes_per_pe // wb  # the analysis's capacities in words
    l2_words = accelerator.l2_bytes // wb
    if accelerator.l1_tensor_bytes is None:
        pe = np.sum([words[f"pe_{t}"] for t in TENSORS], axis=0)
        over = np.maximum(pe - l1_words, 0)
    else:  # one buffer per tensor: each step tile in its own
        parts = dict(zip(("W", "I", "O"), accelerator.l1_tensor_bytes, strict=True))
        over = np.sum([np.maximum(words[f"pe_{t}"] - parts[t] // wb, 0) for t in TENSORS], axis=0)
    weights, fmaps = words["chip_W"], words["chip_I"] + words["chip_O"]
    if accelerator.l2_weight_bytes is None:
        over = over + np.maximum(weights + fmaps - l2_words, 0)
    else:
        weight_words = accelerator.l2_weight_bytes // wb
        over = over + np.maximum(weights - weight_words, 0)
        over = over + np.maximum(fmaps - (l2_words - weight_words), 0)
    return (over * wb).astype(np.float64)
