"""Drift (issue #15 item 6), pure: the fields in which a federated object's three states differ
— the resource template in Karmada, the object rendered for one member after its overrides
(the Work manifest in `karmada-es-<member>`) and the live object in the member — and the
body that puts the rendered object back into the member (re-sync).

What is compared, and why:
- template ↔ rendered: every field on both sides. These differences are Karmada's doing
  (the member's share of the replicas, OverridePolicies): expected, shown as "override".
- rendered ↔ live: the fields the rendered object sets. A field only the live object has is
  most often the member API server's default (`imagePullPolicy`, `revisionHistoryLimit` …),
  indistinguishable from someone's addition, so it is not drift — except for labels and
  annotations and whole list items (a container, an env var, a port), which no server
  defaults. These differences are drift.
- Never compared (`ignored()`): `status`; server-managed metadata (resourceVersion, uid,
  managedFields, creationTimestamp, generation, selfLink, ownerReferences, finalizers,
  deletion marks), which each API server sets for itself; labels and annotations of the
  `karmada.io` domains (the policy claim on the template, the Work's name and the managed
  mark on the rendered and live objects: they differ by design); annotations the member's
  own controllers or kubectl write (`deployment.kubernetes.io/revision`,
  `deprecated.daemonset.template.generation`, `kubectl.kubernetes.io/last-applied-configuration`); and `spec.replicas` of a workload
  labelled `resourcetemplate.karmada.io/retain-replicas` (Karmada keeps the member's count
  there, which an autoscaler owns).

`resync_body()` is the rendered object with exactly what Karmada retains from the member
(the ignored metadata, Karmada's and the member's own labels and annotations, a retained
replica count, a Service's allocated IPs and node ports): what Karmada's execution
controller writes, so after it `differences()` finds no drift.
"""
import copy
import json
from dataclasses import dataclass

from kubernetes.utils import parse_quantity

MISSING = object()  # a field the object does not have (None is a value)

SERVER_METADATA = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation", "selfLink",
                   "ownerReferences", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds")
# What an update must carry over from the member's object, or the update would drop it.
KEPT_ON_UPDATE = ("resourceVersion", "uid", "ownerReferences", "finalizers")
MEMBER_ANNOTATIONS = ("deployment.kubernetes.io/revision", "deployment.kubernetes.io/revision-history",
                      "deprecated.daemonset.template.generation", "kubectl.kubernetes.io/last-applied-configuration")
RETAIN_REPLICAS_LABEL = "resourcetemplate.karmada.io/retain-replicas"
SERVICE_ALLOCATED = ("clusterIP", "clusterIPs", "healthCheckNodePort", "ipFamilies", "ipFamilyPolicy")
MAPS = ("labels", "annotations")

OVERRIDE = "override"  # template ≠ rendered, the member as rendered
DRIFT = "drift"  # the member differs from what Karmada rendered for it


def karmada_key(key: str) -> bool:
    """A label or annotation of Karmada's own (`*.karmada.io/…`, `karmada.io/…`)."""
    domain = key.split("/", 1)[0] if "/" in key else ""
    return domain == "karmada.io" or domain.endswith(".karmada.io")


def _system_key(key: str) -> bool:
    return karmada_key(key) or key in MEMBER_ANNOTATIONS


def _retains_replicas(obj) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(RETAIN_REPLICAS_LABEL) == "true"


def ignored(path: tuple, rendered: dict | None = None) -> bool:
    if not path:
        return False
    if path[0] == "status":
        return True
    if path[0] == "metadata" and len(path) > 1:
        if path[1] in SERVER_METADATA:
            return True
        if path[1] in MAPS and len(path) > 2 and _system_key(path[2]):
            return True
    return path == ("spec", "replicas") and _retains_replicas(rendered)


# --- flattening --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """A list element matched by its `name` (containers, env, volumes, ports with names)."""

    name: str

    def __str__(self):
        return f"[{self.name}]"


def _named(items: list) -> bool:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    return bool(items) and len(names) == len(items) and all(isinstance(n, str) for n in names) and \
        len(set(names)) == len(names)


