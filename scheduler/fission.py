"""Spatial fission of a system's accelerators into sub-arrays (for the Planaria-like policy).

:func:`fission_system` returns a system whose accelerators are *units*: every physical array
whole, then its two halves, and the :class:`~scheduler.mechanics.Partition` that tells the engine
which units share hardware. A half has half the PEs (the longer side of the PE array halved), half
the shared buffer and half the array's off-chip port; its latency and energy per layer come from
the cost model like any accelerator's, so the cost of running a layer on a sub-array is measured,
not scaled.

Reconfiguration (switching an array between whole and split mode) is charged as refilling the
array's shared buffer from DRAM: ``l2_bytes / word_bytes`` words at the array's off-chip port
bandwidth — the data a re-partitioned array has to reload before its new tenants can run.
"""

from __future__ import annotations

import dataclasses

from hardware_db.accelerator import Accelerator
from hardware_db.system import System
from scheduler.mechanics import Partition

#: Suffix of the name of a system split into sub-arrays.
FISSION_SUFFIX = "+fission"


def _half(acc: Accelerator, k: int) -> Accelerator:
    rows, cols = acc.array_shape
    shape = (rows, cols // 2) if cols >= rows else (rows // 2, cols)
    return dataclasses.replace(
        acc,
        name=f"{acc.name}/half{k}",
        num_pes=acc.num_pes // 2,
        array_shape=shape,
        l2_bytes=acc.l2_bytes // 2,
        offchip_bw_words_per_cycle=max(1, acc.offchip_bw_words_per_cycle // 2),
    )


def fission_system(system: System) -> tuple[System, Partition]:
    """``(system of units, partition)`` for ``system`` (module docstring)."""
    units = list(system.accelerators)
    physical = list(range(len(units)))
    split = [False] * len(units)
    for p, acc in enumerate(system.accelerators):
        for k in (0, 1):
            units.append(_half(acc, k))
            physical.append(p)
            split.append(True)
    reconfig = max(
        a.l2_bytes / a.word_bytes / max(1, a.offchip_bw_words_per_cycle)
        for a in system.accelerators
    )
    fissioned = dataclasses.replace(
        system, name=system.name + FISSION_SUFFIX, accelerators=tuple(units)
    )
    return fissioned, Partition(tuple(physical), tuple(split), float(reconfig))
