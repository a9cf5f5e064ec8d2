"""Kubernetes RBAC rules of the preset and custom permissions, and the escalation check.

A permission is a list of Kubernetes PolicyRules (`{"apiGroups", "resources", "verbs"}`)
written into member clusters as the ClusterRole `cceone:<key>`. The presets follow the
manual (§4.5.1): admin reads and writes everything; ops reads and writes namespaced
resources and reads the rest; developer reads and writes the namespaced resources the
console shows; restricted only reads those, Secrets excepted (as Kubernetes' `view`). In a
federation's Karmada the same roles also cover Karmada's namespaced policies (written where
namespaced resources are written, read by restricted) and read its bindings.
"""
import re
from itertools import product

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import console_resources

READ_VERBS = ["get", "list", "watch"]
WRITE_VERBS = ["create", "update", "patch", "delete"]
STANDARD_VERBS = READ_VERBS + WRITE_VERBS  # the seven the manual's editor offers

# Built-in namespaced resources beyond the console's, for `ops` ("read/write namespaced
# resources") and to resolve the API group of a resource typed into a custom permission.
OTHER_NAMESPACED: list[tuple[str, str]] = [
    ("", "serviceaccounts"), ("", "limitranges"), ("", "resourcequotas"), ("", "replicationcontrollers"),
    ("", "podtemplates"), ("", "pods/exec"), ("", "pods/attach"), ("", "pods/portforward"),
    ("", "pods/eviction"), ("", "services/proxy"), ("", "pods/status"),
    ("apps", "controllerrevisions"), ("apps", "replicasets/scale"), ("apps", "daemonsets/status"),
    ("apps", "deployments/status"), ("apps", "statefulsets/status"),
    ("batch", "jobs/status"), ("batch", "cronjobs/status"),
    ("autoscaling", "horizontalpodautoscalers"), ("policy", "poddisruptionbudgets"),
    ("networking.k8s.io", "networkpolicies"), ("discovery.k8s.io", "endpointslices"),
    ("coordination.k8s.io", "leases"), ("events.k8s.io", "events"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
    ("storage.k8s.io", "csistoragecapacities"),
]
OTHER_CLUSTER_SCOPED: list[tuple[str, str]] = [
    ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("apiextensions.k8s.io", "customresourcedefinitions"), ("networking.k8s.io", "ingressclasses"),
    ("scheduling.k8s.io", "priorityclasses"), ("storage.k8s.io", "csidrivers"), ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "volumeattachments"),
]

_VERB = re.compile(r"^(\*|[a-z][a-z-]{0,62})$")
_RESOURCE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*(/[a-z0-9][a-z0-9-]*)?$")


