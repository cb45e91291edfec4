"""Bounds shared by every entry point, chosen so that no accepted input can overflow the analysis
or exhaust memory, and so that the CLI and the sweep spec refuse the same values.

- :data:`INT64_MAX`: integers are stored in numpy ``int64`` arrays and SQLite ``INTEGER`` columns.
- :data:`MAX_HORIZON_MS`: 10^6 ms (1000 s) of simulated time; a run is a few seconds of usage,
  the XRBench default is 700 ms and ``rtmm compare`` uses 2000 ms.
- :data:`MAX_FRAMES`: frames a single simulation may release (sum of FPS x horizon); beyond it
  the per-frame job tables alone take gigabytes.
- :data:`MAX_POINTS`: design points in one sweep (cross product or sample).
- :data:`MAX_SEEDS`: seeds in one ``rtmm compare`` run.
"""

from __future__ import annotations

INT64_MAX = 2**63 - 1
MAX_HORIZON_MS = 1e6
MAX_FRAMES = 2_000_000
MAX_POINTS = 1_000_000
MAX_SEEDS = 1000
