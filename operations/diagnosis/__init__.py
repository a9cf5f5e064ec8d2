"""One-click fault diagnosis of a Pod, Node, Service or Ingress (R3.10; ../shared/ops/DIAGNOSIS.md).

Each check is one entry of `CHECKS[kind]` (common.Check): an id, a title, a severity, a
remedy and a rule reading the object and what it refers to through `common.Context`. A
rule returns the findings it saw (abnormal), nothing (normal), or raises `CannotVerify`
(unknown: e.g. RBAC refused a read)."""
from . import ingresses, nodes, pods, services  # noqa: F401  each registers its checks
from .common import CHECKS, Check, Context, run_checks  # noqa: F401
