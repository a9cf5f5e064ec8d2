"""The three PATCH flavours of the Kubernetes API.

* JSON merge patch (RFC 7386): maps merge, lists are replaced, null deletes.
* Strategic merge patch: like merge patch, but lists that Kubernetes declares
  ``patchStrategy: merge`` are merged element-by-element on their merge key
  (containers by name, ports by containerPort, ...), plus the ``$patch``,
  ``$retainKeys``, ``$setElementOrder/`` and ``$deleteFromPrimitiveList/``
  directives that kubectl apply sends. The real server reads merge keys from
  Go struct tags; we keep a table of the ones that matter for the kinds we
  serve, keyed by field name and, where names are ambiguous, the parent field.
* JSON patch (RFC 6902).

All functions return new structures and never modify their inputs, so
stored objects can be shared between versions safely.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError

_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "env": "name", "imagePullSecrets": "name", "ownerReferences": "uid",
    "conditions": "type", "hostAliases": "ip", "taints": "key",
    "topologySpreadConstraints": "topologyKey", "readinessGates": "conditionType",
    "resourceClaims": "name",
}
_CONTAINER_LISTS = {"containers", "initContainers", "ephemeralContainers"}
_PRIMITIVE_SETS = {"finalizers"}
_PRIMITIVE = object()


class PatchError(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(422, "Invalid", message)


def _merge_key(parent: str | None, field: str) -> Any:
    if field == "ports":
        return "containerPort" if parent in _CONTAINER_LISTS else "port"
    if field == "addresses":  # node status addresses merge by type; endpoint addresses do not merge
        return "type" if parent == "status" else None
    if field in _PRIMITIVE_SETS:
        return _PRIMITIVE
    return _MERGE_KEYS.get(field)


# ------------------------------------------------------------------ merge patch

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ------------------------------------------------------------------ strategic merge patch

def strategic_merge_patch(original: Any, patch: Any, parent: str | None = None) -> Any:
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value or []
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = set(map(_hashable, value or []))
            result[field] = [v for v in result.get(field) or [] if _hashable(v) not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = strategic_merge_patch(current, value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            mkey = _merge_key(parent, key)
            if mkey is _PRIMITIVE:
                seen = list(current or [])
                result[key] = seen + [v for v in value if v not in seen]
            elif mkey:
                result[key] = _merge_list(current if isinstance(current, list) else [], value, mkey, key)
            else:
                result[key] = [_strip(v) if isinstance(v, dict) else v for v in value]
        else:
            result[key] = value
    for field, order in orders.items():
        mkey = _merge_key(parent, field)
        if isinstance(result.get(field), list) and mkey:
            result[field] = _reorder(result[field], order, mkey)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: list[Any], patch: list[Any], mkey: Any, field: str) -> list[Any]:
    if mkey is _PRIMITIVE:
        return current + [v for v in patch if v not in current]
    if any(isinstance(p, dict) and p.get("$patch") == "replace" and len(p) == 1 for p in patch):
        return [_strip(p) for p in patch if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    out = list(current)
    for item in patch:
        if not isinstance(item, dict):
            if item not in out:
                out.append(item)
            continue
        idx = next((i for i, cur in enumerate(out)
                    if isinstance(cur, dict) and cur.get(mkey) == item.get(mkey)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(_strip(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item, field)
    return out


def _reorder(items: list[Any], order: list[Any], mkey: Any) -> list[Any]:
    keys = [o.get(mkey) if isinstance(o, dict) else o for o in order]
    rank = {_hashable(k): i for i, k in enumerate(keys)}

    def position(item: Any) -> int:
        k = item.get(mkey) if isinstance(item, dict) else item
        return rank.get(_hashable(k), len(rank))

    return sorted(items, key=position)  # stable: unlisted items keep their relative order


def _strip(value: Any) -> Any:
    """Drop directives from a subtree that is taken over as-is."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not _is_directive(k)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _is_directive(key: str) -> bool:
    return key in ("$patch", "$retainKeys") or key.startswith(("$setElementOrder/", "$deleteFromPrimitiveList/"))


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (dict, list)) else value


# ------------------------------------------------------------------ JSON patch

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"the server rejected our request due to an error in our request: "
                         f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict):
            if part not in cur:
                raise PatchError(f"jsonpatch: path {path!r} not found")
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                raise PatchError(f"jsonpatch: path {path!r} not found") from None
        else:
            raise PatchError(f"jsonpatch: path {path!r} not found")
    return cur


def _add(doc: Any, parts: list[str], value: Any, path: str, replace: bool = False) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"jsonpatch replace operation does not apply: doc is missing key: {path}")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
            return doc
        try:
            idx = int(last)
        except ValueError:
            raise PatchError(f"jsonpatch: invalid array index {last!r}") from None
        if replace:
            if not 0 <= idx < len(parent):
                raise PatchError(f"jsonpatch replace operation does not apply: doc is missing key: {path}")
            parent[idx] = value
        else:
            if not 0 <= idx <= len(parent):
                raise PatchError(f"jsonpatch add operation does not apply: index out of bounds: {path}")
            parent.insert(idx, value)
    else:
        raise PatchError(f"jsonpatch: path {path!r} not found")
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        raise PatchError("jsonpatch: cannot remove the whole document")
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            return parent.pop(last)
        if isinstance(parent, list):
            return parent.pop(int(last))
    except (KeyError, ValueError, IndexError):
        pass
    raise PatchError(f"jsonpatch remove operation does not apply: doc is missing path: \"{path}\"")


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("jsonpatch: operation missing 'op'")
        kind, path = op["op"], op.get("path", "")
        parts = _pointer(path)
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif kind == "replace":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path, replace=True)
        elif kind == "remove":
            _remove(doc, parts, path)
        elif kind in ("move", "copy"):
            src = op.get("from", "")
            value = _walk(doc, _pointer(src), src)
            if kind == "move":
                _remove(doc, _pointer(src), src)
            else:
                value = copy.deepcopy(value)
            doc = _add(doc, parts, value, path)
        elif kind == "test":
            if _walk(doc, parts, path) != op.get("value"):
                raise PatchError(f"jsonpatch test operation does not apply: doc value at {path} "
                                 "does not match the test value")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc
