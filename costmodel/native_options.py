"""The options of the ``native`` analysis: its corrections (documented in
:mod:`costmodel.native`), the order :func:`~costmodel.native.correction_deltas` applies them in,
and the bounds a layer's result can name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from costmodel.table import OPTIONAL_COLUMNS

#: The corrections, in the order :func:`correction_deltas` applies them.
CORRECTIONS: tuple[str, ...] = (
    "true_windows",
    "strides",
    "grouped",
    "all_egress",
    "capacity",
    "offchip",
    "noc_latency",
    "reuse",
    "pass_fill",
)
BOUNDS = ("compute", "noc", "l1_spill", "offchip", "l2_spill")
EXTRA_KEYS = OPTIONAL_COLUMNS  # the keys native adds; cost tables carry them as columns


@dataclass(frozen=True)
class NativeOptions:
    """The corrections of the ``native`` analysis (module docstring), all on by default.

    ``vector_width`` is MAESTRO's w (compute delay ⌈P/w⌉₀ at the innermost level).
    """

    true_windows: bool = True
    strides: bool = True
    grouped: bool = True
    all_egress: bool = True
    capacity: bool = True
    offchip: bool = True
    noc_latency: bool = True
    reuse: bool = True
    pass_fill: bool = True
    vector_width: int = 1

    def key(self) -> tuple:
        """A hashable content key (for caches)."""
        return (type(self).__name__, *dataclasses.astuple(self))

    @classmethod
    def none(cls, **on: bool) -> NativeOptions:
        """Every correction off (== ``maestro``), except those passed as ``name=True``."""
        return cls(**{**dict.fromkeys(CORRECTIONS, False), **on})

    @classmethod
    def upto(cls, step: int) -> NativeOptions:
        """The first ``step`` corrections of :data:`CORRECTIONS` on, the others off."""
        return cls.none(**dict.fromkeys(CORRECTIONS[:step], True))


DEFAULT_NATIVE = NativeOptions()
