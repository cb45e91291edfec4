"""workloads: layers, model DAGs, the XRBench zoo, usage scenarios, supernets and importers.

Entry points: :class:`Layer`, :class:`OpType`, :func:`validate_layer`, :class:`Model`;
``workloads.zoo.load(name_or_path)``, ``workloads.scenario.load(name_or_path)``,
``workloads.supernet.variants(model_id)``.
"""

from workloads.layer import Layer, OpType, validate_layer
from workloads.model import Model
from workloads.shapes import check_shapes

__all__ = ["Layer", "OpType", "Model", "check_shapes", "validate_layer"]
