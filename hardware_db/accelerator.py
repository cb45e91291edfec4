"""One accelerator: a PE array with its dataflow, buffers, NoC and energy table."""

from __future__ import annotations

from dataclasses import dataclass

from hardware_db.dataflow import Dataflow
from hardware_db.energy import EnergyTable


@dataclass(frozen=True)
class NocLevel:
    """One NoC level. Bandwidth is in words (elements of ``word_bytes``) per cycle (MAESTRO); an
    int, or a float for links that move a fraction of a word per cycle on average."""

    bw_words_per_cycle: int | float
    latency_cycles: int = 1
    multicast: bool = True


@dataclass(frozen=True)
class Accelerator:
    """A spatial accelerator.

    ``noc_top`` connects the shared L2 to the level-0 clusters, ``noc_col`` connects units inside a
    cluster. ``offchip_bw_words_per_cycle`` is the accelerator's port to the system's DRAM, in
    words per core cycle, or per DRAM-link cycle when ``offchip_clock_hz`` is set (a link in its
    own clock domain; :attr:`offchip_words_per_core_cycle` converts). ``fmap_compression`` is the
    (input, output) feature-map size in DRAM relative to raw (1.0: stored raw; 0.5: compressed to
    half), ``double_buffered`` says whether PE buffers can load the next processing pass while
    the current one computes, ``l2_weight_bytes`` is the part of ``l2_bytes`` that only weights
    may use (a separate filter buffer; ``None``: one shared buffer). The last five fields only
    matter to the ``native`` analysis. ``l1_tensor_bytes`` is ``l1_bytes_per_pe`` split into one
    buffer per tensor, (weights, inputs, outputs) bytes (scratchpads; ``None``: one shared
    buffer); only the mapper's capacity check reads it.
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
    offchip_bw_words_per_cycle: int | float
    word_bytes: int
    energy: EnergyTable
    offchip_clock_hz: float | None = None
    fmap_compression: tuple[float, float] = (1.0, 1.0)
    double_buffered: bool = True
    l2_weight_bytes: int | None = None
    l1_tensor_bytes: tuple[int, int, int] | None = None

    @property
    def offchip_words_per_core_cycle(self) -> float:
        """Off-chip bandwidth in words per core cycle (converted from the link clock if set)."""
        if self.offchip_clock_hz is None:
            return self.offchip_bw_words_per_cycle
        return self.offchip_bw_words_per_cycle * self.offchip_clock_hz / self.clock_hz

    @property
    def dataflow_name(self) -> str:
        return self.dataflow.name