def _children(value):
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        if _named(value):
            return [(Item(i["name"]), i) for i in value]
        return list(enumerate(value))
    return None  # a leaf: a scalar, an empty map or list, a list of scalars


def flatten(obj, prefix: tuple = ()) -> tuple[dict, set]:
    """{path: leaf value} and the set of every path that exists (inner nodes included)."""
    leaves, nodes = {}, set()

    def walk(value, path):
        nodes.add(path)
        children = _children(value)
        if not children:
            leaves[path] = value
            return
        for key, child in children:
            walk(child, path + (key,))

    walk(obj, prefix)
    return leaves, nodes


def lookup(obj, path: tuple):
    value = obj
    for segment in path:
        if isinstance(segment, Item):
            value = next((i for i in value if isinstance(i, dict) and i.get("name") == segment.name), MISSING) \
                if isinstance(value, list) else MISSING
        elif isinstance(segment, int):
            value = value[segment] if isinstance(value, list) and segment < len(value) else MISSING
        else:
            value = value.get(segment, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING:
            return MISSING
    return value


def _same(a, b, path: tuple = ()) -> bool:
    if a == b:
        return True
    if "resources" in path and isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)):
        # Resource quantities come back normalised ("1000m" → "1").
        try:
            return parse_quantity(a) == parse_quantity(b)
        except (ValueError, TypeError):
            return False
    return False


def path_text(path: tuple) -> str:
    """`spec.template.spec.containers[web].image`, `metadata.labels["app.kubernetes.io/name"]`."""
    out = ""
    for position, segment in enumerate(path):
        if isinstance(segment, Item):
            out += str(segment)
        elif isinstance(segment, int):
            out += f"[{segment}]"
        elif position >= 2 and path[position - 1] in MAPS or not segment.replace("_", "a").isalnum():
            out += f"[{json.dumps(segment)}]"
        else:
            out += ("." if out else "") + segment
    return out


def value_text(value) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- the comparison -----------------------------------------------------------------------------

@dataclass
class Difference:
    path: tuple
    template: object
    rendered: object
    live: object
    kind: str  # OVERRIDE or DRIFT

    @property
    def field(self) -> str:
        return path_text(self.path)

    def as_dict(self) -> dict:
        return {"field": self.field, "kind": self.kind, "overridden": self.overridden,
                **{name: None if value is MISSING else value for name, value in (
                    ("template", self.template), ("rendered", self.rendered), ("live", self.live))},
                "present": {name: value is not MISSING for name, value in (
                    ("template", self.template), ("rendered", self.rendered), ("live", self.live))}}

    @property
    def overridden(self) -> bool:
        """Karmada rendered it differently from the template (an override, the member's share)."""
        return not _same(self.template, self.rendered, self.path)

    def texts(self) -> tuple[str, str, str]:
        return value_text(self.template), value_text(self.rendered), value_text(self.live)


def _in_map(path: tuple) -> bool:
    """A key of a labels or annotations map of some metadata (the object's or a pod template's)."""
    return len(path) >= 3 and path[-2] in MAPS and path[-3] == "metadata"


def _head(path: tuple, nodes: set) -> tuple:
    """The shortest part of `path` that `nodes` lacks; a labels or annotations map is never
    taken whole (its keys are compared one by one, Karmada's own ignored)."""
    for end in range(1, len(path) + 1):
        head = path[:end]
        if head not in nodes and not (head[-1] in MAPS and len(head) >= 2 and head[-2] == "metadata"
                                      and end < len(path)):
            return head
    return path


def _added(path: tuple, rendered_nodes: set) -> tuple | None:
    """For a path only the live object has: the place it was added (a list item, a label) or
    None when it is a field the rendered object leaves to the server's defaults."""
    head = _head(path, rendered_nodes)
    return head if isinstance(head[-1], (Item, int)) or _in_map(head) else None


