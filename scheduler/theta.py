"""SDRM3's tunable parameter space: the parameters' names and bounds.

Shared by the policy (:mod:`scheduler.policies.sdrm3`) and its online tuner
(:mod:`scheduler.tuner`), which sits below the policies package so that the policy can use it
without an import cycle.
"""

from __future__ import annotations

import numpy as np

#: Names of the tunable parameters, in the order of ``Theta.as_array``.
THETA_NAMES = ("alpha", "beta", "gamma", "delta")

#: Default bounds of each parameter (the tuner never leaves them).
THETA_BOUNDS = np.array([[0.0, 4.0], [0.0, 6.0], [0.0, 2.0], [1.0, 4.0]])
