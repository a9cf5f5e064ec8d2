"""The division preview (issue #15 item 3): which replicas each member will get, computed as
Karmada's scheduler does (karmada SPEC §7) from the policy's placement and the members as the
API server shows them — before anything is created, on every keystroke.

Pure: no database, no network. The placement rules themselves are `cceone_karmada`
(the sandbox Karmada's scheduler uses the same functions); this module adds the candidate
filters in the scheduler's order (affinity, taints, the kind being served) with the reason a
member is left out, and flags what the preview cannot know yet: ties that the resource
template's UID decides (Karmada ≥ v1.16) or that fall at random (v1.8 – v1.15).
"""
from dataclasses import dataclass, field
from decimal import Decimal

from kubernetes.utils import parse_quantity

from cceone_karmada import division
from cceone_karmada.affinity import affinity_matches, untolerated_taints

# Why a member gets nothing: codes the API gives and the pages say in words (the partial
# `federation/partials/division_preview.html` translates each).
NOT_SELECTED = "not-selected"
TAINTED = "taint-not-tolerated"
KIND_NOT_SERVED = "kind-not-served"
NO_WEIGHT = "no-weight"
NOT_NEEDED = "not-needed"
REASONS = {
    NOT_SELECTED: "not selected by the cluster affinity",
    TAINTED: "has a taint the policy does not tolerate",
    KIND_NOT_SERVED: "does not serve this kind",
    NO_WEIGHT: "no static weight",
    NOT_NEEDED: "not needed: the others hold the replicas",
}


@dataclass
class Member:
    name: str
    replicas: int = 0
    candidate: bool = False
    weight: int | None = None
    reason: str = ""  # a code of REASONS when it gets nothing
    detail: str = ""  # e.g. the taint not tolerated
    alternatives: list[int] = field(default_factory=list)  # other counts a tie could give it

    def as_dict(self) -> dict:
        return {"name": self.name, "replicas": self.replicas, "candidate": self.candidate, "weight": self.weight,
                "reason": self.reason, "detail": self.detail, "alternatives": self.alternatives}


@dataclass
class Preview:
    replicas: int
    scheduling: str  # Duplicated | Weighted | Aggregated | DynamicWeight
    algorithm: str  # webster | legacy-random | legacy-name | duplicated | capacity
    names: list[str]  # every member, in name order
    outcomes: list[dict[str, int]] = field(default_factory=list)  # the first is shown; the others a tie can give
    excluded: dict[str, tuple[str, str]] = field(default_factory=dict)  # member → (reason code, detail)
    weights: dict[str, int] = field(default_factory=dict)  # static weight or room, per candidate
    uid_dependent: bool = False  # ≥ v1.16: a tie the template's UID decides
    random_ties: bool = False  # v1.8 – v1.15: a tie settled at random
    error: str = ""  # e.g. no member fits, or not enough capacity

    @property
    def placed(self) -> dict[str, int]:
        return {name: n for name, n in (self.outcomes[0] if self.outcomes else {}).items() if n}

    @property
    def members(self) -> list[Member]:
        """Every member: its replicas, weight, the other counts a tie could give it, or why it gets nothing."""
        chosen = self.outcomes[0] if self.outcomes else {}
        found = []
        for name in self.names:
            reason, detail = self.excluded.get(name, ("", ""))
            member = Member(name, chosen.get(name, 0), candidate=not reason or reason == NO_WEIGHT,
                            weight=self.weights.get(name), reason=reason, detail=detail)
            member.alternatives = sorted({o.get(name, 0) for o in self.outcomes[1:]} - {member.replicas})
            if member.candidate and not member.replicas and not reason and self.scheduling in ("Aggregated",
                                                                                            "DynamicWeight"):
                member.reason = NOT_NEEDED
            found.append(member)
        return found

    def as_dict(self) -> dict:
        return {"replicas": self.replicas, "scheduling": self.scheduling, "algorithm": self.algorithm,
                "placed": self.placed, "uid_dependent": self.uid_dependent, "random_ties": self.random_ties,
                "error": self.error, "members": [m.as_dict() for m in self.members]}


def _name(cluster: dict) -> str:
    return (cluster.get("metadata") or {}).get("name", "")


def serves(cluster: dict, api_version: str, kind: str) -> bool:
    """The scheduler's API-enablement filter: the member lists the kind under its group/version."""
    for enablement in (cluster.get("status") or {}).get("apiEnablements") or ():
        if enablement.get("groupVersion") == api_version:
            for resource in enablement.get("resources") or ():
                if resource.get("kind") == kind:
                    return True
    return False