def drift(rendered: dict, live: dict) -> list[tuple]:
    """The paths where the live object differs from the rendered one (rules in the docstring)."""
    rendered_leaves, rendered_nodes = flatten(rendered)
    _leaves, live_nodes = flatten(live)
    found = []
    for path, value in rendered_leaves.items():
        if ignored(path, rendered):
            continue
        other = lookup(live, path)
        if other is MISSING and value in ({}, [], None):
            continue  # an empty field the server drops
        if other is MISSING:
            found.append(_head(path, live_nodes))  # one line for what the member lacks: its top
        elif not _same(value, other, path):
            if isinstance(other, (dict, list)) and other and value in ({}, []):
                continue  # the server filled an empty map or list with its defaults
            found.append(path)
    added = set()
    for path in live_nodes:
        if path in rendered_nodes or ignored(path, rendered):
            continue
        head = _added(path, rendered_nodes)
        if head is not None and head not in added and not ignored(head, rendered):
            added.add(head)
    # Inside an item the rendered object has not at all, only the item itself is listed.
    found += sorted(added, key=path_text)
    return _outermost(sorted(set(found), key=path_text))


def _outermost(paths: list[tuple]) -> list[tuple]:
    out = []
    for path in paths:
        if not any(len(other) < len(path) and path[:len(other)] == other for other in paths):
            out.append(path)
    return out


def overrides(template: dict, rendered: dict) -> list[tuple]:
    """Paths where the rendered object differs from the template (both sides compared)."""
    template_leaves, template_nodes = flatten(template)
    rendered_leaves, rendered_nodes = flatten(rendered)
    found = set()
    for path in set(template_leaves) | set(rendered_leaves):
        a, b = lookup(template, path), lookup(rendered, path)
        if a is MISSING:
            path = _head(path, template_nodes)  # one line for what only one side has: its top
        elif b is MISSING:
            path = _head(path, rendered_nodes)
        elif _same(a, b, path):
            continue
        if not ignored(path, rendered):
            found.add(path)
    return _outermost(sorted(found, key=path_text))


def differences(template: dict | None, rendered: dict | None, live: dict | None) -> list[Difference]:
    """The three-way comparison, drift first: every field where Karmada's rendering or the member
    departs. Without a live object (gone, or unreadable) only the overrides are listed."""
    template, rendered = template or {}, rendered or {}
    drifted = drift(rendered, live) if rendered and live is not None else []
    rows = [Difference(p, lookup(template, p), lookup(rendered, p), lookup(live, p), DRIFT) for p in drifted]
    seen = set(drifted)
    for path in overrides(template, rendered) if rendered else []:
        if path not in seen:
            rows.append(Difference(path, lookup(template, path), lookup(rendered, path), lookup(live, path),
                                   OVERRIDE))
    return rows


# --- re-sync ----------------------------------------------------------------------------------

def resync_body(rendered: dict, live: dict) -> dict:
    """The update that makes the member's object the rendered one again, keeping what Karmada's
    execution controller keeps (karmada's objectwatcher retain rules)."""
    body = copy.deepcopy(rendered)
    body.pop("status", None)
    meta = body.setdefault("metadata", {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    live_meta = live.get("metadata") or {}
    for key in KEPT_ON_UPDATE:
        if key in live_meta:
            meta[key] = copy.deepcopy(live_meta[key])
    for name in MAPS:
        kept = {k: v for k, v in (live_meta.get(name) or {}).items() if _system_key(k)}
        merged = {**kept, **(meta.get(name) or {})}
        if merged:
            meta[name] = merged
    if _retains_replicas(rendered) and "replicas" in (live.get("spec") or {}):
        body.setdefault("spec", {})["replicas"] = live["spec"]["replicas"]
    if body.get("kind") == "Service":
        old, new = live.get("spec") or {}, body.setdefault("spec", {})
        for key in SERVICE_ALLOCATED:
            if key in old and key not in new:
                new[key] = copy.deepcopy(old[key])
        ports = {p.get("port"): p for p in old.get("ports") or []}
        for port in new.get("ports") or []:
            if "nodePort" not in port and (ports.get(port.get("port")) or {}).get("nodePort"):
                port["nodePort"] = ports[port["port"]]["nodePort"]
    if body.get("kind") == "ServiceAccount" and "secrets" in live and "secrets" not in body:
        body["secrets"] = copy.deepcopy(live["secrets"])
    return body
