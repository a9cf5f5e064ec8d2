"""Structural schemas of CustomResourceDefinitions: pruning, defaulting, validation.

What the apiextensions server does with a custom resource before storing it,
in its order: unknown fields are pruned (reported as warnings, or refused
with ``fieldValidation=Strict``), nulls of non-nullable fields dropped,
``default:`` values filled in, then the object is validated against the
OpenAPI v3 schema with kube-openapi's messages. ``metadata`` is ObjectMeta's
business, not the schema's. Supported keywords are those CRDs use in practice:
type, properties, additionalProperties, items, required, enum, minimum,
maximum, exclusive*, minItems, maxItems, minLength, maxLength, pattern,
nullable, default, x-kubernetes-preserve-unknown-fields,
x-kubernetes-int-or-string, x-kubernetes-embedded-resource.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

Cause = tuple[str, str, str]  # field, reason, detail (as in kinds)

_ROOT_META = ("apiVersion", "kind", "metadata")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------ pruning

def prune(schema: dict[str, Any] | None, obj: dict[str, Any]) -> list[str]:
    """Remove in place what the schema does not declare; returns the removed fields' paths."""
    if not schema:
        return []
    unknown: list[str] = []
    _prune(schema, obj, "", unknown, root=True)
    return unknown


def _prune(schema: dict[str, Any], value: Any, path: str, unknown: list[str], root: bool = False) -> None:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or \
            schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            if root and key in _ROOT_META:
                continue
            child_path = _join(path, key)
            if value[key] is None and key in props and not props[key].get("nullable"):
                del value[key]  # nulls of non-nullable fields are dropped, like the real decoder does
                continue
            if key in props:
                _prune(props[key], value[key], child_path, unknown)
            elif isinstance(additional, dict):
                _prune(additional, value[key], child_path, unknown)
            elif additional is True or preserve:
                continue
            else:
                unknown.append(child_path)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(schema["items"], item, f"{path}[{i}]", unknown)


# ------------------------------------------------------------------ defaulting

def default(schema: dict[str, Any] | None, obj: dict[str, Any]) -> None:
    """Fill ``default:`` values in place where a field is absent (its parent present)."""
    if schema:
        _default(schema, obj)


def _default(schema: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _default(sub, value[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    _default(additional, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(schema["items"], item)


# ------------------------------------------------------------------ validation

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def validate(schema: dict[str, Any] | None, obj: dict[str, Any]) -> list[Cause]:
    if not schema:
        return []
    causes: list[Cause] = []
    _validate(schema, obj, "", causes, root=True)
    return causes


def _validate(schema: dict[str, Any], value: Any, path: str, causes: list[Cause], root: bool = False) -> None:
    expected = schema.get("type")
    if value is None:
        if not schema.get("nullable") and expected:
            causes.append((path, "FieldValueInvalid",
                           f'Invalid value: "null": {path} in body must be of type {expected}: "null"'))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _TYPES["integer"](value)):
            causes.append((path, "FieldValueInvalid", f'Invalid value: "{_type_name(value)}": {path} in body must '
                                                      f'be of type integer,string: "{_type_name(value)}"'))
        return
    if expected and expected in _TYPES and not _TYPES[expected](value):
        got = _type_name(value)
        causes.append((path, "FieldValueInvalid",
                       f'Invalid value: "{got}": {path} in body must be of type {expected}: "{got}"'))
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_shown(v) for v in schema["enum"])
        causes.append((path, "FieldValueNotSupported",
                       f"Unsupported value: {_shown(value)}: supported values: {supported}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema:
            low = schema["minimum"]
            if value < low or (schema.get("exclusiveMinimum") and value == low):
                word = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
                causes.append((path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be "
                                                          f"{word} {low}"))
        if "maximum" in schema:
            high = schema["maximum"]
            if value > high or (schema.get("exclusiveMaximum") and value == high):
                word = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
                causes.append((path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be "
                                                          f"{word} {high}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append((path, "FieldValueTooLong", f"Too long: may not be longer than {schema['maxLength']}"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append((path, "FieldValueInvalid", f"Invalid value: {_shown(value)}: {path} in body should be "
                                                      f"at least {schema['minLength']} chars long"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append((path, "FieldValueInvalid", f"Invalid value: {_shown(value)}: {path} in body should "
                                                      f"match '{schema['pattern']}'"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            causes.append((path, "FieldValueInvalid", f"Invalid value: {len(value)}: {path} in body should have "
                                                      f"at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            causes.append((path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most "
                                                      f"{schema['maxItems']} items"))
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                _validate(schema["items"], item, f"{path}[{i}]", causes)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                causes.append((_join(path, key), "FieldValueRequired", "Required value"))
        for key, item in value.items():
            if root and key in _ROOT_META:
                continue
            if key in props:
                _validate(props[key], item, _join(path, key), causes)
            elif isinstance(schema.get("additionalProperties"), dict):
                _validate(schema["additionalProperties"], item, _join(path, key), causes)
