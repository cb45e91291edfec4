"""Rerunnable validation of the ``native`` analysis against measured Eyeriss v1 silicon.

The measurements (Chen et al., JSSC 2017, Table V; vendored as
``tests/data/silicon/eyeriss_jssc2017_alexnet.csv``) are AlexNet CONV1–5 at batch 4 on the
fabricated chip. Each layer is costed on the library accelerator ``eyeriss-v1`` with the chip's
own row-stationary mapping (Table III's parameters through
:func:`hardware_db.row_stationary.row_stationary`). The chip stores feature maps run-length
coded in DRAM (all but the first layer's input); their size follows from the coding format
(:func:`rlc_size_ratio`) and the zero fraction of the data, which the paper lists per layer for
the input feature maps; a layer's output is the next layer's input (the last layer's output,
whose zeros are not listed, is charged raw). Nothing else depends on the layer.

:func:`validate` returns one row per layer with predicted and measured processing latency,
DRAM traffic, global-buffer accesses and energy, and their relative errors.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from costmodel.native import NativeOptions, analyse_native
from hardware_db.accelerator import Accelerator
from hardware_db.library import get_accelerator
from hardware_db.row_stationary import RowStationaryParams, row_stationary
from workloads.layer import Layer, OpType

#: Eyeriss v1's run-length code: one 64-bit word holds three (5-bit run, 16-bit level) pairs,
#: so a non-zero value costs 64/3 bits instead of 16 and a run of up to 31 zeros costs nothing.
RLC_BITS_PER_NONZERO = 64 / 3
WORD_BITS = 16
#: Global-buffer partitions and link of the chip come from the accelerator file; these are the
#: units of the measured table.
BYTES_PER_WORD = 2
CORE_CLOCK_HZ = 200e6
L2_COUNTS = ("l2_rd_input", "l2_rd_weight", "l2_rd_output",
             "l2_wr_input", "l2_wr_weight", "l2_wr_output")  # fmt: skip


def rlc_size_ratio(zero_fraction: float) -> float:
    """Size of a run-length coded feature map relative to raw 16-bit words (at most 1)."""
    return min(1.0, (1.0 - zero_fraction) * RLC_BITS_PER_NONZERO / WORD_BITS)


def read_measurements(path: str | os.PathLike) -> pd.DataFrame:
    """The measured table (one row per layer)."""
    return pd.read_csv(path)


def layer_of(row: pd.Series) -> Layer:
    """The measured layer as a :class:`~workloads.layer.Layer` (batch N, groups, stride, pad)."""
    stride, pad = int(row.stride), int(row.pad)
    return Layer(str(row.layer), OpType.CONV, int(row.N), int(row.K), int(row.C), int(row.Y),
                 int(row.X), int(row.R), int(row.S), (stride, stride), (pad, pad),
                 int(row.groups))  # fmt: skip


def mapping_of(row: pd.Series) -> RowStationaryParams:
    """Table III's mapping parameters of the measured layer."""
    return RowStationaryParams(*(int(row[f"map_{k}"]) for k in "mnepqrt"))


def accelerators(table: pd.DataFrame, base: Accelerator | None = None) -> list[Accelerator]:
    """``eyeriss-v1`` (or ``base``) per layer: its row-stationary mapping and the RLC sizes."""
    base = base or get_accelerator("eyeriss-v1")
    zeros = table.zeros_ifmap_pct.to_numpy(float) / 100
    out = []
    for i, row in enumerate(table.itertuples(index=False)):
        series = pd.Series(row._asdict())
        ratio_in = 1.0 if i == 0 else rlc_size_ratio(zeros[i])  # first input: raw image
        ratio_out = rlc_size_ratio(zeros[i + 1]) if i + 1 < len(table) else 1.0
        flow = row_stationary(int(row.R), mapping_of(series), name=f"RS-v1-{row.layer}")
        out.append(dataclasses.replace(base, dataflow=flow,
                                       fmap_compression=(ratio_in, ratio_out)))  # fmt: skip
    return out


def predict(table: pd.DataFrame, accs: list[Accelerator], options: NativeOptions | None = None):
    """``analyse_native`` of every measured layer on its accelerator (list of result dicts)."""
    return [
        analyse_native([layer_of(row)], acc, options)
        for (_, row), acc in zip(table.iterrows(), accs, strict=True)
    ]


def validate(
    path: str | os.PathLike,
    options: NativeOptions | None = None,
    base: Accelerator | None = None,
) -> pd.DataFrame:
    """Predicted vs measured, per layer (module docstring). Units: ms, MB (10^6 bytes), mJ."""
    table = read_measurements(path)
    accs = accelerators(table, base)
    rows = []
    for (_, m), acc, r in zip(table.iterrows(), accs, predict(table, accs, options), strict=True):
        latency_ms = float(r["latency_cycles"][0]) / acc.clock_hz * 1e3
        dram_mb = float(r["dram_rd"][0] + r["dram_wr"][0]) * acc.word_bytes / 1e6
        glb_mb = float(sum(r[k][0] for k in L2_COUNTS if k in r)) * acc.word_bytes / 1e6
        chip_pj = float(r["energy_pj"][0] - r["energy_dram_pj"][0])
        rows.append({
            "layer": m.layer,
            "latency_ms": latency_ms,
            "measured_latency_ms": float(m.processing_latency_ms),
            "dram_mb": dram_mb,
            "measured_dram_mb": float(m.dram_access_mb),
            "glb_mb": glb_mb,
            "measured_glb_mb": float(m.glb_access_mb),
            "chip_energy_mj": chip_pj / 1e9,
            "measured_energy_mj": float(m.power_mw) * float(m.total_latency_ms) / 1e3,  # uJ->mJ
            "computations": int(r["computations"][0]),
            "macs": int(r["macs"][0]),
            "pes_used": int(r["pes_used"][0]),
            "active_pes": int(m.active_pes),
            "passes": int(r.get("passes", [0])[0]),
            "fill_ms": float(r.get("fill_cycles", [0])[0]) / acc.clock_hz * 1e3,
            "bound": str(r["bound"][0]),
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    for what in ("latency_ms", "dram_mb", "glb_mb", "chip_energy_mj"):
        measured = "measured_energy_mj" if what == "chip_energy_mj" else f"measured_{what}"
        frame[f"{what.rsplit('_', 1)[0]}_err"] = frame[what] / frame[measured] - 1
    return frame


def summary(frame: pd.DataFrame) -> dict[str, float]:
    """Median and max |relative error| of latency, DRAM traffic, GLB accesses and energy."""
    out = {}
    for key in ("latency_err", "dram_err", "glb_err", "chip_energy_err"):
        err = np.abs(frame[key].to_numpy())
        out[f"{key}_median"] = float(np.median(err))
        out[f"{key}_max"] = float(err.max())
    return out
