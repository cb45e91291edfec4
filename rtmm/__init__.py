"""rtmm: shared foundation (errors, strict file reading, atomic output) for the rtmm packages.

The project's functionality lives in the sibling packages ``hardware_db``, ``workloads``,
``costmodel``, ``scheduler`` and ``dse``; this package holds what all of them share.
"""

from rtmm.errors import RtmmError

__all__ = ["RtmmError"]
__version__ = "0.1.0"
