"""Cluster inspection (R3.11; ../shared/ops/INSPECTION.md §7): a registry of checks, each one
small function (id, title, severity, kinds, rule, remedy), run over paged lists of the cluster."""
from . import cluster, rbac, workloads  # noqa: F401  each registers its checks
from .registry import CHECKS, InspectionCheck  # noqa: F401
