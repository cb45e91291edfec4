"""What-ifs on the PE buffer and the column NoC with the ``native`` analysis (plain script).

AlexNet CONV1–5 (batch 4) on ``eyeriss-v1`` with each layer's Table III mapping
(:mod:`costmodel.silicon`), one resource changed at a time: ``l1_bytes_per_pe`` and the inner
NoC's bandwidth (``noc_col``). Prints, summed over the five layers, the latency (ms), the global
buffer reads (MB: ``l2_rd_*`` × 2 bytes) and the words streamed because a step tile did not fit
L1 (MB). Results: ``benchmarks/RESULTS.md``, "Issue 11b".

Run: ``python benchmarks/whatif_native_l1_noc.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from costmodel.native import analyse_native
from costmodel.silicon import accelerators, layer_of, read_measurements
from hardware_db.accelerator import Accelerator, NocLevel

DATA = Path(__file__).resolve().parent.parent / "tests/data/silicon/eyeriss_jssc2017_alexnet.csv"
L2_READS = ("l2_rd_input", "l2_rd_weight", "l2_rd_output")


def totals(layers, accs: list[Accelerator], **change) -> tuple[float, float, float]:
    """(latency ms, GLB reads MB, streamed MB) of ``layers`` with ``change`` applied to each."""
    latency_ms = glb_mb = spill_mb = 0.0
    for layer, acc in zip(layers, accs, strict=True):
        acc = dataclasses.replace(acc, **change)
        r = analyse_native([layer], acc)
        latency_ms += float(r["latency_cycles"][0]) / acc.clock_hz * 1e3
        glb_mb += float(sum(r[k][0] for k in L2_READS)) * acc.word_bytes / 1e6
        spill_mb += float(r["l1_spill_words"][0]) * acc.word_bytes / 1e6
    return latency_ms, glb_mb, spill_mb


def main() -> None:
    table = read_measurements(DATA)
    accs = accelerators(table)
    layers = [layer_of(row) for _, row in table.iterrows()]
    print("what-if                      latency_ms  glb_reads_mb  streamed_mb")
    for l1_bytes in (64, 128, 256, 384, 520, 1040):
        figures = totals(layers, accs, l1_bytes_per_pe=l1_bytes)
        print(f"l1_bytes_per_pe {l1_bytes:>6}      " + "  ".join(f"{x:10.1f}" for x in figures))
    for bw in (1, 2, 3, 4.5, 9, 18):
        figures = totals(layers, accs, noc_col=NocLevel(bw, 1, True))
        print(f"noc_col bw {bw:>6} words/cycle " + "  ".join(f"{x:10.1f}" for x in figures))


if __name__ == "__main__":
    main()
