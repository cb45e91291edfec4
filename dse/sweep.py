"""Design-space sweep specifications: reading, validation and expansion into design points.

A sweep spec is a YAML file::

    name: pe-split-vs-noc                  # optional, free text
    base_system: xrbench-4k-J              # library name or path (relative to this file), or a
                                           # list of them: the systems are then an axis too
    axes:                                  # hardware axes, in the order they vary (slowest first)
      accelerators[*].num_pes: {start: 1024, stop: 4096, step: 1024}   # stop is inclusive
      accelerators[0].noc_top.bw_words_per_cycle: [64, 128, 256]
      accelerators[*].dataflow: {values: [WS, OS, RS]}
      offchip_bw_words_per_cycle: [64, 128]
      pe_split: [0.25, 0.5, 0.75]
    scenarios: [vr_gaming, ar_gaming]      # a list, {values: [...]} or one name
    cascade_probabilities: [0.25, 0.5]     # optional: trigger probability of cascaded models
    policies: [latency_greedy]
    modes: xrbench                         # xrbench (XRBench-compatible) or native
    seeds: {start: 0, stop: 3, step: 1}
    horizon_ms: 700                        # default 700 (XRBench)
    analysis: maestro                      # optional: maestro | native (default: the cost model's)
    sample: {method: lhs, n: 100, seed: 0} # optional: lhs | random subset of the cross product
    executor: {name: local, workers: 2}    # optional defaults for `rtmm sweep`
    batch_size: 8                          # optional: design points per task
    evaluator: mypkg.mymodule:evaluate     # optional: a custom point evaluator (module:function)

Hardware axis fields (``i`` is an accelerator index or ``*`` for every accelerator):

- ``offchip_bw_words_per_cycle``: the shared off-chip bandwidth; also sets every accelerator's port.
- ``accelerators[i].FIELD`` with FIELD one of :data:`ACCELERATOR_FIELDS` — every number, flag and
  preset of the hardware model :class:`hardware_db.schema.AcceleratorSpec`, whose field
  constraints check the axis values (an accelerator whose PE count or dataflow changes gets the
  loader's default ``array_shape``; ``dataflow`` and ``energy`` take preset names). Every modified
  system is validated by the hardware loader's rules.
- ``pe_split``: the fraction of the system's total PEs given to accelerator 0 of a two-accelerator
  system (the rest go to accelerator 1), applied after every other axis.

The design space is the cross product of the base systems, the hardware axes (spec order, slowest
first), then
``analysis``, ``scenarios``, ``cascade_probabilities``, ``modes``, ``policies``, ``horizon_ms`` and
``seeds``, so consecutive
points share hardware. ``sample`` replaces it by a seeded random or Latin-hypercube subset
(:mod:`scipy.stats.qmc`), ordered by hardware. Validation (:func:`parse_spec`) is separate from
expansion (:func:`expand`) and from building modified systems (:func:`apply_hardware`).

The code is split by concept: :mod:`dse.spec` (the spec objects), :mod:`dse.spec_reader`
(reading and validation), :mod:`dse.expand` (design points), :mod:`dse.hardware_axes` (modified
systems). This module re-exports their public names.
"""

from __future__ import annotations

from dse.expand import expand
from dse.hardware_axes import apply_hardware, validate_system_values
from dse.spec import (
    ACCELERATOR_FIELDS,
    ANALYSES,
    DEFAULT_HORIZON_MS,
    EXECUTORS,
    MODES,
    SAMPLE_METHODS,
    SYSTEM_FIELDS,
    Axis,
    DesignPoint,
    ExecutorSpec,
    SampleSpec,
    SweepSpec,
)
from dse.spec_reader import load_spec, parse_spec

__all__ = [
    "ACCELERATOR_FIELDS",
    "ANALYSES",
    "DEFAULT_HORIZON_MS",
    "EXECUTORS",
    "MODES",
    "SAMPLE_METHODS",
    "SYSTEM_FIELDS",
    "Axis",
    "DesignPoint",
    "ExecutorSpec",
    "SampleSpec",
    "SweepSpec",
    "apply_hardware",
    "expand",
    "load_spec",
    "parse_spec",
    "validate_system_values",
]
