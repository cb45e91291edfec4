"""A multi-accelerator system: accelerators sharing one off-chip memory."""

from __future__ import annotations

from dataclasses import dataclass

from hardware_db.accelerator import Accelerator


@dataclass(frozen=True)
class System:
    """Accelerators (index = position) that share one off-chip memory of the given bandwidth."""

    name: str
    accelerators: tuple[Accelerator, ...]
    offchip_bw_words_per_cycle: int
    description: str = ""

    @property
    def num_pes(self) -> int:
        return sum(a.num_pes for a in self.accelerators)

    def __len__(self) -> int:
        return len(self.accelerators)
