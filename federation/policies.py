"""Karmada policies as the console writes them (karmada SPEC §2, §3): plain builders from typed
input, shared by the guided policy forms, the guided federated workload and the API.

Whatever they build validates against Karmada's CRD schemas
(`cceone_karmada/crd_schemas/*.strict.schema.json`, checked by the tests); the API server's
dry run (with `fieldValidation=Strict`) then judges it before anything is created.
"""
from dataclasses import dataclass, field

API_VERSION = "policy.karmada.io/v1alpha1"
DUPLICATED, DIVIDED, AGGREGATED = "duplicated", "divided", "aggregated"
MODES = (DUPLICATED, DIVIDED, AGGREGATED)
# Labels and annotations Karmada keeps on what it manages: an edit never touches them.
SYSTEM_KEYS = ("propagationpolicy.karmada.io/", "clusterpropagationpolicy.karmada.io/",
               "resourcebinding.karmada.io/", "clusterresourcebinding.karmada.io/", "karmada.io/")


@dataclass
class Placement:
    """Where a workload goes and how its replicas are shared (R5.6 "scheduling and differentiation")."""

    mode: str = DUPLICATED
    cluster_names: list[str] = field(default_factory=list)  # affinity by member names (none: every member)
    cluster_labels: dict[str, str] = field(default_factory=dict)  # affinity by member labels
    weights: dict[str, int] = field(default_factory=dict)  # divided: member → static weight (0: nothing)
    tolerations: list[dict] = field(default_factory=list)  # corev1 Tolerations of members' taints

    def affinity(self) -> dict:
        affinity = {}
        if self.cluster_names:
            affinity["clusterNames"] = list(dict.fromkeys(self.cluster_names))
        if self.cluster_labels:
            affinity["labelSelector"] = {"matchLabels": dict(self.cluster_labels)}
        return affinity

    def manifest(self) -> dict:
        """The policy's `placement`."""
        placement = {}
        if self.affinity():
            placement["clusterAffinity"] = self.affinity()
        if self.tolerations:
            placement["clusterTolerations"] = [dict(t) for t in self.tolerations]
        if self.mode == DIVIDED:
            scheduling = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
            # A member weighted 0 is left out of the list: it gets nothing (unless every weight is
            # 0: then, as Karmada does, every candidate counts the same).
            rules = [{"targetCluster": {"clusterNames": [name]}, "weight": int(weight)}
                     for name, weight in self.weights.items() if int(weight) > 0]
            if rules:
                scheduling["weightPreference"] = {"staticWeightList": rules}
            placement["replicaScheduling"] = scheduling
        elif self.mode == AGGREGATED:
            placement["replicaScheduling"] = {"replicaSchedulingType": "Divided",
                                              "replicaDivisionPreference": "Aggregated"}
        else:
            placement["replicaScheduling"] = {"replicaSchedulingType": "Duplicated"}
        return placement


@dataclass
class ClusterOverride:
    """What differs in one member (R5.6 "per-cluster overrides"): one rule of an OverridePolicy."""

    cluster: str = ""  # empty: every member
    image_registry: str = ""
    image_repository: str = ""
    image_tag: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    replicas: int | None = None
    command: list[str] | None = None
    args: list[str] | None = None

    def empty(self) -> bool:
        return not self.overriders()

    def overriders(self) -> dict:
        overriders = {}
        images = [{"component": component, "operator": "replace", "value": value}
                  for component, value in (("Registry", self.image_registry), ("Repository", self.image_repository),
                                           ("Tag", self.image_tag)) if value]
        if images:
            overriders["imageOverrider"] = images
        if self.labels:
            overriders["labelsOverrider"] = [{"operator": "add", "value": dict(self.labels)}]
        if self.annotations:
            overriders["annotationsOverrider"] = [{"operator": "add", "value": dict(self.annotations)}]
        # Karmada's command/args overriders only add or remove items: a replacement is a JSON patch
        # ("add" replaces a member that exists and creates one that does not).
        plaintext = []
        if self.replicas is not None:
            plaintext.append({"path": "/spec/replicas", "operator": "replace", "value": int(self.replicas)})
        for name, value in (("command", self.command), ("args", self.args)):
            if value:
                plaintext.append({"path": f"/spec/template/spec/containers/0/{name}", "operator": "add",
                                  "value": list(value)})
        if plaintext:
            overriders["plaintext"] = plaintext
        return overriders

    def rule(self) -> dict:
        rule = {"overriders": self.overriders()}
        if self.cluster:
            rule["targetCluster"] = {"clusterNames": [self.cluster]}
        return rule


def selector(api_version: str, kind: str, name: str = "", label_selector: dict | None = None) -> dict:
    found = {"apiVersion": api_version, "kind": kind}
    if name:
        found["name"] = name
    elif label_selector:
        found["labelSelector"] = {"matchLabels": dict(label_selector)}
    return found


def _metadata(name: str, namespace: str | None) -> dict:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def propagation_policy(name: str, namespace: str | None, selectors: list[dict], placement: Placement, *,
                       priority: int | None = None, conflict_resolution: str = "", propagate_deps: bool = False
                       ) -> dict:
    """A PropagationPolicy (a ClusterPropagationPolicy when `namespace` is None)."""
    spec = {"resourceSelectors": [dict(s) for s in selectors], "placement": placement.manifest()}
    if priority:
        spec["priority"] = int(priority)
    if conflict_resolution:
        spec["conflictResolution"] = conflict_resolution
    if propagate_deps:
        spec["propagateDeps"] = True
    return {"apiVersion": API_VERSION, "kind": "PropagationPolicy" if namespace else "ClusterPropagationPolicy",
            "metadata": _metadata(name, namespace), "spec": spec}


def override_policy(name: str, namespace: str | None, selectors: list[dict], overrides: list[ClusterOverride]
                    ) -> dict:
    """An OverridePolicy (a ClusterOverridePolicy when `namespace` is None), one rule per member."""
    spec = {"overrideRules": [o.rule() for o in overrides if not o.empty()]}
    if selectors:
        spec["resourceSelectors"] = [dict(s) for s in selectors]
    return {"apiVersion": API_VERSION, "kind": "OverridePolicy" if namespace else "ClusterOverridePolicy",
            "metadata": _metadata(name, namespace), "spec": spec}


def parse_selectors(text: str) -> list[dict]:
    """`apiVersion kind [name]` per line → ResourceSelectors; ValueError names the bad line."""
    found = []
    for line in (text or "").splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3) or "/" in parts[1]:
            raise ValueError(line.strip())
        found.append(selector(parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return found


def parse_tolerations(text: str) -> list[dict]:
    """`key[=value]:Effect` per line (an empty key with `:Effect`… is refused) → Tolerations."""
    found = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        taint, sep, effect = line.rpartition(":")
        if not sep or not taint or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(line)
        key, has_value, value = taint.partition("=")
        toleration = {"key": key.strip(), "operator": "Equal" if has_value else "Exists", "effect": effect}
        if has_value:
            toleration["value"] = value.strip()
        if not toleration["key"]:
            raise ValueError(line)
        found.append(toleration)
    return found
