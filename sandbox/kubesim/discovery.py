"""Legacy discovery documents (/api, /apis, /apis/<group>/<version>).

kubectl and ``kubernetes.dynamic.DynamicClient`` build their resource maps
from these, so field names follow metav1.APIResourceList exactly; both fall
back from aggregated discovery to these documents when the server answers
with plain JSON.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

from . import openapi
from .registry import Registry, ResourceType

# Subresources that are served as another kind, as the real API declares them.
_SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
}


def version_info(version: str) -> dict[str, Any]:
    git_version = version if version.startswith("v") else f"v{version}"
    major, minor = (git_version[1:].split(".") + ["0", "0"])[:2]
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "kubesim",
            "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4",
            "compiler": "gc", "platform": "linux/amd64"}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(name, versions) for name, versions in registry.groups()]}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    for group_name, versions in registry.groups():
        if group_name == name:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
    return None


def _hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _entries(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                            "kind": rt.kind, "verbs": list(rt.verbs)}
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if not rt.virtual:
        main["storageVersionHash"] = _hash(rt)
    out = [main]
    for sub in rt.subresources:
        entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
        if sub in _SUBRESOURCE_KINDS:
            group, version, kind, verbs = _SUBRESOURCE_KINDS[sub]
            entry.update({"group": group, "version": version, "kind": kind, "verbs": verbs})
        elif sub == "log":
            entry.update({"kind": rt.kind, "verbs": ["get"]})
        elif sub == "proxy":
            entry.update({"kind": f"{rt.kind}ProxyOptions", "verbs": ["create", "delete", "get", "patch", "update"]})
        elif sub in _STREAMING_KINDS:
            entry.update({"kind": _STREAMING_KINDS[sub], "verbs": ["create", "get"]})
        else:
            entry.update({"kind": rt.kind, "verbs": ["get", "patch", "update"]})
        out.append(entry)
    return out


_STREAMING_KINDS = {"exec": "PodExecOptions", "attach": "PodAttachOptions", "portforward": "PodPortForwardOptions"}


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources = [entry for rt in types for entry in _entries(rt)]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


# ------------------------------------------------------------------ OpenAPI
#
# Schemas of every served kind (openapi.py for the built-in ones, a CRD's own
# openAPIV3Schema for custom resources) with ``x-kubernetes-group-version-kind``:
# what ``kubectl explain`` reads. The v3 PATCH operations declare the
# ``fieldValidation`` parameter, which makes kubectl leave validation to the
# server, and no request body, so kubectl apply computes strategic merge
# patches from its compiled-in types, as it does against any server whose v2
# document (protobuf, which kubectl asks for) is empty. v2 in JSON carries the
# definitions for clients that ask for JSON.

OPENAPI_V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _crd_name(rt: ResourceType, version: str) -> str:
    return ".".join(reversed(rt.group.split("."))) + f".{version}.{rt.kind}"


def _crd_schema(rt: ResourceType, version: str, v3: bool) -> dict[str, Any]:
    body = copy.deepcopy(rt.schema) if rt.schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    properties = body.setdefault("properties", {})
    ref = ("#/components/schemas/" if v3 else "#/definitions/") + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    properties["metadata"] = {"allOf": [{"$ref": ref}]} if v3 else {"$ref": ref}
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    body["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": version, "kind": rt.kind}]
    return body


def _schemas(types: list[ResourceType], group_version: tuple[str, str] | None, v3: bool) -> dict[str, Any]:
    built_in = [rt for rt in types if not rt.custom]
    custom = [rt for rt in types if rt.custom]
    schemas = openapi.definitions(built_in, v3)
    if custom:
        schemas.update(_object_meta(v3))
    for rt in custom:
        for version in rt.versions:
            if group_version is None or group_version[1] == version:
                schemas[_crd_name(rt, version)] = _crd_schema(rt, version, v3)
    return schemas


def _object_meta(v3: bool) -> dict[str, Any]:
    """ObjectMeta and what it uses, for documents of custom resources only."""
    namespaces = ResourceType("", ["v1"], "Namespace", "namespaces", namespaced=False)
    every = openapi.definitions([namespaces], v3)
    return {k: v for k, v in every.items() if k.startswith("io.k8s.apimachinery.")}


def _served(registry: Registry, group: str, version: str) -> list[ResourceType]:
    return [rt for rt in registry.in_group_version(group, version) if not rt.virtual]


def openapi_v3_document(registry: Registry, group: str, version: str, server_version: str) -> dict[str, Any] | None:
    types = _served(registry, group, version)
    if not types:
        return None
    paths: dict[str, Any] = {}
    for rt in types:
        prefix = f"/{_gv_path(group, version)}/" + ("namespaces/{namespace}/" if rt.namespaced else "")
        gvk = {"group": group, "version": version, "kind": rt.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
        operation = {"operationId": f"patch{rt.kind}", "x-kubernetes-action": "patch",
                     "x-kubernetes-group-version-kind": gvk, "parameters": params,
                     "responses": {"200": {"description": "OK"}}}
        paths[f"{prefix}{rt.plural}/{{name}}"] = {"patch": operation}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": server_version}, "paths": paths,
            "components": {"schemas": _schemas(types, (group, version), v3=True)}}


def _core_versions(registry: Registry) -> list[str]:
    return sorted({v for rt in registry.all() if not rt.group for v in rt.versions})


def openapi_v3_root(registry: Registry, server_version: str) -> dict[str, Any]:
    gvs = [("", v) for v in _core_versions(registry)]
    gvs += [(g, v) for g, versions in registry.groups() for v in versions]
    paths = {}
    for g, v in gvs:
        types = _served(registry, g, v)
        if not types:
            continue
        facts = sorted((rt.kind, rt.plural, repr(rt.schema)) for rt in types)
        digest = hashlib.sha256(repr(facts).encode()).hexdigest()[:32].upper()
        paths[_gv_path(g, v)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash={digest}"}
    return {"paths": paths}


def openapi_v2(registry: Registry, server_version: str) -> dict[str, Any]:
    """The v2 (Swagger) document in JSON: every served kind's definitions."""
    types = [rt for rt in registry.all() if not rt.virtual]
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": server_version}, "paths": {},
            "definitions": _schemas(types, None, v3=False)}