class Preset(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    OPS = "ops", _("Operations")
    DEVELOPER = "developer", _("Developer")
    RESTRICTED = "restricted", _("Restricted")


PRESET_DESCRIPTIONS = {
    Preset.ADMIN: _("Read and write all cluster resources."),
    Preset.OPS: _("Read and write namespaced resources; read-only access to other resources."),
    Preset.DEVELOPER: _("Read and write the namespaced resources the console shows."),
    Preset.RESTRICTED: _("Read-only access to the namespaced resources the console shows, except Secrets."),
}


def _by_group(pairs, verbs) -> list[dict]:
    """One rule per API group, resources sorted, so the same input always renders the same rules."""
    groups: dict[str, set[str]] = {}
    for group, resource in pairs:
        groups.setdefault(group, set()).add(resource)
    return [{"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
            for group, resources in sorted(groups.items())]


def _console_rules(write: bool) -> list[dict]:
    pairs, read_only_pairs = console_resources.namespaced(), console_resources.read_only()
    if not write:
        # As Kubernetes' own `view` role: reading a Secret is reading its values (a list
        # returns them too), so read-only users reveal one through the console, audited.
        secrets = console_resources.secrets()
        return _by_group([p for p in pairs if p not in secrets], READ_VERBS)
    writable = [p for p in pairs if p not in read_only_pairs]
    read_only = [p for p in pairs if p in read_only_pairs]
    return _by_group(writable, STANDARD_VERBS) + _by_group(read_only, READ_VERBS)


def _federation_rules(preset: str) -> list[dict]:
    """What a federation's Karmada adds to the presets: its namespaced policy kinds, written by
    those who write namespaced resources (developer, ops) and read by restricted, so a developer
    propagates their own workloads in their namespaces; the bindings are read only (Karmada's
    controllers write them). The cluster-scoped policies stay with admin (ops reads them)."""
    if preset == Preset.ADMIN:
        return []
    kinds = console_resources.federation_namespaced()
    readable = [(group, resource) for group, resource, _writable in kinds]
    if preset == Preset.RESTRICTED:
        return _by_group(readable, READ_VERBS)
    writable = [(group, resource) for group, resource, writable in kinds if writable]
    read_only = [(group, resource) for group, resource, writable in kinds if not writable]
    return _by_group(writable, STANDARD_VERBS) + ([] if preset == Preset.OPS else _by_group(read_only, READ_VERBS))


def preset_rules(preset: str, target_type: str = "cluster") -> list[dict]:
    """The preset's rules in a cluster or (`target_type="federation"`) a federation's Karmada."""
    if target_type == "federation":
        return preset_rules(preset) + _federation_rules(preset)
    if preset == Preset.ADMIN:
        return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    if preset == Preset.OPS:
        read_only = console_resources.read_only()
        namespaced = [p for p in console_resources.namespaced() + OTHER_NAMESPACED if p not in read_only]
        return ([{"apiGroups": ["*"], "resources": ["*"], "verbs": list(READ_VERBS)}]
                + _by_group(namespaced, STANDARD_VERBS))
    if preset == Preset.DEVELOPER:
        return _console_rules(write=True)
    if preset == Preset.RESTRICTED:
        return _console_rules(write=False)
    raise ValueError(f"unknown preset {preset!r}")


def known_group(resource: str) -> str | None:
    for group, name in console_resources.all_resources() + OTHER_NAMESPACED + OTHER_CLUSTER_SCOPED:
        if name == resource:
            return group
    return None


def parse_resource(text: str) -> tuple[str, str]:
    """`configmaps` → ("", "configmaps"); `deployments` → ("apps", "deployments") (a known
    resource); `widgets.example.com` → ("example.com", "widgets"); `pods/log` keeps its
    subresource."""
    base, slash, sub = text.partition("/")
    name, dot, group = base.partition(".")
    resource = name + (slash + sub if slash else "")
    if dot:
        return group, resource
    known = known_group(resource) if slash else known_group(name)
    return known or "", resource


def validate_verb(verb: str) -> bool:
    return bool(_VERB.match(verb))


def validate_resource(text: str) -> bool:
    return bool(_RESOURCE.match(text))


def custom_rules(rules: list[dict]) -> list[dict]:
    """A custom permission's rules (`{"verbs": [...], "resources": "*" | [...]}`) as PolicyRules;
    its rules are unioned, which is what listing them all in one ClusterRole does."""
    out = []
    for rule in rules:
        verbs = sorted(set(rule.get("verbs") or []))
        if rule.get("resources") == "*":
            out.append({"apiGroups": ["*"], "resources": ["*"], "verbs": verbs})
        else:
            out.extend(_by_group([parse_resource(r) for r in rule.get("resources") or []], verbs))
    return out


# --- escalation ---------------------------------------------------------------------------

def _atoms(rules):
    for rule in rules:
        if rule.get("nonResourceURLs") and not rule.get("resources"):
            continue
        yield from product(rule.get("verbs") or [], rule.get("apiGroups") or [], rule.get("resources") or [])


def _rule_covers(owner: dict, verb: str, group: str, resource: str) -> bool:
    """Kubernetes' own test (pkg/registry/rbac/validation): a wildcard is only covered by a wildcard."""
    verbs, groups, resources = owner.get("verbs") or [], owner.get("apiGroups") or [], owner.get("resources") or []
    if owner.get("resourceNames"):
        return False
    if "*" not in verbs and verb not in verbs:
        return False
    if "*" not in groups and group not in groups:
        return False
    if "*" in resources or resource in resources:
        return True
    base, slash, sub = resource.partition("/")
    return bool(slash) and f"*/{sub}" in resources


def covers(owner_rules: list[dict], servant_rules: list[dict]) -> bool:
    """Whether holding `owner_rules` includes everything `servant_rules` grant."""
    return all(any(_rule_covers(o, *atom) for o in owner_rules) for atom in _atoms(servant_rules))
