"""hardware_db: accelerators and multi-accelerator systems as validated data files."""

from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.dataflow import Dataflow, Directive
from hardware_db.energy import EnergyTable
from hardware_db.system import System

__all__ = ["Accelerator", "Dataflow", "Directive", "EnergyTable", "NocLevel", "System"]
