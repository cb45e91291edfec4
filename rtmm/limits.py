"""Bounds shared by every entry point, chosen so that no accepted input can overflow the analysis
or exhaust memory, and so that the CLI and the sweep spec refuse the same values.

- :data:`INT64_MAX`: integers are stored in numpy ``int64`` arrays and SQLite ``INTEGER`` columns.
- :data:`MAX_HORIZON_MS`: 10^6 ms (1000 s) of simulated time; a run is a few seconds of usage,
  the XRBench default is 700 ms and ``rtmm compare`` uses 2000 ms.
- :data:`MAX_FRAMES`: frames a single simulation may release (sum of FPS x horizon); beyond it
  the per-frame job tables alone take gigabytes.
- :data:`MAX_POINTS`: design points in one sweep (cross product or sample).
- :data:`MAX_SEEDS`: seeds in one ``rtmm compare`` run.
- :data:`MAX_INT`: largest integer a hardware field may hold (2^40), so every derived count
  (PEs x passes x tiles) stays inside int64.
- :data:`MAX_ENERGY_PJ`, :data:`CLOCK_HZ_RANGE`: an access costs at most 1 µJ (10^6 pJ; real ones
  are 0.01-1000 pJ) and a clock runs at 1 kHz to 1 THz, so every derived energy and time is
  finite.
- :data:`MIN_FPS`, :data:`MAX_FPS`: frame rates a scenario may request. Above 10 kHz the
  per-frame jobs alone (one per layer per frame) outgrow any horizon worth simulating; below one
  frame per 1000 s the period overflows the horizons the simulator handles (and denormal rates
  give infinite periods).

The spec models (``hardware_db.schema``, ``dse.spec``, ``workloads.scenario``) use these in
their field bounds; this module imports nothing, so a command may read them without loading the
models.
"""

from __future__ import annotations

INT64_MAX = 2**63 - 1
MAX_HORIZON_MS = 1e6
MAX_FRAMES = 2_000_000
MAX_POINTS = 1_000_000
MAX_SEEDS = 1000
MAX_INT = 2**40
MAX_ENERGY_PJ = 1e6
CLOCK_HZ_RANGE = (1e3, 1e12)
MIN_FPS = 1e-3
MAX_FPS = 1e4
