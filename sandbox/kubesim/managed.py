"""Field ownership (``metadata.managedFields``) and server-side apply.

Every write by a client records which fields its field manager set, as the API
server's fieldmanager does: a create or an update (``operation: Update``) takes the
fields whose values it changed from everyone else; an apply (``operation: Apply``,
``application/apply-patch+yaml``) owns exactly the fields of its configuration, is
refused with 409 where that would change a value another manager owns (unless
``force=true``, which takes them over), and removes the fields it set before and no
longer sets, unless someone else owns them too.

Field sets use the FieldsV1 notation: ``f:<name>`` for a field, ``k:{"name":"web"}``
for a list item by its merge key (patch.py's table), ``v:<json>`` for a member of a
set (finalizers), ``.`` for the list item itself. Lists without a merge key are atomic.
"""

from __future__ import annotations

import contextvars
import copy
import json
from typing import Any

from .errors import ApiError
from .patch import _PRIMITIVE, _merge_key
from .util import timestamp

Path = tuple[str, ...]
_MISSING = object()
# The field manager of the request being served (server.py sets it).
MANAGER: contextvars.ContextVar[str] = contextvars.ContextVar("kubesim_field_manager", default="")
_OWNED_META = ("labels", "annotations", "finalizers", "ownerReferences")


# ------------------------------------------------------------------ field sets

def fields_of(obj: dict[str, Any], with_status: bool) -> set[Path]:
    out: set[Path] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and not with_status):
            continue
        if key == "metadata":
            for mk in _OWNED_META:
                if (value or {}).get(mk) not in (None, {}, []):
                    _walk(value[mk], ("f:metadata", f"f:{mk}"), mk, out)
            continue
        _walk(value, (f"f:{key}",), key, out)
    return out


def _walk(value: Any, path: Path, field: str, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _walk(child, path + (f"f:{key}",), key, out)
        return
    if isinstance(value, list) and value:
        key = _merge_key(None if field != "ports" else "containers", field)
        if key is _PRIMITIVE:
            for item in value:
                out.add(path + (f"v:{json.dumps(item, sort_keys=True)}",))
            return
        if key and all(isinstance(i, dict) and key in i for i in value):
            for item in value:
                item_path = path + (f"k:{json.dumps({key: item[key]}, separators=(',', ':'))}",)
                out.add(item_path + (".",))
                _walk({k: v for k, v in item.items()}, item_path, field, out)
            return
    out.add(path)


def _step(value: Any, element: str) -> Any:
    kind, _, rest = element.partition(":")
    if kind == "f":
        return value.get(rest, _MISSING) if isinstance(value, dict) else _MISSING
    if kind == "k" and isinstance(value, list):
        wanted = json.loads(rest)
        return next((i for i in value if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())),
                    _MISSING)
    if kind == "v" and isinstance(value, list):
        item = json.loads(rest)
        return item if item in value else _MISSING
    return _MISSING


def value_at(obj: Any, path: Path) -> Any:
    for element in path:
        if element == ".":
            return obj
        obj = _step(obj, element)
        if obj is _MISSING:
            return _MISSING
    return obj


def remove_at(obj: Any, path: Path) -> None:
    if path[-1] == ".":
        path = path[:-1]
    parent = value_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        target = _step(parent, path[-1])
        if target is not _MISSING:
            parent.remove(target)


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return tree


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, child in (tree or {}).items():
        if child:
            out |= from_fields_v1(child, prefix + (key,))
        else:
            out.add(prefix + (key,))
    return out


def describe(path: Path) -> str:
    """``.spec.template.spec.containers[name="web"].image``, as the API server names a field."""
    out = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out += f".{rest}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
    return out


# ------------------------------------------------------------------ entries

def _entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(e) for e in (obj.get("metadata") or {}).get("managedFields") or [] if isinstance(e, dict)]


def _owned(entry: dict[str, Any]) -> set[Path]:
    return from_fields_v1(entry.get("fieldsV1") or {})


