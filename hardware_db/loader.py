"""The YAML format of accelerators and systems: load (validate, then construct) and dump.

A **system** file::

    name: xrbench-4k-K                      # letters, digits, _ . + -
    description: WS big + OS little (4K PEs) # optional, free text
    offchip_bw_words_per_cycle: 128          # shared off-chip memory, words per cycle
    accelerators:                            # index = position; at least one
      - name: acc0-WS
        num_pes: 3072
        ...                                  # an accelerator mapping (below)
      - xrbench-4k-A/0                       # or a reference: library accelerator, SYSTEM/INDEX,
                                             # or a YAML accelerator file (relative to this file)
      - base: xrbench-4k-A/0                 # or a reference with overrides
        name: big-l2
        l2_bytes: 8388608

An **accelerator** mapping (also the whole content of an accelerator file)::

    name: acc0-WS
    num_pes: 3072                  # int >= 1
    array_shape: [12, 256]         # optional; rows * cols must equal num_pes. Default: rows =
                                   # level-0 units, cols = product of the Cluster sizes (PEs per
                                   # level-0 unit), or [1, num_pes] if that does not divide
    dataflow: WS                   # preset WS / OS / RS (any case), or a directive list
                                   # "TemporalMap(16,16) C; SpatialMap(1,1) X'; Cluster(16); ..."
                                   # (named "custom"), or {name: my_df, directives: ...} where
                                   # directives is such a string or a list of directive strings
    clock_hz: 1000000000.0         # > 0 (write 1.0e+9, not 1e9: YAML 1.1 reads 1e9 as text)
    l1_bytes_per_pe: 8192          # int >= 1
    l2_bytes: 2097152              # int >= 1, shared buffer
    noc_top: {bw_words_per_cycle: 128, latency_cycles: 1, multicast: true}  # L2 -> clusters
    noc_col: {bw_words_per_cycle: 128, latency_cycles: 1, multicast: true}  # inside clusters
    offchip_bw_words_per_cycle: 128  # optional inside a system (defaults to the system's);
                                   # a number > 0 (fractional allowed), words per core cycle, or
                                   # per link cycle when offchip_clock_hz is set
    offchip_clock_hz: 6.0e+7       # optional: the DRAM link's own clock (default: core clock)
    fmap_compression: {input: 0.5, output: 0.5}  # optional: feature-map size in DRAM / raw,
                                   # 0 < r <= 1 (default 1.0 each, stored raw)
    double_buffered: true          # optional (default true): PE buffers load the next pass
                                   # while the current one computes
    l2_weight_bytes: 8192          # optional: part of l2_bytes only weights use (a separate
                                   # filter buffer); default: one shared buffer
    l1_tensor_bytes: [448, 24, 48] # optional: l1_bytes_per_pe as one buffer per tensor,
                                   # [weights, inputs, outputs] (ints >= 1 summing to it; read by
                                   # the mapper's capacity check only); default: one shared buffer
    word_bytes: 1                  # int >= 1
    energy: xrbench                # preset xrbench / eyeriss / maestro, or a table
                                   # {name, mac_pj, l1_pj, l2_pj, noc_pj, dram_pj, word_bits,
                                   #  process_nm, charges_maestro_computations (default false)},
                                   # or {base: PRESET, <overrides>}

NoC ``latency_cycles`` defaults to 1 and ``multicast`` to true; NoC bandwidths may be fractional
(a float), integral values stay ints. The last four optional fields are read by the ``native``
analysis only. Everything else is required;
unknown keys, duplicate keys, wrong types (``true`` is not an integer), non-positive, NaN or
infinite numbers, unknown presets and malformed directive lists (unknown dimension, a dimension
mapped twice at one cluster level, Cluster sizes multiplying to more than ``num_pes``, no map
directive) are rejected with a one-line :class:`rtmm.errors.SpecError` naming the file, the
field path and what is allowed. Each field's type and bounds are stated once, on the spec models
of :mod:`hardware_db.schema` (``AcceleratorSpec``, ``SystemSpec``, ...), which check a document
before :mod:`hardware_db.factory` builds the frozen dataclasses.

:func:`dump_system` / :func:`dump_accelerator` write this format (presets by name, everything
explicit) such that load → dump → load gives an equal object.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from hardware_db import dataflow as dataflow_presets
from hardware_db import energy as energy_presets
from hardware_db.accelerator import Accelerator, NocLevel
from hardware_db.energy import EnergyTable
from hardware_db.factory import build_accelerator, build_system
from hardware_db.schema import Resolver, validate_accelerator, validate_system
from hardware_db.system import System
from rtmm.errors import SpecError
from rtmm.fileio import atomic_write_text, load_yaml, load_yaml_text

YAML_SUFFIXES = (".yaml", ".yml")


# --------------------------------------------------------------------------------------------
# Dumping


def _noc_to_dict(noc: NocLevel) -> dict[str, Any]:
    return {
        "bw_words_per_cycle": noc.bw_words_per_cycle,
        "latency_cycles": noc.latency_cycles,
        "multicast": noc.multicast,
    }


def _energy_to_doc(table: EnergyTable) -> str | dict[str, Any]:
    if energy_presets.PRESETS.get(table.name) == table:
        return table.name
    return {f.name: getattr(table, f.name) for f in fields(EnergyTable)}


def accelerator_to_dict(acc: Accelerator) -> dict[str, Any]:
    """The YAML document of an accelerator (presets by name, every field explicit)."""
    flow = acc.dataflow
    if dataflow_presets.PRESETS.get(flow.name) == flow or dataflow_presets.search_objective(flow):
        flow_doc: str | dict[str, Any] = flow.name
    else:
        flow_doc = {"name": flow.name, "directives": str(flow)}
    return {
        "name": acc.name,
        "num_pes": acc.num_pes,
        "array_shape": list(acc.array_shape),
        "dataflow": flow_doc,
        "clock_hz": float(acc.clock_hz),
        "l1_bytes_per_pe": acc.l1_bytes_per_pe,
        "l2_bytes": acc.l2_bytes,
        "noc_top": _noc_to_dict(acc.noc_top),
        "noc_col": _noc_to_dict(acc.noc_col),
        "offchip_bw_words_per_cycle": acc.offchip_bw_words_per_cycle,
        "word_bytes": acc.word_bytes,
        "energy": _energy_to_doc(acc.energy),
        **_native_fields(acc),
    }


def _native_fields(acc: Accelerator) -> dict[str, Any]:
    """The optional fields, written only when they differ from their defaults."""
    out: dict[str, Any] = {}
    if acc.offchip_clock_hz is not None:
        out["offchip_clock_hz"] = float(acc.offchip_clock_hz)
    if acc.fmap_compression != (1.0, 1.0):
        out["fmap_compression"] = dict(zip(("input", "output"), acc.fmap_compression, strict=True))
    if not acc.double_buffered:
        out["double_buffered"] = False
    if acc.l2_weight_bytes is not None:
        out["l2_weight_bytes"] = acc.l2_weight_bytes
    if acc.l1_tensor_bytes is not None:
        out["l1_tensor_bytes"] = list(acc.l1_tensor_bytes)
    return out


def system_to_dict(system: System) -> dict[str, Any]:
    """The YAML document of a system."""
    return {
        "name": system.name,
        "description": system.description,
        "offchip_bw_words_per_cycle": system.offchip_bw_words_per_cycle,
        "accelerators": [accelerator_to_dict(a) for a in system.accelerators],
    }


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def dump_accelerator(acc: Accelerator) -> str:
    """YAML text of an accelerator file."""
    return _dump(accelerator_to_dict(acc))


def dump_system(system: System) -> str:
    """YAML text of a system file."""
    return _dump(system_to_dict(system))


def save_system(system: System, path: str | os.PathLike) -> None:
    """Write a system file atomically."""
    atomic_write_text(path, dump_system(system))


def save_accelerator(acc: Accelerator, path: str | os.PathLike) -> None:
    """Write an accelerator file atomically."""
    atomic_write_text(path, dump_accelerator(acc))


# --------------------------------------------------------------------------------------------
# Loading


#: Resolves a reference that is not a file (a library name or ``SYSTEM/INDEX``) to an accelerator.
#: :mod:`hardware_db.library`, which sits above this module, passes its ``get_accelerator``.
NameResolver = Callable[[str], Accelerator]


def file_resolver(
    base_dir: Path | None,
    seen: frozenset[Path] = frozenset(),
    names: NameResolver | None = None,
) -> Resolver:
    """Resolve references: a YAML accelerator file (relative to ``base_dir``), else a name given
    to ``names`` (without one, a name is an error naming the field).

    ``seen`` holds the files being loaded further up, so that a reference cycle is an error.
    """

    def resolve(ref: str, where: str) -> dict[str, Any]:
        if ref.endswith(YAML_SUFFIXES):
            candidate = (Path(ref) if base_dir is None else base_dir / ref).resolve()
            if candidate in seen:
                raise SpecError(
                    f"reference cycle through {candidate.name}", source=candidate, field=where
                )
            return accelerator_to_dict(_load_accelerator(candidate, seen, names))
        system_part, sep, _ = ref.rpartition("/")
        if sep and system_part.endswith(YAML_SUFFIXES):  # SYSTEM_FILE.yaml/INDEX
            for candidate in {Path(system_part).resolve(), (base_dir or Path()) / system_part}:
                if candidate.resolve() in seen:
                    raise SpecError(
                        f"'{ref}' refers to itself (through {candidate.name})",
                        source=candidate.resolve(),
                        field=where,
                        allowed="a reference to another file or a library accelerator",
                    )
        if names is None:
            raise SpecError(
                f"reference '{ref}' is not a file",
                source=str(base_dir) if base_dir is not None else "<string>",
                field=where,
                allowed="an accelerator file (.yaml); library names resolve when loaded through "
                "hardware_db.library",
            )
        return accelerator_to_dict(names(ref))

    return resolve


def system_from_doc(doc: Any, source: str, resolve: Resolver | None = None) -> System:
    """Validate then construct a system from a parsed YAML document."""
    return build_system(validate_system(doc, source=source, resolve=resolve))


def accelerator_from_doc(doc: Any, source: str, resolve: Resolver | None = None) -> Accelerator:
    """Validate then construct an accelerator from a parsed YAML document."""
    return build_accelerator(validate_accelerator(doc, source=source, resolve=resolve))


#: System files being loaded by this thread (outermost first): a ``SYSTEM.yaml/INDEX`` reference
#: goes through the library, so the cycle check of :func:`file_resolver` cannot see it.
_LOADING = threading.local()


def load_system(path: str | os.PathLike, names: NameResolver | None = None) -> System:
    """Load a YAML system file (``names`` resolves library references: :func:`file_resolver`).

    A chain of references leading back to a file being loaded is an error.
    """
    base = Path(path).resolve()
    stack: list[Path] = _LOADING.__dict__.setdefault("stack", [])
    if base in stack:
        chain = " -> ".join(p.name for p in [*stack[stack.index(base) :], base])
        raise SpecError(
            f"refers to itself ({chain})",
            source=path,
            allowed="references that do not lead back to a file being loaded",
        )
    doc = load_yaml(path)
    stack.append(base)
    try:
        return system_from_doc(doc, str(path), file_resolver(base.parent, frozenset({base}), names))
    finally:
        stack.pop()


def _load_accelerator(
    path: str | os.PathLike, seen: frozenset[Path], names: NameResolver | None
) -> Accelerator:
    doc = load_yaml(path)
    if isinstance(doc, dict) and "accelerators" in doc:
        raise SpecError(
            "is a system file, not an accelerator file",
            source=path,
            allowed="an accelerator mapping, or name one accelerator of a system as SYSTEM/INDEX",
        )
    base = Path(path).resolve()
    return accelerator_from_doc(doc, str(path), file_resolver(base.parent, seen | {base}, names))


def load_accelerator(path: str | os.PathLike, names: NameResolver | None = None) -> Accelerator:
    """Load a YAML accelerator file."""
    return _load_accelerator(path, frozenset(), names)


def system_from_text(
    text: str, source: str = "<string>", names: NameResolver | None = None
) -> System:
    """Parse and load a system from YAML text."""
    return system_from_doc(load_yaml_text(text, source), source, file_resolver(None, names=names))


def accelerator_from_text(
    text: str, source: str = "<string>", names: NameResolver | None = None
) -> Accelerator:
    """Parse and load an accelerator from YAML text."""
    return accelerator_from_doc(
        load_yaml_text(text, source), source, file_resolver(None, names=names)
    )
