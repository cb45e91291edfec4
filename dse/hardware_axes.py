"""Building a design point's system: the base system with the point's hardware axis values applied.

Which fields an axis may set, and their types and bounds, come from the hardware spec models
(:data:`dse.spec.ACCELERATOR_FIELDS`, read off :class:`hardware_db.schema.AcceleratorSpec`); every
modified system is checked by the hardware loader's own rules (:func:`validate_system_values`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from dse.spec import _ACCEL_RE, presets
from hardware_db.loader import system_from_doc, system_to_dict
from hardware_db.schema import default_array_shape
from rtmm.errors import SpecError

# --------------------------------------------------------------------------------------------
# Building modified systems
# --------------------------------------------------------------------------------------------


def apply_hardware(base: Any, hardware: Sequence[tuple[str, Any]], *, source: str = "<sweep>"):
    """Return a new frozen System: ``base`` with the hardware axis values applied, then validated.

    Axes apply in order, ``pe_split`` last; an accelerator whose PE count or dataflow changed gets
    the loader's default ``array_shape`` for it. The result goes through the hardware loader's
    validator (:func:`validate_system_values`), so it obeys exactly the rules of a system file.
    Raises :class:`SpecError` naming the axis when an axis does not fit the system (accelerator
    index out of range, ``pe_split`` on a system without exactly two accelerators, a split leaving
    an accelerator without PEs) or the validator's error for a value it rejects.
    """
    system = base
    split = None
    for name, value in hardware:
        if name == "pe_split":
            split = value
        elif name == "offchip_bw_words_per_cycle":
            accels = tuple(
                replace(a, offchip_bw_words_per_cycle=value) for a in system.accelerators
            )
            system = replace(system, accelerators=accels, offchip_bw_words_per_cycle=value)
        else:
            system = _apply_accelerator_axis(system, name, value, source)
    if split is not None:
        system = _apply_pe_split(system, split, source)
    system = _refresh_array_shapes(base, system)
    return validate_system_values(system, source=source)


def _apply_accelerator_axis(system: Any, name: str, value: Any, source: str) -> Any:
    m = _ACCEL_RE.match(name)
    assert m is not None, name
    which, fld = m.group(1), m.group(2)
    n = len(system.accelerators)
    if which == "*":
        targets: Sequence[int] = range(n)
    else:
        if int(which) >= n:
            raise SpecError(
                f"accelerator index {which} out of range for system '{system.name}' with {n} "
                "accelerators",
                source=source,
                field=f"axes.{name}",
                allowed=f"0..{n - 1} or *",
            )
        targets = [int(which)]
    accels = list(system.accelerators)
    for i in targets:
        accels[i] = _set_accelerator_field(accels[i], fld, value)
    return replace(system, accelerators=tuple(accels))


def _set_accelerator_field(acc: Any, fld: str, value: Any) -> Any:
    if fld == "dataflow":
        return replace(acc, dataflow=presets("dataflow")[value])
    if fld == "energy":
        return replace(acc, energy=presets("energy")[value])
    if fld.startswith("fmap_compression."):
        ratios = dict(zip(("input", "output"), acc.fmap_compression, strict=True))
        ratios[fld.split(".", 1)[1]] = value
        return replace(acc, fmap_compression=(ratios["input"], ratios["output"]))
    if "." in fld:
        level, attr = fld.split(".", 1)
        return replace(acc, **{level: replace(getattr(acc, level), **{attr: value})})
    return replace(acc, **{fld: value})


def _apply_pe_split(system: Any, fraction: float, source: str) -> Any:
    n = len(system.accelerators)
    if n != 2:
        raise SpecError(
            f"pe_split needs a two-accelerator system, '{system.name}' has {n}",
            source=source,
            field="axes.pe_split",
        )
    total = system.num_pes
    first = int(round(total * fraction))
    if first < 1 or total - first < 1:
        raise SpecError(
            f"pe_split {fraction} of {total} PEs leaves an accelerator without PEs",
            source=source,
            field="axes.pe_split",
        )
    a, b = system.accelerators
    return replace(
        system, accelerators=(replace(a, num_pes=first), replace(b, num_pes=total - first))
    )


def _refresh_array_shapes(base: Any, system: Any) -> Any:

    accels = []
    for old, new in zip(base.accelerators, system.accelerators, strict=True):
        if (new.num_pes, new.dataflow) != (old.num_pes, old.dataflow):
            new = replace(
                new, array_shape=default_array_shape(new.num_pes, new.dataflow.directives)
            )
        accels.append(new)
    return replace(system, accelerators=tuple(accels))


def validate_system_values(system: Any, *, source: str = "<sweep>") -> Any:
    """Check a modified system with the hardware loader's rules; return the validated System.

    The system is written out as a hardware document and read back through
    :func:`hardware_db.loader.system_from_doc` (validator + factory), so every rule of a system
    file (positivity, cluster sizes <= PEs, array shape = PEs, ...) applies to swept values too.
    """

    return system_from_doc(system_to_dict(system), source)
