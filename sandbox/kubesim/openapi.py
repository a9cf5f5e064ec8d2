"""Schemas of the built-in kinds: OpenAPI v2/v3 documents and the API server's decoding rules.

One description serves both. The shape of every type (fields, their types, lists and
maps) comes from Kubernetes' ``generated.proto`` (``protobuf_types.json``, also used to
decode protobuf bodies); descriptions and required fields from the official Python
client's models, which are generated from the same OpenAPI. Definition names are the
real ones (``io.k8s.api.apps.v1.DeploymentSpec``), kinds carry
``x-kubernetes-group-version-kind``, lists merged on a key carry
``x-kubernetes-patch-merge-key`` (patch.py's table), so ``kubectl explain`` reads them.

``decode`` is what the Go JSON decoder does to a built-in object before anything else:
a value of the wrong type is a 400 (``cannot unmarshal string into Go struct field
DeploymentSpec.spec.replicas of type int32``), a field the type lacks is dropped and
reported as a warning, or refused under ``fieldValidation=Strict``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from . import protobuf
from .patch import _merge_key, _PRIMITIVE

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_SPECIAL: dict[str, dict[str, Any]] = {
    _META + "Time": {"type": "string", "format": "date-time"},
    _META + "MicroTime": {"type": "string", "format": "date-time"},
    _META + "Duration": {"type": "string"},
    _META + "FieldsV1": {"type": "object"},
    "k8s.io.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "k8s.io.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}
_SCALARS = {
    "string": {"type": "string"}, "bytes": {"type": "string", "format": "byte"}, "bool": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"}, "int64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"}, "float": {"type": "number", "format": "float"},
}
_GO_TYPES = {"string": "string", "bytes": "[]uint8", "bool": "bool", "int32": "int32", "int64": "int64",
             "double": "float64", "float": "float32"}


def definition_name(message: str) -> str:
    return "io.k8s." + message[len("k8s.io."):] if message.startswith("k8s.io.") else message


# ------------------------------------------------------------------ descriptions (the Python client)

def _client_class(message: str) -> Any:
    try:
        from kubernetes.client import models
    except ImportError:  # descriptions are a nicety; the schema stands without them
        return None
    parts = message.split(".")
    kind, version = parts[-1], parts[-2]
    group = parts[3] if message.startswith("k8s.io.api.") else ""
    candidates = [f"{version.capitalize()}{kind}"]
    if group:
        candidates.insert(0, f"{group.capitalize()}{version.capitalize()}{kind}")
    for name in candidates:
        cls = getattr(models, name, None)
        if cls is not None and hasattr(cls, "attribute_map"):
            return cls
    return None


def _documentation(message: str) -> tuple[str, dict[str, str], set[str]]:
    """(type description, field descriptions, required fields) by JSON name."""
    cls = _client_class(message)
    if cls is None:
        return "", {}, set()
    text = (cls.__doc__ or "").strip().split("\n\n")[0].strip()
    fields, required = {}, set()
    for attr, json_name in cls.attribute_map.items():
        info = getattr(cls, "model_fields", {}).get(attr)
        if info is None:
            continue
        if info.description:
            fields[json_name] = info.description
        if info.is_required():
            required.add(json_name)
    return ("" if text.startswith("Attributes:") else text), fields, required


# ------------------------------------------------------------------ definitions

def _is_slice(message: str) -> bool:
    return message.rsplit(".", 1)[1] in protobuf._SLICES


def _ref(ftype: str, v3: bool) -> dict[str, Any]:
    if ftype in _SCALARS:
        return dict(_SCALARS[ftype])
    if _is_slice(ftype):
        return {"type": "array", "items": {"type": "string"}}
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    return {"$ref": prefix + definition_name(ftype)}


def _schema(message: str, v3: bool, kinds: dict[str, tuple[str, str, str]]) -> dict[str, Any]:
    if message in _SPECIAL:
        return dict(_SPECIAL[message])
    description, docs, required = _documentation(message)
    properties: dict[str, Any] = {}
    for _number, spec in sorted(protobuf._types()[message].items()):
        name, label, ftype = spec[0], spec[1], spec[2]
        if spec[-1] & protobuf.INLINE:  # an embedded struct's fields are the parent's
            inlined = _schema(ftype, v3, kinds)
            properties.update(inlined.get("properties") or {})
            required |= set(inlined.get("required") or [])
            continue
        if label == "map":
            prop: dict[str, Any] = {"type": "object", "additionalProperties": _ref(spec[3], v3)}
        elif label == "repeated":
            prop = {"type": "array", "items": _ref(ftype, v3)}
            key = _merge_key(None if name != "ports" else "containers", name)
            if key is _PRIMITIVE:
                prop["x-kubernetes-list-type"] = "set"
            elif key:
                prop.update({"x-kubernetes-patch-merge-key": key, "x-kubernetes-patch-strategy": "merge"})
        else:
            prop = _ref(ftype, v3)
        if name in docs:
            if "$ref" in prop:  # a sibling of $ref is ignored: wrap it, as kube-openapi does in v3
                prop = {"allOf": [prop]} if v3 else prop
            prop["description"] = docs[name]
        properties[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if description:
        out["description"] = description
    if required & set(properties):
        out["required"] = sorted(required & set(properties))
    if message in kinds:
        group, version, kind = kinds[message]
        out["x-kubernetes-group-version-kind"] = [{"group": group, "version": version, "kind": kind}]
    return out


def _closure(roots: list[str]) -> list[str]:
    types = protobuf._types()
    seen: list[str] = []
    todo = list(roots)
    while todo:
        message = todo.pop()
        if message in seen or message not in types:
            continue
        seen.append(message)
        if message in _SPECIAL:
            continue
        for spec in types[message].values():
            for ftype in spec[2:4] if spec[1] == "map" else spec[2:3]:
                if isinstance(ftype, str) and "." in ftype:
                    todo.append(ftype)
    return sorted(seen)


@functools.lru_cache(maxsize=256)
def _cached_definitions(roots: tuple[tuple[str, str, str, str], ...], v3: bool) -> dict[str, Any]:
    kinds = {message: (group, version, kind) for message, group, version, kind in roots}
    return {definition_name(m): _schema(m, v3, kinds) for m in _closure([r[0] for r in roots])}


def definitions(types: list[Any], v3: bool) -> dict[str, Any]:
    """The definitions of some served kinds (ResourceTypes) and of everything they use."""
    roots = []
    for rt in types:
        for version in rt.versions:
            message = protobuf.message_for(rt.api_version(version), rt.kind)
            if message is not None and not rt.custom:
                roots.append((message, rt.group, version, rt.kind))
    return dict(_cached_definitions(tuple(sorted(set(roots))), v3))


# ------------------------------------------------------------------ decoding


class DecodeError(Exception):
    pass


def decode(api_version: str, kind: str, obj: dict[str, Any]) -> list[str] | None:
    """Drop unknown fields in place; returns their paths (None: not a built-in kind).
    Raises DecodeError with Go's message for a value of the wrong type."""
    message = protobuf.message_for(api_version, kind)
    if message is None:
        return None
    unknown: list[str] = []
    _decode(message, obj, "", unknown, root=True)
    return unknown