def available_replicas(cluster: dict, requests: dict | None) -> int:
    """What a member's resource summary still has room for (the scheduler's general estimator)."""
    summary = (cluster.get("status") or {}).get("resourceSummary") or {}
    allocated, allocating = summary.get("allocated") or {}, summary.get("allocating") or {}
    free = {name: parse_quantity(value) - parse_quantity(allocated.get(name, 0))
            - parse_quantity(allocating.get(name, 0)) for name, value in (summary.get("allocatable") or {}).items()}
    fits = [int(free.get("pods", Decimal(0)))]
    for name, value in (requests or {}).items():
        need = parse_quantity(value)
        if need > 0:
            fits.append(int(free.get(name, Decimal(0)) // need))
    return max(0, min(fits))


def _static_weights(feasible: list[tuple[str, dict]], rules: list[dict] | None) -> dict[str, int]:
    """karmada SPEC §7.2; rules naming members only (what the console writes) without the affinity walk."""
    if rules and all(len(r.get("targetCluster") or ()) == 1 and "clusterNames" in r["targetCluster"] for r in rules):
        best: dict[str, int] = {}
        for rule in rules:
            weight = int(rule.get("weight") or 0)
            for name in rule["targetCluster"]["clusterNames"] or ():
                if weight > best.get(name, 0):
                    best[name] = weight
        weights = {name: best[name] for name, _c in feasible if name in best}
        return weights if sum(weights.values()) > 0 else {name: 1 for name, _c in feasible}
    return division.static_weights([c for _n, c in feasible], rules)


def _fits(clusters: list[dict], affinity: dict | None, tolerations: list, api_version: str, kind: str,
          excluded: dict) -> list[tuple[str, dict]]:
    """(name, cluster) of the members passing the scheduler's filters; the others in `excluded`."""
    affinity = affinity or {}
    names = frozenset(affinity.get("clusterNames") or ())
    others = {k: v for k, v in affinity.items() if k != "clusterNames"}
    found = []
    for cluster in clusters:
        name = cluster["metadata"]["name"]
        if (names and name not in names) or (others and not affinity_matches(others, cluster)):
            excluded[name] = (NOT_SELECTED, "")
            continue
        if (cluster.get("spec") or {}).get("taints"):
            taints = untolerated_taints(cluster, tolerations)
            if taints:
                excluded[name] = (TAINTED, ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in taints))
                continue
        if kind and not serves(cluster, api_version, kind):
            excluded[name] = (KIND_NOT_SERVED, "")
            continue
        excluded.pop(name, None)
        found.append((name, cluster))
    return found


def preview(replicas: int, placement: dict | None, clusters: list[dict], *, version=None, uid: str | None = None,
            api_version: str = "", kind: str = "", requests: dict | None = None) -> Preview:
    """What Karmada's scheduler will write to the binding's `spec.clusters` for a template of
    `replicas` (of `api_version`/`kind`, when given, for the API-enablement filter) under
    `placement`, with `clusters` the Cluster objects; `version` is the Karmada version imitated
    (None: the newest), `uid` the template's UID once it exists."""
    placement = placement or {}
    replicas = max(0, int(replicas))
    result = Preview(replicas, "Duplicated", "duplicated", sorted(c["metadata"]["name"] for c in clusters))
    tolerations = placement.get("clusterTolerations") or []
    feasible: list[tuple[str, dict]] = []
    for affinity in (placement.get("clusterAffinities") or []) or [placement.get("clusterAffinity")]:
        feasible = _fits(clusters, affinity, tolerations, api_version, kind, result.excluded)
        if feasible:
            break
    if not feasible:
        result.error = "no member cluster fits the placement"
        return result
    names = sorted(name for name, _c in feasible)
    scheduling = placement.get("replicaScheduling")
    if not scheduling or scheduling.get("replicaSchedulingType", "Divided") == "Duplicated":
        result.outcomes = [division.duplicated(replicas, names)]
        return result
    preference = scheduling.get("replicaDivisionPreference") or "Weighted"
    weight = scheduling.get("weightPreference") or {}
    v = division.parse_version(version)
    try:
        if preference == "Aggregated" or weight.get("dynamicWeight"):
            result.scheduling = "Aggregated" if preference == "Aggregated" else "DynamicWeight"
            result.algorithm = "capacity"
            result.weights = available = {name: available_replicas(c, requests) for name, c in feasible}
            if preference == "Aggregated":
                result.outcomes = [division.aggregated(replicas, available, uid=uid or "", version=v)]
            else:
                result.outcomes = [division.dynamic(replicas, available, uid=uid or "", version=v)]
            return result
        result.scheduling = "Weighted"
        result.weights = weights = _static_weights(feasible, weight.get("staticWeightList"))
        for name in names:
            if name not in weights:
                result.excluded[name] = (NO_WEIGHT, "")
        if v >= division.WEBSTER_SINCE:
            result.algorithm = "webster"
            if uid:
                result.outcomes = [division.divide(replicas, weights, uid=uid, version=v)]
            else:
                result.outcomes = division.possible_divisions(replicas, weights, version=v)
                result.uid_dependent = len(result.outcomes) > 1
        else:
            result.algorithm = "legacy-random" if v >= division.RANDOM_TIES_SINCE else "legacy-name"
            result.outcomes = division.possible_divisions(replicas, weights, version=v)
            result.random_ties = len(result.outcomes) > 1
    except division.InsufficientCapacity as error:
        result.error = str(error)
    return result
