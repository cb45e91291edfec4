"""Construction of the frozen hardware dataclasses from checked documents.

The second half of validate-then-construct: the input is what :mod:`hardware_db.schema` returns
(already validated, defaults filled), so nothing here re-checks values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.dataflow import Dataflow
from hardware_db.energy import EnergyTable
from hardware_db.system import System


def build_dataflow(checked: Mapping[str, Any]) -> Dataflow:
    return Dataflow(name=checked["name"], directives=tuple(checked["directives"]))


def build_noc(checked: Mapping[str, Any]) -> NocLevel:
    return NocLevel(**checked)


def build_energy(checked: Mapping[str, Any]) -> EnergyTable:
    return EnergyTable(**checked)


def _triple(value: Any) -> tuple[int, int, int] | None:
    return None if value is None else (int(value[0]), int(value[1]), int(value[2]))


def build_accelerator(checked: Mapping[str, Any]) -> Accelerator:
    """An :class:`Accelerator` from the dict of :func:`hardware_db.schema.validate_accelerator`."""
    return Accelerator(
        name=checked["name"],
        num_pes=checked["num_pes"],
        array_shape=tuple(checked["array_shape"]),
        dataflow=build_dataflow(checked["dataflow"]),
        clock_hz=float(checked["clock_hz"]),
        l1_bytes_per_pe=checked["l1_bytes_per_pe"],
        l2_bytes=checked["l2_bytes"],
        noc_top=build_noc(checked["noc_top"]),
        noc_col=build_noc(checked["noc_col"]),
        offchip_bw_words_per_cycle=checked["offchip_bw_words_per_cycle"],
        word_bytes=checked["word_bytes"],
        energy=build_energy(checked["energy"]),
        offchip_clock_hz=checked.get("offchip_clock_hz"),
        fmap_compression=tuple(checked.get("fmap_compression", (1.0, 1.0))),
        double_buffered=checked.get("double_buffered", True),
        l2_weight_bytes=checked.get("l2_weight_bytes"),
        l1_tensor_bytes=_triple(checked.get("l1_tensor_bytes")),
    )


def build_system(checked: Mapping[str, Any]) -> System:
    """A :class:`System` from the dict of :func:`hardware_db.schema.validate_system`."""
    return System(
        name=checked["name"],
        accelerators=tuple(build_accelerator(a) for a in checked["accelerators"]),
        offchip_bw_words_per_cycle=checked["offchip_bw_words_per_cycle"],
        description=checked["description"],
    )
