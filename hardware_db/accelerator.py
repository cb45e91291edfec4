"""One accelerator: a PE array with its dataflow, buffers, NoC and energy table."""

from __future__ import annotations

from dataclasses import dataclass

from hardware_db.dataflow import Dataflow
from hardware_db.energy import EnergyTable


@dataclass(frozen=True)
class NocLevel:
    """One NoC level. Bandwidth is in words (elements of ``word_bytes``) per cycle (MAESTRO)."""

    bw_words_per_cycle: int
    latency_cycles: int = 1
    multicast: bool = True


@dataclass(frozen=True)
class Accelerator:
    """A spatial accelerator.

    ``noc_top`` connects the shared L2 to the level-0 clusters, ``noc_col`` connects units inside a
    cluster. ``offchip_bw_words_per_cycle`` is the accelerator's port to the system's DRAM.
    """

    name: str
    num_pes: int
    array_shape: tuple[int, int]
    dataflow: Dataflow
    clock_hz: float
    l1_bytes_per_pe: int
    l2_bytes: int
    noc_top: NocLevel
    noc_col: NocLevel
    offchip_bw_words_per_cycle: int
    word_bytes: int
    energy: EnergyTable

    @property
    def dataflow_name(self) -> str:
        return self.dataflow.name
