"""What OverridePolicies and ClusterOverridePolicies do to a manifest for one cluster (karmada SPEC §3).

Policies apply ClusterOverridePolicies first, then OverridePolicies; within each
kind in ascending implicit priority (match all < label selector < name), then by
name, so the most specific policy writes last. Inside one rule the overriders run
in Karmada's order: image, command, args, labels, annotations, field, plaintext.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Iterable, Mapping

import yaml

from .affinity import PRIORITY_MATCH_ALL, PRIORITY_NONE, Cluster, affinity_matches, selector_priority

_POD_SPEC_PATHS = {
    "Pod": "/spec",
    "ReplicaSet": "/spec/template/spec",
    "Deployment": "/spec/template/spec",
    "StatefulSet": "/spec/template/spec",
    "DaemonSet": "/spec/template/spec",
    "Job": "/spec/template/spec",
}


class OverrideError(ValueError):
    """An overrider that cannot be applied (a path that does not exist, a malformed embedded document)."""


# ------------------------------------------------------------------ which policies apply

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def policy_priority(policy: Mapping[str, Any], resource: Mapping[str, Any]) -> int:
    """The best match of a policy's selectors; an OverridePolicy without selectors matches all."""
    selectors = (policy.get("spec") or {}).get("resourceSelectors") or []
    if policy.get("kind") == "OverridePolicy" and _meta(policy).get("namespace") != _meta(resource).get("namespace"):
        return PRIORITY_NONE
    if not selectors:
        return PRIORITY_MATCH_ALL
    return max(selector_priority(s, resource) for s in selectors)


