"""Hardware specs as pandas DataFrames (for the CLI, notebooks and reports)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields

import pandas as pd

from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.energy import EnergyTable
from hardware_db.system import System


def _noc(noc: NocLevel) -> str:
    multicast = "multicast" if noc.multicast else "unicast"
    return f"{noc.bw_words_per_cycle} w/cyc, {noc.latency_cycles} cyc, {multicast}"


def systems_table(systems: Iterable[System]) -> pd.DataFrame:
    """One row per system: name, accelerators, total PEs, dataflows, description."""
    rows = [
        {
            "name": s.name,
            "accelerators": len(s),
            "total_pes": s.num_pes,
            "dataflows": "+".join(a.dataflow.name for a in s.accelerators),
            "offchip_bw_words_per_cycle": s.offchip_bw_words_per_cycle,
            "description": s.description,
        }
        for s in systems
    ]
    columns = ["name", "accelerators", "total_pes", "dataflows", "offchip_bw_words_per_cycle",
               "description"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def accelerators_table(accelerators: Sequence[Accelerator]) -> pd.DataFrame:
    """One row per accelerator (index = position in the system) with its main parameters."""
    rows = [
        {
            "name": a.name,
            "num_pes": a.num_pes,
            "array_shape": f"{a.array_shape[0]}x{a.array_shape[1]}",
            "dataflow": a.dataflow.name,
            "clock_hz": a.clock_hz,
            "l1_bytes_per_pe": a.l1_bytes_per_pe,
            "l2_bytes": a.l2_bytes,
            "noc_top": _noc(a.noc_top),
            "noc_col": _noc(a.noc_col),
            "offchip_bw_words_per_cycle": a.offchip_bw_words_per_cycle,
            "word_bytes": a.word_bytes,
            "energy": a.energy.name,
        }
        for a in accelerators
    ]
    return pd.DataFrame(rows).rename_axis("index")


def dataflow_table(acc: Accelerator) -> pd.DataFrame:
    """The directives of an accelerator's dataflow, one row per cluster level (outermost first)."""
    levels = acc.dataflow.levels
    sizes = acc.dataflow.cluster_sizes
    rows = []
    for i, level in enumerate(levels):
        rows.append(
            {
                "level": i,
                "directives": "; ".join(str(d) for d in level),
                "then": f"Cluster({sizes[i]})" if i < len(sizes) else "",
            }
        )
    return pd.DataFrame(rows, columns=["level", "directives", "then"])


def energy_table(tables: Iterable[EnergyTable]) -> pd.DataFrame:
    """One row per distinct energy table: every EnergyTable field (energies in pJ per access)."""
    unique = list(dict.fromkeys(tables))
    return pd.DataFrame([{f.name: getattr(t, f.name) for f in fields(EnergyTable)} for t in unique])
