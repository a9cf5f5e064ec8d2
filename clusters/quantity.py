"""Kubernetes resource quantities ("500m", "8", "32Gi") as integers.

Parsed by the Kubernetes client's own parser; a missing quantity counts as 0
(a node that reports no memory has none to allocate).
"""
import math

from kubernetes.utils import parse_quantity


def _parse(quantity):
    return 0 if quantity is None or quantity == "" else parse_quantity(quantity)


def cpu_millicores(quantity) -> int:
    return math.ceil(_parse(quantity) * 1000)


def memory_bytes(quantity) -> int:
    return math.ceil(_parse(quantity))