def _set(entries: list[dict[str, Any]], manager: str, operation: str, api_version: str,
         paths: set[Path]) -> list[dict[str, Any]]:
    kept = [e for e in entries if not (e.get("manager") == manager and e.get("operation") == operation
                                       and not e.get("subresource"))]
    if paths:
        kept.append({"manager": manager, "operation": operation, "apiVersion": api_version, "time": timestamp(),
                     "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)})
    return kept


def _without(entries: list[dict[str, Any]], taken: set[Path], keep: tuple[str, str] | None = None
             ) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        if keep == (e.get("manager"), e.get("operation")) or e.get("subresource"):
            out.append(e)
            continue
        left = _owned(e) - taken
        if left:
            out.append({**e, "fieldsV1": to_fields_v1(left)})
    return out


def manager_for(default: str = "unknown") -> str:
    return MANAGER.get() or default


def track_create(obj: dict[str, Any], api_version: str, with_status: bool, operation: str = "Update",
                 applied: dict[str, Any] | None = None) -> None:
    """The creator owns every field of the new object; an apply, those of its configuration."""
    paths = fields_of(applied if applied is not None else obj, with_status)
    obj["metadata"]["managedFields"] = _set([], manager_for(), operation, api_version, paths)


def track_update(old: dict[str, Any], new: dict[str, Any], api_version: str, with_status: bool) -> None:
    """An update takes the fields whose values it changed; fields it removed belong to no one."""
    before, after = fields_of(old, with_status), fields_of(new, with_status)
    changed = {p for p in after if p not in before or value_at(old, p) != value_at(new, p)}
    gone = before - after
    entries = _without(_entries(old), changed | gone)
    manager = manager_for()
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Update"
                 and not e.get("subresource")), None)
    owned = (_owned(mine) if mine else set()) | changed
    if changed or mine:
        entries = _set(entries, manager, "Update", api_version, owned & after)
    new["metadata"]["managedFields"] = entries


def apply(old: dict[str, Any], config: dict[str, Any], merged: dict[str, Any], api_version: str,
          with_status: bool, force: bool) -> dict[str, Any]:
    """Server-side apply of ``config`` over ``old``; ``merged`` is the config patched onto old.
    Returns the new object with its managedFields (raises 409 on conflicts without force)."""
    manager = manager_for()
    applied = fields_of(config, with_status)
    entries = _entries(old)
    conflicts: dict[str, list[Path]] = {}
    for e in entries:
        if (e.get("manager"), e.get("operation")) == (manager, "Apply") or e.get("subresource"):
            continue
        for path in sorted(applied & _owned(e)):
            if path[-1] != "." and value_at(config, path) != value_at(old, path):
                conflicts.setdefault(e["manager"], []).append(path)
    if conflicts and not force:
        raise _conflict_error(conflicts, api_version)
    taken = {p for paths in conflicts.values() for p in paths}
    entries = _without(entries, taken, keep=(manager, "Apply"))
    mine = next((e for e in entries if (e.get("manager"), e.get("operation")) == (manager, "Apply")), None)
    previously = _owned(mine) if mine else set()
    others = set().union(*[_owned(e) for e in entries if (e.get("manager"), e.get("operation")) != (manager, "Apply")])
    result = copy.deepcopy(merged)
    # A list item (its "." marker) goes before its fields, which go with it.
    for path in sorted(previously - applied - others, key=lambda p: (len(p) - (p[-1] == "."), p[-1] != ".")):
        if path[0] != "f:metadata" or len(path) > 2:
            remove_at(result, path)
    result.setdefault("metadata", {})["managedFields"] = _set(entries, manager, "Apply", api_version, applied)
    return result


def _conflict_error(conflicts: dict[str, list[Path]], api_version: str) -> ApiError:
    count = sum(len(v) for v in conflicts.values())
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {api_version}',
               "field": describe(p)} for m, paths in conflicts.items() for p in paths]
    if count == 1:
        (m, paths), = conflicts.items()
        message = f'Apply failed with 1 conflict: conflict with "{m}" using {api_version}: {describe(paths[0])}'
    else:
        parts = [f'conflicts with "{m}" using {api_version}:\n' + "\n".join(f"- {describe(p)}" for p in paths)
                 for m, paths in conflicts.items()]
        message = f"Apply failed with {count} conflicts: " + "\n".join(parts)
    return ApiError(409, "Conflict", message, causes=causes)