def ordered_policies(resource: Mapping[str, Any], cluster_override_policies: Iterable[Mapping[str, Any]],
                     override_policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The policies that apply to ``resource``, in the order Karmada applies them."""
    out: list[Mapping[str, Any]] = []
    for group in (cluster_override_policies, override_policies):
        matched = [(policy_priority(p, resource), _meta(p).get("name", ""), p) for p in group]
        matched = [t for t in matched if t[0] > PRIORITY_NONE and not _meta(t[2]).get("deletionTimestamp")]
        out += [p for _, _, p in sorted(matched, key=lambda t: (t[0], t[1]))]
    return out


def rules_for(policy: Mapping[str, Any], cluster: Cluster) -> list[Mapping[str, Any]]:
    """The overriders of a policy's rules whose targetCluster selects the cluster (nil = all)."""
    spec = policy.get("spec") or {}
    rules = spec.get("overrideRules")
    if not rules and spec.get("overriders"):
        rules = [{"targetCluster": spec.get("targetCluster"), "overriders": spec["overriders"]}]
    return [r.get("overriders") or {} for r in rules or [] if affinity_matches(r.get("targetCluster"), cluster)]


def apply_policies(manifest: Mapping[str, Any], cluster: Cluster,
                   cluster_override_policies: Iterable[Mapping[str, Any]] = (),
                   override_policies: Iterable[Mapping[str, Any]] = ()) -> tuple[dict[str, Any], list[str]]:
    """The manifest as it should land in ``cluster``, and the names of the policies that changed it."""
    result = copy.deepcopy(dict(manifest))
    applied: list[str] = []
    for policy in ordered_policies(manifest, cluster_override_policies, override_policies):
        rules = rules_for(policy, cluster)
        for overriders in rules:
            result = apply_overriders(result, overriders)
        if rules:
            m = _meta(policy)
            applied.append(f"{m['namespace']}/{m['name']}" if m.get("namespace") else m.get("name", ""))
    return result, applied


# ------------------------------------------------------------------ overriders

def apply_overriders(manifest: dict[str, Any], overriders: Mapping[str, Any]) -> dict[str, Any]:
    # Each overrider sees what the ones before it made.
    for image in overriders.get("imageOverrider") or []:
        manifest = json_patch(manifest, _image_patches(manifest, image))
    for field in ("commandOverrider", "argsOverrider"):
        for overrider in overriders.get(field) or []:
            manifest = json_patch(manifest, _list_patches(manifest, overrider,
                                                          "command" if field == "commandOverrider" else "args"))
    for field, target in (("labelsOverrider", "labels"), ("annotationsOverrider", "annotations")):
        for overrider in overriders.get(field) or []:
            manifest = json_patch(manifest, _map_patches(manifest, overrider, target))
    for overrider in overriders.get("fieldOverrider") or []:
        manifest = _apply_field_overrider(manifest, overrider)
    plaintext = [{"op": p.get("operator"), "path": p.get("path"), **({"value": p["value"]} if "value" in p else {})}
                 for p in overriders.get("plaintext") or []]
    return json_patch(manifest, plaintext)


def parse_image(image: str) -> dict[str, str]:
    """Split an image reference into registry, repository, tag and digest (docker's rules)."""
    rest, digest = (image.split("@", 1) + [""])[:2]
    registry = ""
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    repository, tag = rest, ""
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        repository, tag = rest[:colon], rest[colon + 1:]
    return {"registry": registry, "repository": repository, "tag": tag, "digest": digest}


def format_image(parts: Mapping[str, str]) -> str:
    image = (parts["registry"] + "/" if parts.get("registry") else "") + parts.get("repository", "")
    if parts.get("tag"):
        image += ":" + parts["tag"]
    if parts.get("digest"):
        image += "@" + parts["digest"]
    return image


def override_image(image: str, component: str, operator: str, value: str) -> str:
    parts = parse_image(image)
    key = component.lower()
    if operator == "add":
        parts[key] = parts.get(key, "") + (value or "")
    elif operator == "replace":
        parts[key] = value or ""
        if key == "tag":
            parts["digest"] = ""
    elif operator == "remove":
        parts[key] = ""
    return format_image(parts)


def _image_paths(manifest: Mapping[str, Any], predicate: Mapping[str, Any] | None) -> list[str]:
    if predicate and predicate.get("path"):
        return [predicate["path"]]
    base = _POD_SPEC_PATHS.get(manifest.get("kind", ""))
    if base is None:
        return []
    pod_spec = resolve(manifest, base)
    paths = []
    for field in ("containers", "initContainers"):
        for i, _ in enumerate((pod_spec or {}).get(field) or []):
            paths.append(f"{base}/{field}/{i}/image")
    return paths


def _image_patches(manifest: Mapping[str, Any], overrider: Mapping[str, Any]) -> list[dict[str, Any]]:
    patches = []
    for path in _image_paths(manifest, overrider.get("predicate")):
        current = resolve(manifest, path)
        if not isinstance(current, str):
            raise OverrideError(f"no image at {path}")
        patches.append({"op": "replace", "path": path,
                        "value": override_image(current, overrider.get("component", ""),
                                                overrider.get("operator", ""), overrider.get("value", ""))})
    return patches


def _list_patches(manifest: Mapping[str, Any], overrider: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    base = _POD_SPEC_PATHS.get(manifest.get("kind", ""))
    if base is None:
        return []
    patches = []
    for i, container in enumerate((resolve(manifest, base) or {}).get("containers") or []):
        if container.get("name") != overrider.get("containerName"):
            continue
        current = list(container.get(field) or [])
        values = list(overrider.get("value") or [])
        if overrider.get("operator") == "add":
            new = current + values
        elif overrider.get("operator") == "remove":
            new = [v for v in current if v not in values]
        else:
            continue
        patches.append({"op": "add", "path": f"{base}/containers/{i}/{field}", "value": new})
    return patches


def _map_patches(manifest: Mapping[str, Any], overrider: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    current = dict(_meta(manifest).get(field) or {})
    op = overrider.get("operator")
    for key, value in (overrider.get("value") or {}).items():
        if op == "add":
            current[key] = value
        elif op == "replace" and key in current:
            current[key] = value
        elif op == "remove":
            current.pop(key, None)
    return [{"op": "add", "path": f"/metadata/{field}", "value": current}]


def _apply_field_overrider(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> dict[str, Any]:
    path = overrider.get("fieldPath", "")
    text = resolve(manifest, path)
    if not isinstance(text, str):
        raise OverrideError(f"{path} is not a string field")
    as_yaml = bool(overrider.get("yaml"))
    try:
        document = yaml.safe_load(text) if as_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as e:
        raise OverrideError(f"{path} does not hold valid {'YAML' if as_yaml else 'JSON'}: {e}") from None
    ops = [{"op": o.get("operator"), "path": o.get("subPath"), **({"value": o["value"]} if "value" in o else {})}
           for o in (overrider.get("yaml") if as_yaml else overrider.get("json")) or []]
    document = json_patch(document, ops)
    new_text = yaml.safe_dump(document, sort_keys=False) if as_yaml else json.dumps(document)
    return json_patch(manifest, [{"op": "replace", "path": path, "value": new_text}])


# ------------------------------------------------------------------ RFC 6901 / 6902

def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise OverrideError(f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def resolve(document: Any, pointer: str) -> Any:
    cur = document
    for token in _tokens(pointer):
        if isinstance(cur, dict):
            cur = cur.get(token)
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return None
    return cur


def json_patch(document: Any, operations: Iterable[Mapping[str, Any]]) -> Any:
    """add / remove / replace, as Karmada's overriders use RFC 6902 (a copy is returned)."""
    document = copy.deepcopy(document)
    for op in operations:
        tokens = _tokens(op.get("path", ""))
        kind = op.get("op")
        if not tokens:
            if kind in ("add", "replace"):
                document = copy.deepcopy(op.get("value"))
                continue
            raise OverrideError("cannot remove the whole document")
        parent = resolve(document, "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1]))
        last = tokens[-1]
        if isinstance(parent, dict):
            if kind == "add":
                parent[last] = copy.deepcopy(op.get("value"))
            elif kind == "replace":
                if last not in parent:
                    raise OverrideError(f"replace: {op['path']} does not exist")
                parent[last] = copy.deepcopy(op.get("value"))
            elif kind == "remove":
                if last not in parent:
                    raise OverrideError(f"remove: {op['path']} does not exist")
                del parent[last]
            else:
                raise OverrideError(f"unsupported operator {kind!r}")
        elif isinstance(parent, list):
            index = len(parent) if last == "-" else (int(last) if last.isdigit() else -1)
            if index < 0 or index > len(parent) or (kind != "add" and index >= len(parent)):
                raise OverrideError(f"{kind}: {op['path']} is out of range")
            if kind == "add":
                parent.insert(index, copy.deepcopy(op.get("value")))
            elif kind == "replace":
                parent[index] = copy.deepcopy(op.get("value"))
            elif kind == "remove":
                del parent[index]
            else:
                raise OverrideError(f"unsupported operator {kind!r}")
        else:
            raise OverrideError(f"{kind}: the parent of {op.get('path')} does not exist")
    return document
