"""The one catalogue of IAM actions, and the system policies derived from it.

An action is `<service>:<verb>`. Each has a tier; the three system policies are
defined by tier, so a new action is covered by them as soon as it is listed here.
"""
from dataclasses import dataclass
from enum import IntEnum
from fnmatch import fnmatchcase

from django.utils.translation import gettext_lazy as _


class Tier(IntEnum):
    READ = 1  # see it
    WRITE = 2  # change settings of existing instances
    ORDER = 3  # order or unsubscribe instances that are billed
    ADMIN = 4  # manage the account's identities and policies


@dataclass(frozen=True)
class Action:
    name: str
    tier: Tier
    label: str

    @property
    def service(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def verb(self) -> str:
        return self.name.split(":", 1)[1]


_CATALOGUE = [
    ("clusters:list", Tier.READ, _("List registered clusters")),
    ("clusters:get", Tier.READ, _("View a registered cluster")),
    ("clusters:create", Tier.ORDER, _("Order a registered cluster")),
    ("clusters:update", Tier.WRITE, _("Change a registered cluster's settings")),
    ("clusters:delete", Tier.ORDER, _("Unsubscribe a registered cluster")),
    ("clusters:kubeconfig", Tier.READ, _("Get and revoke one's own kubeconfigs")),
    ("clusters:diagnose", Tier.WRITE, _("Diagnose a cluster's objects and confirm abnormal items")),
    ("clusters:inspect", Tier.WRITE, _("Run a cluster inspection")),
    ("clusters:configure-inspection", Tier.ADMIN, _("Edit inspection schedules and waivers")),
    ("fleets:list", Tier.READ, _("List fleets")),
    ("fleets:get", Tier.READ, _("View a fleet")),
    ("fleets:create", Tier.WRITE, _("Create a fleet")),
    ("fleets:update", Tier.WRITE, _("Change a fleet and its clusters")),
    ("fleets:delete", Tier.WRITE, _("Delete a fleet")),
    ("federations:list", Tier.READ, _("List federations")),
    ("federations:get", Tier.READ, _("View a federation")),
    ("federations:create", Tier.ORDER, _("Order a federation")),
    ("federations:update", Tier.WRITE, _("Change a federation's settings")),
    ("federations:delete", Tier.ORDER, _("Unsubscribe a federation")),
    ("federations:kubeconfig", Tier.READ, _("Get and revoke one's own federation kubeconfigs")),
    ("federations:deploy", Tier.WRITE, _("Create federated workloads with their policies")),
    ("permissions:list", Tier.READ, _("List Kubernetes permissions")),
    ("permissions:create", Tier.WRITE, _("Create Kubernetes permissions and associations")),
    ("permissions:update", Tier.WRITE, _("Change Kubernetes permissions and associations")),
    ("permissions:delete", Tier.WRITE, _("Delete Kubernetes permissions and associations")),
    ("billing:list", Tier.READ, _("View balance, usage records and bills")),
    ("audit:list", Tier.READ, _("View the audit log")),
    ("iam:list", Tier.ADMIN, _("View sub-accounts, groups and policies")),
    ("iam:create", Tier.ADMIN, _("Create sub-accounts, groups, policies and projects")),
    ("iam:update", Tier.ADMIN, _("Change sub-accounts, groups, policies and projects")),
    ("iam:delete", Tier.ADMIN, _("Delete sub-accounts, groups, policies and projects")),
    ("iam:delegate", Tier.ADMIN, _("Authorise the service delegation")),
]

ACTIONS: dict[str, Action] = {name: Action(name, tier, label) for name, tier, label in _CATALOGUE}


def register(name: str, tier: Tier, label) -> None:
    """An app's own actions (`backups:create` …), added from its AppConfig.ready(): the
    system policies cover them by tier like the core's."""
    ACTIONS.setdefault(name, Action(name, tier, label))

# System policy name -> highest tier it grants.
SYSTEM_POLICIES: dict[str, Tier] = {
    "ccseone-admin": Tier.ADMIN,
    "ccseone-user": Tier.WRITE,
    "ccseone-viewer": Tier.READ,
}
SYSTEM_POLICY_DESCRIPTIONS = {
    "ccseone-admin": _("All permissions of CCE One, including ordering and unsubscribing."),
    "ccseone-user": _(
        "Read and write registered clusters, fleets and federations; "
        "no ordering or unsubscribing of registered clusters and federations."
    ),
    "ccseone-viewer": _("Read-only access to CCE One resources."),
}


def matches(pattern: str, action: str) -> bool:
    """`clusters:*`, `*:list` and `*` style wildcards, case-sensitive like the action names."""
    return fnmatchcase(action, pattern)


def expand(patterns) -> set[str]:
    """The catalogue actions a list of patterns grants."""
    return {name for name in ACTIONS if any(matches(p, name) for p in patterns)}


def system_policy_actions(name: str) -> set[str]:
    tier = SYSTEM_POLICIES[name]
    return {a.name for a in ACTIONS.values() if a.tier <= tier}


def validate_pattern(pattern: str) -> bool:
    """A pattern is valid when it names or matches at least one catalogue action."""
    return bool(expand([pattern]))