def _go_name(message: str) -> str:
    return message.rsplit(".", 1)[1]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _mismatch(value: Any, owner: str, path: str, go_type: str) -> DecodeError:
    shown = _json_kind(value)
    if shown == "number":
        shown = f"number {value}"
    path = re.sub(r"\[\d+\]", "", path)  # Go names the field, not the list element
    return DecodeError(f"json: cannot unmarshal {shown} into Go struct field {owner}.{path} of type {go_type}")


def _scalar_ok(ftype: str, value: Any) -> bool:
    if ftype in ("string", "bytes"):
        return isinstance(value, str)
    if ftype == "bool":
        return isinstance(value, bool)
    if ftype in ("int32", "int64"):
        return isinstance(value, int) and not isinstance(value, bool) or \
            isinstance(value, float) and value.is_integer()
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _go_type(ftype: str, label: str = "") -> str:
    base = _GO_TYPES.get(ftype) or ("[]string" if _is_slice(ftype) else _go_name(ftype))
    if ftype.endswith(".IntOrString"):
        base = "intstr.IntOrString"
    elif ftype.endswith(".Quantity"):
        base = "resource.Quantity"
    elif ftype.startswith(_META):
        base = "v1." + _go_name(ftype)
    return ("[]" if label == "repeated" else "") + base


def _decode_value(ftype: str, value: Any, owner: str, path: str, unknown: list[str]) -> None:
    if value is None:
        return
    if ftype in _GO_TYPES:
        if not _scalar_ok(ftype, value):
            raise _mismatch(value, owner, path, _go_type(ftype))
    elif _is_slice(ftype):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _mismatch(value, owner, path, _go_type(ftype))
    elif ftype.endswith(".IntOrString") or ftype.endswith(".Quantity"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise _mismatch(value, owner, path, _go_type(ftype))
    elif ftype in (_META + "Time", _META + "MicroTime", _META + "Duration"):
        if not isinstance(value, str):
            raise _mismatch(value, owner, path, _go_type(ftype))
    elif ftype in _SPECIAL:
        return  # raw JSON
    else:
        if not isinstance(value, dict):
            raise _mismatch(value, owner, path, _go_type(ftype))
        _decode(ftype, value, path, unknown)


@functools.lru_cache(maxsize=1024)
def _json_fields(message: str) -> dict[str, tuple[list, str]]:
    """JSON name → (field spec, the Go struct that has it), embedded structs' fields included."""
    out: dict[str, tuple[list, str]] = {}
    for spec in protobuf._types()[message].values():
        if spec[-1] & protobuf.INLINE:
            out.update(_json_fields(spec[2]))
        else:
            out[spec[0]] = (spec, _go_name(message))
    return out


def _decode(message: str, obj: dict[str, Any], path: str, unknown: list[str], root: bool = False) -> None:
    fields = _json_fields(message)
    for key in list(obj):
        child = f"{path}.{key}" if path else key
        if root and key in ("apiVersion", "kind"):
            continue
        found = fields.get(key)
        if found is None:
            unknown.append(child)
            del obj[key]
            continue
        spec, owner = found
        value, label, ftype = obj[key], spec[1], spec[2]
        if value is None:
            continue
        if label == "map":
            if not isinstance(value, dict):
                raise _mismatch(value, owner, child, f"map[string]{_go_type(spec[3])}")
            for item in value.values():
                _decode_value(spec[3], item, owner, child, unknown)
        elif label == "repeated":
            if not isinstance(value, list):
                raise _mismatch(value, owner, child, _go_type(ftype, label))
            for i, item in enumerate(value):
                _decode_value(ftype, item, owner, f"{child}[{i}]", unknown)
        else:
            _decode_value(ftype, value, owner, child, unknown)

