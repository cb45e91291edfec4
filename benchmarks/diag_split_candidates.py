"""Which models SDRM3's pipelined split considers and cuts, per system and scenario (issue 12p).

    python benchmarks/diag_split_candidates.py maestro xrbench-4k-K,xrbench-8k-L

Structure only, no score: for each of the five RTMM scenarios, the models SDRM3 pins to one
accelerator with a frame over ``pipeline_split`` of their period there (``home``, -1: none), then,
after a 300 ms run, the cut chosen for each (None: no cut frees more than it costs).
"""

import sys

from scheduler import simulate
from scheduler.policies.sdrm3 import SDRM3Static

for system in sys.argv[2].split(","):
    for scen in [
        "social_interaction_a",
        "outdoor_activity_a",
        "ar_assistant",
        "ar_gaming",
        "vr_gaming",
    ]:
        pol = SDRM3Static()
        simulate(scen, system, pol, horizon_ms=1.0, analysis=sys.argv[1])
        home = pol._split.home if pol._split is not None else None
        print(
            system,
            scen,
            "split models (home accelerator, -1 none):",
            None if home is None else home.tolist(),
        )

print("cuts after a 300 ms run:")
for system in sys.argv[2].split(","):
    for scen in ["ar_assistant", "ar_gaming", "social_interaction_a"]:
        pol = SDRM3Static()
        r = simulate(
            scen, system, pol, horizon_ms=300.0, analysis=sys.argv[1], offchip_contention=True
        )
        print(system, scen, {k[1]: v for k, v in pol._split._cuts.items()})
