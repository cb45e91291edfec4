"""A :class:`~hardware_db.system.System` from a MAESTRO hardware file and its dataflows.

:func:`read_maestro_system` pairs the accelerators of a hardware file
(:func:`hardware_db.maestro_format.read_hardware_file`) with dataflow presets or MAESTRO dataflow
files, states what MAESTRO files do not say (clock, word size, energy table) and builds the system
through the same validation as a YAML file (:func:`hardware_db.schema.validate_system`,
:func:`hardware_db.factory.build_system`): the documents it validates are those of
:func:`hardware_to_document`, in the YAML format of :mod:`hardware_db.loader`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hardware_db.dataflow import PRESETS, Dataflow
from hardware_db.factory import build_system
from hardware_db.maestro_format import MaestroHardware, read_dataflow_file, read_hardware_file
from hardware_db.schema import validate_system
from rtmm.errors import SpecError


def hardware_to_document(
    hw: MaestroHardware, dataflow: Dataflow, *, clock_hz: float, word_bytes: int, energy: str
) -> dict:
    """The YAML-format document (see :mod:`hardware_db.loader`) of one MAESTRO accelerator."""
    return {
        "name": hw.name,
        "num_pes": hw.num_pes,
        "dataflow": {"name": dataflow.name, "directives": str(dataflow)},
        "clock_hz": clock_hz,
        "l1_bytes_per_pe": hw.pe_local_memory,
        "l2_bytes": hw.global_shared_memory,
        "noc_top": {
            "bw_words_per_cycle": hw.top_noc_bw,
            "latency_cycles": hw.top_noc_latency,
            "multicast": hw.top_noc_multicast,
        },
        "noc_col": {
            "bw_words_per_cycle": hw.col_noc_bw,
            "latency_cycles": hw.col_noc_latency,
            "multicast": hw.col_noc_multicast,
        },
        "offchip_bw_words_per_cycle": hw.offchip_bw,
        "word_bytes": word_bytes,
        "energy": energy,
    }


def _dataflows(spec: str | os.PathLike | Dataflow | Sequence, source: str) -> list[Dataflow]:
    """Dataflows from a preset name, a MAESTRO dataflow file, a Dataflow, or a list of those."""
    if isinstance(spec, Dataflow):
        return [spec]
    if isinstance(spec, (list, tuple)):
        return [df for item in spec for df in _dataflows(item, source)]
    text = str(spec)
    for key, preset in PRESETS.items():
        if key.lower() == text.lower():
            return [preset]
    if Path(text).suffix or Path(text).exists():
        return read_dataflow_file(text)
    raise SpecError(
        f"dataflow '{text}' is neither a preset nor a file",
        source=source,
        allowed=f"{', '.join(PRESETS)} or a MAESTRO dataflow file",
    )


def read_maestro_system(
    hardware_path: str | os.PathLike,
    dataflow: str | os.PathLike | Dataflow | Sequence,
    *,
    name: str | None = None,
    clock_hz: float = 1e9,
    word_bytes: int = 1,
    energy: str = "xrbench",
):
    """A :class:`~hardware_db.system.System` from a MAESTRO hardware file and its dataflows.

    ``dataflow``: a preset name (WS/OS/RS), a MAESTRO dataflow file, a Dataflow, or a list of those.
    One dataflow applies to every accelerator; otherwise there must be one per accelerator, paired
    by position (XRBench's ``dual/WS_OS.m`` with ``Dual_4K.m``). MAESTRO hardware files do not state
    the clock, word size or energy table: they default to XRBench's 1 GHz, 1-byte words and the
    ``xrbench`` energy preset. The system's off-chip bandwidth is the largest accelerator's.
    Array shapes follow the default of :mod:`hardware_db.loader` (level-0 units x cluster PEs).
    """
    source = str(hardware_path)
    accelerators = read_hardware_file(hardware_path)
    flows = _dataflows(dataflow, source)
    if len(flows) == 1:
        flows = flows * len(accelerators)
    if len(flows) != len(accelerators):
        raise SpecError(
            f"{len(flows)} dataflows for {len(accelerators)} accelerators",
            source=source,
            allowed="one dataflow for all accelerators, or one per accelerator",
        )
    docs = [
        hardware_to_document(hw, df, clock_hz=clock_hz, word_bytes=word_bytes, energy=energy)
        for hw, df in zip(accelerators, flows, strict=True)
    ]
    names = ", ".join(df.name for df in flows)
    document = {
        "name": name or Path(source).stem,
        "description": f"MAESTRO hardware {Path(source).name} with dataflows {names}",
        "offchip_bw_words_per_cycle": max(hw.offchip_bw for hw in accelerators),
        "accelerators": docs,
    }
    return build_system(validate_system(document, source=source))
