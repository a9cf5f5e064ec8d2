"""Dependency checks shown on order confirmation pages (R3.2), each with a re-check.

One registry that other apps add to: this app registers the product quota check; billing
registers the balance check. Federation orders use the same registry.
"""
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ClusterQuota, RegisteredCluster


@dataclass(frozen=True)
class CheckResult:
    key: str
    label: str
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    run: Callable  # (account, order) -> (passed, message)
    applies_to: tuple[str, ...] = ("cluster",)  # "cluster", "federation"


_registry: dict[str, Check] = {}


def register(key: str, label, applies_to=("cluster",)):
    def wrap(fn):
        _registry[key] = Check(key, label, fn, tuple(applies_to))
        return fn

    return wrap


def checks_for(kind: str) -> list[Check]:
    return [c for c in _registry.values() if kind in c.applies_to]


def run_one(key: str, account, order) -> CheckResult:
    check = _registry[key]
    passed, message = check.run(account, order)
    return CheckResult(check.key, str(check.label), passed, message)


def run_all(kind: str, account, order) -> list[CheckResult]:
    return [run_one(c.key, account, order) for c in checks_for(kind)]


# Conditions other apps put on unsubscribing a cluster ("remove it from fleet X first"), by
# key: fn(cluster) -> (label, message or None when it passes). Registered from their
# AppConfig.ready(); `services.unsubscribe_checks` shows and enforces them.
_unsubscribe_blockers: dict[str, Callable] = {}


def register_unsubscribe_blocker(key: str, fn: Callable) -> None:
    _unsubscribe_blockers[key] = fn


def unsubscribe_blockers() -> list[Callable]:
    return list(_unsubscribe_blockers.values())


# What else unsubscribing does, said on the page before the user confirms ("it leaves
# fleet X"): fn(cluster) -> a sentence, or None. The app doing it acts on
# `signals.cluster_unsubscribed`.
_unsubscribe_effects: dict[str, Callable] = {}


def register_unsubscribe_effect(key: str, fn: Callable) -> None:
    _unsubscribe_effects[key] = fn


def unsubscribe_effects(cluster) -> list[str]:
    return [text for fn in _unsubscribe_effects.values() if (text := fn(cluster))]


def cluster_quota(account) -> int:
    quota = ClusterQuota.objects.filter(account=account).values_list("max_clusters", flat=True).first()
    return quota if quota is not None else settings.CCEONE_DEFAULT_CLUSTER_QUOTA


@register("quota", gettext_lazy("Product quota check"))
def _quota(account, order):
    used = RegisteredCluster.objects.filter(account=account).exclude(
        status=RegisteredCluster.Status.UNSUBSCRIBED).count()
    limit = cluster_quota(account)
    if used >= limit:
        return False, _("The account already holds %(used)d of at most %(limit)d registered clusters.") % {
            "used": used, "limit": limit}
    return True, ""
