"""The mapper: the best data-centric mapping of every layer on an accelerator (docs/MAPPER.md).

- :mod:`~costmodel.mapper.space` — the mapping space (points, directive lists, neighbourhoods);
- :mod:`~costmodel.mapper.evaluate` — the one adapter to the ``native`` analysis, objectives,
  feasibility, layer orientation;
- :mod:`~costmodel.mapper.tiles` — structures and per-row tilings (one call, many rows);
- :mod:`~costmodel.mapper.search` — exhaustive, then best-first over structures with per-layer
  tile line searches;
- :mod:`~costmodel.mapper.cache` — found mappings by content;
- :mod:`~costmodel.mapper.api` — :func:`search_mappings`.
"""

from costmodel.mapper.api import MappingSearch, cost_mappings, search_mappings
from costmodel.mapper.evaluate import OBJECTIVES, analyse_mapping
from costmodel.mapper.space import Point, Space

__all__ = ["OBJECTIVES", "MappingSearch", "Point", "Space", "analyse_mapping", "cost_mappings",
           "search_mappings"]  # fmt: skip
