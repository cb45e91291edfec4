"""Per-access energy tables and the shipped presets (see ``docs/MAESTRO_METHOD.md``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyTable:
    """Energy per access of one word, in picojoules, with the word width and process node.

    ``mac_pj`` is one multiply-accumulate; ``l1_pj`` one access to a PE-local buffer; ``l2_pj`` one
    access to the shared buffer; ``noc_pj`` one word moved over the NoC (inter-PE); ``dram_pj`` one
    off-chip access. ``charges_maestro_computations``: the XRBench preset charges MAESTRO's
    partial-sum computation count instead of the true MACs; other presets charge MACs.
    """

    name: str
    mac_pj: float
    l1_pj: float
    l2_pj: float
    noc_pj: float
    dram_pj: float
    word_bits: int
    process_nm: int
    charges_maestro_computations: bool = False


_XRBENCH_MAC_PJ = 2.88  # 0.00288 nJ

#: Shipped presets by name.
PRESETS: dict[str, EnergyTable] = {
    # XRBench: E = e_MAC * (P + 0.55 L1 + 6.0 L2), DRAM not charged.
    "xrbench": EnergyTable(
        name="xrbench",
        mac_pj=_XRBENCH_MAC_PJ,
        l1_pj=0.55 * _XRBENCH_MAC_PJ,
        l2_pj=6.0 * _XRBENCH_MAC_PJ,
        noc_pj=0.0,
        dram_pj=0.0,
        word_bits=8,
        process_nm=28,
        charges_maestro_computations=True,
    ),
    # Eyeriss (ISSCC 2016, 65 nm) normalised ratios: MAC 1, RF 1, inter-PE 2, GLB 6, DRAM 200,
    # scaled to the XRBench MAC energy so that presets are comparable in absolute terms.
    "eyeriss": EnergyTable(
        name="eyeriss",
        mac_pj=_XRBENCH_MAC_PJ,
        l1_pj=1.0 * _XRBENCH_MAC_PJ,
        l2_pj=6.0 * _XRBENCH_MAC_PJ,
        noc_pj=2.0 * _XRBENCH_MAC_PJ,
        dram_pj=200.0 * _XRBENCH_MAC_PJ,
        word_bits=16,
        process_nm=65,
    ),
    # MAESTRO's defaults: L1 1.68x, L2 18.61x the MAC energy; DRAM at the Eyeriss ratio.
    "maestro": EnergyTable(
        name="maestro",
        mac_pj=_XRBENCH_MAC_PJ,
        l1_pj=1.68 * _XRBENCH_MAC_PJ,
        l2_pj=18.61 * _XRBENCH_MAC_PJ,
        noc_pj=0.0,
        dram_pj=200.0 * _XRBENCH_MAC_PJ,
        word_bits=8,
        process_nm=28,
    ),
}
