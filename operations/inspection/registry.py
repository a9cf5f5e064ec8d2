"""The inspection checks: one entry each, so a new check is one decorated function."""
from dataclasses import dataclass
from typing import Callable

# Severities as the manual's table names them (kubeeye's), mapped to the console's.
DANGER, WARNING, IGNORE = "critical", "warning", "info"


@dataclass(frozen=True)
class InspectionCheck:
    id: str
    title: str  # msgid
    severity: str
    kinds: tuple[str, ...]  # Kubernetes kinds it reads, e.g. ("Deployment", "Pod")
    remedy: str  # msgid
    # (object, context) -> None (pass) or (message msgid, params)
    rule: Callable


CHECKS: dict[str, InspectionCheck] = {}


def inspection_check(id: str, title: str, severity: str, kinds: tuple[str, ...], remedy: str):
    def wrap(rule):
        CHECKS[id] = InspectionCheck(id, title, severity, kinds, remedy, rule)
        return rule

    return wrap


def for_kind(kind: str) -> list[InspectionCheck]:
    return [c for c in CHECKS.values() if kind in c.kinds]
